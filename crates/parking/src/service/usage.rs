//! Occupancy and utilisation of a lot per day (Beijing time), for the dashboard: booked
//! minutes against the slot-minutes the lot was open, and minutes cars were actually parked.

use crate::entity::{booking, lot};
use crate::open_hours;
use crate::service::lots::windows;
use crate::ParkingError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use platform::ValidationErrors;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// The longest period one request may ask for.
pub const MAX_DAYS: i64 = 92;
/// Asia/Shanghai: the district's days and opening hours are in its local time.
use platform::clock::CHINA_OFFSET as BEIJING;

#[derive(Debug, Clone, PartialEq)]
pub struct DayUsage {
    pub date: NaiveDate,
    pub bookings: i64,
    /// Slot-minutes booked (cancelled bookings left out).
    pub booked_minutes: i64,
    /// Slot-minutes cars were in (entry to exit, or to now while parked).
    pub occupied_minutes: i64,
    /// Slot-minutes the lot was open: slots × open minutes that day.
    pub open_slot_minutes: i64,
    /// `booked_minutes / open_slot_minutes`; `None` on a closed day.
    pub utilization: Option<f64>,
    pub points_charged: i64,
}

fn overlap(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> i64 {
    (a.1.min(b.1) - a.0.max(b.0)).num_minutes().max(0)
}

/// Minutes of `[from, to)` the lot is open, counted minute by open stretch.
fn open_minutes(windows: &[open_hours::Window], from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    open_hours::open_stretches(windows, from, to)
        .into_iter()
        .map(|stretch| overlap(stretch, (from, to)))
        .sum()
}

/// [`daily`] for the lot `lot_id`, for those who operate it (others: no such lot).
pub async fn daily_of(
    conn: &impl ConnectionTrait,
    actor: &identity::Actor,
    lot_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<DayUsage>, ParkingError> {
    let lot = crate::service::lots::find(conn, lot_id).await?;
    if !crate::service::lots::operates(actor, &lot) {
        return Err(ParkingError::NotFound("parking lot"));
    }
    daily(conn, &lot, from, to, now).await
}

pub async fn daily(
    conn: &impl ConnectionTrait,
    lot: &lot::Model,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<DayUsage>, ParkingError> {
    if to < from || (to - from).num_days() >= MAX_DAYS {
        return Err(ValidationErrors::single(
            "to",
            format!("must be on or after from, at most {MAX_DAYS} days"),
        )
        .into());
    }
    let start = from
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc() - BEIJING)
        .unwrap_or(now);
    let end = (to + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc() - BEIJING)
        .unwrap_or(now);
    let rows = booking::Entity::find()
        .filter(booking::Column::LotId.eq(lot.id.as_str()))
        .filter(booking::Column::Status.ne(crate::BookingStatus::Cancelled))
        .filter(booking::Column::StartsAt.lt(end))
        .filter(booking::Column::EndsAt.gt(start - Duration::days(3)))
        .all(conn)
        .await?;
    let lot_windows = windows(lot);
    let mut days = Vec::new();
    let mut day = from;
    while day <= to {
        let day_start = day
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc() - BEIJING)
            .unwrap_or(now);
        let span = (day_start, day_start + Duration::days(1));
        let mut usage = DayUsage {
            date: day,
            bookings: 0,
            booked_minutes: 0,
            occupied_minutes: 0,
            open_slot_minutes: lot.slot_count * open_minutes(&lot_windows, span.0, span.1),
            utilization: None,
            points_charged: 0,
        };
        for b in &rows {
            let booked = overlap((b.starts_at, b.ends_at), span);
            if span.0 <= b.starts_at && b.starts_at < span.1 {
                usage.bookings += 1;
                usage.points_charged += b.charged_points + b.overstay_points;
            }
            usage.booked_minutes += booked;
            if let Some(entered) = b.entered_at {
                usage.occupied_minutes += overlap((entered, b.exited_at.unwrap_or(now)), span);
            }
        }
        usage.utilization = (usage.open_slot_minutes > 0)
            .then(|| usage.booked_minutes as f64 / usage.open_slot_minutes as f64);
        days.push(usage);
        day += Duration::days(1);
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open_hours::Window;

    #[test]
    fn a_night_lot_is_open_fourteen_hours_a_calendar_day() {
        let nights = vec![Window {
            days: vec![1, 2, 3, 4, 5, 6, 7],
            from: "18:00".into(),
            to: "08:00".into(),
        }];
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let start = day.and_hms_opt(0, 0, 0).unwrap().and_utc() - BEIJING;
        // 00:00–08:00 (the night before) and 18:00–24:00.
        assert_eq!(
            open_minutes(&nights, start, start + Duration::days(1)),
            14 * 60
        );
    }
}
