//! The staff dashboard's figures as JSON (`GET /api/v1/staff/dashboard`).

use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::routes::demands::MetricsResponse;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use demands::service::metrics;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/staff/dashboard").route(web::get().to(dashboard)))
        .service(web::resource("/staff/dashboard/series").route(web::get().to(series)));
}

#[derive(Deserialize, IntoParams)]
pub struct DashboardQuery {
    /// District, street or community in the caller's scope (default: the caller's org).
    pub org_id: Option<String>,
    /// Start of the period (default: 30 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// End of the period, exclusive (default: now).
    pub to: Option<DateTime<Utc>>,
}

impl DashboardQuery {
    /// `[from, to)`: `to` defaults to now, `from` to 30 days before `to`.
    fn period(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let to = self.to.unwrap_or(now);
        (self.from.unwrap_or(to - Duration::days(30)), to)
    }
}

#[derive(Serialize, ToSchema)]
pub struct PointsResponse {
    /// From org budgets to residents in the period (awards, volunteering).
    pub issued: i64,
    /// Spent at partners and on parking in the period.
    pub redeemed: i64,
    pub expired: i64,
    /// Held by the org's residents now.
    pub circulating: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ParkingResponse {
    pub bookings: i64,
    /// Booked over open slot-minutes in the period (at most its last 92 days).
    pub utilization: Option<f64>,
    pub points_spent: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TimebankResponse {
    /// Minutes settled in the period at volunteer activities and at any activity that
    /// credits time (a night-school class settled without time credits is not volunteering).
    pub volunteer_minutes: i64,
    pub volunteers: i64,
    /// Every kind of activity (`volunteer`, `night_school`, `market`, `other`), zeros
    /// included: those held (starting in the period, not cancelled) and the distinct
    /// residents who checked in at them.
    pub by_kind: Vec<ActivityKindCount>,
}

#[derive(Serialize, ToSchema)]
pub struct ActivityKindCount {
    pub kind: String,
    pub activities: i64,
    pub participants: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PartnerKindCount {
    pub kind: String,
    pub active: i64,
}

/// The community partner scheme (社区合伙人) under the org.
#[derive(Serialize, ToSchema)]
pub struct PartnersResponse {
    /// Active partners of each kind (every kind listed, zeros included).
    pub by_kind: Vec<PartnerKindCount>,
    pub needs_open: i64,
    pub needs_matched: i64,
    pub needs_met: i64,
    pub problems_open: i64,
    pub projects_running: i64,
    /// Mean of the running projects' latest evaluation achievement (null before any).
    pub average_goal_achievement: Option<f64>,
    /// Required disclosures not made.
    pub disclosures_missing: i64,
    /// Approved space bookings starting in the period, and their hours.
    pub space_bookings: i64,
    pub space_hours: f64,
}

impl From<partners::report::SchemeFigures> for PartnersResponse {
    fn from(f: partners::report::SchemeFigures) -> Self {
        Self {
            by_kind: f
                .partners_by_kind
                .into_iter()
                .map(|(kind, active)| PartnerKindCount {
                    kind: kind.to_owned(),
                    active,
                })
                .collect(),
            needs_open: f.needs_open,
            needs_matched: f.needs_matched,
            needs_met: f.needs_met,
            problems_open: f.problems_open,
            projects_running: f.projects_running,
            average_goal_achievement: f.average_goal_achievement,
            disclosures_missing: f.disclosures_missing,
            space_bookings: f.space_bookings,
            space_hours: f.space_hours,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ColourCount {
    pub colour: String,
    pub count: i64,
}

/// Care coverage (五色图) under the org: counts only.
#[derive(Serialize, ToSchema)]
pub struct CareResponse {
    pub recipients: i64,
    /// Every colour, most urgent first, zeros included.
    pub by_colour: Vec<ColourCount>,
    pub visits_overdue: i64,
    /// Recipients whose next visit is not yet due, over all (null without recipients).
    pub visits_on_time_rate: Option<f64>,
    pub home_service_orders: HomeServiceOrderFigures,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

/// Home-service orders under the org and their satisfaction.
#[derive(Serialize, ToSchema)]
pub struct HomeServiceOrderFigures {
    pub total: i64,
    /// Every status (`requested`, `dispatched`, `completed`, `confirmed`, `cancelled`),
    /// zeros included.
    pub by_status: Vec<StatusCount>,
    /// Ordered by community staff for care recipients (paid by the community).
    pub for_care_recipients: i64,
    pub rated: i64,
    /// 1–5; null without ratings.
    pub mean_rating: Option<f64>,
    /// Rated 4 or 5 over rated; null without ratings.
    pub satisfaction_rate: Option<f64>,
}

impl From<care::report::OrderFigures> for HomeServiceOrderFigures {
    fn from(f: care::report::OrderFigures) -> Self {
        Self {
            total: f.total,
            by_status: f
                .by_status
                .into_iter()
                .map(|(status, count)| StatusCount {
                    status: status.to_owned(),
                    count,
                })
                .collect(),
            for_care_recipients: f.for_care_recipients,
            rated: f.rated,
            mean_rating: f.mean_rating,
            satisfaction_rate: f.satisfaction_rate,
        }
    }
}

impl From<care::report::CareFigures> for CareResponse {
    fn from(f: care::report::CareFigures) -> Self {
        Self {
            recipients: f.recipients,
            by_colour: f
                .by_colour
                .into_iter()
                .map(|(colour, count)| ColourCount {
                    colour: colour.to_owned(),
                    count,
                })
                .collect(),
            visits_overdue: f.visits_overdue,
            visits_on_time_rate: f.visits_on_time_rate,
            home_service_orders: f.orders.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DashboardResponse {
    pub org_id: String,
    pub org_name: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Residents registered in the org's communities.
    pub residents: i64,
    pub merchants_active: i64,
    pub offers_published: i64,
    /// Cash value of the services redeemed in the period, in fen.
    pub service_value_fen: i64,
    pub points: PointsResponse,
    pub demands: MetricsResponse,
    pub parking: ParkingResponse,
    pub timebank: TimebankResponse,
    pub partners: PartnersResponse,
    pub care: CareResponse,
}

impl DashboardResponse {
    fn new(
        org: identity::entity::org::Model,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        figures: crate::dashboard::Figures,
        demands: MetricsResponse,
    ) -> Self {
        Self {
            org_id: org.id,
            org_name: org.name,
            from,
            to,
            residents: figures.residents,
            merchants_active: figures.merchants_active,
            offers_published: figures.offers_published,
            service_value_fen: figures.service_value_fen,
            points: PointsResponse {
                issued: figures.points.issued,
                redeemed: figures.points.redeemed,
                expired: figures.points.expired,
                circulating: figures.points.circulating,
            },
            demands,
            parking: ParkingResponse {
                bookings: figures.parking.bookings,
                utilization: figures.parking.utilization,
                points_spent: figures.parking.points_spent,
            },
            timebank: TimebankResponse {
                volunteer_minutes: figures.timebank.volunteer_minutes,
                volunteers: figures.timebank.volunteers,
                by_kind: figures
                    .timebank
                    .by_kind
                    .into_iter()
                    .map(|k| ActivityKindCount {
                        kind: k.kind.to_owned(),
                        activities: k.activities,
                        participants: k.participants,
                    })
                    .collect(),
            },
            partners: figures.scheme.into(),
            care: figures.care.into(),
        }
    }
}

/// Every figure of the dashboard for an org subtree over a period (staff only).
#[utoipa::path(get, path = "/api/v1/staff/dashboard", tag = "dashboard", security(("bearer" = [])), params(DashboardQuery),
    responses((status = 200, body = DashboardResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn dashboard(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let (from, to) = query.period(now);
    let org = metrics::scope_org(&state.reads, &user.0, query.org_id.as_deref()).await?;
    let demand_figures = metrics::compute(&state.reads, &org, from, to, now).await?;
    let figures = crate::dashboard::figures(&state.reads, &org, from, to, now).await?;
    Ok(HttpResponse::Ok().json(DashboardResponse::new(
        org,
        (from, to),
        figures,
        demand_figures.into(),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct DemandDay {
    /// `YYYY-MM-DD`, Beijing time.
    pub date: String,
    pub submitted: i64,
    pub closed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PointsDay {
    pub date: String,
    pub issued: i64,
    pub redeemed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct VolunteerMonth {
    /// `YYYY-MM`, Beijing time.
    pub month: String,
    pub hours: f64,
}

#[derive(Serialize, ToSchema)]
pub struct LotUtilization {
    pub lot_id: String,
    pub name: String,
    pub utilization: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct SeriesResponse {
    pub org_id: String,
    pub demands_by_day: Vec<DemandDay>,
    pub points_by_day: Vec<PointsDay>,
    pub volunteer_hours_by_month: Vec<VolunteerMonth>,
    pub parking_by_lot: Vec<LotUtilization>,
}

/// The dashboard's charts: demands submitted and closed per day, points issued and
/// redeemed per day, volunteer hours per month, parking utilisation per lot (staff only).
#[utoipa::path(get, path = "/api/v1/staff/dashboard/series", tag = "dashboard", security(("bearer" = [])), params(DashboardQuery),
    responses((status = 200, body = SeriesResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: `to` not after `from`, or an org out of scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn series(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<DashboardQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let (from, to) = query.period(now);
    if to <= from {
        return Err(platform::ValidationErrors::single("to", "must be after from").into());
    }
    let org = metrics::scope_org(&state.reads, &user.0, query.org_id.as_deref()).await?;
    // Series are kept per district, street and community; a compound is 422, not a failure.
    metrics::level_column(&org.kind)?;
    let series = crate::dashboard::series(&state.reads, &org, from, to, now).await?;
    Ok(HttpResponse::Ok().json(SeriesResponse::of(org.id, series)))
}

impl SeriesResponse {
    fn of(org_id: String, s: crate::dashboard::Series) -> Self {
        Self {
            org_id,
            demands_by_day: s
                .demands_by_day
                .into_iter()
                .map(|(date, submitted, closed)| DemandDay {
                    date,
                    submitted,
                    closed,
                })
                .collect(),
            points_by_day: s
                .points_by_day
                .into_iter()
                .map(|(date, issued, redeemed)| PointsDay {
                    date,
                    issued,
                    redeemed,
                })
                .collect(),
            volunteer_hours_by_month: s
                .volunteer_minutes_by_month
                .into_iter()
                .map(|(month, minutes)| VolunteerMonth {
                    month,
                    hours: minutes as f64 / 60.0,
                })
                .collect(),
            parking_by_lot: s
                .parking_by_lot
                .into_iter()
                .map(|(lot_id, name, utilization)| LotUtilization {
                    lot_id,
                    name,
                    utilization,
                })
                .collect(),
        }
    }
}
