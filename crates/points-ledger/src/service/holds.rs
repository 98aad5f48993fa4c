//! Two-phase holds: reserve now, post (in full or in part) or void later; an expired hold
//! releases by itself through [`release_expired`].

use super::accounts::{ensure_account, reference_by_id};
use super::lots::LotPolicy;
use super::request_hash;
use super::transfers::{
    adjust_held, find_row_by_key, post_transfer, Posted, TransferCode, TransferRequest,
};
use crate::entity::{account, hold};
use crate::{AccountRef, ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
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
    if request.amount <= 0 {
        return Err(LedgerError::InvalidAmount(request.amount));
    }
    // Inside a batch that defers, the account is read once and `held` written at its end.
    if let Some(kept) = super::deferred::kept() {
        return kept.lock().await.reserve(conn, request, now).await;
    }
    let account = ensure_account(conn, &request.account, now).await?;
    let row = new_hold(&request, &account.id, now);
    if let Some(existing) = claim_hold(conn, &row).await? {
        return Ok(existing);
    }
    if !adjust_held(conn, &account.id, request.amount).await? {
        let current = account::Entity::find_by_id(account.id.clone())
            .one(conn)
            .await?;
        unclaim_hold(conn, &row).await?;
        return Err(LedgerError::Insufficient {
            asset: request.account.asset,
            needed: request.amount,
            available: current.map_or(0, |a| a.balance - a.held),
        });
    }
    // What was inserted, without reading it back.
    Ok(row)
}

/// The pending hold `request` makes on the account `account_id`, as it is stored.
pub(crate) fn new_hold(request: &HoldRequest, account_id: &str, now: DateTime<Utc>) -> hold::Model {
    let (ref_type, ref_id) = request.reference.clone().unzip();
    let hash = request_hash(&[
        account_id,
        &request.amount.to_string(),
        &request.expires_at.to_rfc3339(),
        ref_type.as_deref().unwrap_or(""),
        ref_id.as_deref().unwrap_or(""),
    ]);
    hold::Model {
        id: new_id(),
        idempotency_key: request.idempotency_key.clone(),
        request_hash: hash,
        asset: request.account.asset.as_str().to_owned(),
        account_id: account_id.to_owned(),
        amount: request.amount,
        status: HoldStatus::Pending.as_str().to_owned(),
        expires_at: request.expires_at,
        ref_type,
        ref_id,
        transfer_id: None,
        created_at: now,
        resolved_at: None,
    }
}

