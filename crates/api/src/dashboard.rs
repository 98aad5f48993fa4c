//! The staff dashboard's figures for an org subtree over a period: residents, partners and
//! their services, points issued, redeemed, expired and in circulation, parking and
//! volunteering. Each context reports on its own tables (its `report` module); this module
//! only puts their answers together.

use crate::error::ApiError;
use chrono::{DateTime, Utc};
use identity::entity::org;
use identity::OrgKind;
use platform::report::{merge, Scope};
use sea_orm::{ConnectionTrait, DatabaseConnection};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointsFigures {
    /// From org budgets to residents (awards, activity settlements) in the period.
    pub issued: i64,
    /// Spent at partners and on parking in the period.
    pub redeemed: i64,
    /// Lapsed in the period.
    pub expired: i64,
    /// Held by the org's residents now.
    pub circulating: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParkingFigures {
    pub bookings: i64,
    /// Booked slot-minutes over open slot-minutes in the period; `None` without lots.
    pub utilization: Option<f64>,
    pub points_spent: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimebankFigures {
    pub volunteer_minutes: i64,
    pub volunteers: i64,
    /// Activities held of each kind and who came.
    pub by_kind: Vec<timebank::report::KindFigures>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// The partner scheme: kinds, lists, projects, disclosures, spaces.
    pub scheme: partners::report::SchemeFigures,
    /// Care coverage (五色图): recipients by colour, visits on time.
    pub care: care::report::CareFigures,
    pub residents: i64,
    pub merchants_active: i64,
    pub offers_published: i64,
    pub service_value_fen: i64,
    pub points: PointsFigures,
    pub parking: ParkingFigures,
    pub timebank: TimebankFigures,
}

fn scope(
    db: &DatabaseConnection,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Scope {
    Scope {
        backend: db.get_database_backend(),
        org_path: org.path.clone(),
        whole_district: org.kind == OrgKind::District.as_str(),
        from,
        to,
        now,
    }
}

pub async fn figures(
    db: &DatabaseConnection,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Figures, ApiError> {
    let scope = scope(db, org, from, to, now);
    let residents = identity::report::residents(db, &scope).await?;
    let partners = merchant::report::figures(db, &scope).await?;
    let points = points::report::figures(db, &scope).await?;
    let parking = parking::report::figures(db, &scope).await?;
    let volunteering = timebank::report::figures(db, &scope).await?;
    let scheme = partners::report::figures(db, &scope).await?;
    let care = care::report::figures(db, &org.path, now).await?;
    Ok(Figures {
        scheme,
        care,
        residents,
        merchants_active: partners.merchants_active,
        offers_published: partners.offers_published,
        service_value_fen: partners.service_value_fen,
        points: PointsFigures {
            issued: points.issued,
            redeemed: partners.points_redeemed + parking.points_spent,
            expired: points.expired,
            circulating: points.circulating,
        },
        parking: ParkingFigures {
            bookings: parking.bookings,
            utilization: parking.utilization,
            points_spent: parking.points_spent,
        },
        timebank: TimebankFigures {
            volunteer_minutes: volunteering.volunteer_minutes,
            volunteers: volunteering.volunteers,
            by_kind: volunteering.by_kind,
        },
    })
}

/// Daily and monthly series for the dashboard's charts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// (Beijing date, submitted, closed).
    pub demands_by_day: Vec<(String, i64, i64)>,
    /// (Beijing date, issued, redeemed).
    pub points_by_day: Vec<(String, i64, i64)>,
    /// (Beijing month `YYYY-MM`, volunteer minutes).
    pub volunteer_minutes_by_month: Vec<(String, i64)>,
    /// (lot id, lot name, utilisation over the period).
    pub parking_by_lot: Vec<(String, String, Option<f64>)>,
}

pub async fn series(
    db: &DatabaseConnection,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Series, ApiError> {
    let scope = scope(db, org, from, to, now);
    // Demands: whole days from the daily counts, the hours at the edges from the demands.
    let demands_by_day = demands::service::metrics::daily_series(db, org, from, to).await?;
    let issued = points::report::issued_by_day(db, &scope).await?;
    let mut redeemed = merchant::report::points_redeemed_by_day(db, &scope).await?;
    redeemed.extend(parking::report::points_spent_by_day(db, &scope).await?);
    let volunteer_minutes_by_month = timebank::report::minutes_by_month(db, &scope).await?;
    let parking_by_lot = parking::report::utilization_by_lot(db, &scope)
        .await?
        .into_iter()
        .map(|lot| {
            let utilization = lot.utilization();
            (lot.lot_id, lot.name, utilization)
        })
        .collect();
    Ok(Series {
        demands_by_day,
        points_by_day: merge(issued, redeemed),
        volunteer_minutes_by_month,
        parking_by_lot,
    })
}
