//! Bookings: a slot for a window, its price held on the resident's points. No slot is ever
//! booked for overlapping minutes: on PostgreSQL an exclusion constraint
//! (`ex_parking_bookings_no_overlap`) refuses the second of two racing bookings, whose
//! insert then does nothing and which tries another free slot; on SQLite the single writer
//! makes the check-then-insert atomic.

use crate::booking_state::{BookingAction, BookingStatus};
use crate::entity::{booking, lot};
use crate::open_hours;
use crate::pricing::{price, unit_points, units};
use crate::service::lots::{find, windows};
use crate::{plate, ParkingError};
use chrono::{DateTime, Duration, Utc};
use identity::Actor;
use platform::ids::new_id;
use platform::{Reach, ValidationErrors};
use points_ledger::service::accounts::balance_of;
use points_ledger::service::holds::{self, HoldRequest, PostRequest};
use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
use points_ledger::{AccountRef, Asset, ExpiryRule};
use rand::seq::IndexedRandom;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::QueryTrait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TryInsertResult,
};

/// Racing bookings try this many free slots before giving up.
const ATTEMPTS: usize = 8;
/// Pick among this many free slots at random, so concurrent bookings rarely collide.
const CANDIDATES: u64 = 16;
/// A booking may start this long in the past (a resident booking at the gate).
const START_SLACK_MINUTES: i64 = 5;

