//! What a batch of transfers writes at its end, planned in memory and written at once.
//!
//! Both batch paths ([`super::batch::post_batch`] and the kept transfers of a group-commit
//! batch, [`super::deferred`]) end the same way: each account's balance and held amount
//! changed once, two entries per transfer, the lots the credited wallets gain, what is
//! left of the lots the debited wallets draw from, and the draws. [`plan`] works those rows
//! out (reading the debited wallets' open lots), [`Writes::write`] writes them.
//!
//! On PostgreSQL the whole write is **one statement of fixed shape**: each table's rows go
//! in as arrays (`UNNEST`), every part is a data-modifying `WITH` clause, and foreign keys
//! are checked at the statement's end, so a transfer and the entries that reference it land
//! together. The statement's text is the same for every batch, whatever its size, so each
//! connection prepares it once. On SQLite (one writer, no round trip to save) the same rows
//! go in with a few multi-row statements.

use super::batch::INSERT_CHUNK;
use crate::entity::{account, entry, lot, lot_draw, transfer as transfer_row};
use crate::{AccountKind, Asset, LedgerError};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Statement, Value,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a batch changes of one account.
pub(crate) struct AccountDelta {
    pub(crate) account_id: String,
    pub(crate) balance: i64,
    pub(crate) held: i64,
}

/// A posted transfer as the batch's end needs it: its row, the balances of its two
/// accounts right after it, and the expiry of the lot it creates if it credits a wallet
/// that keeps lots.
pub(crate) struct PostedRow<'r> {
    pub(crate) row: &'r transfer_row::Model,
    pub(crate) debit_after: i64,
    pub(crate) credit_after: i64,
    pub(crate) lot_expires_at: DateTime<Utc>,
}

/// Every row a batch writes at its end.
#[derive(Default)]
pub(crate) struct Writes<'r> {
    /// Transfers to insert here. Empty when the batch claimed its keys already
    /// (`post_batch`); a key used before makes the write fail.
    transfers: Vec<&'r transfer_row::Model>,
    accounts: Vec<AccountDelta>,
    entries: Vec<entry::Model>,
    new_lots: Vec<lot::Model>,
    /// `(lot id, remaining)` of existing lots the batch drew from.
    drawn_lots: Vec<(String, i64)>,
    draws: Vec<lot_draw::Model>,
}

/// The rows of a batch whose transfers `posted` (in the order they were applied) left the
/// accounts `state` with the balance changes `accounts`. Reads the open lots of the wallets
/// it debits; writes nothing.
pub(crate) async fn plan<'r>(
    conn: &impl ConnectionTrait,
    state: &BTreeMap<String, account::Model>,
    accounts: Vec<AccountDelta>,
    posted: &[PostedRow<'r>],
    insert_transfers: bool,
) -> Result<Writes<'r>, LedgerError> {
    let mut writes = Writes {
        transfers: if insert_transfers {
            posted.iter().map(|p| p.row).collect()
        } else {
            Vec::new()
        },
        accounts,
        entries: posted.iter().flat_map(entries_of).collect(),
        ..Writes::default()
    };
    plan_lots(conn, state, posted, &mut writes).await?;
    Ok(writes)
}

/// The two entries of a transfer (debit and credit, with the balances after them).
fn entries_of(posted: &PostedRow<'_>) -> [entry::Model; 2] {
    let row = posted.row;
    let entry = |account_id: &str, amount: i64, balance_after: i64| entry::Model {
        id: new_id(),
        transfer_id: row.id.clone(),
        account_id: account_id.to_owned(),
        amount,
        balance_after,
        created_at: row.created_at,
    };
    [
        entry(&row.debit_account_id, -row.amount, posted.debit_after),
        entry(&row.credit_account_id, row.amount, posted.credit_after),
    ]
}

fn tracks_lots(account: &account::Model) -> bool {
    match (
        AccountKind::parse(&account.kind),
        Asset::parse(&account.asset),
    ) {
        (Some(kind), Some(asset)) => kind.tracks_lots(asset),
        _ => false,
    }
}

