//! The public directory of partners: active partners of every kind, what residents and
//! other partners may see of them (no licence number, no contact phone).

use crate::PartnerError;
use ::merchant::{MerchantStatus, PartnerKind};
use merchant::entity::merchant;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

#[derive(Debug, Clone, Default)]
pub struct DirectoryFilter {
    pub kind: Option<PartnerKind>,
    pub community_id: Option<String>,
    pub q: Option<String>,
}

/// Active partners, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &DirectoryFilter,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<merchant::Model>, Option<String>), PartnerError> {
    let mut query = merchant::Entity::find()
        .filter(merchant::Column::Status.eq(MerchantStatus::Active.as_str()));
    if let Some(kind) = filter.kind {
        query = query.filter(merchant::Column::Kind.eq(kind.as_str()));
    }
    if let Some(community_id) = &filter.community_id {
        query = query.filter(merchant::Column::CommunityId.eq(community_id.as_str()));
    }
    if let Some(q) = filter.q.as_deref().filter(|q| !q.is_empty()) {
        query = query.filter(merchant::Column::Name.contains(q));
    }
    let key = |r: &merchant::Model| r.id.clone();
    super::scope::page(conn, query, merchant::Column::Id, limit, before, key).await
}

/// An active partner, or not found (pending, suspended and exited ones are not public).
pub async fn profile(
    conn: &impl ConnectionTrait,
    partner_id: &str,
) -> Result<merchant::Model, PartnerError> {
    merchant::Entity::find_by_id(partner_id.to_owned())
        .one(conn)
        .await?
        .filter(|m| m.status == MerchantStatus::Active)
        .ok_or(PartnerError::NotFound("partner"))
}
