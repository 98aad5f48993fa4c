//! On-site attendance: the organiser shows the rotating code, attendees check in and out
//! with it; a forgotten check-out is set by the organiser with a reason.

use crate::check_code;
use crate::entity::{activity, signup};
use crate::service::activities::{find, find_managed, signup_of};
use crate::TimebankError;
use chrono::{DateTime, Duration, Utc};
use identity::Actor;
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Check-in opens this long before the start.
pub const EARLY_CHECK_IN_MINUTES: i64 = 30;

/// The code to show on site now, for staff of the organising org.
pub async fn current_code(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> Result<(String, DateTime<Utc>), TimebankError> {
    let activity = find_managed(conn, actor, activity_id).await?;
    Ok(check_code::current(
        &activity.check_secret,
        &activity.id,
        now,
        window_seconds,
    ))
}

async fn attendee(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    code: &str,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> Result<(activity::Model, signup::Model), TimebankError> {
    let activity = find(conn, activity_id).await?;
    if !activity.status.takes_part() {
        return Err(TimebankError::ActivityCancelled);
    }
    if !check_code::accepts(
        &activity.check_secret,
        &activity.id,
        code,
        now,
        window_seconds,
    ) {
        return Err(TimebankError::CheckCodeInvalid);
    }
    let signup = signup_of(conn, activity_id, &actor.user_id)
        .await?
        .filter(|s| s.status == crate::SignupStatus::Confirmed)
        .ok_or(TimebankError::NotSignedUp)?;
    Ok((activity, signup))
}

pub async fn check_in(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    code: &str,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> Result<signup::Model, TimebankError> {
    let (activity, signup) = attendee(conn, actor, activity_id, code, now, window_seconds).await?;
    if now < activity.starts_at - Duration::minutes(EARLY_CHECK_IN_MINUTES)
        || now >= activity.ends_at
    {
        return Err(TimebankError::CheckInClosed);
    }
    let changed = signup::Entity::update_many()
        .col_expr(signup::Column::CheckedInAt, Expr::value(now))
        .filter(signup::Column::Id.eq(signup.id.as_str()))
        .filter(signup::Column::CheckedInAt.is_null())
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(TimebankError::AlreadyCheckedIn);
    }
    Ok(signup::Model {
        checked_in_at: Some(now),
        ..signup
    })
}

pub async fn check_out(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    code: &str,
    now: DateTime<Utc>,
    window_seconds: i64,
) -> Result<signup::Model, TimebankError> {
    let (_, signup) = attendee(conn, actor, activity_id, code, now, window_seconds).await?;
    if signup.checked_in_at.is_none() {
        return Err(TimebankError::NotCheckedIn);
    }
    let changed = signup::Entity::update_many()
        .col_expr(signup::Column::CheckedOutAt, Expr::value(now))
        .filter(signup::Column::Id.eq(signup.id.as_str()))
        .filter(signup::Column::CheckedOutAt.is_null())
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(TimebankError::AlreadyCheckedOut);
    }
    Ok(signup::Model {
        checked_out_at: Some(now),
        ..signup
    })
}

/// The organiser records when an attendee who forgot to check out left, with a reason.
pub async fn set_check_out(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    activity_id: &str,
    user_id: &str,
    at: DateTime<Utc>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<signup::Model, TimebankError> {
    find_managed(conn, actor, activity_id).await?;
    let mut errors = ValidationErrors::new();
    let reason = text_field(&mut errors, "reason", reason, 1, 500);
    if at > now {
        errors.add("at", "must not be in the future");
    }
    errors.into_result()?;
    let signup = signup_of(conn, activity_id, user_id)
        .await?
        .filter(|s| s.status == crate::SignupStatus::Confirmed)
        .ok_or(TimebankError::NotFound("sign-up"))?;
    let Some(checked_in_at) = signup.checked_in_at else {
        return Err(TimebankError::NotCheckedIn);
    };
    if at < checked_in_at {
        return Err(ValidationErrors::single("at", "must be after the check-in").into());
    }
    let changed = signup::Entity::update_many()
        .col_expr(signup::Column::CheckedOutAt, Expr::value(at))
        .col_expr(signup::Column::CheckOutNote, Expr::value(reason.as_str()))
        .filter(signup::Column::Id.eq(signup.id.as_str()))
        .filter(signup::Column::SettledAt.is_null())
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(TimebankError::Changed);
    }
    Ok(signup::Model {
        checked_out_at: Some(at),
        check_out_note: Some(reason),
        ..signup
    })
}

/// True when the resident checked in at an activity run by the org at `org_path` or below:
/// such an org's budget may award them points although they live elsewhere.
pub async fn attended_under(
    conn: &impl ConnectionTrait,
    user_id: &str,
    org_path: &str,
) -> Result<bool, TimebankError> {
    use sea_orm::QuerySelect;
    let activity_ids: Vec<String> = signup::Entity::find()
        .filter(signup::Column::UserId.eq(user_id))
        .filter(signup::Column::CheckedInAt.is_not_null())
        .select_only()
        .column(signup::Column::ActivityId)
        .into_tuple()
        .all(conn)
        .await?;
    if activity_ids.is_empty() {
        return Ok(false);
    }
    let hit = activity::Entity::find()
        .filter(activity::Column::Id.is_in(activity_ids))
        .filter(activity::Column::OrgPath.starts_with(org_path))
        .one(conn)
        .await?;
    Ok(hit.is_some())
}
