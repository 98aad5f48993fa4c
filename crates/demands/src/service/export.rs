//! Demands for export: one row per demand filed in a period under an org, with the time of
//! every stage (from the row and its events).

use crate::entity::{category, demand, demand_event};
use crate::service::metrics::level_column;
use crate::DemandError;
use chrono::{DateTime, Utc};
use identity::entity::org;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// More than this in one file is refused; narrow the period instead.
pub const MAX_ROWS: u64 = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub demand: demand::Model,
    pub category: String,
    pub community: String,
    /// The first `start` event.
    pub started_at: Option<DateTime<Utc>>,
}

pub async fn rows(
    conn: &impl ConnectionTrait,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ExportRow>, DemandError> {
    let column = match level_column(&org.kind)? {
        "district_id" => demand::Column::DistrictId,
        "street_id" => demand::Column::StreetId,
        _ => demand::Column::CommunityId,
    };
    let demands = demand::Entity::find()
        .filter(column.eq(org.id.as_str()))
        .filter(demand::Column::SubmittedAt.gte(from))
        .filter(demand::Column::SubmittedAt.lt(to))
        .order_by_asc(demand::Column::SubmittedAt)
        .limit(MAX_ROWS + 1)
        .all(conn)
        .await?;
    if demands.len() as u64 > MAX_ROWS {
        return Err(platform::ValidationErrors::single(
            "from",
            format!("the period holds more than {MAX_ROWS} demands; export a shorter one"),
        )
        .into());
    }
    let categories: HashMap<String, String> = category::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let communities = identity::service::orgs::names_under(conn, &org.path).await?;
    let mut started: HashMap<String, DateTime<Utc>> = HashMap::new();
    for chunk in demands.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|d| d.id.clone()).collect();
        for event in demand_event::Entity::find()
            .filter(demand_event::Column::DemandId.is_in(ids))
            .filter(demand_event::Column::Action.eq("start"))
            .order_by_asc(demand_event::Column::Id)
            .all(conn)
            .await?
        {
            started.entry(event.demand_id).or_insert(event.at);
        }
    }
    Ok(demands
        .into_iter()
        .map(|d| ExportRow {
            category: categories.get(&d.category_id).cloned().unwrap_or_default(),
            community: communities
                .get(&d.community_id)
                .cloned()
                .unwrap_or_default(),
            started_at: started.get(&d.id).copied(),
            demand: d,
        })
        .collect())
}
