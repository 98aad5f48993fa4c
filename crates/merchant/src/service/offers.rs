//! Offers (积分服务): merchants draft, publish and unpublish them; residents browse the
//! catalog of published, in-window offers of active merchants.

use crate::entity::{merchant, offer};
use crate::offer_rules::{OfferFields, OfferInput, OfferStatus};
use crate::{MerchantError, MerchantStatus};
use chrono::{DateTime, Utc};
use identity::Actor;
use platform::ids::new_id;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

/// The merchant, when the actor is one of its staff.
pub async fn merchant_of_member(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
) -> Result<merchant::Model, MerchantError> {
    if !actor.merchant_ids().iter().any(|m| m == merchant_id) {
        return Err(MerchantError::Forbidden(
            "You are not staff of this merchant.",
        ));
    }
    merchant::Entity::find_by_id(merchant_id.to_owned())
        .one(conn)
        .await?
        .ok_or(MerchantError::NotFound("merchant"))
}

pub async fn create(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    input: OfferInput,
    now: DateTime<Utc>,
) -> Result<offer::Model, MerchantError> {
    let merchant = merchant_of_member(conn, actor, merchant_id).await?;
    if merchant.status != MerchantStatus::Active {
        return Err(MerchantError::InvalidTransition {
            action: "add offers to",
            from: merchant.status.as_str(),
        });
    }
    let fields = input.check(now)?;
    Ok(
        active_model(fields, new_id(), merchant_id, OfferStatus::Draft, now, now)
            .insert(conn)
            .await?,
    )
}