#[derive(Debug, Clone)]
pub struct BookingInput {
    pub lot_id: String,
    pub plate: plate::Plate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Free slots and the price for a window (no hold, no checks of the resident).
pub async fn availability(
    conn: &impl ConnectionTrait,
    lot_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(lot::Model, i64, i64, bool), ParkingError> {
    let lot = find(conn, lot_id).await?;
    if to <= from {
        return Err(ValidationErrors::single("to", "must be after from").into());
    }
    let free = free_slots(conn, lot_id, from, to, None).await?.len() as i64;
    let quote = price(
        (to - from).num_minutes(),
        lot.points_per_hour,
        lot.billing_unit_minutes,
    );
    let open = open_hours::covers(&windows(&lot), from, to);
    Ok((lot, free, quote, open))
}

/// A slot free for a window.
#[derive(Debug, Clone)]
struct FreeSlot {
    id: String,
    code: String,
}

/// Slots with no live booking overlapping `[from, to)`, by code.
async fn free_slots(
    conn: &impl ConnectionTrait,
    lot_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: Option<u64>,
) -> Result<Vec<FreeSlot>, ParkingError> {
    let backend = conn.get_database_backend();
    // The slots taken for the window are found once (through the partial index of live
    // bookings by lot and end), then the lot's slots are read in code order until enough
    // are free: a plan that stays cheap whatever the planner believes of the tables' sizes
    // (a per-slot probe planned on a new, empty database compared every slot with every
    // live booking of every lot).
    let mut sql = "SELECT s.id AS id, s.code AS code FROM parking_slots s WHERE s.lot_id = $1 \
         AND s.id NOT IN ( \
         SELECT b.slot_id FROM parking_bookings b WHERE b.lot_id = $1 \
         AND b.status IN ('booked', 'active') AND b.ends_at > $2 AND b.starts_at < $3) \
         ORDER BY s.code"
        .to_owned();
    if let Some(limit) = limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let rows = conn
        .query_all(sea_orm::Statement::from_sql_and_values(
            backend,
            &sql,
            [lot_id.into(), from.into(), to.into()],
        ))
        .await?;
    rows.into_iter()
        .map(|row| {
            Ok(FreeSlot {
                id: row.try_get("", "id")?,
                code: row.try_get("", "code")?,
            })
        })
        .collect()
}

/// A booking made, with the painted code of its slot.
#[derive(Debug, Clone)]
pub struct Booked {
    pub booking: booking::Model,
    pub slot_code: String,
}

pub async fn book(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: BookingInput,
    now: DateTime<Utc>,
) -> Result<Booked, ParkingError> {
    let plate = input.plate.as_str().to_owned();
    let lot = find(conn, &input.lot_id).await?;
    let mut errors = ValidationErrors::new();
    if input.ends_at <= input.starts_at {
        errors.add("ends_at", "must be after starts_at");
    } else if input.ends_at - input.starts_at > Duration::hours(lot.max_booking_hours) {
        errors.add(
            "ends_at",
            format!(
                "a booking lasts at most {} hours here",
                lot.max_booking_hours
            ),
        );
    }
    if input.starts_at < now - Duration::minutes(START_SLACK_MINUTES) {
        errors.add("starts_at", "must not be in the past");
    }
    errors.into_result()?;
    if !open_hours::covers(&windows(&lot), input.starts_at, input.ends_at) {
        return Err(ParkingError::OutsideOpenHours);
    }
    let unpaid = booking::Entity::find()
        .filter(booking::Column::UserId.eq(actor.user_id.as_str()))
        .filter(booking::Column::Status.eq(BookingStatus::UnpaidOverstay))
        .one(conn)
        .await?;
    if let Some(unpaid) = unpaid {
        return Err(ParkingError::UnpaidOverstay {
            points: unpaid.unpaid_points,
        });
    }
    let quote = price(
        (input.ends_at - input.starts_at).num_minutes(),
        lot.points_per_hour,
        lot.billing_unit_minutes,
    );
    let id = new_id();
    let hold_id = if quote > 0 {
        holds::reserve(
            conn,
            HoldRequest {
                idempotency_key: format!("parking:{id}:hold"),
                account: AccountRef::wallet(Asset::Points, &actor.user_id),
                amount: quote,
                expires_at: input.ends_at + Duration::days(2),
                reference: Some(("parking_booking".to_owned(), id.clone())),
            },
            now,
        )
        .await?
        .id
    } else {
        String::new()
    };
    for _ in 0..ATTEMPTS {
        let candidates = free_slots(
            conn,
            &lot.id,
            input.starts_at,
            input.ends_at,
            Some(CANDIDATES),
        )
        .await?;
        let Some(slot) = candidates.choose(&mut rand::rng()).cloned() else {
            return Err(ParkingError::NoSlotAvailable);
        };
        let row = booking::ActiveModel {
            id: Set(id.clone()),
            lot_id: Set(lot.id.clone()),
            slot_id: Set(slot.id),
            user_id: Set(actor.user_id.clone()),
            plate: Set(plate.clone()),
            starts_at: Set(input.starts_at),
            ends_at: Set(input.ends_at),
            status: Set(BookingStatus::Booked),
            hold_id: Set(hold_id.clone()),
            held_points: Set(quote),
            entered_at: Set(None),
            exited_at: Set(None),
            charged_points: Set(0),
            overstay_points: Set(0),
            unpaid_points: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
        };
        // On PostgreSQL the exclusion constraint refuses a slot another transaction booked
        // for overlapping minutes since the query above: the insert then does nothing and
        // the next attempt picks another slot. SQLite's one writer cannot race.
        let inserted = booking::Entity::insert(row)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .do_nothing()
            .exec_with_returning(conn)
            .await?;
        if let TryInsertResult::Inserted(booking) = inserted {
            return Ok(Booked {
                booking,
                slot_code: slot.code,
            });
        }
    }
    Err(ParkingError::NoSlotAvailable)
}

/// Pairs of live bookings (booked or parked) of one slot whose windows overlap: always 0
/// unless the no-double-booking guarantee broke. Checked by `linli parking verify-bookings`
/// and after every load run.
pub async fn overlapping_pairs(conn: &impl ConnectionTrait) -> Result<i64, ParkingError> {
    let backend = conn.get_database_backend();
    let row = conn
        .query_one(sea_orm::Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM parking_bookings a JOIN parking_bookings b \
             ON a.slot_id = b.slot_id AND a.id < b.id \
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at \
             WHERE a.status IN ('booked', 'active') AND b.status IN ('booked', 'active')",
        ))
        .await?;
    Ok(match row {
        Some(row) => row.try_get::<i64>("", "n")?,
        None => 0,
    })
}

pub async fn find_booking(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<booking::Model, ParkingError> {
    booking::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or(ParkingError::NotFound("booking"))
}

/// The resident's bookings, newest first.
pub async fn mine(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<booking::Model>, Option<String>), ParkingError> {
    let mut query =
        booking::Entity::find().filter(booking::Column::UserId.eq(actor.user_id.as_str()));
    if let Some(before) = before {
        query = query.filter(booking::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(booking::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(platform::paging::split_page(rows, limit, |b| b.id.clone()))
}

/// Moves a booking from `from` to `to` by compare-and-set, with extra columns.
/// Moves the booking by `action` (refused when the state machine does not allow it) with a
/// compare-and-set on its current status: `false` when someone else moved it first.
async fn flip(
    conn: &impl ConnectionTrait,
    booking: &booking::Model,
    action: BookingAction,
    columns: Vec<(booking::Column, sea_orm::sea_query::SimpleExpr)>,
    now: DateTime<Utc>,
) -> Result<bool, ParkingError> {
    let to = booking
        .status
        .apply(action)
        .ok_or_else(|| ParkingError::InvalidTransition {
            action: action.verb(),
            from: booking.status.as_str().to_owned(),
        })?;
    let mut update = booking::Entity::update_many()
        .col_expr(booking::Column::Status, Expr::value(to))
        .col_expr(booking::Column::UpdatedAt, Expr::value(now));
    for (column, value) in columns {
        update = update.col_expr(column, value);
    }
    let changed = update
        .filter(booking::Column::Id.eq(booking.id.as_str()))
        .filter(booking::Column::Status.eq(booking.status))
        .exec(conn)
        .await?;
    Ok(changed.rows_affected == 1)
}

/// Cancels the resident's booking before it starts; the hold is released in full.
pub async fn cancel(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
    now: DateTime<Utc>,
) -> Result<booking::Model, ParkingError> {
    let booking = find_booking(conn, id).await?.clone();
    if booking.user_id != actor.user_id {
        return Err(ParkingError::NotFound("booking"));
    }
    if booking.status != BookingStatus::Booked || now >= booking.starts_at {
        return Err(ParkingError::InvalidTransition {
            action: "cancel",
            from: if booking.status == BookingStatus::Booked {
                "started".to_owned()
            } else {
                booking.status.as_str().to_owned()
            },
        });
    }
    if !flip(conn, &booking, BookingAction::Cancel, Vec::new(), now).await? {
        return Err(ParkingError::Changed);
    }
    if !booking.hold_id.is_empty() {
        holds::void(conn, &booking.hold_id, now).await?;
    }
    Ok(booking::Model {
        status: BookingStatus::Cancelled,
        updated_at: now,
        ..booking
    })
}

/// The car is in: `booked` → `active`. False when the booking was not `booked`.
pub async fn enter(
    conn: &impl ConnectionTrait,
    booking: &booking::Model,
    now: DateTime<Utc>,
) -> Result<bool, ParkingError> {
    if booking.status.apply(BookingAction::Enter).is_none() {
        return Ok(false);
    }
    flip(
        conn,
        booking,
        BookingAction::Enter,
        vec![(booking::Column::EnteredAt, Expr::value(now))],
        now,
    )
    .await
}

/// A car may be checked in by hand from the booking's start minus the lot's entry grace until
/// the booking ends, as the gate would let it in; earlier or later would let an operator
/// charge a resident for hours they never parked.
pub fn ensure_check_in_window(
    lot: &lot::Model,
    booking: &booking::Model,
    now: DateTime<Utc>,
) -> Result<(), ParkingError> {
    let opens_at = booking.starts_at - Duration::minutes(lot.entry_grace_minutes);
    if now < opens_at || now >= booking.ends_at {
        return Err(ParkingError::OutsideCheckInWindow {
            opens_at,
            ends_at: booking.ends_at,
        });
    }
    Ok(())
}

/// What leaving cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitCharge {
    pub charged: i64,
    pub overstay: i64,
    pub unpaid: i64,
}

/// The car is out: charge the units parked within the booking from the hold (at least one
/// unit), release the rest, charge overstay past `ends_at` from the available balance, and
/// record what the balance cannot cover as `unpaid_overstay`.
pub async fn exit(
    conn: &impl ConnectionTrait,
    lot: &lot::Model,
    booking: &booking::Model,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<ExitCharge, ParkingError> {
    let entered = booking.entered_at.unwrap_or(booking.starts_at);
    let inside = (now.min(booking.ends_at) - entered.max(booking.starts_at)).num_minutes();
    let unit = lot.billing_unit_minutes;
    let inside_units = units(inside, unit).max(1);
    let charged = (inside_units * unit_points(lot.points_per_hour, unit)).min(booking.held_points);
    let overstay = if now > booking.ends_at {
        price(
            (now - booking.ends_at).num_minutes(),
            lot.points_per_hour,
            unit,
        )
    } else {
        0
    };
    let wallet = AccountRef::wallet(Asset::Points, &booking.user_id);
    let operator = AccountRef::parking_operator(&lot.id);
    let available_after_hold = balance_of(conn, &wallet).await?.available();
    // The hold is released before the overstay is charged, so the points it kept back and
    // does not need count towards the overstay.
    let released = booking.held_points - charged;
    let overstay_paid = overstay.min((available_after_hold + released).max(0));
    let unpaid = overstay - overstay_paid;
    if !flip(
        conn,
        booking,
        BookingAction::Exit {
            paid_in_full: unpaid == 0,
        },
        vec![
            (booking::Column::ExitedAt, Expr::value(now)),
            (booking::Column::ChargedPoints, Expr::value(charged)),
            (booking::Column::OverstayPoints, Expr::value(overstay_paid)),
            (booking::Column::UnpaidPoints, Expr::value(unpaid)),
        ],
        now,
    )
    .await?
    {
        return Err(ParkingError::Changed);
    }
    settle_hold(conn, booking, &operator, charged, rule, now, "停车费").await?;
    if overstay_paid > 0 {
        transfer(
            conn,
            TransferRequest {
                idempotency_key: format!("parking:{}:overstay", booking.id),
                from: wallet,
                to: operator,
                amount: overstay_paid,
                code: TransferCode::Parking,
                memo: format!("超时停车 {}", booking.plate),
                reference: Some(("parking_booking".to_owned(), booking.id.clone())),
            },
            rule,
            now,
        )
        .await?;
    }
    Ok(ExitCharge {
        charged,
        overstay: overstay_paid,
        unpaid,
    })
}

/// Posts `amount` of the booking's hold to the operator and releases the rest.
async fn settle_hold(
    conn: &impl ConnectionTrait,
    booking: &booking::Model,
    operator: &AccountRef,
    amount: i64,
    rule: ExpiryRule,
    now: DateTime<Utc>,
    memo: &str,
) -> Result<(), ParkingError> {
    if booking.hold_id.is_empty() {
        return Ok(());
    }
    if amount > 0 {
        holds::post(
            conn,
            PostRequest {
                hold_id: booking.hold_id.clone(),
                to: operator.clone(),
                amount,
                code: TransferCode::Parking,
                memo: format!("{memo} {}", booking.plate),
                idempotency_key: format!("parking:{}:charge", booking.id),
            },
            rule,
            now,
        )
        .await?;
    } else {
        holds::void(conn, &booking.hold_id, now).await?;
    }
    Ok(())
}

/// Pays an unpaid overstay from the available balance; the resident may book again.
pub async fn pay_overstay(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<booking::Model, ParkingError> {
    let booking = find_booking(conn, id).await?;
    if booking.user_id != actor.user_id {
        return Err(ParkingError::NotFound("booking"));
    }
    if booking.status != BookingStatus::UnpaidOverstay {
        return Err(ParkingError::InvalidTransition {
            action: "pay",
            from: booking.status.as_str().to_owned(),
        });
    }
    let owed = booking.unpaid_points;
    if !flip(
        conn,
        &booking,
        BookingAction::PayOverstay,
        vec![
            (booking::Column::UnpaidPoints, Expr::value(0)),
            (
                booking::Column::OverstayPoints,
                Expr::value(booking.overstay_points + owed),
            ),
        ],
        now,
    )
    .await?
    {
        return Err(ParkingError::Changed);
    }
    transfer(
        conn,
        TransferRequest {
            idempotency_key: format!("parking:{}:overstay-paid", booking.id),
            from: AccountRef::wallet(Asset::Points, &booking.user_id),
            to: AccountRef::parking_operator(&booking.lot_id),
            amount: owed,
            code: TransferCode::Parking,
            memo: format!("补缴超时停车费 {}", booking.plate),
            reference: Some(("parking_booking".to_owned(), booking.id.clone())),
        },
        rule,
        now,
    )
    .await?;
    Ok(booking::Model {
        status: BookingStatus::Completed,
        unpaid_points: 0,
        overstay_points: booking.overstay_points + owed,
        updated_at: now,
        ..booking
    })
}

/// Booked bookings that started more than `after` ago without their car: what
/// [`mark_no_shows`] marks, and what the job round asks about before running it. Within
/// `reach`: in the lots of its orgs.
pub fn due_as_no_shows(
    after: Duration,
    now: DateTime<Utc>,
    reach: &Reach,
) -> sea_orm::Select<booking::Entity> {
    let due = booking::Entity::find()
        .filter(booking::Column::Status.eq(BookingStatus::Booked))
        .filter(booking::Column::StartsAt.lte(now - after))
        .order_by_asc(booking::Column::StartsAt);
    match reach.path() {
        None => due,
        // The lot's path checked row by row, never a way in: named as `lot_id IN (the org's
        // lots)`, PostgreSQL's cached generic plan walked from each lot through its whole
        // booking history (4 ms a question by the end of a simulated year) instead of
        // through the few bookings due.
        Some(path) => {
            let lot_path = lot::Entity::find()
                .select_only()
                .column(lot::Column::OrgPath)
                .filter(
                    Expr::col((lot::Entity, lot::Column::Id))
                        .equals((booking::Entity, booking::Column::LotId)),
                )
                .into_query();
            due.filter(
                Expr::expr(sea_orm::sea_query::SimpleExpr::SubQuery(
                    None,
                    Box::new(lot_path.into_sub_query_statement()),
                ))
                .like(format!("{path}%")),
            )
        }
    }
}

/// Bookings nobody drove into within `after` of their start: charged `units` billing units
/// (at most what is held), the rest released, the slot freed.
pub async fn mark_no_shows(
    conn: &impl ConnectionTrait,
    after: Duration,
    charge_units: i64,
    rule: ExpiryRule,
    now: DateTime<Utc>,
    reach: &Reach,
    batch: u64,
) -> Result<u64, ParkingError> {
    let due = due_as_no_shows(after, now, reach)
        .limit(batch)
        .all(conn)
        .await?;
    let mut marked = 0;
    for booking in due {
        let lot = find(conn, &booking.lot_id).await?;
        let charge = (charge_units * unit_points(lot.points_per_hour, lot.billing_unit_minutes))
            .min(booking.held_points);
        if !flip(
            conn,
            &booking,
            BookingAction::MarkNoShow,
            vec![(booking::Column::ChargedPoints, Expr::value(charge))],
            now,
        )
        .await?
        {
            continue;
        }
        settle_hold(
            conn,
            &booking,
            &AccountRef::parking_operator(&lot.id),
            charge,
            rule,
            now,
            "未按时入场",
        )
        .await?;
        marked += 1;
    }
    Ok(marked)
}

/// The booking the plate may enter on now: booked, starting within the entry grace.
pub async fn bookable_entry(
    conn: &impl ConnectionTrait,
    lot: &lot::Model,
    plate: &str,
    now: DateTime<Utc>,
) -> Result<Option<booking::Model>, ParkingError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::LotId.eq(lot.id.as_str()))
        .filter(booking::Column::Plate.eq(plate))
        .filter(booking::Column::Status.eq(BookingStatus::Booked))
        .filter(booking::Column::StartsAt.lte(now + Duration::minutes(lot.entry_grace_minutes)))
        .filter(booking::Column::EndsAt.gt(now))
        .order_by_asc(booking::Column::StartsAt)
        .one(conn)
        .await?)
}

/// The plate's parked booking at the lot, if any.
pub async fn parked(
    conn: &impl ConnectionTrait,
    lot: &lot::Model,
    plate: &str,
) -> Result<Option<booking::Model>, ParkingError> {
    Ok(booking::Entity::find()
        .filter(booking::Column::LotId.eq(lot.id.as_str()))
        .filter(booking::Column::Plate.eq(plate))
        .filter(booking::Column::Status.eq(BookingStatus::Active))
        .order_by_asc(booking::Column::StartsAt)
        .one(conn)
        .await?)
}

/// What staff do by hand at a lot without a camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffGateAction {
    CheckIn,
    CheckOut,
}

impl StaffGateAction {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "check-in" => Some(Self::CheckIn),
            "check-out" => Some(Self::CheckOut),
            _ => None,
        }
    }
}

