//! Transfers of a group-commit batch, posted in memory and written once at its end.
//!
//! Inside a batch that defers (`platform::batch_scope`: the writer's fast path, which
//! commits only when every unit succeeded and otherwise runs the batch again behind
//! savepoints), [`super::transfer`] does not write. It locks and reads each account the
//! first time the batch touches it, checks and applies the transfer to the balances it
//! holds, and keeps the transfer; the batch's end writes every kept transfer, each account's
//! balance once, all entries, lots and draws at once ([`super::writes`]: one statement on
//! PostgreSQL). A community budget paying a whole activity is then one row lock, read once
//! and written once per batch, instead of two statements per award.
//!
//! What a transfer answers is the same as posting it at once: the same checks in the same
//! order, the same `Insufficient` error, the balances after it. An account's balance read
//! inside the batch is answered from the figures kept here. What is kept is not in the
//! database yet, so every other ledger operation (reads of lots or statements, voids and
//! expiries of holds, reversals, the verify) first writes what is kept ([`write_kept`]) and
//! then runs as usual. A kept transfer whose key turns out to have been used before (a
//! retry the HTTP layer did not already answer) fails the write, and with it the fast
//! batch, which then runs unit by unit where the key replays as usual.
//!
//! Holds are kept the same way: a reservation inserts its hold row at once (its key is
//! checked there) but checks and raises the account's `held` in memory; posting a hold
//! flips the hold row at once (a compare-and-set, as always) and keeps the release of
//! `held` and the transfer. The batch's end writes `held` once per account, beside the
//! balances.

