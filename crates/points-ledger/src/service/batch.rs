//! Group commit: many plain transfers in one database transaction.
//!
//! Under load, a transfer's cost is dominated by its commit (an fsync) and, for a hot
//! account, by the row lock it holds until then. [`post_batch`] applies a whole batch with a
//! fixed number of statements: it claims all idempotency keys in one insert, locks the
//! touched accounts once (in id order), applies the transfers in memory in request order
//! (each still checked on its own: one that cannot be paid fails alone and writes nothing),
//! then writes every balance once, all entries, lots and draws at once ([`super::writes`]:
//! one statement on PostgreSQL), and commits once. [`TransferBatcher`] feeds it from concurrent callers.
//!
//! Results are the same as posting the transfers one by one in that order: the same
//! per-transfer idempotency (replays and `idempotency_key_reused`), the same
//! `Insufficient` errors, the same entries and lots. If anything unexpected fails, the batch
//! is rolled back and its transfers are posted one by one instead.

use super::accounts::ensure_account;
use super::transfers::{transfer, Posted, TransferRequest};
use super::writes::{self, AccountDelta, PostedRow};
use crate::entity::{account, transfer as transfer_row};
use crate::{AccountKind, Asset, ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::sea_query::{Expr, LockType, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::{mpsc, oneshot};

/// Rows per multi-row insert, well under both backends' bind-parameter limits.
pub(crate) const INSERT_CHUNK: usize = 500;

struct Planned {
    index: usize,
    request: TransferRequest,
    row: transfer_row::Model,
    debit: String,
    credit: String,
}

/// Posts `requests` as one transaction; one result per request, in order.
pub async fn post_batch(
    db: &DatabaseConnection,
    requests: Vec<TransferRequest>,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Vec<Result<Posted, LedgerError>> {
    match try_post_batch(db, &requests, rule, now).await {
        Ok(results) => results,
        Err(e) => {
            tracing::warn!(error = %e, size = requests.len(), "batch failed; posting its transfers one by one");
            let mut results = Vec::with_capacity(requests.len());
            for request in requests {
                results.push(post_alone(db, request, rule, now).await);
            }
            results
        }
    }
}

async fn post_alone(
    db: &DatabaseConnection,
    request: TransferRequest,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    let txn = db.begin().await?;
    let posted = transfer(&txn, request, rule, now).await?;
    txn.commit().await?;
    Ok(posted)
}

/// The grouped path alone: an error means the whole batch rolled back (nothing written).
pub async fn try_post_batch(
    db: &DatabaseConnection,
    requests: &[TransferRequest],
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<Vec<Result<Posted, LedgerError>>, LedgerError> {
    let mut results: Vec<Option<Result<Posted, LedgerError>>> =
        (0..requests.len()).map(|_| None).collect();
    let txn = db.begin().await?;

    // Accounts: one query for those that exist, creation for the few that do not yet.
    let mut accounts: HashMap<crate::AccountRef, account::Model> = HashMap::new();
    let wanted: std::collections::HashSet<&crate::AccountRef> =
        requests.iter().flat_map(|r| [&r.from, &r.to]).collect();
    let any = super::accounts::matching(wanted.iter().copied());
    for model in account::Entity::find().filter(any).all(&txn).await? {
        if let (Some(asset), Some(kind)) =
            (Asset::parse(&model.asset), AccountKind::parse(&model.kind))
        {
            accounts.insert(
                crate::AccountRef::new(asset, kind, model.owner_id.clone()),
                model,
            );
        }
    }
    for reference in wanted {
        if !accounts.contains_key(reference) {
            let model = ensure_account(&txn, reference, now).await?;
            accounts.insert(reference.clone(), model);
        }
    }

    // Shape checks and the rows to claim; a key repeated inside the batch replays its first use.
    let mut planned: Vec<Planned> = Vec::new();
    let mut first_use: HashMap<String, usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize, String)> = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        if let Err(error) = request.check_shape() {
            results[index] = Some(Err(error));
            continue;
        }
        let (debit, credit) = (&accounts[&request.from], &accounts[&request.to]);
        let (ref_type, ref_id) = request.reference.clone().unzip();
        let hash = request.fingerprint(&debit.id, &credit.id, None, None);
        if let Some(&first) = first_use.get(&request.idempotency_key) {
            repeats.push((index, first, hash));
            continue;
        }
        first_use.insert(request.idempotency_key.clone(), index);
        planned.push(Planned {
            index,
            row: transfer_row::Model {
                id: new_id(),
                idempotency_key: request.idempotency_key.clone(),
                request_hash: hash,
                asset: request.from.asset.as_str().to_owned(),
                debit_account_id: debit.id.clone(),
                credit_account_id: credit.id.clone(),
                amount: request.amount,
                code: request.code.as_str().to_owned(),
                memo: request.memo.clone(),
                ref_type,
                ref_id,
                hold_id: None,
                reverses_transfer_id: None,
                created_at: now,
            },
            debit: debit.id.clone(),
            credit: credit.id.clone(),
            request: request.clone(),
        });
    }

    // Claim every key at once; keys already used (before, or by a concurrent writer) replay.
    let claimed = claim_keys(&txn, planned.iter().map(|p| &p.row)).await?;
    let (fresh, taken): (Vec<Planned>, Vec<Planned>) = planned
        .into_iter()
        .partition(|p| claimed.contains(&p.row.idempotency_key));
    for p in taken {
        results[p.index] =
            Some(super::transfers::replay(&txn, &p.row.idempotency_key, &p.row.request_hash).await);
    }

    // Lock the touched accounts once, in id order, and apply the transfers in memory.
    let touched: Vec<String> = {
        let mut ids: Vec<String> = fresh
            .iter()
            .flat_map(|p| [p.debit.clone(), p.credit.clone()])
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let mut state: BTreeMap<String, account::Model> = BTreeMap::new();
    if !touched.is_empty() {
        let ids = Expr::col(account::Column::Id).is_in(touched.clone());
        for model in lock_accounts(&txn, sea_orm::Condition::all().add(ids)).await? {
            state.insert(model.id.clone(), model);
        }
    }
    let original: HashMap<String, i64> = state
        .iter()
        .map(|(id, a)| (id.clone(), a.balance))
        .collect();

    let mut posted: Vec<(Planned, i64, i64)> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for p in fresh {
        let debit = state
            .get(&p.debit)
            .ok_or(LedgerError::NotFound("account"))?;
        let available = debit.balance - debit.held;
        if !debit.allow_negative && available < p.row.amount {
            refused.push(p.row.id.clone());
            results[p.index] = Some(Err(LedgerError::Insufficient {
                asset: p.request.from.asset,
                needed: p.row.amount,
                available,
            }));
            continue;
        }
        let debit_after = {
            let a = state
                .get_mut(&p.debit)
                .ok_or(LedgerError::NotFound("account"))?;
            a.balance -= p.row.amount;
            a.balance
        };
        let credit_after = {
            let a = state
                .get_mut(&p.credit)
                .ok_or(LedgerError::NotFound("account"))?;
            a.balance += p.row.amount;
            a.balance
        };
        posted.push((p, debit_after, credit_after));
    }
    if !refused.is_empty() {
        transfer_row::Entity::delete_many()
            .filter(transfer_row::Column::Id.is_in(refused))
            .exec(&txn)
            .await?;
    }

    // Every changed balance once, the entries, lots and draws.
    let changed: Vec<AccountDelta> = state
        .iter()
        .filter_map(|(id, a)| {
            let delta = a.balance - original.get(id).copied().unwrap_or(a.balance);
            (delta != 0).then(|| AccountDelta {
                account_id: id.clone(),
                balance: delta,
                held: 0,
            })
        })
        .collect();
    let rows: Vec<PostedRow> = posted
        .iter()
        .map(|(p, debit_after, credit_after)| PostedRow {
            row: &p.row,
            debit_after: *debit_after,
            credit_after: *credit_after,
            lot_expires_at: rule.expires_at(now),
        })
        .collect();
    // The keys were claimed above: the transfers' rows are in already.
    writes::plan(&txn, &state, changed, &rows, false)
        .await?
        .write(&txn)
        .await?;
    txn.commit().await?;

    for (p, _, _) in posted {
        results[p.index] = Some(Ok(Posted {
            transfer: p.row,
            replayed: false,
            balances_after: None,
        }));
    }
    // Repeats inside the batch answer like a retry after their first use.
    for (index, first, hash) in repeats {
        let outcome = match &results[first] {
            Some(Ok(first_posted)) if first_posted.transfer.request_hash == hash => Ok(Posted {
                transfer: first_posted.transfer.clone(),
                replayed: true,
                balances_after: None,
            }),
            Some(Ok(_)) => Err(LedgerError::IdempotencyKeyReused(
                requests[index].idempotency_key.clone(),
            )),
            // The first use failed and wrote nothing; post this one on its own.
            _ => post_alone(db, requests[index].clone(), rule, now).await,
        };
        results[index] = Some(outcome);
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(LedgerError::NotFound("batch result"))))
        .collect())
}

/// The accounts matching `filter`, locked for this transaction's writes (in id order), read
/// as they are now.
pub(crate) async fn lock_accounts(
    txn: &impl ConnectionTrait,
    filter: sea_orm::Condition,
) -> Result<Vec<account::Model>, LedgerError> {
    let select = Query::select()
        .columns([
            account::Column::Id,
            account::Column::Asset,
            account::Column::Kind,
            account::Column::OwnerId,
            account::Column::AllowNegative,
            account::Column::Balance,
            account::Column::Held,
            account::Column::CreatedAt,
        ])
        .from(account::Entity)
        .cond_where(filter)
        .order_by(account::Column::Id, sea_orm::Order::Asc)
        // NO KEY UPDATE, like a plain UPDATE: it must not conflict with the KEY SHARE locks
        // that foreign keys of concurrent inserts take on these rows, or batches deadlock.
        .lock(LockType::NoKeyUpdate)
        .to_owned();
    let mut accounts = Vec::new();
    for row in txn
        .query_all(txn.get_database_backend().build(&select))
        .await?
    {
        accounts.push(account::Model {
            id: row.try_get("", "id")?,
            asset: row.try_get("", "asset")?,
            kind: row.try_get("", "kind")?,
            owner_id: row.try_get("", "owner_id")?,
            allow_negative: row.try_get("", "allow_negative")?,
            balance: row.try_get("", "balance")?,
            held: row.try_get("", "held")?,
            created_at: row.try_get("", "created_at")?,
        });
    }
    Ok(accounts)
}

/// Inserts the transfers' rows, skipping keys used already (before, or by a concurrent
/// writer); the keys it could claim.
pub(crate) async fn claim_keys<'r>(
    txn: &impl ConnectionTrait,
    rows: impl Iterator<Item = &'r transfer_row::Model>,
) -> Result<std::collections::HashSet<String>, LedgerError> {
    let rows: Vec<&transfer_row::Model> = rows.collect();
    let mut claimed = std::collections::HashSet::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut insert = Query::insert();
        insert
            .into_table(transfer_row::Entity)
            .columns([
                transfer_row::Column::Id,
                transfer_row::Column::IdempotencyKey,
                transfer_row::Column::RequestHash,
                transfer_row::Column::Asset,
                transfer_row::Column::DebitAccountId,
                transfer_row::Column::CreditAccountId,
                transfer_row::Column::Amount,
                transfer_row::Column::Code,
                transfer_row::Column::Memo,
                transfer_row::Column::RefType,
                transfer_row::Column::RefId,
                transfer_row::Column::HoldId,
                transfer_row::Column::CreatedAt,
            ])
            .on_conflict(
                OnConflict::column(transfer_row::Column::IdempotencyKey)
                    .do_nothing()
                    .to_owned(),
            )
            .returning_col(transfer_row::Column::IdempotencyKey);
        for r in chunk {
            insert.values_panic([
                r.id.clone().into(),
                r.idempotency_key.clone().into(),
                r.request_hash.clone().into(),
                r.asset.clone().into(),
                r.debit_account_id.clone().into(),
                r.credit_account_id.clone().into(),
                r.amount.into(),
                r.code.clone().into(),
                r.memo.clone().into(),
                r.ref_type.clone().into(),
                r.ref_id.clone().into(),
                r.hold_id.clone().into(),
                r.created_at.into(),
            ]);
        }
        for row in txn
            .query_all(txn.get_database_backend().build(&insert))
            .await?
        {
            claimed.insert(row.try_get::<String>("", "idempotency_key")?);
        }
    }
    Ok(claimed)
}