fn active_model(
    f: OfferFields,
    id: String,
    merchant_id: &str,
    status: OfferStatus,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> offer::ActiveModel {
    offer::ActiveModel {
        id: Set(id),
        merchant_id: Set(merchant_id.to_owned()),
        kind: Set(f.kind.as_str().to_owned()),
        title: Set(f.title),
        description: Set(f.description),
        category: Set(f.category),
        points_price: Set(f.points_price),
        time_credits_price: Set(f.time_credits_price),
        cash_value_fen: Set(f.cash_value_fen),
        stock: Set(f.stock),
        per_user_limit: Set(f.per_user_limit),
        valid_from: Set(f.valid_from),
        valid_until: Set(f.valid_until),
        status: Set(status.as_str().to_owned()),
        created_at: Set(created_at),
        updated_at: Set(now),
    }
}

/// Fields to change; absent ones keep their value. `stock`/`per_user_limit`: `Some(None)`
/// makes them unlimited.
#[derive(Debug, Clone, Default)]
pub struct OfferPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub points_price: Option<i64>,
    /// `Some(None)` makes a home service payable in points only.
    pub time_credits_price: Option<Option<i64>>,
    pub cash_value_fen: Option<i64>,
    pub stock: Option<Option<i64>>,
    pub per_user_limit: Option<Option<i64>>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

async fn own_offer(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    offer_id: &str,
) -> Result<offer::Model, MerchantError> {
    offer::Entity::find_by_id(offer_id.to_owned())
        .one(conn)
        .await?
        .filter(|o| o.merchant_id == merchant_id)
        .ok_or(MerchantError::NotFound("offer"))
}

pub async fn update(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    offer_id: &str,
    patch: OfferPatch,
    now: DateTime<Utc>,
) -> Result<offer::Model, MerchantError> {
    merchant_of_member(conn, actor, merchant_id).await?;
    let current = own_offer(conn, merchant_id, offer_id).await?;
    let status =
        OfferStatus::parse(&current.status).ok_or(MerchantError::NotFound("offer status"))?;
    if !status.editable() {
        return Err(MerchantError::InvalidTransition {
            action: "edit",
            from: "published; unpublish it first",
        });
    }
    let fields = OfferInput {
        kind: current.kind.clone(),
        title: patch.title.unwrap_or(current.title),
        description: patch.description.unwrap_or(current.description),
        category: patch.category.unwrap_or(current.category),
        points_price: patch.points_price.unwrap_or(current.points_price),
        time_credits_price: patch
            .time_credits_price
            .unwrap_or(current.time_credits_price),
        cash_value_fen: patch.cash_value_fen.unwrap_or(current.cash_value_fen),
        stock: patch.stock.unwrap_or(current.stock),
        per_user_limit: patch.per_user_limit.unwrap_or(current.per_user_limit),
        valid_from: patch.valid_from.unwrap_or(current.valid_from),
        valid_until: patch.valid_until.unwrap_or(current.valid_until),
    }
    .check(now)?;
    Ok(active_model(
        fields,
        current.id,
        merchant_id,
        status,
        current.created_at,
        now,
    )
    .update(conn)
    .await?)
}

/// Publishes (from draft or unpublished) or unpublishes (from published).
pub async fn set_published(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
    offer_id: &str,
    publish: bool,
    now: DateTime<Utc>,
) -> Result<offer::Model, MerchantError> {
    let merchant = merchant_of_member(conn, actor, merchant_id).await?;
    let current = own_offer(conn, merchant_id, offer_id).await?;
    let status =
        OfferStatus::parse(&current.status).ok_or(MerchantError::NotFound("offer status"))?;
    let (allowed, target) = if publish {
        (status != OfferStatus::Published, OfferStatus::Published)
    } else {
        (status == OfferStatus::Published, OfferStatus::Unpublished)
    };
    if !allowed {
        return Err(MerchantError::InvalidTransition {
            action: if publish { "publish" } else { "unpublish" },
            from: status.as_str(),
        });
    }
    if publish && merchant.status != MerchantStatus::Active {
        return Err(MerchantError::InvalidTransition {
            action: "publish offers of",
            from: merchant.status.as_str(),
        });
    }
    if publish && current.valid_until <= now {
        return Err(platform::ValidationErrors::single(
            "valid_until",
            "has passed; extend it before publishing",
        )
        .into());
    }
    let changed = offer::Entity::update_many()
        .col_expr(offer::Column::Status, Expr::value(target.as_str()))
        .col_expr(offer::Column::UpdatedAt, Expr::value(now))
        .filter(offer::Column::Id.eq(offer_id))
        .filter(offer::Column::Status.eq(status.as_str()))
        .exec(conn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(MerchantError::InvalidTransition {
            action: if publish { "publish" } else { "unpublish" },
            from: "changed meanwhile",
        });
    }
    Ok(offer::Model {
        status: target.as_str().to_owned(),
        updated_at: now,
        ..current
    })
}

/// A merchant's own offers, all states, newest first.
pub async fn list_own(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    merchant_id: &str,
) -> Result<Vec<offer::Model>, MerchantError> {
    merchant_of_member(conn, actor, merchant_id).await?;
    Ok(offer::Entity::find()
        .filter(offer::Column::MerchantId.eq(merchant_id))
        .order_by_desc(offer::Column::Id)
        .all(conn)
        .await?)
}

#[derive(Debug, Clone, Default)]
pub struct CatalogFilter {
    pub community_id: Option<String>,
    pub category: Option<String>,
    /// `service` or `home_service`.
    pub kind: Option<String>,
    /// Matches title or description.
    pub q: Option<String>,
}

fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

fn visible(now: DateTime<Utc>, community_id: Option<&str>) -> Condition {
    let mut active_merchants = Query::select();
    active_merchants
        .column(merchant::Column::Id)
        .from(merchant::Entity)
        .and_where(Expr::col(merchant::Column::Status).eq(MerchantStatus::Active.as_str()));
    if let Some(community) = community_id {
        active_merchants.and_where(Expr::col(merchant::Column::CommunityId).eq(community));
    }
    Condition::all()
        .add(offer::Column::Status.eq(OfferStatus::Published.as_str()))
        .add(offer::Column::ValidFrom.lte(now))
        .add(offer::Column::ValidUntil.gt(now))
        .add(Expr::col(offer::Column::MerchantId).in_subquery(active_merchants.to_owned()))
}

/// Published, in-window offers of active merchants, newest first.
pub async fn catalog(
    conn: &impl ConnectionTrait,
    filter: &CatalogFilter,
    now: DateTime<Utc>,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<offer::Model>, Option<String>), MerchantError> {
    let mut query = offer::Entity::find().filter(visible(now, filter.community_id.as_deref()));
    if let Some(category) = &filter.category {
        query = query.filter(offer::Column::Category.eq(category.as_str()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(offer::Column::Kind.eq(kind.as_str()));
    }
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = like_pattern(q);
        query = query.filter(
            Condition::any()
                .add(
                    Expr::col(offer::Column::Title)
                        .like(sea_orm::sea_query::LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::col(offer::Column::Description)
                        .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    if let Some(before) = before {
        query = query.filter(offer::Column::Id.lt(before));
    }
    let rows = query
        .order_by_desc(offer::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let (rows, next) = platform::paging::split_page(rows, limit, |row| row.id.clone());
    Ok((rows, next))
}

/// One offer as residents see it: only while it is in the catalog.
pub async fn public_offer(
    conn: &impl ConnectionTrait,
    offer_id: &str,
    now: DateTime<Utc>,
) -> Result<offer::Model, MerchantError> {
    offer::Entity::find()
        .filter(offer::Column::Id.eq(offer_id))
        .filter(visible(now, None))
        .one(conn)
        .await?
        .ok_or(MerchantError::NotFound("offer"))
}

/// Takes one unit of a limited offer's stock (a conditional update, so two residents
/// never get the last unit); unlimited offers pass.
pub async fn take_stock(
    conn: &impl ConnectionTrait,
    offer: &offer::Model,
) -> Result<(), MerchantError> {
    if offer.stock.is_none() {
        return Ok(());
    }
    let taken = offer::Entity::update_many()
        .col_expr(offer::Column::Stock, Expr::col(offer::Column::Stock).sub(1))
        .filter(offer::Column::Id.eq(offer.id.as_str()))
        .filter(offer::Column::Stock.gt(0))
        .exec(conn)
        .await?;
    if taken.rows_affected != 1 {
        return Err(MerchantError::OutOfStock);
    }
    Ok(())
}

/// Gives back the unit a reservation or order took (it ended unused).
pub async fn return_stock(
    conn: &impl ConnectionTrait,
    offer_id: &str,
) -> Result<(), MerchantError> {
    offer::Entity::update_many()
        .col_expr(offer::Column::Stock, Expr::col(offer::Column::Stock).add(1))
        .filter(offer::Column::Id.eq(offer_id))
        .filter(offer::Column::Stock.is_not_null())
        .exec(conn)
        .await?;
    Ok(())
}

/// Takes every published offer of a merchant off the catalog (its exit): how many.
pub async fn unpublish_all(
    conn: &impl ConnectionTrait,
    merchant_id: &str,
    now: DateTime<Utc>,
) -> Result<u64, MerchantError> {
    Ok(offer::Entity::update_many()
        .col_expr(
            offer::Column::Status,
            Expr::value(OfferStatus::Unpublished.as_str()),
        )
        .col_expr(offer::Column::UpdatedAt, Expr::value(now))
        .filter(offer::Column::MerchantId.eq(merchant_id))
        .filter(offer::Column::Status.eq(OfferStatus::Published.as_str()))
        .exec(conn)
        .await?
        .rows_affected)
}