/// Inserts `row` unless its key was used before: `None` when inserted; the hold stored
/// under the key when it was the same request (a retry); `IdempotencyKeyReused` otherwise.
pub(crate) async fn claim_hold(
    conn: &impl ConnectionTrait,
    row: &hold::Model,
) -> Result<Option<hold::Model>, LedgerError> {
    let claimed = hold::Entity::insert(hold::ActiveModel::from(row.clone()))
        .on_conflict(
            OnConflict::column(hold::Column::IdempotencyKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if claimed == 1 {
        return Ok(None);
    }
    let existing = hold::Entity::find()
        .filter(hold::Column::IdempotencyKey.eq(row.idempotency_key.as_str()))
        .one(conn)
        .await?
        .ok_or(LedgerError::NotFound("hold"))?;
    if existing.request_hash != row.request_hash {
        return Err(LedgerError::IdempotencyKeyReused(
            row.idempotency_key.clone(),
        ));
    }
    Ok(Some(existing))
}

/// Takes back a hold just inserted that the balance cannot cover, so that a later retry
/// with the same key may succeed.
pub(crate) async fn unclaim_hold(
    conn: &impl ConnectionTrait,
    row: &hold::Model,
) -> Result<(), LedgerError> {
    hold::Entity::delete_by_id(row.id.clone())
        .exec(conn)
        .await?;
    Ok(())
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
    // Inside a batch that defers, the release and the transfer are kept like transfers.
    if let Some(kept) = super::deferred::kept() {
        return kept.lock().await.post_hold(conn, request, rule, now).await;
    }
    if let Some(answer) = replay_post(conn, &request).await? {
        return answer;
    }
    let held = resolve(conn, &request.hold_id, HoldStatus::Posted, now).await?;
    let PostRequest {
        hold_id,
        to,
        amount,
        code,
        memo,
        idempotency_key,
    } = request;
    if amount > held.amount {
        return Err(LedgerError::PostExceedsHold {
            requested: amount,
            held: held.amount,
        });
    }
    let from = reference_by_id(conn, &held.account_id).await?;
    let posted = post_transfer(
        conn,
        TransferRequest {
            idempotency_key,
            from,
            to,
            amount,
            code,
            memo,
            reference: held.ref_type.clone().zip(held.ref_id.clone()),
        },
        Some(&hold_id),
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

/// The answer to a post whose key was used before: the transfer it made when the same
/// hold and amount (a retry), `IdempotencyKeyReused` otherwise; `None` for a new key.
pub(crate) async fn replay_post(
    conn: &impl ConnectionTrait,
    request: &PostRequest,
) -> Result<Option<Result<Posted, LedgerError>>, LedgerError> {
    let Some(existing) = find_row_by_key(conn, &request.idempotency_key).await? else {
        return Ok(None);
    };
    if existing.hold_id.as_deref() == Some(request.hold_id.as_str())
        && existing.amount == request.amount
    {
        return Ok(Some(Ok(Posted {
            transfer: existing,
            replayed: true,
            balances_after: None,
        })));
    }
    Ok(Some(Err(LedgerError::IdempotencyKeyReused(
        request.idempotency_key.clone(),
    ))))
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
    let resolved = flip(conn, hold_id, target, None, now).await?;
    adjust_held(conn, &resolved.account_id, -resolved.amount).await?;
    Ok(resolved)
}

/// Flips a pending hold to `target` (recording the transfer that posts it, when known) by
/// a compare-and-set; the hold as it is now. Its held amount is the caller's to release.
/// One statement when it succeeds; a refusal reads the hold to say why.
pub(crate) async fn flip(
    conn: &impl ConnectionTrait,
    hold_id: &str,
    target: HoldStatus,
    transfer_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<hold::Model, LedgerError> {
    let mut update = Query::update();
    update
        .table(hold::Entity)
        .value(hold::Column::Status, target.as_str())
        .value(hold::Column::ResolvedAt, now)
        .and_where(hold::Column::Id.eq(hold_id))
        .and_where(hold::Column::Status.eq(HoldStatus::Pending.as_str()))
        .returning_all();
    if let Some(transfer_id) = transfer_id {
        update.value(hold::Column::TransferId, transfer_id);
    }
    if target == HoldStatus::Posted {
        update.and_where(hold::Column::ExpiresAt.gt(now));
    }
    if let Some(row) = conn
        .query_one(conn.get_database_backend().build(&update))
        .await?
    {
        return Ok(hold::Model::from_query_result(&row, "")?);
    }
    let current = hold::Entity::find_by_id(hold_id.to_owned())
        .one(conn)
        .await?
        .ok_or(LedgerError::NotFound("hold"))?;
    if current.status != HoldStatus::Pending.as_str() {
        return Err(LedgerError::HoldNotPending(current.status));
    }
    Err(LedgerError::HoldExpired)
}

async fn expire_one(
    conn: &impl ConnectionTrait,
    hold_id: &str,
    now: DateTime<Utc>,
) -> Result<hold::Model, LedgerError> {
    resolve(conn, hold_id, HoldStatus::Expired, now).await
}

/// Pending holds past their expiry: what [`release_expired`] releases, and what the job
/// round asks about before running it.
pub fn due_to_release(now: DateTime<Utc>) -> sea_orm::Select<hold::Entity> {
    hold::Entity::find()
        .filter(hold::Column::Status.eq(HoldStatus::Pending.as_str()))
        .filter(hold::Column::ExpiresAt.lte(now))
        .order_by_asc(hold::Column::ExpiresAt)
}

/// Releases up to `limit` pending holds past their expiry; returns how many. Safe to run on
/// several instances at once: each hold is flipped by a compare-and-set.
pub async fn release_expired(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<u64, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    let due = due_to_release(now).limit(limit).all(conn).await?;
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
