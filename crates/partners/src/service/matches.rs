//! The resources that could serve a need, ranked by `crate::matching` with its reasons.
//! Candidates are the available resources of active partners in the need's district.

use super::needs;
use super::resources::categories_of;
use crate::entity::resource;
use crate::lists::{NeedCategory, ResourceType};
use crate::matching::{rank, NeedFacts, ResourceFacts, Score};
use crate::PartnerError;
use ::merchant::MerchantStatus;
use identity::actor::district_of;
use identity::Actor;
use merchant::entity::merchant;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;

/// How many matches a need shows.
const SHOWN: usize = 20;

pub struct Match {
    pub resource: resource::Model,
    pub partner: merchant::Model,
    pub score: Score,
}

pub async fn for_need(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    need_id: &str,
) -> Result<Vec<Match>, PartnerError> {
    let (need, _) = needs::find(conn, actor, need_id).await?;
    let district = district_of(&need.org_path).unwrap_or_default();
    let rows = resource::Entity::find()
        .filter(resource::Column::OrgPath.starts_with(format!("/{district}/")))
        .filter(resource::Column::Status.eq("available"))
        .all(conn)
        .await?;
    let partner_ids: Vec<String> = rows.iter().map(|r| r.partner_id.clone()).collect();
    let partners: HashMap<String, merchant::Model> = merchant::Entity::find()
        .filter(merchant::Column::Id.is_in(partner_ids))
        .filter(merchant::Column::Status.eq(MerchantStatus::Active.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    let rows: Vec<resource::Model> = rows
        .into_iter()
        .filter(|r| partners.contains_key(&r.partner_id))
        .collect();
    let categories: Vec<Vec<NeedCategory>> = rows.iter().map(categories_of).collect();
    let ids: Vec<String> = partners.keys().cloned().collect();
    let standings = super::projects::standings(conn, &ids).await?;
    let facts: Vec<ResourceFacts<'_>> = rows
        .iter()
        .zip(&categories)
        .filter_map(|(r, categories)| {
            Some(ResourceFacts {
                id: &r.id,
                resource_type: ResourceType::parse(&r.resource_type)?,
                categories,
                org_path: &r.org_path,
                capacity: r.capacity,
                capacity_used: r.capacity_used,
                rating: standings.get(&r.partner_id).and_then(|s| s.rating),
                achievement: standings.get(&r.partner_id).and_then(|s| s.achievement),
            })
        })
        .collect();
    let need_facts = NeedFacts {
        category: NeedCategory::parse(&need.category).unwrap_or(NeedCategory::Other),
        org_path: &need.org_path,
        households: need.households,
    };
    let by_id: HashMap<&str, &resource::Model> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    Ok(rank(&need_facts, &facts)
        .into_iter()
        .take(SHOWN)
        .filter_map(|(facts, score)| {
            let resource = (*by_id.get(facts.id)?).clone();
            let partner = partners.get(&resource.partner_id)?.clone();
            Some(Match {
                resource,
                partner,
                score,
            })
        })
        .collect())
}
