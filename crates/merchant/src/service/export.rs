//! Merchants and their redemptions for the staff's spreadsheets: every merchant of the
//! communities under an org with its period's redemptions, and every reservation made in
//! the period with its outcome.

use crate::entity::{merchant, offer, redemption};
use crate::redemption_state::RedemptionStatus;
use crate::MerchantError;
use chrono::{DateTime, Utc};
use identity::entity::org;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// More than this in one file is refused; narrow the period instead.
pub const MAX_ROWS: u64 = 100_000;

#[derive(Debug, Clone, PartialEq)]
pub struct MerchantRow {
    pub merchant: merchant::Model,
    pub community: String,
    pub offers_published: u64,
    /// Codes verified in the period, and the points they took.
    pub redeemed: u64,
    pub points_redeemed: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedemptionRow {
    pub redemption: redemption::Model,
    pub merchant: String,
    pub community: String,
}

pub async fn merchants(
    conn: &impl ConnectionTrait,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<MerchantRow>, MerchantError> {
    // A merchant's `community_id` is always a community's: these keys select those under `org`.
    let communities = identity::service::orgs::names_under(conn, &org.path).await?;
    let found = merchant::Entity::find()
        .filter(merchant::Column::CommunityId.is_in(communities.keys().cloned()))
        .order_by_asc(merchant::Column::CreatedAt)
        .limit(MAX_ROWS + 1)
        .all(conn)
        .await?;
    too_many(found.len())?;
    let mut published: HashMap<String, u64> = HashMap::new();
    let mut redeemed: HashMap<String, (u64, i64)> = HashMap::new();
    for chunk in found.chunks(500) {
        let ids: Vec<String> = chunk.iter().map(|m| m.id.clone()).collect();
        for o in offer::Entity::find()
            .filter(offer::Column::MerchantId.is_in(ids.clone()))
            .filter(offer::Column::Status.eq("published"))
            .all(conn)
            .await?
        {
            *published.entry(o.merchant_id).or_default() += 1;
        }
        for r in redemption::Entity::find()
            .filter(redemption::Column::MerchantId.is_in(ids))
            .filter(redemption::Column::Status.eq(RedemptionStatus::Redeemed))
            .filter(redemption::Column::RedeemedAt.gte(from))
            .filter(redemption::Column::RedeemedAt.lt(to))
            .all(conn)
            .await?
        {
            let tally = redeemed.entry(r.merchant_id).or_default();
            tally.0 += 1;
            tally.1 += r.points;
        }
    }
    Ok(found
        .into_iter()
        .map(|m| {
            let (count, points) = redeemed.get(&m.id).copied().unwrap_or_default();
            MerchantRow {
                community: communities
                    .get(&m.community_id)
                    .cloned()
                    .unwrap_or_default(),
                offers_published: published.get(&m.id).copied().unwrap_or_default(),
                redeemed: count,
                points_redeemed: points,
                merchant: m,
            }
        })
        .collect())
}

/// Reservations made in the period at merchants under `org`, oldest first.
pub async fn redemptions(
    conn: &impl ConnectionTrait,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<RedemptionRow>, MerchantError> {
    // A merchant's `community_id` is always a community's: these keys select those under `org`.
    let communities = identity::service::orgs::names_under(conn, &org.path).await?;
    let shops: HashMap<String, (String, String)> = merchant::Entity::find()
        .filter(merchant::Column::CommunityId.is_in(communities.keys().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| {
            let community = communities
                .get(&m.community_id)
                .cloned()
                .unwrap_or_default();
            (m.id, (m.name, community))
        })
        .collect();
    let mut rows = Vec::new();
    let ids: Vec<String> = shops.keys().cloned().collect();
    for chunk in ids.chunks(500) {
        let found = redemption::Entity::find()
            .filter(redemption::Column::MerchantId.is_in(chunk.to_vec()))
            .filter(redemption::Column::CreatedAt.gte(from))
            .filter(redemption::Column::CreatedAt.lt(to))
            .limit(MAX_ROWS + 1)
            .all(conn)
            .await?;
        rows.extend(found);
        too_many(rows.len())?;
    }
    rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(rows
        .into_iter()
        .map(|r| {
            let (merchant, community) = shops.get(&r.merchant_id).cloned().unwrap_or_default();
            RedemptionRow {
                redemption: r,
                merchant,
                community,
            }
        })
        .collect())
}

fn too_many(rows: usize) -> Result<(), MerchantError> {
    if rows as u64 > MAX_ROWS {
        return Err(platform::ValidationErrors::single(
            "from",
            format!("more than {MAX_ROWS} rows; export a shorter period or a smaller org"),
        )
        .into());
    }
    Ok(())
}