/// Lots and draws for the batch's transfers, as the one-by-one path would have written
/// them: each debit draws from its wallet's open lots, earliest expiry first (including
/// lots created earlier in the same batch), each credit to a wallet creates a lot.
async fn plan_lots(
    conn: &impl ConnectionTrait,
    state: &BTreeMap<String, account::Model>,
    posted: &[PostedRow<'_>],
    writes: &mut Writes<'_>,
) -> Result<(), LedgerError> {
    let keeps_lots = |account_id: &String| state.get(account_id).is_some_and(tracks_lots);
    let debited: Vec<String> = posted
        .iter()
        .map(|p| &p.row.debit_account_id)
        .filter(|id| keeps_lots(id))
        .cloned()
        .collect();
    if debited.is_empty() && !posted.iter().any(|p| keeps_lots(&p.row.credit_account_id)) {
        return Ok(());
    }
    // Open lots of the debited wallets, earliest expiry first, keyed by account.
    let mut open: HashMap<String, Vec<lot::Model>> = HashMap::new();
    if !debited.is_empty() {
        for l in lot::Entity::find()
            .filter(lot::Column::AccountId.is_in(debited))
            .filter(lot::Column::Remaining.gt(0))
            .order_by_asc(lot::Column::ExpiresAt)
            .order_by_asc(lot::Column::Id)
            .all(conn)
            .await?
        {
            open.entry(l.account_id.clone()).or_default().push(l);
        }
    }
    let mut new_ids: HashSet<String> = HashSet::new();
    let mut touched: HashSet<String> = HashSet::new();
    for p in posted {
        let row = p.row;
        if keeps_lots(&row.debit_account_id) {
            let mut left = row.amount;
            for l in open.entry(row.debit_account_id.clone()).or_default() {
                if left == 0 {
                    break;
                }
                let take = l.remaining.min(left);
                if take == 0 {
                    continue;
                }
                l.remaining -= take;
                left -= take;
                touched.insert(l.id.clone());
                writes.draws.push(lot_draw::Model {
                    id: new_id(),
                    transfer_id: row.id.clone(),
                    lot_id: l.id.clone(),
                    amount: take,
                });
            }
            if left != 0 {
                return Err(LedgerError::Db(sea_orm::DbErr::Custom(format!(
                    "lots of account {} are {left} short of its balance",
                    row.debit_account_id
                ))));
            }
        }
        if keeps_lots(&row.credit_account_id) {
            let new = lot::Model {
                id: new_id(),
                account_id: row.credit_account_id.clone(),
                transfer_id: row.id.clone(),
                amount: row.amount,
                remaining: row.amount,
                expires_at: p.lot_expires_at,
                created_at: row.created_at,
            };
            new_ids.insert(new.id.clone());
            // Later transfers in this batch may draw from it (it expires last).
            open.entry(row.credit_account_id.clone())
                .or_default()
                .push(new);
        }
    }
    // New lots are written with what is left of them after this batch's draws; existing
    // lots drawn from get their new remaining amount.
    for l in open.into_values().flatten() {
        if new_ids.contains(&l.id) {
            writes.new_lots.push(l);
        } else if touched.contains(&l.id) {
            writes.drawn_lots.push((l.id, l.remaining));
        }
    }
    Ok(())
}

impl Writes<'_> {
    /// Writes every row: one statement on PostgreSQL, a few on SQLite.
    pub(crate) async fn write(self, conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        if self.is_empty() {
            return Ok(());
        }
        match conn.get_database_backend() {
            DatabaseBackend::Postgres => self.write_in_one_statement(conn).await,
            _ => self.write_row_sets(conn).await,
        }
    }

    fn is_empty(&self) -> bool {
        self.transfers.is_empty()
            && self.accounts.is_empty()
            && self.entries.is_empty()
            && self.new_lots.is_empty()
            && self.drawn_lots.is_empty()
            && self.draws.is_empty()
    }

    /// PostgreSQL: [`ONE_STATEMENT`] with one array per column.
    async fn write_in_one_statement(self, conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        let t = &self.transfers;
        // Arrays cannot carry NULL through the driver: optional columns travel as text
        // beside a flag that says whether they are set.
        let optional = |get: fn(&transfer_row::Model) -> &Option<String>| {
            (
                Value::from(t.iter().map(|r| get(r).is_some()).collect::<Vec<bool>>()),
                texts(t.iter().map(|r| get(r).clone().unwrap_or_default())),
            )
        };
        let (has_ref_type, ref_types) = optional(|r| &r.ref_type);
        let (has_ref_id, ref_ids) = optional(|r| &r.ref_id);
        let (has_hold, hold_ids) = optional(|r| &r.hold_id);
        let a = &self.accounts;
        let e = &self.entries;
        let l = &self.new_lots;
        let d = &self.draws;
        let values = vec![
            // transfers: $1 … $16
            texts(t.iter().map(|r| r.id.clone())),
            texts(t.iter().map(|r| r.idempotency_key.clone())),
            texts(t.iter().map(|r| r.request_hash.clone())),
            texts(t.iter().map(|r| r.asset.clone())),
            texts(t.iter().map(|r| r.debit_account_id.clone())),
            texts(t.iter().map(|r| r.credit_account_id.clone())),
            numbers(t.iter().map(|r| r.amount)),
            texts(t.iter().map(|r| r.code.clone())),
            texts(t.iter().map(|r| r.memo.clone())),
            has_ref_type,
            ref_types,
            has_ref_id,
            ref_ids,
            has_hold,
            hold_ids,
            times(t.iter().map(|r| r.created_at)),
            // accounts: $17 … $19
            texts(a.iter().map(|c| c.account_id.clone())),
            numbers(a.iter().map(|c| c.balance)),
            numbers(a.iter().map(|c| c.held)),
            // entries: $20 … $25
            texts(e.iter().map(|r| r.id.clone())),
            texts(e.iter().map(|r| r.transfer_id.clone())),
            texts(e.iter().map(|r| r.account_id.clone())),
            numbers(e.iter().map(|r| r.amount)),
            numbers(e.iter().map(|r| r.balance_after)),
            times(e.iter().map(|r| r.created_at)),
            // new lots: $26 … $32
            texts(l.iter().map(|r| r.id.clone())),
            texts(l.iter().map(|r| r.account_id.clone())),
            texts(l.iter().map(|r| r.transfer_id.clone())),
            numbers(l.iter().map(|r| r.amount)),
            numbers(l.iter().map(|r| r.remaining)),
            times(l.iter().map(|r| r.expires_at)),
            times(l.iter().map(|r| r.created_at)),
            // lots drawn from: $33, $34
            texts(self.drawn_lots.iter().map(|(id, _)| id.clone())),
            numbers(self.drawn_lots.iter().map(|(_, remaining)| *remaining)),
            // draws: $35 … $38
            texts(d.iter().map(|r| r.id.clone())),
            texts(d.iter().map(|r| r.transfer_id.clone())),
            texts(d.iter().map(|r| r.lot_id.clone())),
            numbers(d.iter().map(|r| r.amount)),
        ];
        conn.execute(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            ONE_STATEMENT,
            values,
        ))
        .await?;
        Ok(())
    }

    /// SQLite: the same rows with multi-row statements.
    async fn write_row_sets(self, conn: &impl ConnectionTrait) -> Result<(), LedgerError> {
        let transfers: Vec<transfer_row::Model> =
            self.transfers.iter().map(|r| (*r).clone()).collect();
        insert_rows(conn, into_active(transfers)).await?;
        add_to_accounts(conn, &self.accounts).await?;
        insert_rows(conn, into_active(self.entries)).await?;
        insert_rows(conn, into_active(self.new_lots)).await?;
        set_remaining(conn, &self.drawn_lots).await?;
        insert_rows(conn, into_active(self.draws)).await?;
        Ok(())
    }
}

