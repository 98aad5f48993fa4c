//! The care map: how many recipients of each colour and group live in each compound, and
//! how many are overdue for a visit. Counts only: no names, no contact data, no log rows.

use crate::entity::recipient;
use crate::words::Colour;
use crate::CareError;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompoundCounts {
    pub compound_id: String,
    pub total: i64,
    /// By colour, in `Colour::ALL` order.
    pub by_colour: [i64; 5],
    pub by_group: BTreeMap<String, i64>,
    pub visits_overdue: i64,
}

pub async fn counts_under(
    conn: &impl ConnectionTrait,
    org_path: &str,
    now: DateTime<Utc>,
) -> Result<Vec<CompoundCounts>, CareError> {
    let rows = recipient::Entity::find()
        .filter(recipient::Column::OrgPath.starts_with(org_path))
        .all(conn)
        .await?;
    let mut by_compound: BTreeMap<String, CompoundCounts> = BTreeMap::new();
    for r in rows {
        let entry = by_compound
            .entry(r.compound_id.clone())
            .or_insert_with(|| CompoundCounts {
                compound_id: r.compound_id.clone(),
                ..Default::default()
            });
        entry.total += 1;
        if let Some(i) =
            Colour::parse(&r.colour).and_then(|c| Colour::ALL.iter().position(|x| *x == c))
        {
            entry.by_colour[i] += 1;
        }
        for group in serde_json::from_str::<Vec<String>>(&r.groups).unwrap_or_default() {
            *entry.by_group.entry(group).or_default() += 1;
        }
        let due = r.last_visit_at.unwrap_or(r.consent_at) + Duration::days(r.visit_every_days);
        if due <= now {
            entry.visits_overdue += 1;
        }
    }
    Ok(by_compound.into_values().collect())
}
