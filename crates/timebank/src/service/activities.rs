//! Activities and sign-ups: places are taken by one conditional UPDATE on the activity's
//! counter, so no more than `capacity` residents are ever confirmed; a full activity answers
//! `activity_full`, or puts the resident on the waiting list when they asked for it; a
//! cancelled place goes to the longest-waiting resident.

use crate::entity::{activity, signup};
use crate::signup_state::{ActivityStatus, SignupStatus, SignupStep};
use crate::TimebankError;
use chrono::{DateTime, Duration, Utc};
use identity::{Actor, OrgKind};
use platform::ids::{new_id, random_token};
use platform::notifications::{notify, NewNotification};
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

pub const KINDS: [&str; 4] = ["volunteer", "night_school", "market", "other"];
pub const MAX_CAPACITY: i64 = 10_000;
pub const MAX_POINTS_PER_HOUR: i64 = 1_000;
/// Longer "activities" are programmes; they are entered as one activity per session.
pub const MAX_LENGTH_HOURS: i64 = 24;

#[derive(Debug, Clone)]
pub struct ActivityInput {
    /// An active partner (merchant) of the caller's that runs it, in its own community.
    pub partner_id: Option<String>,
    pub title: String,
    pub kind: String,
    pub org_id: String,
    pub description: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i64,
    pub points_per_hour: i64,
    pub time_credits: bool,
}

/// Whether the actor runs the activity: staff over its org, or staff of its partner.
pub fn manages(actor: &Actor, activity: &activity::Model) -> bool {
    actor.can_reach(&activity.org_path)
        || activity
            .partner_id
            .as_ref()
            .is_some_and(|partner| actor.merchant_ids().contains(partner))
}

/// The activity if the actor runs it.
pub async fn find_managed(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
) -> Result<activity::Model, TimebankError> {
    let activity = find(conn, activity_id).await?;
    if !manages(actor, &activity) {
        return Err(if actor.is_org_staff() {
            TimebankError::NotFound("activity")
        } else {
            TimebankError::Forbidden("Only staff of the organising org can do this.")
        });
    }
    Ok(activity)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    activity_id: &str,
) -> Result<activity::Model, TimebankError> {
    activity::Entity::find_by_id(activity_id.to_owned())
        .one(conn)
        .await?
        .ok_or(TimebankError::NotFound("activity"))
}

pub async fn create(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: ActivityInput,
    now: DateTime<Utc>,
) -> Result<activity::Model, TimebankError> {
    let partner = match &input.partner_id {
        None => None,
        Some(id) => Some(
            merchant::entity::merchant::Entity::find_by_id(id.clone())
                .one(conn)
                .await?
                .filter(|m| {
                    m.status == merchant::MerchantStatus::Active
                        && actor.merchant_ids().contains(&m.id)
                })
                .ok_or(TimebankError::Forbidden(
                    "Only staff of an active partner run activities in its name.",
                ))?,
        ),
    };
    if partner.is_none() && !actor.is_org_staff() {
        return Err(TimebankError::Forbidden(
            "Only street and community staff, or an active partner's staff, create activities.",
        ));
    }
    let mut errors = ValidationErrors::new();
    let title = text_field(&mut errors, "title", &input.title, 1, 100);
    let description = text_field(&mut errors, "description", &input.description, 0, 2000);
    let location = text_field(&mut errors, "location", &input.location, 0, 200);
    if !KINDS.contains(&input.kind.as_str()) {
        errors.add("kind", "must be volunteer, night_school, market or other");
    }
    if input.ends_at <= input.starts_at {
        errors.add("ends_at", "must be after starts_at");
    } else if input.ends_at - input.starts_at > Duration::hours(MAX_LENGTH_HOURS) {
        errors.add("ends_at", "an activity lasts at most 24 hours");
    }
    if !(1..=MAX_CAPACITY).contains(&input.capacity) {
        errors.add("capacity", format!("must be from 1 to {MAX_CAPACITY}"));
    }
    if !(0..=MAX_POINTS_PER_HOUR).contains(&input.points_per_hour) {
        errors.add(
            "points_per_hour",
            format!("must be from 0 to {MAX_POINTS_PER_HOUR}"),
        );
    }
    let org = identity::service::orgs::by_id(conn, &input.org_id)
        .await?
        .filter(|o| match &partner {
            // A partner runs activities in its own community.
            Some(partner) => o.id == partner.community_id,
            None => {
                (o.kind == OrgKind::Community.as_str() || o.kind == OrgKind::Street.as_str())
                    && actor.can_reach(&o.path)
            }
        });
    if org.is_none() {
        errors.add(
            "org_id",
            if partner.is_some() {
                "must be the partner's own community"
            } else {
                "must be a street or community in your scope"
            },
        );
    }
    errors.into_result()?;
    let Some(org) = org else {
        return Err(TimebankError::NotFound("org"));
    };
    Ok(activity::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org.id),
        org_path: Set(org.path),
        partner_id: Set(partner.map(|p| p.id)),
        title: Set(title),
        kind: Set(input.kind),
        description: Set(description),
        location: Set(location),
        starts_at: Set(input.starts_at),
        ends_at: Set(input.ends_at),
        capacity: Set(input.capacity),
        confirmed: Set(0),
        points_per_hour: Set(input.points_per_hour),
        time_credits: Set(input.time_credits),
        check_secret: Set(random_token(32)),
        status: Set(ActivityStatus::Scheduled),
        created_by: Set(actor.user_id.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?)
}

