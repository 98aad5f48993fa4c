//! Parking's part of the dashboard: bookings, the points spent on parking, and how full the
//! lots were.

use crate::service::{lots, usage};
use crate::ParkingError;
use chrono::{Duration, NaiveDate};
use platform::report::{Bind, Scope};
use sea_orm::ConnectionTrait;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParkingFigures {
    /// Bookings starting in the period, cancelled ones aside.
    pub bookings: i64,
    /// Booked over open slot-minutes across the subtree's lots; `None` without lots.
    pub utilization: Option<f64>,
    pub points_spent: i64,
}

const SPENT: &str = "FROM ledger_transfers t JOIN ledger_accounts a ON a.id = t.credit_account_id \
     JOIN parking_lots l ON l.id = a.owner_id \
     WHERE a.kind = 'parking_operator' AND t.code = 'parking' AND l.org_path LIKE $1 \
     AND t.created_at >= $2 AND t.created_at < $3";

pub async fn figures(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<ParkingFigures, ParkingError> {
    let bookings = scope
        .number(conn, Bind::PathPeriod,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM parking_bookings b JOIN parking_lots l ON l.id = b.lot_id \
             WHERE l.org_path LIKE $1 AND b.status <> 'cancelled' AND b.starts_at >= $2 AND b.starts_at < $3")
        .await?;
    let points_spent = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!("SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n {SPENT}"),
        )
        .await?;
    let by_lot = utilization_by_lot(conn, scope).await?;
    let utilization = (!by_lot.is_empty())
        .then(|| {
            let booked: i64 = by_lot.iter().map(|l| l.booked_minutes).sum();
            let open: i64 = by_lot.iter().map(|l| l.open_slot_minutes).sum();
            (open > 0).then(|| booked as f64 / open as f64)
        })
        .flatten();
    Ok(ParkingFigures {
        bookings,
        utilization,
        points_spent,
    })
}

/// Points spent on parking per Beijing day of the period.
pub async fn points_spent_by_day(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<(String, i64)>, ParkingError> {
    let day = scope.local_date("t.created_at", false);
    Ok(scope
        .grouped(
            conn,
            &format!("SELECT {day} AS k, CAST(SUM(t.amount) AS BIGINT) AS n {SPENT} GROUP BY 1"),
        )
        .await?)
}

/// One lot's use over the period.
#[derive(Debug, Clone, PartialEq)]
pub struct LotUse {
    pub lot_id: String,
    pub name: String,
    pub booked_minutes: i64,
    pub open_slot_minutes: i64,
}

impl LotUse {
    /// Booked over open slot-minutes; `None` when the lot was never open.
    pub fn utilization(&self) -> Option<f64> {
        (self.open_slot_minutes > 0)
            .then(|| self.booked_minutes as f64 / self.open_slot_minutes as f64)
    }
}

/// Each of the subtree's lots, day by day over the period (capped at its last
/// [`usage::MAX_DAYS`] days, the longest the per-lot figures cover).
pub async fn utilization_by_lot(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<LotUse>, ParkingError> {
    let (first, last) = days_of(scope);
    let mut used = Vec::new();
    for lot in lots::list(conn, Some(&scope.org_path)).await? {
        let days = usage::daily(conn, &lot, first, last, scope.now).await?;
        used.push(LotUse {
            booked_minutes: days.iter().map(|d| d.booked_minutes).sum(),
            open_slot_minutes: days.iter().map(|d| d.open_slot_minutes).sum(),
            lot_id: lot.id,
            name: lot.name,
        });
    }
    Ok(used)
}

/// The Beijing days a period covers, at most the last [`usage::MAX_DAYS`].
fn days_of(scope: &Scope) -> (NaiveDate, NaiveDate) {
    let beijing = platform::clock::CHINA_OFFSET;
    let last = ((scope.to - Duration::seconds(1)) + beijing).date_naive();
    let first = (scope.from + beijing)
        .date_naive()
        .max(last - Duration::days(usage::MAX_DAYS - 1));
    (first, last)
}
