//! Transfers of a group-commit batch, posted in memory and written once at its end.
//!
//! Inside a batch that defers (`platform::batch_scope`: the writer's fast path, which
//! commits only when every unit succeeded and otherwise runs the batch again behind
//! savepoints), [`super::transfer`] does not write. It locks and reads each account the
//! first time the batch touches it, checks and applies the transfer to the balances it
//! holds, and keeps the transfer; the batch's end writes every kept transfer, each account's
//! balance once, all entries, lots and draws with a few multi-row statements. A community
//! budget paying a whole activity is then one row lock, read once and written once per
//! batch, instead of two statements per award.
//!
//! What a transfer answers is the same as posting it at once: the same checks in the same
//! order, the same `Insufficient` error, the balances after it. What is kept is not in the
//! database yet, so every other ledger operation (reads of balances, lots or statements,
//! holds, reversals, expiries, the verify) first writes what is kept ([`write_kept`]) and
//! then runs as usual. A kept transfer whose key turns out to have been used before (a
//! retry the HTTP layer did not already answer) fails the write, and with it the fast
//! batch, which then runs unit by unit where the key replays as usual.

use super::accounts::{ensure_account_row, matching};
use super::batch::{add_to_balances, apply_lots, claim_keys, lock_accounts, write_entries};
use super::lots::LotPolicy;
use super::transfers::{post_transfer, Posted, TransferRequest};
use crate::entity::{account, transfer};
use crate::{AccountRef, ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use platform::batch_scope::{self, Deferred};
use platform::ids::new_id;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The running batch's kept transfers and the accounts they touched.
#[derive(Default)]
pub(crate) struct Kept {
    /// Accounts locked and read by this batch since its last write, with the balances its
    /// kept transfers left them.
    accounts: BTreeMap<String, account::Model>,
    ids: HashMap<AccountRef, String>,
    /// Their balances when read: the write adds the difference.
    read: HashMap<String, i64>,
    transfers: Vec<KeptTransfer>,
    /// Every key this batch posted, written or not, so that a repeat goes the usual way.
    keys: HashSet<String>,
}

struct KeptTransfer {
    row: transfer::Model,
    debit_after: i64,
    credit_after: i64,
    /// The expiry of the lot it creates, if it credits a wallet that keeps lots.
    lot_expires_at: DateTime<Utc>,
}

impl Deferred for Kept {
    fn flush<'c>(&'c mut self, txn: &'c DatabaseTransaction) -> BoxFuture<'c, Result<(), DbErr>> {
        Box::pin(async move { self.write(txn).await.map_err(into_db_err) })
    }
}

fn into_db_err(error: LedgerError) -> DbErr {
    match error {
        LedgerError::Db(err) => err,
        other => DbErr::Custom(other.to_string()),
    }
}

/// The running batch's kept transfers, or `None` outside a batch that defers.
pub(crate) fn kept() -> Option<batch_scope::Slot<Kept>> {
    batch_scope::slot::<Kept>()
}

/// Writes the running batch's kept transfers, if any, before a ledger operation that reads
/// or changes accounts, lots or transfers by SQL.
pub(crate) async fn write_kept(conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
    let Some(slot) = kept() else {
        return Ok(());
    };
    // Held only by a kept transfer being posted on this same task, which writes what it
    // must itself: waiting for it here would wait forever.
    let Ok(mut kept) = slot.try_lock() else {
        return Ok(());
    };
    kept.write(conn).await
}

impl Kept {
    /// Posts `request` in memory (see the module documentation).
    pub(crate) async fn transfer(
        &mut self,
        conn: &impl ConnectionTrait,
        request: TransferRequest,
        rule: ExpiryRule,
        now: DateTime<Utc>,
    ) -> Result<Posted, LedgerError> {
        request.check_shape()?;
        if self.keys.contains(&request.idempotency_key) {
            // A key repeated within the batch: written first, the usual path replays it.
            self.write(conn).await?;
            return post_transfer(
                conn,
                request,
                None,
                None,
                LotPolicy::EarliestFirst,
                rule,
                now,
            )
            .await;
        }
        self.lock(conn, &[&request.from, &request.to], now).await?;
        let (Some(from_id), Some(to_id)) = (
            self.ids.get(&request.from).cloned(),
            self.ids.get(&request.to).cloned(),
        ) else {
            return Err(LedgerError::NotFound("account"));
        };
        let hash = request.fingerprint(&from_id, &to_id, None, None);
        let (ref_type, ref_id) = request.reference.clone().unzip();
        let debit = self
            .accounts
            .get(&from_id)
            .ok_or(LedgerError::NotFound("account"))?;
        let available = debit.balance - debit.held;
        if !debit.allow_negative && available < request.amount {
            return Err(LedgerError::Insufficient {
                asset: request.from.asset,
                needed: request.amount,
                available,
            });
        }
        let debit_after = self.add(&from_id, -request.amount)?;
        let credit_after = self.add(&to_id, request.amount)?;
        let row = transfer::Model {
            id: new_id(),
            idempotency_key: request.idempotency_key.clone(),
            request_hash: hash,
            asset: request.from.asset.as_str().to_owned(),
            debit_account_id: from_id,
            credit_account_id: to_id,
            amount: request.amount,
            code: request.code.as_str().to_owned(),
            memo: request.memo,
            ref_type,
            ref_id,
            hold_id: None,
            reverses_transfer_id: None,
            created_at: now,
        };
        self.keys.insert(request.idempotency_key);
        self.transfers.push(KeptTransfer {
            row: row.clone(),
            debit_after,
            credit_after,
            lot_expires_at: rule.expires_at(now),
        });
        Ok(Posted {
            transfer: row,
            replayed: false,
            balances_after: Some((debit_after, credit_after)),
        })
    }

    /// `balance += amount` in memory; the new balance.
    fn add(&mut self, account_id: &str, amount: i64) -> Result<i64, LedgerError> {
        let account = self
            .accounts
            .get_mut(account_id)
            .ok_or(LedgerError::NotFound("account"))?;
        account.balance += amount;
        Ok(account.balance)
    }

    /// Locks and reads the accounts of `references` this batch has not read yet (creating
    /// those that do not exist), in one query when they exist.
    async fn lock(
        &mut self,
        conn: &impl ConnectionTrait,
        references: &[&AccountRef],
        now: DateTime<Utc>,
    ) -> Result<(), LedgerError> {
        let missing: Vec<&AccountRef> = references
            .iter()
            .copied()
            .filter(|reference| !self.ids.contains_key(*reference))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let any = matching(missing.iter().copied());
        let mut found = lock_accounts(conn, any.clone()).await?;
        if found.len() < missing.len() {
            // First use of an account: create it, then lock it like the others.
            for reference in &missing {
                ensure_account_row(conn, reference, now).await?;
            }
            found = lock_accounts(conn, any).await?;
        }
        for model in found {
            let reference = missing
                .iter()
                .find(|r| {
                    r.asset.as_str() == model.asset
                        && r.kind.as_str() == model.kind
                        && r.owner_id == model.owner_id
                })
                .ok_or(LedgerError::NotFound("account"))?;
            self.ids.insert((*reference).clone(), model.id.clone());
            self.read.insert(model.id.clone(), model.balance);
            self.accounts.insert(model.id.clone(), model);
        }
        if missing.iter().any(|r| !self.ids.contains_key(*r)) {
            return Err(LedgerError::NotFound("account"));
        }
        Ok(())
    }

    /// Writes every kept transfer and forgets the accounts read (other statements may
    /// change them next; the next kept transfer reads them again).
    pub(crate) async fn write(&mut self, conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        let transfers = std::mem::take(&mut self.transfers);
        let accounts = std::mem::take(&mut self.accounts);
        let read = std::mem::take(&mut self.read);
        self.ids.clear();
        if transfers.is_empty() {
            return Ok(());
        }
        let claimed = claim_keys(conn, transfers.iter().map(|t| &t.row)).await?;
        if claimed.len() != transfers.len() {
            return Err(LedgerError::Db(DbErr::Custom(
                "a kept transfer's key was used before; the batch runs again unit by unit".into(),
            )));
        }
        let changed: Vec<(String, i64)> = accounts
            .iter()
            .filter_map(|(id, a)| {
                let delta = a.balance - read.get(id).copied().unwrap_or(a.balance);
                (delta != 0).then(|| (id.clone(), delta))
            })
            .collect();
        add_to_balances(conn, &changed).await?;
        write_entries(
            conn,
            transfers
                .iter()
                .map(|t| (&t.row, t.debit_after, t.credit_after)),
        )
        .await?;
        let lots: Vec<(&transfer::Model, DateTime<Utc>)> = transfers
            .iter()
            .map(|t| (&t.row, t.lot_expires_at))
            .collect();
        apply_lots(conn, &accounts, &lots).await
    }
}