#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Activities of this org and below.
    pub org_path: Option<String>,
    pub kind: Option<String>,
    /// Only those ending after this time.
    pub ending_after: Option<DateTime<Utc>>,
}

/// Scheduled activities, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: ActivityFilter,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<activity::Model>, Option<String>), TimebankError> {
    let mut query =
        activity::Entity::find().filter(activity::Column::Status.eq(ActivityStatus::Scheduled));
    if let Some(path) = &filter.org_path {
        query = query.filter(activity::Column::OrgPath.starts_with(path.as_str()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(activity::Column::Kind.eq(kind.as_str()));
    }
    if let Some(after) = filter.ending_after {
        query = query.filter(activity::Column::EndsAt.gt(after));
    }
    if let Some(before) = before {
        query = query.filter(activity::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(activity::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    Ok(platform::paging::split_page(rows, limit, |a| a.id.clone()))
}

pub async fn signup_of(
    conn: &impl ConnectionTrait,
    activity_id: &str,
    user_id: &str,
) -> Result<Option<signup::Model>, TimebankError> {
    Ok(signup::Entity::find()
        .filter(signup::Column::ActivityId.eq(activity_id))
        .filter(signup::Column::UserId.eq(user_id))
        .one(conn)
        .await?)
}

/// Takes one place if any is left; true when taken.
async fn take_place(conn: &impl ConnectionTrait, activity_id: &str) -> Result<bool, TimebankError> {
    let taken = activity::Entity::update_many()
        .col_expr(
            activity::Column::Confirmed,
            Expr::col(activity::Column::Confirmed).add(1),
        )
        .filter(activity::Column::Id.eq(activity_id))
        .filter(Expr::col(activity::Column::Confirmed).lt(Expr::col(activity::Column::Capacity)))
        .exec(conn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Signs the actor up: a confirmed place, or with `waitlist` a place on the waiting list
/// when the activity is full. Signing up again returns the existing sign-up.
pub async fn sign_up(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    waitlist: bool,
    now: DateTime<Utc>,
) -> Result<signup::Model, TimebankError> {
    let activity = find(conn, activity_id).await?;
    if !activity.status.takes_part() {
        return Err(TimebankError::ActivityCancelled);
    }
    if now >= activity.starts_at {
        return Err(TimebankError::ActivityStarted);
    }
    let existing = signup_of(conn, activity_id, &actor.user_id).await?;
    if let Some(current) = &existing {
        if current.status.is_live() {
            return Ok(current.clone());
        }
    }
    let step = if take_place(conn, activity_id).await? {
        SignupStep::TakePlace
    } else if waitlist {
        SignupStep::Wait
    } else {
        return Err(TimebankError::ActivityFull);
    };
    let status = SignupStatus::Cancelled
        .apply(step)
        .ok_or(TimebankError::Changed)?;
    let saved = match existing {
        Some(cancelled) => {
            let changed = signup::Entity::update_many()
                .col_expr(signup::Column::Status, Expr::value(status))
                .col_expr(signup::Column::UpdatedAt, Expr::value(now))
                .filter(signup::Column::Id.eq(cancelled.id.as_str()))
                .filter(signup::Column::Status.eq(SignupStatus::Cancelled))
                .exec(conn)
                .await?;
            if changed.rows_affected != 1 {
                return Err(TimebankError::Changed);
            }
            signup::Model {
                status,
                updated_at: now,
                ..cancelled
            }
        }
        None => signup::ActiveModel {
            id: Set(new_id()),
            activity_id: Set(activity_id.to_owned()),
            user_id: Set(actor.user_id.clone()),
            status: Set(status),
            created_at: Set(now),
            updated_at: Set(now),
            checked_in_at: Set(None),
            checked_out_at: Set(None),
            check_out_note: Set(None),
            settled_at: Set(None),
            settled_minutes: Set(None),
            settled_points: Set(None),
        }
        .insert(conn)
        .await
        .map_err(|e| {
            if platform::db::is_unique_violation(&e) {
                TimebankError::Changed
            } else {
                e.into()
            }
        })?,
    };
    Ok(saved)
}

/// Cancels the actor's sign-up before the start; a freed place goes to the waiting list.
pub async fn cancel(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    now: DateTime<Utc>,
) -> Result<signup::Model, TimebankError> {
    let activity = find(conn, activity_id).await?;
    if now >= activity.starts_at {
        return Err(TimebankError::ActivityStarted);
    }
    let current = signup_of(conn, activity_id, &actor.user_id)
        .await?
        .filter(|s| s.status.is_live())
        .ok_or(TimebankError::NotFound("sign-up"))?;
    let cancelled = current
        .status
        .apply(SignupStep::Cancel)
        .ok_or(TimebankError::Changed)?;
    let changed = signup::Entity::update_many()
        .col_expr(signup::Column::Status, Expr::value(cancelled))
        .col_expr(signup::Column::UpdatedAt, Expr::value(now))
        .filter(signup::Column::Id.eq(current.id.as_str()))
        .filter(signup::Column::Status.eq(current.status))
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(TimebankError::Changed);
    }
    if current.status == SignupStatus::Confirmed && !promote_next(conn, &activity, now).await? {
        activity::Entity::update_many()
            .col_expr(
                activity::Column::Confirmed,
                Expr::col(activity::Column::Confirmed).sub(1),
            )
            .filter(activity::Column::Id.eq(activity_id))
            .exec(conn)
            .await?;
    }
    Ok(signup::Model {
        status: cancelled,
        updated_at: now,
        ..current
    })
}

/// Gives a freed place to the longest-waiting resident; true when someone moved up.
async fn promote_next(
    conn: &impl ConnectionTrait,
    activity: &activity::Model,
    now: DateTime<Utc>,
) -> Result<bool, TimebankError> {
    let waiting = signup::Entity::find()
        .filter(signup::Column::ActivityId.eq(activity.id.as_str()))
        .filter(signup::Column::Status.eq(SignupStatus::Waitlisted))
        .order_by_asc(signup::Column::UpdatedAt)
        .order_by_asc(signup::Column::Id)
        .limit(5)
        .all(conn)
        .await?;
    let moved_up = SignupStatus::Waitlisted
        .apply(SignupStep::MoveUp)
        .ok_or(TimebankError::Changed)?;
    for next in waiting {
        let moved = signup::Entity::update_many()
            .col_expr(signup::Column::Status, Expr::value(moved_up))
            .col_expr(signup::Column::UpdatedAt, Expr::value(now))
            .filter(signup::Column::Id.eq(next.id.as_str()))
            .filter(signup::Column::Status.eq(SignupStatus::Waitlisted))
            .exec(conn)
            .await?;
        if moved.rows_affected == 1 {
            notify(
                conn,
                NewNotification {
                    user_id: &next.user_id,
                    kind: "activity_place_confirmed",
                    title: "候补成功".to_owned(),
                    body: format!("「{}」有名额空出，您已从候补转为正式报名。", activity.title),
                    reference: Some(("activity", &activity.id)),
                },
                now,
            )
            .await?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// Confirmed and waiting sign-ups of an activity, in sign-up order (staff).
pub async fn signups(
    conn: &impl ConnectionTrait,
    activity_id: &str,
) -> Result<Vec<signup::Model>, TimebankError> {
    Ok(signup::Entity::find()
        .filter(signup::Column::ActivityId.eq(activity_id))
        .filter(signup::Column::Status.ne(SignupStatus::Cancelled))
        .order_by_asc(signup::Column::CreatedAt)
        .order_by_asc(signup::Column::Id)
        .all(conn)
        .await?)
}
