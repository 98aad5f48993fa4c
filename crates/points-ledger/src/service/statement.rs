//! Statements: an account's entries, newest first, with cursor pagination.

use crate::entity::{entry, transfer};
use crate::{AccountRef, LedgerError};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub id: String,
    pub transfer_id: String,
    /// Positive for money in, negative for money out.
    pub amount: i64,
    pub balance_after: i64,
    /// The transfer's code: `award`, `redemption`, `expiry`, ...
    pub kind: String,
    pub memo: String,
    pub created_at: DateTime<Utc>,
}

/// Up to `limit` lines older than `before` (an entry id from a previous page), and the id
/// to continue from when there are more.
pub async fn statement(
    conn: &impl ConnectionTrait,
    account: &AccountRef,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<StatementLine>, Option<String>), LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    let Some(account) = super::account_by_ref(conn, account).await? else {
        return Ok((Vec::new(), None));
    };
    let mut query = entry::Entity::find().filter(entry::Column::AccountId.eq(account.id.as_str()));
    if let Some(before) = before {
        query = query.filter(entry::Column::Id.lt(before));
    }
    let entries = query
        .order_by_desc(entry::Column::Id)
        .limit(limit + 1)
        .all(conn)
        .await?;
    let (entries, next) = platform::paging::split_page(entries, limit, |e| e.id.clone());
    let transfer_ids: Vec<String> = entries.iter().map(|e| e.transfer_id.clone()).collect();
    let transfers: HashMap<String, transfer::Model> = if transfer_ids.is_empty() {
        HashMap::new()
    } else {
        transfer::Entity::find()
            .filter(transfer::Column::Id.is_in(transfer_ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect()
    };
    let lines = entries
        .into_iter()
        .map(|e| {
            let transfer = transfers.get(&e.transfer_id);
            StatementLine {
                kind: transfer.map(|t| t.code.clone()).unwrap_or_default(),
                memo: transfer.map(|t| t.memo.clone()).unwrap_or_default(),
                id: e.id,
                transfer_id: e.transfer_id,
                amount: e.amount,
                balance_after: e.balance_after,
                created_at: e.created_at,
            }
        })
        .collect();
    Ok((lines, next))
}

/// Unexpired lots of a points wallet, soonest first: `(remaining, expires_at)`.
pub async fn expiring(
    conn: &impl ConnectionTrait,
    account: &AccountRef,
    now: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    use crate::entity::{account as accounts, lot};
    use sea_orm::sea_query::Query;
    // The account by its name inside the lots' query: one round trip, not two.
    let account_id = Query::select()
        .column(accounts::Column::Id)
        .from(accounts::Entity)
        .and_where(accounts::Column::Asset.eq(account.asset.as_str()))
        .and_where(accounts::Column::Kind.eq(account.kind.as_str()))
        .and_where(accounts::Column::OwnerId.eq(account.owner_id.as_str()))
        .to_owned();
    let lots = lot::Entity::find()
        .filter(lot::Column::AccountId.in_subquery(account_id))
        .filter(lot::Column::Remaining.gt(0))
        .filter(lot::Column::ExpiresAt.gt(now))
        .order_by_asc(lot::Column::ExpiresAt)
        .all(conn)
        .await?;
    // Lots expiring at the same moment are shown as one line.
    let mut grouped: Vec<(i64, DateTime<Utc>)> = Vec::new();
    for lot in lots {
        match grouped.last_mut() {
            Some((amount, at)) if *at == lot.expires_at => *amount += lot.remaining,
            _ => grouped.push((lot.remaining, lot.expires_at)),
        }
    }
    Ok(grouped)
}
