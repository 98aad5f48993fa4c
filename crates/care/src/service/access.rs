//! Who may touch a care record, and the access log of every read and write.

use crate::entity::{access, recipient};
use crate::CareError;
use chrono::{DateTime, Utc};
use identity::{Actor, Role};
use platform::ids::new_id;
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// What the caller may do with records at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Staff of the community (or of the compound itself): read and write.
    Write,
    /// Staff of the street above: read only.
    Read,
}

/// The caller's reach over records at `org_path`; the district admin and anyone else get
/// none (their requests answer 404, as if the record did not exist).
pub fn reach(actor: &Actor, org_path: &str) -> Option<Reach> {
    match actor.staff_role_over(org_path)? {
        Role::CommunityStaff => Some(Reach::Write),
        Role::StreetStaff => Some(Reach::Read),
        _ => None,
    }
}

/// Reading needs a reason, kept in the log.
pub fn purpose(text: &str) -> Result<String, CareError> {
    let mut errors = ValidationErrors::new();
    let purpose = text_field(&mut errors, "purpose", text, 2, 200);
    errors.into_result()?;
    Ok(purpose)
}

pub async fn log(
    conn: &impl ConnectionTrait,
    recipient_id: &str,
    actor: &Actor,
    action: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    access::Entity::insert(access::ActiveModel::from(access::Model {
        id: new_id(),
        recipient_id: recipient_id.to_owned(),
        actor_id: actor.user_id.clone(),
        action: action.to_owned(),
        purpose: purpose.to_owned(),
        at: now,
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Log rows for many records at once (a list read).
pub async fn log_many(
    conn: &impl ConnectionTrait,
    records: &[recipient::Model],
    actor: &Actor,
    action: &str,
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    if records.is_empty() {
        return Ok(());
    }
    access::Entity::insert_many(records.iter().map(|r| {
        access::ActiveModel::from(access::Model {
            id: new_id(),
            recipient_id: r.id.clone(),
            actor_id: actor.user_id.clone(),
            action: action.to_owned(),
            purpose: purpose.to_owned(),
            at: now,
        })
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The access log, newest first, for the district admin: of one record, or of all.
pub async fn audit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    recipient_id: Option<&str>,
    limit: u64,
) -> Result<Vec<access::Model>, CareError> {
    if !actor.has_role(Role::DistrictAdmin) {
        return Err(CareError::Forbidden(
            "Only the district admin reads the care access log.",
        ));
    }
    let mut query = access::Entity::find();
    if let Some(id) = recipient_id {
        query = query.filter(access::Column::RecipientId.eq(id));
    }
    Ok(query
        .order_by_desc(access::Column::Id)
        .limit(limit)
        .all(conn)
        .await?)
}
