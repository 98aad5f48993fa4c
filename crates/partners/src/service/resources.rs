//! The 资源清单: what partners bring (venues, services, skills, goods, funding, volunteer
//! time), written by the partner's own staff and read by community staff in scope.

use super::history::{self, Change};
use super::scope::{list_paths, page, under};
use crate::entity::resource;
use crate::lists::{NeedCategory, ResourceType};
use crate::PartnerError;
use ::merchant::MerchantStatus;
use chrono::{DateTime, Utc};
use identity::service::orgs;
use identity::Actor;
use merchant::entity::merchant;
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

#[derive(Debug, Clone)]
pub struct NewResource {
    pub resource_type: String,
    pub title: String,
    pub description: String,
    pub categories: Vec<String>,
    pub capacity: i64,
    pub availability: String,
}

/// The partner `partner_id`, which `actor` must be staff of, and active.
pub(crate) async fn own_active_partner(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
) -> Result<merchant::Model, PartnerError> {
    let partner = ::merchant::service::offers::merchant_of_member(conn, actor, partner_id).await?;
    if partner.status != MerchantStatus::Active {
        return Err(PartnerError::InvalidTransition {
            action: "add a resource to",
            from: partner.status.as_str().to_owned(),
        });
    }
    Ok(partner)
}

pub async fn offer(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
    input: NewResource,
    now: DateTime<Utc>,
) -> Result<resource::Model, PartnerError> {
    // Whose partner it is comes before what the body says: a stranger learns nothing.
    let partner = own_active_partner(conn, actor, partner_id).await?;
    let mut errors = ValidationErrors::new();
    let title = name_field(&mut errors, "title", &input.title, 100);
    let description = text_field(&mut errors, "description", &input.description, 0, 2000);
    let availability = text_field(&mut errors, "availability", &input.availability, 0, 200);
    let resource_type = ResourceType::parse(&input.resource_type);
    if resource_type.is_none() {
        errors.add("type", ResourceType::choices());
    }
    let mut categories = Vec::new();
    for text in &input.categories {
        match NeedCategory::parse(text) {
            Some(c) if !categories.contains(&c) => categories.push(c),
            Some(_) => {}
            None => errors.add("categories", NeedCategory::choices()),
        }
    }
    if !(1..=100_000).contains(&input.capacity) {
        errors.add("capacity", "must be between 1 and 100000");
    }
    errors.into_result()?;
    let community = orgs::find(conn, &partner.community_id)
        .await?
        .ok_or(PartnerError::NotFound("community"))?;
    let names: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
    let row = resource::Model {
        id: new_id(),
        partner_id: partner.id,
        community_id: community.id,
        org_path: community.path,
        resource_type: resource_type.map_or("service", |t| t.as_str()).to_owned(),
        title,
        description,
        categories: serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned()),
        capacity: input.capacity,
        capacity_used: 0,
        availability,
        status: "available".to_owned(),
        created_by: actor.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    resource::Entity::insert(resource::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    let change = Change {
        list: "resource",
        item_id: &row.id,
        action: "offer",
        from: None,
        to: "available",
        note: "",
    };
    history::record(conn, change, &actor.user_id, now).await?;
    Ok(row)
}

/// The need categories a resource names.
pub fn categories_of(row: &resource::Model) -> Vec<NeedCategory> {
    serde_json::from_str::<Vec<String>>(&row.categories)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| NeedCategory::parse(c))
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    pub org_id: Option<String>,
    pub resource_type: Option<ResourceType>,
    pub q: Option<String>,
}

/// Resources of partners under the actor's scope (or the org named), newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ResourceFilter,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<resource::Model>, Option<String>), PartnerError> {
    let paths = list_paths(conn, actor, filter.org_id.as_deref()).await?;
    let mut query = resource::Entity::find().filter(under(&paths, resource::Column::OrgPath));
    if let Some(t) = filter.resource_type {
        query = query.filter(resource::Column::ResourceType.eq(t.as_str()));
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        query = query.filter(resource::Column::Title.contains(q));
    }
    let key = |r: &resource::Model| r.id.clone();
    page(conn, query, resource::Column::Id, limit, before, key).await
}

/// A partner's available resources, for its public profile.
pub async fn of_partner(
    conn: &impl ConnectionTrait,
    partner_id: &str,
) -> Result<Vec<resource::Model>, PartnerError> {
    Ok(resource::Entity::find()
        .filter(resource::Column::PartnerId.eq(partner_id))
        .filter(resource::Column::Status.eq("available"))
        .order_by_asc(resource::Column::Id)
        .all(conn)
        .await?)
}
