//! The expiry job: whatever is left of a lot past its expiry moves to the expiry sink.

use super::lots::LotPolicy;
use super::transfers::{post_transfer, TransferCode, TransferRequest};
use crate::entity::{account, lot};
use crate::{AccountRef, Asset, ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::SelectStatement;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

/// Lots past their expiry with points left: what [`expire_lots`] works through, and what
/// the job round asks about before running it.
pub fn due_to_expire(now: DateTime<Utc>) -> sea_orm::Select<lot::Entity> {
    due_to_expire_of(now, None)
}

/// [`due_to_expire`], of the wallets of `owners` only (a query of owner ids) when given:
/// the ledger knows no orgs, so a job round narrowed to one names its residents.
pub fn due_to_expire_of(
    now: DateTime<Utc>,
    owners: Option<SelectStatement>,
) -> sea_orm::Select<lot::Entity> {
    let due = lot::Entity::find()
        .filter(lot::Column::ExpiresAt.lte(now))
        .filter(lot::Column::Remaining.gt(0))
        .order_by_asc(lot::Column::ExpiresAt);
    match owners {
        None => due,
        Some(owners) => {
            let wallets = account::Entity::find()
                .select_only()
                .column(account::Column::Id)
                .filter(account::Column::OwnerId.in_subquery(owners));
            due.filter(lot::Column::AccountId.in_subquery(wallets.into_query()))
        }
    }
}

/// Expires up to `limit` lots due at `now`; returns the points expired. Idempotent: each
/// expiry transfer's key names the lot and what was left of it, so a rerun (or a second
/// instance) replays instead of expiring twice. Points that are held (reserved for a
/// redemption or booking) are not expired while the hold lasts; a later run takes them if
/// the hold is voided.
pub async fn expire_lots(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<i64, LedgerError> {
    expire_lots_of(conn, now, None, limit).await
}

/// [`expire_lots`], of the wallets of `owners` only when given (see [`due_to_expire_of`]).
pub async fn expire_lots_of(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    owners: Option<SelectStatement>,
    limit: u64,
) -> Result<i64, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    let due = due_to_expire_of(now, owners).limit(limit).all(conn).await?;
    let mut expired = 0;
    for lot in due {
        let Some(wallet) = account::Entity::find_by_id(lot.account_id.clone())
            .one(conn)
            .await?
        else {
            continue;
        };
        let amount = lot.remaining.min(wallet.balance - wallet.held);
        if amount <= 0 {
            continue;
        }
        let posted = post_transfer(
            conn,
            TransferRequest {
                idempotency_key: format!("expiry:{}:{}", lot.id, lot.remaining),
                from: AccountRef::wallet(Asset::Points, &wallet.owner_id),
                to: AccountRef::expiry_sink(),
                amount,
                code: TransferCode::Expiry,
                memo: format!("积分过期（{}到期）", lot.expires_at.format("%Y-%m-%d")),
                reference: Some(("lot".to_owned(), lot.id.clone())),
            },
            None,
            None,
            LotPolicy::FromLot(lot.id.clone()),
            ExpiryRule::default(),
            now,
        )
        .await?;
        if !posted.replayed {
            expired += amount;
        }
    }
    Ok(expired)
}