type Job = (
    TransferRequest,
    oneshot::Sender<Result<Posted, LedgerError>>,
);

/// Collects transfers from concurrent callers into batches for [`post_batch`].
#[derive(Clone)]
pub struct TransferBatcher {
    sender: mpsc::Sender<Job>,
}

impl TransferBatcher {
    /// Starts `workers` batch loops (each takes up to `max_batch` waiting transfers at a time).
    pub fn start(
        db: DatabaseConnection,
        workers: usize,
        max_batch: usize,
        rule: ExpiryRule,
        clock: platform::Clock,
    ) -> Self {
        let (sender, receiver) = mpsc::channel::<Job>(max_batch * workers.max(1) * 4);
        let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..workers.max(1) {
            let (db, receiver, clock) = (db.clone(), receiver.clone(), clock.clone());
            tokio::spawn(async move {
                loop {
                    let mut jobs = Vec::with_capacity(max_batch);
                    {
                        let mut receiver = receiver.lock().await;
                        let Some(first) = receiver.recv().await else {
                            return;
                        };
                        jobs.push(first);
                        while jobs.len() < max_batch {
                            match receiver.try_recv() {
                                Ok(job) => jobs.push(job),
                                Err(_) => break,
                            }
                        }
                    }
                    let (requests, replies): (Vec<TransferRequest>, Vec<_>) =
                        jobs.into_iter().unzip();
                    let results = post_batch(&db, requests, rule, clock.now()).await;
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
            });
        }
        Self { sender }
    }

    /// Posts one transfer through the next batch; returns when its batch has committed.
    pub async fn submit(&self, request: TransferRequest) -> Result<Posted, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.sender.send((request, reply)).await.map_err(|_| {
            LedgerError::Db(sea_orm::DbErr::Custom("the batcher has stopped".into()))
        })?;
        answer.await.map_err(|_| {
            LedgerError::Db(sea_orm::DbErr::Custom(
                "the batcher dropped a transfer".into(),
            ))
        })?
    }
}
