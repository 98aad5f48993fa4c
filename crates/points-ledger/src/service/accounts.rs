//! Accounts are created on first use and named by (asset, kind, owner).

use super::deferred::write_kept;
use crate::entity::account;
use crate::{AccountKind, AccountRef, Asset, LedgerError};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use std::collections::HashMap;

/// The account for `reference`, created (idempotently, race-free) if it does not exist yet.
pub async fn ensure_account(
    conn: &impl ConnectionTrait,
    reference: &AccountRef,
    now: DateTime<Utc>,
) -> Result<account::Model, LedgerError> {
    write_kept(conn).await?;
    ensure_account_row(conn, reference, now).await
}

/// [`ensure_account`] for the ledger's own paths, which have written what the batch kept
/// (or are writing it): the row as it is in the database.
pub(crate) async fn ensure_account_row(
    conn: &impl ConnectionTrait,
    reference: &AccountRef,
    now: DateTime<Utc>,
) -> Result<account::Model, LedgerError> {
    if let Some(existing) = account_row_by_ref(conn, reference).await? {
        return Ok(existing);
    }
    if let Some(created) = create_account_if_absent(conn, reference, now).await? {
        return Ok(created);
    }
    // Another writer created it meanwhile.
    account_row_by_ref(conn, reference)
        .await?
        .ok_or(LedgerError::NotFound("account"))
}

/// Creates the account for `reference` unless it exists (race-free): the new row, or
/// `None` when another writer's row is there. Nothing is read back: the row is the one
/// written.
pub(crate) async fn create_account_if_absent(
    conn: &impl ConnectionTrait,
    reference: &AccountRef,
    now: DateTime<Utc>,
) -> Result<Option<account::Model>, LedgerError> {
    let created = account::Model {
        id: new_id(),
        asset: reference.asset.as_str().to_owned(),
        kind: reference.kind.as_str().to_owned(),
        owner_id: reference.owner_id.clone(),
        allow_negative: reference.kind.may_go_negative(reference.asset),
        balance: 0,
        held: 0,
        created_at: now,
    };
    // Every column of the model is written (an insert takes unchanged values as set).
    let row = created.clone().into_active_model();
    let inserted = account::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                account::Column::Asset,
                account::Column::Kind,
                account::Column::OwnerId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    Ok((inserted == 1).then_some(created))
}

/// Matches the accounts of `references`, for one query over several of them.
pub(crate) fn matching<'r>(references: impl Iterator<Item = &'r AccountRef>) -> sea_orm::Condition {
    references.fold(sea_orm::Condition::any(), |any, reference| {
        any.add(
            sea_orm::Condition::all()
                .add(account::Column::Asset.eq(reference.asset.as_str()))
                .add(account::Column::Kind.eq(reference.kind.as_str()))
                .add(account::Column::OwnerId.eq(reference.owner_id.as_str())),
        )
    })
}

pub async fn account_by_ref(
    conn: &impl ConnectionTrait,
    reference: &AccountRef,
) -> Result<Option<account::Model>, LedgerError> {
    write_kept(conn).await?;
    account_row_by_ref(conn, reference).await
}

async fn account_row_by_ref(
    conn: &impl ConnectionTrait,
    reference: &AccountRef,
) -> Result<Option<account::Model>, LedgerError> {
    Ok(account::Entity::find()
        .filter(account::Column::Asset.eq(reference.asset.as_str()))
        .filter(account::Column::Kind.eq(reference.kind.as_str()))
        .filter(account::Column::OwnerId.eq(reference.owner_id.as_str()))
        .one(conn)
        .await?)
}

