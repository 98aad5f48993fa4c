//! Community spaces (空间换服务): staff set up a space with its opening hours and capacity,
//! optionally run by a partner; residents book it (`pending`, with the price held on their
//! points when it charges), and staff of its org or of the operating partner approve or
//! reject. Two approved bookings of one space never overlap: on PostgreSQL an exclusion
//! constraint refuses the second whatever happens; the approval checks first on both
//! backends (SQLite's single writer makes that check and the update atomic).

use super::resources::own_active_partner;
use super::scope::require_staff;
use crate::entity::{space, space_booking};
use crate::PartnerError;
use ::merchant::entity::merchant;
use ::merchant::MerchantStatus;
use chrono::{DateTime, Duration, Utc};
use identity::service::orgs;
use identity::Actor;
use parking::open_hours::{self, Window};
use parking::pricing::price;
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use points_ledger::service::holds::{self, HoldRequest, PostRequest};
use points_ledger::service::transfers::TransferCode;
use points_ledger::{AccountRef, Asset, ExpiryRule, LedgerError};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// The exclusion constraint of approved bookings (PostgreSQL).
const NO_OVERLAP: &str = "ex_space_bookings_no_overlap";
/// The longest booking.
const MAX_HOURS: i64 = 12;
/// How far ahead a space may be booked.
const MAX_DAYS_AHEAD: i64 = 90;

#[derive(Debug, Clone)]
pub struct NewSpace {
    pub org_id: String,
    pub name: String,
    pub area_m2: i64,
    pub scenes: Vec<String>,
    pub open_hours: Vec<Window>,
    pub capacity: i64,
    pub operator_partner_id: Option<String>,
    pub points_per_hour: i64,
}

