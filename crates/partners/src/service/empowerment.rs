//! Two-way empowerment (双向赋能): what the community grants each partner in return
//! (publicity, policy priority, free venues, incubation, a skills platform, honours).

use super::scope::partner_in_reach;
use crate::entity::empowerment;
use crate::lists::EmpowermentKind;
use crate::PartnerError;
use chrono::{DateTime, NaiveDate, Utc};
use identity::Actor;
use platform::ids::new_id;
use platform::validation::text_field;
use platform::ValidationErrors;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

pub async fn grant(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
    kind: &str,
    detail: &str,
    granted_on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<empowerment::Model, PartnerError> {
    partner_in_reach(conn, actor, partner_id).await?;
    let mut errors = ValidationErrors::new();
    let kind = EmpowermentKind::parse(kind);
    if kind.is_none() {
        errors.add("kind", EmpowermentKind::choices());
    }
    let detail = text_field(&mut errors, "detail", detail, 1, 500);
    errors.into_result()?;
    let row = empowerment::Model {
        id: new_id(),
        partner_id: partner_id.to_owned(),
        kind: kind.map_or("honour", |k| k.as_str()).to_owned(),
        detail,
        granted_on,
        granted_by: actor.user_id.clone(),
        created_at: now,
    };
    empowerment::Entity::insert(empowerment::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    Ok(row)
}

/// What a partner in the actor's scope has been granted, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
) -> Result<Vec<empowerment::Model>, PartnerError> {
    partner_in_reach(conn, actor, partner_id).await?;
    Ok(empowerment::Entity::find()
        .filter(empowerment::Column::PartnerId.eq(partner_id))
        .order_by_desc(empowerment::Column::Id)
        .all(conn)
        .await?)
}