fn into_active<M: IntoActiveModel<A>, A: ActiveModelTrait>(rows: Vec<M>) -> Vec<A> {
    rows.into_iter()
        .map(IntoActiveModel::into_active_model)
        .collect()
}

/// Inserts `rows` with multi-row statements of at most [`INSERT_CHUNK`] rows.
async fn insert_rows<A>(conn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), LedgerError>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    for chunk in rows.chunks(INSERT_CHUNK) {
        A::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The whole write on PostgreSQL. Data-modifying `WITH` clauses all run, read or not;
/// each sees the database as the statement began and foreign keys are checked when it
/// ends, so the entries, lots and draws may reference transfers and lots inserted beside
/// them. The updates name their rows twice, joined to the arrays and as `= ANY(ids)`: the
/// plan is prepared once for arrays of any length, and without the second form it may join
/// by scanning the whole table. A transfer's key used before fails the statement (unique violation) and with it
/// the batch, as a multi-row insert would. The balances' check (`balance - held >= 0`)
/// holds for each account's final figures, both columns written together.
const ONE_STATEMENT: &str = "\
WITH transfers AS (
    INSERT INTO ledger_transfers (id, idempotency_key, request_hash, asset, debit_account_id,
        credit_account_id, amount, code, memo, ref_type, ref_id, hold_id, created_at)
    SELECT id, idempotency_key, request_hash, asset, debit_account_id, credit_account_id,
        amount, code, memo,
        CASE WHEN has_ref_type THEN ref_type END,
        CASE WHEN has_ref_id THEN ref_id END,
        CASE WHEN has_hold THEN hold_id END,
        created_at
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::int8[], $8::text[], $9::text[], $10::bool[], $11::text[], $12::bool[],
        $13::text[], $14::bool[], $15::text[], $16::timestamptz[])
        AS t(id, idempotency_key, request_hash, asset, debit_account_id, credit_account_id,
            amount, code, memo, has_ref_type, ref_type, has_ref_id, ref_id, has_hold,
            hold_id, created_at)
), balances AS (
    UPDATE ledger_accounts AS a SET balance = a.balance + c.balance, held = a.held + c.held
    FROM UNNEST($17::text[], $18::int8[], $19::int8[]) AS c(id, balance, held)
    WHERE a.id = c.id AND a.id = ANY($17::text[])
), entries AS (
    INSERT INTO ledger_entries (id, transfer_id, account_id, amount, balance_after, created_at)
    SELECT * FROM UNNEST($20::text[], $21::text[], $22::text[], $23::int8[], $24::int8[],
        $25::timestamptz[])
), new_lots AS (
    INSERT INTO ledger_lots (id, account_id, transfer_id, amount, remaining, expires_at,
        created_at)
    SELECT * FROM UNNEST($26::text[], $27::text[], $28::text[], $29::int8[], $30::int8[],
        $31::timestamptz[], $32::timestamptz[])
), drawn_lots AS (
    UPDATE ledger_lots AS l SET remaining = d.remaining
    FROM UNNEST($33::text[], $34::int8[]) AS d(id, remaining)
    WHERE l.id = d.id AND l.id = ANY($33::text[])
)
INSERT INTO ledger_lot_draws (id, transfer_id, lot_id, amount)
SELECT * FROM UNNEST($35::text[], $36::text[], $37::text[], $38::int8[])";

