//! Two-phase holds: reserve now, post (in full or in part) or void later; an expired hold
//! releases by itself through [`release_expired`].

use super::accounts::ensure_account;
use super::lots::LotPolicy;
use super::request_hash;
use super::transfers::{
    adjust_held, find_by_key, post_transfer, Posted, TransferCode, TransferRequest,
};
use crate::entity::{account, hold};
use crate::{AccountRef, ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

#[derive(Debug, Clone)]
pub struct HoldRequest {
    pub idempotency_key: String,
    pub account: AccountRef,
    pub amount: i64,
    pub expires_at: DateTime<Utc>,
    pub reference: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    Pending,
    Posted,
    Voided,
    Expired,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Posted => "posted",
            Self::Voided => "voided",
            Self::Expired => "expired",
        }
    }
}

/// Reserves `amount` on the account: `held` grows, `available` shrinks, the balance stays.
pub async fn reserve(
    conn: &impl ConnectionTrait,
    request: HoldRequest,
    now: DateTime<Utc>,
) -> Result<hold::Model, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    if request.amount <= 0 {
        return Err(LedgerError::InvalidAmount(request.amount));
    }
    let account = ensure_account(conn, &request.account, now).await?;
    let (ref_type, ref_id) = request.reference.clone().unzip();
    let hash = request_hash(&[
        &account.id,
        &request.amount.to_string(),
        &request.expires_at.to_rfc3339(),
        ref_type.as_deref().unwrap_or(""),
        ref_id.as_deref().unwrap_or(""),
    ]);
    let hold_id = new_id();
    let claimed = hold::Entity::insert(hold::ActiveModel {
        id: Set(hold_id.clone()),
        idempotency_key: Set(request.idempotency_key.clone()),
        request_hash: Set(hash.clone()),
        asset: Set(request.account.asset.as_str().to_owned()),
        account_id: Set(account.id.clone()),
        amount: Set(request.amount),
        status: Set(HoldStatus::Pending.as_str().to_owned()),
        expires_at: Set(request.expires_at),
        ref_type: Set(ref_type),
        ref_id: Set(ref_id),
        transfer_id: Set(None),
        created_at: Set(now),
        resolved_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(hold::Column::IdempotencyKey)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    if claimed == 0 {
        let existing = hold::Entity::find()
            .filter(hold::Column::IdempotencyKey.eq(request.idempotency_key.as_str()))
            .one(conn)
            .await?
            .ok_or(LedgerError::NotFound("hold"))?;
        if existing.request_hash != hash {
            return Err(LedgerError::IdempotencyKeyReused(request.idempotency_key));
        }
        return Ok(existing);
    }
    if !adjust_held(conn, &account.id, request.amount).await? {
        hold::Entity::delete_by_id(hold_id).exec(conn).await?;
        let current = account::Entity::find_by_id(account.id.clone())
            .one(conn)
            .await?;
        return Err(LedgerError::Insufficient {
            asset: request.account.asset,
            needed: request.amount,
            available: current.map_or(0, |a| a.balance - a.held),
        });
    }
    hold::Entity::find_by_id(hold_id)
        .one(conn)
        .await?
        .ok_or(LedgerError::NotFound("hold"))
}

/// Settles a hold: `amount` (at most the held amount) goes from the held account to `to`.
#[derive(Debug, Clone)]
pub struct PostRequest {
    pub hold_id: String,
    pub to: AccountRef,
    pub amount: i64,
    pub code: TransferCode,
    pub memo: String,
    pub idempotency_key: String,
}

/// Posts a hold; whatever part of it is not posted is released.
pub async fn post(
    conn: &impl ConnectionTrait,
    request: PostRequest,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    let PostRequest {
        hold_id,
        to,
        amount,
        code,
        memo,
        idempotency_key,
    } = request;
    let (hold_id, idempotency_key) = (hold_id.as_str(), idempotency_key.as_str());
    if let Some(existing) = find_by_key(conn, idempotency_key).await? {
        if existing.hold_id.as_deref() == Some(hold_id) && existing.amount == amount {
            return Ok(Posted {
                transfer: existing,
                replayed: true,
                balances_after: None,
            });
        }
        return Err(LedgerError::IdempotencyKeyReused(
            idempotency_key.to_owned(),
        ));
    }
    let held = resolve(conn, hold_id, HoldStatus::Posted, now).await?;
    if amount > held.amount {
        return Err(LedgerError::PostExceedsHold {
            requested: amount,
            held: held.amount,
        });
    }
    let from = account::Entity::find_by_id(held.account_id.clone())
        .one(conn)
        .await?
        .ok_or(LedgerError::NotFound("account"))?;
    let from = AccountRef::new(
        to.asset,
        crate::AccountKind::parse(&from.kind).ok_or(LedgerError::NotFound("account kind"))?,
        from.owner_id,
    );
    let posted = post_transfer(
        conn,
        TransferRequest {
            idempotency_key: idempotency_key.to_owned(),
            from,
            to,
            amount,
            code,
            memo,
            reference: held.ref_type.clone().zip(held.ref_id.clone()),
        },
        Some(hold_id),
        None,
        LotPolicy::EarliestFirst,
        rule,
        now,
    )
    .await?;
    hold::Entity::update_many()
        .col_expr(
            hold::Column::TransferId,
            Expr::value(posted.transfer.id.clone()),
        )
        .filter(hold::Column::Id.eq(hold_id))
        .exec(conn)
        .await?;
    Ok(posted)
}

/// Releases the whole hold without moving anything. Voiding a hold that is already voided
/// or expired is a no-op; voiding a posted one is an error.
pub async fn void(
    conn: &impl ConnectionTrait,
    hold_id: &str,
    now: DateTime<Utc>,
) -> Result<hold::Model, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    match resolve(conn, hold_id, HoldStatus::Voided, now).await {
        Ok(hold) => Ok(hold),
        Err(LedgerError::HoldNotPending(status)) if status != HoldStatus::Posted.as_str() => {
            hold::Entity::find_by_id(hold_id.to_owned())
                .one(conn)
                .await?
                .ok_or(LedgerError::NotFound("hold"))
        }
        Err(e) => Err(e),
    }
}

