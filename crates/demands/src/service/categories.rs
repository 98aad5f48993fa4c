//! Demand categories and their SLA hours; the district admin edits them.

use crate::entity::category;
use crate::DemandError;
use chrono::{DateTime, Utc};
use identity::{Actor, Role};
use platform::ids::new_id;
use platform::validation::name_field;
use platform::ValidationErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

pub const MIN_SLA_HOURS: i32 = 1;
/// Thirty days: a longer target would hide neglect rather than describe service.
pub const MAX_SLA_HOURS: i32 = 720;

fn ensure_district_admin(actor: &Actor) -> Result<(), DemandError> {
    if actor
        .staff_scopes()
        .any(|(role, _)| role == Role::DistrictAdmin)
    {
        Ok(())
    } else {
        Err(DemandError::Forbidden(
            "Only the district admin edits demand categories.",
        ))
    }
}

fn sla_hours(errors: &mut ValidationErrors, value: i64) -> i32 {
    if !(i64::from(MIN_SLA_HOURS)..=i64::from(MAX_SLA_HOURS)).contains(&value) {
        errors.add(
            "sla_hours",
            format!("must be a whole number of hours from {MIN_SLA_HOURS} to {MAX_SLA_HOURS}"),
        );
    }
    value.clamp(i64::from(MIN_SLA_HOURS), i64::from(MAX_SLA_HOURS)) as i32
}

/// Active categories in display order (all of them with `include_inactive`).
pub async fn list(
    conn: &impl ConnectionTrait,
    include_inactive: bool,
) -> Result<Vec<category::Model>, DemandError> {
    let mut query = category::Entity::find();
    if !include_inactive {
        query = query.filter(category::Column::Active.eq(true));
    }
    Ok(query
        .order_by_asc(category::Column::SortOrder)
        .order_by_asc(category::Column::Name)
        .all(conn)
        .await?)
}

/// Adds a category; the seed uses this too (with `actor = None`).
pub async fn create(
    conn: &impl ConnectionTrait,
    actor: Option<&Actor>,
    name: &str,
    hours: i64,
    now: DateTime<Utc>,
) -> Result<category::Model, DemandError> {
    if let Some(actor) = actor {
        ensure_district_admin(actor)?;
    }
    let mut errors = ValidationErrors::new();
    let name = name_field(&mut errors, "name", name, 30);
    let hours = sla_hours(&mut errors, hours);
    errors.into_result()?;
    if category::Entity::find()
        .filter(category::Column::Name.eq(name.as_str()))
        .one(conn)
        .await?
        .is_some()
    {
        return Err(DemandError::DuplicateCategory);
    }
    let order = category::Entity::find().all(conn).await?.len() as i32;
    let created = category::ActiveModel {
        id: Set(new_id()),
        name: Set(name),
        sla_hours: Set(hours),
        active: Set(true),
        sort_order: Set(order),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
    .map_err(|e| {
        if platform::db::is_unique_violation(&e) {
            DemandError::DuplicateCategory
        } else {
            e.into()
        }
    })?;
    Ok(created)
}

#[derive(Debug, Clone, Default)]
pub struct CategoryPatch {
    pub name: Option<String>,
    pub sla_hours: Option<i64>,
    pub active: Option<bool>,
}

/// Edits a category. A new SLA applies to demands submitted from now on; those already
/// filed keep the `due_at` they were promised.
pub async fn update(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    id: &str,
    patch: CategoryPatch,
    now: DateTime<Utc>,
) -> Result<category::Model, DemandError> {
    ensure_district_admin(actor)?;
    let existing = category::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or(DemandError::NotFound("category"))?;
    let mut errors = ValidationErrors::new();
    let name = patch
        .name
        .map(|name| name_field(&mut errors, "name", &name, 30));
    let hours = patch.sla_hours.map(|h| sla_hours(&mut errors, h));
    errors.into_result()?;
    let mut row: category::ActiveModel = existing.into();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(hours) = hours {
        row.sla_hours = Set(hours);
    }
    if let Some(active) = patch.active {
        row.active = Set(active);
    }
    row.updated_at = Set(now);
    row.update(conn).await.map_err(|e| {
        if platform::db::is_unique_violation(&e) {
            DemandError::DuplicateCategory
        } else {
            e.into()
        }
    })
}