fn texts(values: impl Iterator<Item = String>) -> Value {
    Value::from(values.collect::<Vec<String>>())
}

fn numbers(values: impl Iterator<Item = i64>) -> Value {
    Value::from(values.collect::<Vec<i64>>())
}

fn times(values: impl Iterator<Item = DateTime<Utc>>) -> Value {
    Value::from(values.collect::<Vec<DateTime<Utc>>>())
}

/// `balance += Δbalance, held += Δheld` for every account, in one statement: the row's
/// check (`balance - held >= 0`) holds for the final values, not always for one column
/// written before the other.
async fn add_to_accounts(
    conn: &impl ConnectionTrait,
    changed: &[AccountDelta],
) -> Result<(), LedgerError> {
    if changed.is_empty() {
        return Ok(());
    }
    // `column + CASE id WHEN … THEN Δ … ELSE 0 END`, for the columns that change.
    let added = |column: account::Column, delta: fn(&AccountDelta) -> i64| {
        let mut arms = changed.iter().filter(|c| delta(c) != 0);
        let first = arms.next()?;
        let mut case = Expr::case(
            Expr::col(account::Column::Id).eq(first.account_id.clone()),
            delta(first),
        );
        for change in arms {
            case = case.case(
                Expr::col(account::Column::Id).eq(change.account_id.clone()),
                delta(change),
            );
        }
        Some((column, Expr::col(column).add(case.finally(0))))
    };
    let mut update = Query::update();
    update.table(account::Entity).and_where(
        Expr::col(account::Column::Id).is_in(changed.iter().map(|c| c.account_id.clone())),
    );
    let columns = [
        added(account::Column::Balance, |c| c.balance),
        added(account::Column::Held, |c| c.held),
    ];
    for (column, value) in columns.into_iter().flatten() {
        update.value(column, value);
    }
    conn.execute(conn.get_database_backend().build(&update))
        .await?;
    Ok(())
}

/// `remaining` of each lot in `lots`, in one statement.
async fn set_remaining(
    conn: &impl ConnectionTrait,
    lots: &[(String, i64)],
) -> Result<(), LedgerError> {
    let Some(((first_id, first_remaining), rest)) = lots.split_first() else {
        return Ok(());
    };
    let mut case = Expr::case(
        Expr::col(lot::Column::Id).eq(first_id.clone()),
        *first_remaining,
    );
    for (id, remaining) in rest {
        case = case.case(Expr::col(lot::Column::Id).eq(id.clone()), *remaining);
    }
    let update = Query::update()
        .table(lot::Entity)
        .value(
            lot::Column::Remaining,
            case.finally(Expr::col(lot::Column::Remaining)),
        )
        .and_where(Expr::col(lot::Column::Id).is_in(lots.iter().map(|(id, _)| id.clone())))
        .to_owned();
    conn.execute(conn.get_database_backend().build(&update))
        .await?;
    Ok(())
}