/// Flips a pending hold to `target` and releases its held amount. A compare-and-set, so of
/// two racing resolutions exactly one wins.
async fn resolve(
    conn: &impl ConnectionTrait,
    hold_id: &str,
    target: HoldStatus,
    now: DateTime<Utc>,
) -> Result<hold::Model, LedgerError> {
    let current = hold::Entity::find_by_id(hold_id.to_owned())
        .one(conn)
        .await?
        .ok_or(LedgerError::NotFound("hold"))?;
    if current.status != HoldStatus::Pending.as_str() {
        return Err(LedgerError::HoldNotPending(current.status));
    }
    if target == HoldStatus::Posted && current.expires_at <= now {
        return Err(LedgerError::HoldExpired);
    }
    let flipped = hold::Entity::update_many()
        .col_expr(hold::Column::Status, Expr::value(target.as_str()))
        .col_expr(hold::Column::ResolvedAt, Expr::value(now))
        .filter(hold::Column::Id.eq(hold_id))
        .filter(hold::Column::Status.eq(HoldStatus::Pending.as_str()))
        .exec(conn)
        .await?;
    if flipped.rows_affected != 1 {
        let status = hold::Entity::find_by_id(hold_id.to_owned())
            .one(conn)
            .await?
            .map_or_else(|| "missing".to_owned(), |h| h.status);
        return Err(LedgerError::HoldNotPending(status));
    }
    adjust_held(conn, &current.account_id, -current.amount).await?;
    Ok(hold::Model {
        status: target.as_str().to_owned(),
        resolved_at: Some(now),
        ..current
    })
}

async fn expire_one(
    conn: &impl ConnectionTrait,
    hold_id: &str,
    now: DateTime<Utc>,
) -> Result<hold::Model, LedgerError> {
    resolve(conn, hold_id, HoldStatus::Expired, now).await
}

/// Releases up to `limit` pending holds past their expiry; returns how many. Safe to run on
/// several instances at once: each hold is flipped by a compare-and-set.
pub async fn release_expired(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<u64, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    let due = hold::Entity::find()
        .filter(hold::Column::Status.eq(HoldStatus::Pending.as_str()))
        .filter(hold::Column::ExpiresAt.lte(now))
        .order_by_asc(hold::Column::ExpiresAt)
        .limit(limit)
        .all(conn)
        .await?;
    let mut released = 0;
    for hold in due {
        match expire_one(conn, &hold.id, now).await {
            Ok(_) => released += 1,
            Err(LedgerError::HoldNotPending(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(released)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    hold_id: &str,
) -> Result<Option<hold::Model>, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    Ok(hold::Entity::find_by_id(hold_id.to_owned())
        .one(conn)
        .await?)
}