pub async fn create(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewSpace,
    now: DateTime<Utc>,
) -> Result<space::Model, PartnerError> {
    require_staff(actor)?;
    let mut errors = ValidationErrors::new();
    let name = name_field(&mut errors, "name", &input.name, 100);
    if !(1..=100_000).contains(&input.area_m2) {
        errors.add("area_m2", "must be between 1 and 100000");
    }
    if !(1..=10_000).contains(&input.capacity) {
        errors.add("capacity", "must be between 1 and 10000");
    }
    if !(0..=1000).contains(&input.points_per_hour) {
        errors.add("points_per_hour", "must be between 0 and 1000");
    }
    let mut scenes = Vec::new();
    for scene in &input.scenes {
        scenes.push(name_field(&mut errors, "scenes", scene, 30));
    }
    if scenes.len() > 20 {
        errors.add("scenes", "at most 20");
    }
    for (field, message) in open_hours::check(&input.open_hours) {
        errors.add(&field, message);
    }
    errors.into_result()?;
    let org = orgs::find(conn, &input.org_id)
        .await?
        .ok_or_else(|| ValidationErrors::single("org_id", "no such org"))?;
    if !actor.can_reach(&org.path) {
        return Err(PartnerError::NotFound("org"));
    }
    if let Some(partner_id) = &input.operator_partner_id {
        merchant::Entity::find_by_id(partner_id.clone())
            .one(conn)
            .await?
            .filter(|p| p.status == MerchantStatus::Active)
            .ok_or_else(|| {
                ValidationErrors::single("operator_partner_id", "is not an active partner")
            })?;
    }
    let row = space::Model {
        id: new_id(),
        org_id: org.id,
        org_path: org.path,
        name,
        area_m2: input.area_m2,
        scenes: serde_json::to_string(&scenes).unwrap_or_else(|_| "[]".to_owned()),
        open_hours: serde_json::to_string(&input.open_hours).unwrap_or_else(|_| "[]".to_owned()),
        capacity: input.capacity,
        operator_partner_id: input.operator_partner_id,
        points_per_hour: input.points_per_hour,
        created_by: actor.user_id.clone(),
        created_at: now,
    };
    space::Entity::insert(space::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(row)
}

pub fn windows_of(space: &space::Model) -> Vec<Window> {
    serde_json::from_str(&space.open_hours).unwrap_or_default()
}

pub fn scenes_of(space: &space::Model) -> Vec<String> {
    serde_json::from_str(&space.scenes).unwrap_or_default()
}

/// Spaces under an org (all of them without one), by name.
pub async fn list(
    conn: &impl ConnectionTrait,
    org_path: Option<&str>,
) -> Result<Vec<space::Model>, PartnerError> {
    let mut query = space::Entity::find();
    if let Some(path) = org_path {
        query = query.filter(space::Column::OrgPath.starts_with(path));
    }
    Ok(query
        .order_by_asc(space::Column::Name)
        .limit(200)
        .all(conn)
        .await?)
}

#[derive(Debug, Clone)]
pub struct NewBooking {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub purpose: String,
    pub attendees: i64,
    /// The ledger key of the hold (derived from the request's `Idempotency-Key`).
    pub ledger_key: String,
}

/// A resident (or anyone logged in) asks for a space; pending until decided.
pub async fn book(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    space_id: &str,
    input: NewBooking,
    now: DateTime<Utc>,
) -> Result<space_booking::Model, PartnerError> {
    let space = find(conn, space_id).await?;
    let mut errors = ValidationErrors::new();
    let purpose = text_field(&mut errors, "purpose", &input.purpose, 1, 200);
    if input.ends_at <= input.starts_at {
        errors.add("ends_at", "must be after starts_at");
    } else if input.ends_at - input.starts_at > Duration::hours(MAX_HOURS) {
        errors.add(
            "ends_at",
            format!("a booking lasts at most {MAX_HOURS} hours"),
        );
    }
    if input.starts_at < now {
        errors.add("starts_at", "must not be in the past");
    } else if input.starts_at > now + Duration::days(MAX_DAYS_AHEAD) {
        errors.add("starts_at", format!("at most {MAX_DAYS_AHEAD} days ahead"));
    }
    if !(1..=space.capacity).contains(&input.attendees) {
        errors.add(
            "attendees",
            format!(
                "must be between 1 and the space's capacity, {}",
                space.capacity
            ),
        );
    }
    errors.into_result()?;
    if !open_hours::covers(&windows_of(&space), input.starts_at, input.ends_at) {
        return Err(PartnerError::OutsideOpenHours);
    }
    if overlapping_approved(conn, &space.id, input.starts_at, input.ends_at, None).await? {
        return Err(PartnerError::SpaceUnavailable);
    }
    let minutes = (input.ends_at - input.starts_at).num_minutes();
    let points = price(minutes, space.points_per_hour, 60);
    let id = new_id();
    let hold_id = if points > 0 {
        let hold = holds::reserve(
            conn,
            HoldRequest {
                idempotency_key: input.ledger_key,
                account: AccountRef::wallet(Asset::Points, &actor.user_id),
                amount: points,
                // Undecided by the start, it is released by the holds job.
                expires_at: input.starts_at,
                reference: Some(("space_booking".to_owned(), id.clone())),
            },
            now,
        )
        .await
        .map_err(|e| match e {
            LedgerError::Insufficient {
                needed, available, ..
            } => PartnerError::InsufficientPoints { needed, available },
            other => other.into(),
        })?;
        Some(hold.id)
    } else {
        None
    };
    let row = space_booking::Model {
        id,
        space_id: space.id,
        user_id: actor.user_id.clone(),
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        purpose,
        attendees: input.attendees,
        status: "pending".to_owned(),
        points,
        hold_id,
        reason: None,
        decided_by: None,
        created_at: now,
        updated_at: now,
    };
    space_booking::Entity::insert(space_booking::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(row)
}

async fn find(conn: &impl ConnectionTrait, space_id: &str) -> Result<space::Model, PartnerError> {
    space::Entity::find_by_id(space_id.to_owned())
        .one(conn)
        .await?
        .ok_or(PartnerError::NotFound("space"))
}

async fn overlapping_approved(
    conn: &impl ConnectionTrait,
    space_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    except: Option<&str>,
) -> Result<bool, PartnerError> {
    let mut query = space_booking::Entity::find()
        .filter(space_booking::Column::SpaceId.eq(space_id))
        .filter(space_booking::Column::Status.eq("approved"))
        .filter(space_booking::Column::StartsAt.lt(to))
        .filter(space_booking::Column::EndsAt.gt(from));
    if let Some(id) = except {
        query = query.filter(space_booking::Column::Id.ne(id));
    }
    Ok(query.count(conn).await? > 0)
}

/// Approve, or reject with a reason.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    pub approve: bool,
    pub reason: &'a str,
}

/// Staff of the space's org, or of its operating partner, approve (the held points go to
/// the operator, or to the org's budget) or reject (the hold is released) a pending booking.
pub async fn decide(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    booking_id: &str,
    decision: Decision<'_>,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<space_booking::Model, PartnerError> {
    let Decision { approve, reason } = decision;
    let mut booking = space_booking::Entity::find_by_id(booking_id.to_owned())
        .one(conn)
        .await?
        .ok_or(PartnerError::NotFound("booking"))?;
    let space = find(conn, &booking.space_id).await?;
    let operates = match &space.operator_partner_id {
        Some(partner) => own_active_partner(conn, actor, partner).await.is_ok(),
        None => false,
    };
    let staff_of_org = actor.is_org_staff() && actor.can_reach(&space.org_path);
    if !(operates || staff_of_org) {
        return Err(PartnerError::NotFound("booking"));
    }
    let mut errors = ValidationErrors::new();
    let reason = text_field(&mut errors, "reason", reason, usize::from(!approve), 500);
    errors.into_result()?;
    let action = if approve { "approve" } else { "reject" };
    if booking.status != "pending" {
        return Err(PartnerError::InvalidTransition {
            action,
            from: booking.status,
        });
    }
    if approve && booking.starts_at <= now {
        return Err(PartnerError::InvalidTransition {
            action,
            from: "started".to_owned(),
        });
    }
    if approve
        && overlapping_approved(
            conn,
            &space.id,
            booking.starts_at,
            booking.ends_at,
            Some(&booking.id),
        )
        .await?
    {
        return Err(PartnerError::SpaceUnavailable);
    }
    let to = if approve { "approved" } else { "rejected" };
    let moved = space_booking::Entity::update_many()
        .col_expr(space_booking::Column::Status, Expr::value(to))
        .col_expr(space_booking::Column::Reason, Expr::value(reason.clone()))
        .col_expr(
            space_booking::Column::DecidedBy,
            Expr::value(actor.user_id.clone()),
        )
        .col_expr(space_booking::Column::UpdatedAt, Expr::value(now))
        .filter(space_booking::Column::Id.eq(booking_id))
        .filter(space_booking::Column::Status.eq("pending"))
        .exec(conn)
        .await
        .map_err(|e| {
            if platform::db::violates(&e, NO_OVERLAP) {
                PartnerError::SpaceUnavailable
            } else {
                e.into()
            }
        })?;
    if moved.rows_affected != 1 {
        return Err(PartnerError::InvalidTransition {
            action,
            from: "changing".to_owned(),
        });
    }
    if let Some(hold_id) = &booking.hold_id {
        if approve {
            let to = match &space.operator_partner_id {
                Some(partner) => AccountRef::merchant(partner),
                None => AccountRef::org_budget(&space.org_id),
            };
            holds::post(
                conn,
                PostRequest {
                    hold_id: hold_id.clone(),
                    to,
                    amount: booking.points,
                    code: TransferCode::Settlement,
                    memo: format!("space {}", space.name),
                    idempotency_key: format!("space-booking:{}:approve", booking.id),
                },
                rule,
                now,
            )
            .await?;
        } else {
            holds::void(conn, hold_id, now).await?;
        }
    }
    booking.status = to.to_owned();
    booking.reason = Some(reason);
    booking.decided_by = Some(actor.user_id.clone());
    booking.updated_at = now;
    Ok(booking)
}

/// Approved bookings of one space that overlap another: always 0.
pub async fn overlapping_pairs(conn: &impl ConnectionTrait) -> Result<i64, PartnerError> {
    let approved = space_booking::Entity::find()
        .filter(space_booking::Column::Status.eq("approved"))
        .order_by_asc(space_booking::Column::SpaceId)
        .order_by_asc(space_booking::Column::StartsAt)
        .all(conn)
        .await?;
    let mut pairs = 0;
    for (i, a) in approved.iter().enumerate() {
        for b in &approved[i + 1..] {
            if a.space_id == b.space_id && a.starts_at < b.ends_at && b.starts_at < a.ends_at {
                pairs += 1;
            }
        }
    }
    Ok(pairs)
}

/// The bookings of spaces under `paths` in `[from, to)`, for the dashboard: (approved
/// bookings, approved hours).
pub async fn usage_under(
    conn: &impl ConnectionTrait,
    paths: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(i64, f64), PartnerError> {
    let ids: Vec<String> = space::Entity::find()
        .filter(super::scope::under(paths, space::Column::OrgPath))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let bookings = space_booking::Entity::find()
        .filter(space_booking::Column::SpaceId.is_in(ids))
        .filter(space_booking::Column::Status.eq("approved"))
        .filter(space_booking::Column::StartsAt.gte(from))
        .filter(space_booking::Column::StartsAt.lt(to))
        .all(conn)
        .await?;
    // Whole minutes summed, then hours: a float sum of nothing is -0.0, which JSON shows.
    let minutes: i64 = bookings
        .iter()
        .map(|b| (b.ends_at - b.starts_at).num_minutes())
        .sum();
    Ok((bookings.len() as i64, minutes as f64 / 60.0))
}

/// The actor's own bookings, newest first.
pub async fn mine(
    conn: &impl ConnectionTrait,
    actor: &Actor,
) -> Result<Vec<space_booking::Model>, PartnerError> {
    Ok(space_booking::Entity::find()
        .filter(space_booking::Column::UserId.eq(actor.user_id.as_str()))
        .order_by_desc(space_booking::Column::Id)
        .limit(100)
        .all(conn)
        .await?)
}