use super::accounts::{create_account_if_absent, matching, reference_of, Balance};
use super::batch::lock_accounts;
use super::holds::{
    claim_hold, flip, new_hold, replay_post, unclaim_hold, HoldRequest, HoldStatus, PostRequest,
};
use super::lots::LotPolicy;
use super::transfers::{post_transfer, Posted, TransferRequest};
use super::writes::{self, AccountDelta, PostedRow};
use crate::entity::{account, hold, transfer};
use crate::{AccountRef, ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use platform::batch_scope::{self, Deferred};
use platform::ids::new_id;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The running batch's kept transfers and the accounts they touched.
#[derive(Default)]
pub(crate) struct Kept {
    /// Accounts locked and read by this batch since its last write, with the balances and
    /// held amounts its kept transfers and holds left them.
    accounts: BTreeMap<String, account::Model>,
    ids: HashMap<AccountRef, String>,
    /// Their balances and held amounts when read: the write adds the differences.
    read: HashMap<String, (i64, i64)>,
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
        self.keep(conn, request, None, new_id(), rule, now).await
    }

    /// Reserves in memory: the hold row is inserted at once, `held` is raised here.
    pub(crate) async fn reserve(
        &mut self,
        conn: &impl ConnectionTrait,
        request: HoldRequest,
        now: DateTime<Utc>,
    ) -> Result<hold::Model, LedgerError> {
        self.lock(conn, &[&request.account], now).await?;
        let account_id = self.id_of(&request.account)?;
        let row = new_hold(&request, &account_id, now);
        if let Some(existing) = claim_hold(conn, &row).await? {
            return Ok(existing);
        }
        let account = self.account_mut(&account_id)?;
        let available = account.balance - account.held;
        if !account.allow_negative && available < request.amount {
            unclaim_hold(conn, &row).await?;
            return Err(LedgerError::Insufficient {
                asset: request.account.asset,
                needed: request.amount,
                available,
            });
        }
        account.held += request.amount;
        Ok(row)
    }

    /// Posts a hold: the hold row flips at once (recording the transfer to come), its
    /// release and the transfer are kept. Answers as `holds::post` does.
    pub(crate) async fn post_hold(
        &mut self,
        conn: &impl ConnectionTrait,
        request: PostRequest,
        rule: ExpiryRule,
        now: DateTime<Utc>,
    ) -> Result<Posted, LedgerError> {
        let transfer_id = new_id();
        let held = match flip(
            conn,
            &request.hold_id,
            HoldStatus::Posted,
            Some(&transfer_id),
            now,
        )
        .await
        {
            Ok(held) => held,
            Err(refusal) => {
                // `holds::post` looks at the key first: a retry of a post replays.
                self.write(conn).await?;
                return match replay_post(conn, &request).await? {
                    Some(answer) => answer,
                    None => Err(refusal),
                };
            }
        };
        if request.amount > held.amount {
            return Err(LedgerError::PostExceedsHold {
                requested: request.amount,
                held: held.amount,
            });
        }
        let from = self.lock_id(conn, &held.account_id).await?;
        self.account_mut(&held.account_id)?.held -= held.amount;
        let hold_id = request.hold_id;
        let transfer = TransferRequest {
            idempotency_key: request.idempotency_key,
            from,
            to: request.to,
            amount: request.amount,
            code: request.code,
            memo: request.memo,
            reference: held.ref_type.zip(held.ref_id),
        };
        self.keep(conn, transfer, Some(&hold_id), transfer_id, rule, now)
            .await
    }

    /// Checks and applies a transfer (of a hold, when `hold_id`) to the accounts held here
    /// and keeps it under `transfer_id`.
    async fn keep(
        &mut self,
        conn: &impl ConnectionTrait,
        request: TransferRequest,
        hold_id: Option<&str>,
        transfer_id: String,
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
                hold_id,
                None,
                LotPolicy::EarliestFirst,
                rule,
                now,
            )
            .await;
        }
        self.lock(conn, &[&request.from, &request.to], now).await?;
        let from_id = self.id_of(&request.from)?;
        let to_id = self.id_of(&request.to)?;
        let hash = request.fingerprint(&from_id, &to_id, hold_id, None);
        let (ref_type, ref_id) = request.reference.clone().unzip();
        let debit = self.account_mut(&from_id)?;
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
            id: transfer_id,
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
            hold_id: hold_id.map(str::to_owned),
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

    /// The account's figures as this batch has them: read (and locked) on first use, zero
    /// for an account that does not exist.
    pub(crate) async fn balance(
        &mut self,
        conn: &impl ConnectionTrait,
        reference: &AccountRef,
    ) -> Result<Balance, LedgerError> {
        if !self.ids.contains_key(reference) {
            match lock_accounts(conn, matching([reference].into_iter()))
                .await?
                .pop()
            {
                Some(model) => self.remember(model)?,
                None => return Ok(Balance::default()),
            }
        }
        let account = self.account_mut(&self.id_of(reference)?)?;
        Ok(Balance {
            balance: account.balance,
            held: account.held,
        })
    }

    fn id_of(&self, reference: &AccountRef) -> Result<String, LedgerError> {
        self.ids
            .get(reference)
            .cloned()
            .ok_or(LedgerError::NotFound("account"))
    }

    fn account_mut(&mut self, account_id: &str) -> Result<&mut account::Model, LedgerError> {
        self.accounts
            .get_mut(account_id)
            .ok_or(LedgerError::NotFound("account"))
    }

    /// `balance += amount` in memory; the new balance.
    fn add(&mut self, account_id: &str, amount: i64) -> Result<i64, LedgerError> {
        let account = self.account_mut(account_id)?;
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
            let present = found
                .iter()
                .map(reference_of)
                .collect::<Result<HashSet<_>, _>>()?;
            for reference in missing.iter().filter(|r| !present.contains(**r)) {
                create_account_if_absent(conn, reference, now).await?;
            }
            found = lock_accounts(conn, any).await?;
        }
        for model in found {
            self.remember(model)?;
        }
        if missing.iter().any(|r| !self.ids.contains_key(*r)) {
            return Err(LedgerError::NotFound("account"));
        }
        Ok(())
    }

    /// Locks and reads the account `account_id` unless this batch has it already; its
    /// reference.
    async fn lock_id(
        &mut self,
        conn: &impl ConnectionTrait,
        account_id: &str,
    ) -> Result<AccountRef, LedgerError> {
        if !self.accounts.contains_key(account_id) {
            let by_id = Condition::all().add(account::Column::Id.eq(account_id));
            let model = lock_accounts(conn, by_id)
                .await?
                .pop()
                .ok_or(LedgerError::NotFound("account"))?;
            self.remember(model)?;
        }
        reference_of(&self.accounts[account_id])
    }

    fn remember(&mut self, model: account::Model) -> Result<(), LedgerError> {
        self.ids.insert(reference_of(&model)?, model.id.clone());
        self.read
            .insert(model.id.clone(), (model.balance, model.held));
        self.accounts.insert(model.id.clone(), model);
        Ok(())
    }

    /// Writes every kept transfer and forgets the accounts read (other statements may
    /// change them next; the next kept transfer reads them again).
    pub(crate) async fn write(&mut self, conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        let transfers = std::mem::take(&mut self.transfers);
        let accounts = std::mem::take(&mut self.accounts);
        let read = std::mem::take(&mut self.read);
        self.ids.clear();
        let changed: Vec<AccountDelta> = accounts
            .iter()
            .filter_map(|(id, a)| {
                let (balance, held) = read.get(id).copied().unwrap_or((a.balance, a.held));
                let delta = AccountDelta {
                    account_id: id.clone(),
                    balance: a.balance - balance,
                    held: a.held - held,
                };
                (delta.balance != 0 || delta.held != 0).then_some(delta)
            })
            .collect();
        let rows: Vec<PostedRow> = transfers
            .iter()
            .map(|t| PostedRow {
                row: &t.row,
                debit_after: t.debit_after,
                credit_after: t.credit_after,
                lot_expires_at: t.lot_expires_at,
            })
            .collect();
        // A kept transfer whose key was used before fails the insert, and with it the batch,
        // which then runs again unit by unit.
        writes::plan(conn, &accounts, changed, &rows, true)
            .await?
            .write(conn)
            .await
    }
}