/// Checks a car in or out by hand, as the gate would (staff over the lot's org or of its
/// partner). An exit that charges an overstay is audited: a hand-entered exit that charges
/// the resident extra is on the record. Answers the booking afterwards.
pub async fn check_by_staff(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    booking_id: &str,
    action: StaffGateAction,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<booking::Model, ParkingError> {
    let booking = find_booking(conn, booking_id).await?;
    let lot = find(conn, &booking.lot_id).await?;
    if !crate::service::lots::operates(actor, &lot) {
        return Err(ParkingError::NotFound("booking"));
    }
    let invalid = |action: &'static str| ParkingError::InvalidTransition {
        action,
        from: booking.status.as_str().to_owned(),
    };
    match action {
        StaffGateAction::CheckIn => {
            if booking.status != BookingStatus::Booked {
                return Err(invalid("check in"));
            }
            ensure_check_in_window(&lot, &booking, now)?;
            if !enter(conn, &booking, now).await? {
                return Err(invalid("check in"));
            }
        }
        StaffGateAction::CheckOut => {
            if booking.status != BookingStatus::Active
                || booking.entered_at.is_some_and(|at| at > now)
            {
                return Err(invalid("check out"));
            }
            let charge = exit(conn, &lot, &booking, rule, now).await?;
            if charge.overstay > 0 {
                platform::audit::record(
                    conn,
                    platform::audit::AuditEntry {
                        actor_id: Some(&actor.user_id),
                        action: "parking_manual_check_out_overstay",
                        subject: ("parking_booking", &booking.id),
                        detail: serde_json::json!({
                            "lot_id": lot.id,
                            "entered_at": booking.entered_at,
                            "ends_at": booking.ends_at,
                            "checked_out_at": now,
                            "charged_points": charge.charged,
                            "overstay_points": charge.overstay,
                            "unpaid_points": charge.unpaid,
                        }),
                    },
                    now,
                )
                .await?;
            }
        }
    }
    find_booking(conn, booking_id).await
}

/// The codes of the slots these bookings hold, by slot id, in one query.
pub async fn slot_codes(
    conn: &impl ConnectionTrait,
    rows: &[booking::Model],
) -> Result<std::collections::HashMap<String, String>, ParkingError> {
    let ids: Vec<String> = rows.iter().map(|b| b.slot_id.clone()).collect();
    Ok(crate::entity::slot::Entity::find()
        .filter(crate::entity::slot::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s.code))
        .collect())
}
