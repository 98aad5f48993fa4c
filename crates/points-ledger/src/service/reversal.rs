//! Reversals: a correcting transfer in the opposite direction that references the original.
//! Nothing is ever edited; a transfer can be reversed once.

use super::accounts::reference_by_id;
use super::lots::LotPolicy;
use super::transfers::{find_by_key, post_transfer, Posted, TransferCode, TransferRequest};
use crate::entity::transfer;
use crate::{ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub async fn reverse(
    conn: &impl ConnectionTrait,
    transfer_id: &str,
    idempotency_key: &str,
    memo: &str,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    if let Some(existing) = find_by_key(conn, idempotency_key).await? {
        if existing.reverses_transfer_id.as_deref() == Some(transfer_id) {
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
    let original = transfer::Entity::find_by_id(transfer_id.to_owned())
        .one(conn)
        .await?
        .ok_or(LedgerError::NotFound("transfer"))?;
    if original.reverses_transfer_id.is_some() {
        return Err(LedgerError::CannotReverseReversal);
    }
    let already = transfer::Entity::find()
        .filter(transfer::Column::ReversesTransferId.eq(transfer_id))
        .one(conn)
        .await?;
    if already.is_some() {
        return Err(LedgerError::AlreadyReversed);
    }
    let from = reference_by_id(conn, &original.credit_account_id).await?;
    let to = reference_by_id(conn, &original.debit_account_id).await?;
    let posted = post_transfer(
        conn,
        TransferRequest {
            idempotency_key: idempotency_key.to_owned(),
            from,
            to,
            amount: original.amount,
            code: TransferCode::Reversal,
            memo: memo.to_owned(),
            reference: Some(("transfer".to_owned(), original.id.clone())),
        },
        None,
        Some(transfer_id),
        LotPolicy::RestoreDrawsOf(original.id.clone()),
        rule,
        now,
    )
    .await;
    match posted {
        // A concurrent reversal of the same transfer won the unique reverses_transfer_id.
        Err(LedgerError::Db(e)) if platform::db::is_unique_violation(&e) => {
            Err(LedgerError::AlreadyReversed)
        }
        other => other,
    }
}