/// The figures of `owner_id`'s accounts of `kind`, by asset, in one query; an asset the
/// owner never used is absent (its balance is zero).
pub async fn balances_of(
    conn: &impl ConnectionTrait,
    kind: AccountKind,
    owner_id: &str,
) -> Result<HashMap<Asset, Balance>, LedgerError> {
    write_kept(conn).await?;
    Ok(owner_accounts(kind, owner_id)
        .all(conn)
        .await?
        .into_iter()
        .filter_map(|a| {
            let balance = Balance {
                balance: a.balance,
                held: a.held,
            };
            asset_of(&a).map(|asset| (asset, balance))
        })
        .collect())
}

/// `owner_id`'s accounts of `kind`, every asset named: the accounts' key leads with the
/// asset, so a query without it reads the whole table (each `/me` did, on both backends).
fn owner_accounts(kind: AccountKind, owner_id: &str) -> sea_orm::Select<account::Entity> {
    account::Entity::find()
        .filter(account::Column::Asset.is_in(Asset::ALL.map(Asset::as_str)))
        .filter(account::Column::Kind.eq(kind.as_str()))
        .filter(account::Column::OwnerId.eq(owner_id))
}

/// An account's figures; zero for an account never used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    pub balance: i64,
    pub held: i64,
}

impl Balance {
    pub fn available(&self) -> i64 {
        self.balance - self.held
    }
}

pub async fn balance_of(
    conn: &impl ConnectionTrait,
    reference: &AccountRef,
) -> Result<Balance, LedgerError> {
    // Inside a batch that defers, from the figures the batch holds (the account locked as
    // a transfer would lock it), without writing what it kept first.
    if let Some(kept) = super::deferred::kept() {
        if let Ok(mut kept) = kept.try_lock() {
            return kept.balance(conn, reference).await;
        }
    }
    Ok(account_by_ref(conn, reference)
        .await?
        .map(|a| Balance {
            balance: a.balance,
            held: a.held,
        })
        .unwrap_or_default())
}

pub(crate) fn asset_of(account: &account::Model) -> Option<Asset> {
    Asset::parse(&account.asset)
}

/// The reference of a stored account.
pub(crate) fn reference_of(account: &account::Model) -> Result<AccountRef, LedgerError> {
    Ok(AccountRef::new(
        asset_of(account).ok_or(LedgerError::NotFound("account asset"))?,
        AccountKind::parse(&account.kind).ok_or(LedgerError::NotFound("account kind"))?,
        account.owner_id.clone(),
    ))
}

/// The reference of the account `account_id`, read from the database.
pub(crate) async fn reference_by_id(
    conn: &impl ConnectionTrait,
    account_id: &str,
) -> Result<AccountRef, LedgerError> {
    let account = account::Entity::find_by_id(account_id.to_owned())
        .one(conn)
        .await?
        .ok_or(LedgerError::NotFound("account"))?;
    reference_of(&account)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sea_orm::QueryTrait;
    use sea_orm_migration::SchemaManager;

    /// SQLite's plan, whatever backend the suite runs on: without the asset, the owner's
    /// wallets were a scan of every account, at each resident's `/me`.
    #[tokio::test]
    async fn an_owners_accounts_are_found_by_key_without_a_scan() {
        let url = platform::db::create_fresh_database(None, "linli_t")
            .await
            .unwrap();
        let db = sea_orm::Database::connect(&url).await.unwrap();
        for migration in crate::migration::migrations() {
            migration.up(&SchemaManager::new(&db)).await.unwrap();
        }
        let query =
            owner_accounts(AccountKind::Wallet, "u1").build(sea_orm::DatabaseBackend::Sqlite);
        let values = query.values.map(|v| v.0).unwrap_or_default();
        let steps = platform::testing::sqlite_plan(&db, &query.sql, values).await;
        assert!(
            steps.iter().any(|s| s.contains("SEARCH ledger_accounts")),
            "{steps:?}"
        );
        assert!(
            steps.iter().all(|s| !s.starts_with("SCAN")),
            "the owner's accounts are read from the whole table: {steps:?}"
        );
        db.close().await.unwrap();
        platform::db::drop_fresh_database(None, &url).await.unwrap();
    }
}
