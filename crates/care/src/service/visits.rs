//! Visits: logged by the community's staff; a recipient's next visit is due
//! `visit_every_days` after the last one (or after registration).

use super::access::{self, Reach};
use super::recipients::{find_reachable, visited};
use crate::entity::visit;
use crate::CareError;
use chrono::{DateTime, Duration, Utc};
use identity::Actor;
use platform::ids::new_id;
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::EntityTrait;

pub const OUTCOMES: [&str; 4] = ["well", "needs_help", "referred", "not_home"];

pub async fn log_visit(
    conn: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    recipient_id: &str,
    at: DateTime<Utc>,
    note: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<visit::Model, CareError> {
    let (record, how) = find_reachable(conn, actor, recipient_id).await?;
    if how != Reach::Write {
        return Err(CareError::Forbidden(
            "Street staff read care records; the community's staff log visits.",
        ));
    }
    let mut errors = ValidationErrors::new();
    let note = text_field(&mut errors, "note", note, 0, 2000);
    if !OUTCOMES.contains(&outcome) {
        errors.add("outcome", format!("must be one of {}", OUTCOMES.join(", ")));
    }
    if at > now + Duration::minutes(5) || at < record.consent_at - Duration::days(1) {
        errors.add("at", "must be between the registration and now");
    }
    errors.into_result()?;
    let row = visit::Model {
        id: new_id(),
        recipient_id: record.id.clone(),
        at,
        note,
        outcome: outcome.to_owned(),
        staff_id: actor.user_id.clone(),
        created_at: now,
    };
    visit::Entity::insert(visit::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    visited(conn, &record.id, at, now).await?;
    access::log(conn, &record.id, actor, "visit", "visit logged", now).await?;
    Ok(row)
}
