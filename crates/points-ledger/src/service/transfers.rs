//! Transfers: one debit, one credit, atomically, exactly once per idempotency key.

use super::accounts::{asset_of, ensure_account_row};
use super::deferred;
use super::lots::{self, LotPolicy};
use super::request_hash;
use crate::entity::{account, entry, transfer};
use crate::{AccountKind, AccountRef, Asset, ExpiryRule, LedgerError};
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::sea_query::{Cond, Expr, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

/// Why value moved. Stored as text; the list grows with the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferCode {
    Allocation,
    Award,
    Redemption,
    Parking,
    Expiry,
    Gift,
    Reversal,
    Settlement,
    HelpRequest,
    Adjustment,
    /// A community budget paying a partner for its project.
    ProjectPayment,
    /// A confirmed home-service order's held payment to its partner.
    HomeService,
}

impl TransferCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allocation => "allocation",
            Self::Award => "award",
            Self::Redemption => "redemption",
            Self::Parking => "parking",
            Self::Expiry => "expiry",
            Self::Gift => "gift",
            Self::Reversal => "reversal",
            Self::Settlement => "settlement",
            Self::HelpRequest => "help_request",
            Self::Adjustment => "adjustment",
            Self::ProjectPayment => "project_payment",
            Self::HomeService => "home_service",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TransferRequest {
    /// Unique forever. A retry with the same key and fields returns the first transfer.
    pub idempotency_key: String,
    pub from: AccountRef,
    pub to: AccountRef,
    pub amount: i64,
    pub code: TransferCode,
    pub memo: String,
    /// The business object behind the movement, e.g. (`redemption`, id).
    pub reference: Option<(String, String)>,
}

impl TransferRequest {
    /// Refuses what no transfer may be, before anything is read or written.
    pub(crate) fn check_shape(&self) -> Result<(), LedgerError> {
        if self.amount <= 0 {
            return Err(LedgerError::InvalidAmount(self.amount));
        }
        if self.from == self.to {
            return Err(LedgerError::SameAccount);
        }
        if self.from.asset != self.to.asset {
            return Err(LedgerError::AssetMismatch);
        }
        Ok(())
    }

    /// The fingerprint stored beside its key: a retry must match it to replay. `hold_id` and
    /// `reverses` for the posts of holds and for reversals.
    pub(crate) fn fingerprint(
        &self,
        debit_id: &str,
        credit_id: &str,
        hold_id: Option<&str>,
        reverses: Option<&str>,
    ) -> String {
        let (ref_type, ref_id) = self.reference.clone().unzip();
        request_hash(&[
            self.from.asset.as_str(),
            debit_id,
            credit_id,
            &self.amount.to_string(),
            self.code.as_str(),
            &self.memo,
            ref_type.as_deref().unwrap_or(""),
            ref_id.as_deref().unwrap_or(""),
            hold_id.unwrap_or(""),
            reverses.unwrap_or(""),
        ])
    }
}

/// A committed (or replayed) transfer.
#[derive(Debug, Clone)]
pub struct Posted {
    pub transfer: transfer::Model,
    /// True when the idempotency key had already been used for this same request.
    pub replayed: bool,
    /// The debited and the credited account's balances right after this posting; known
    /// only when it was posted just now (a replay does not know them).
    pub balances_after: Option<(i64, i64)>,
}

/// Moves `amount` of one asset between two accounts. Fails with `Insufficient` (writing
/// nothing) when the debited account may not go negative and lacks the available amount.
pub async fn transfer(
    conn: &impl ConnectionTrait,
    request: TransferRequest,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    // Inside a batch that defers, posted in memory and written at the batch's end.
    if let Some(kept) = deferred::kept() {
        return kept.lock().await.transfer(conn, request, rule, now).await;
    }
    post_transfer(
        conn,
        request,
        None,
        None,
        LotPolicy::EarliestFirst,
        rule,
        now,
    )
    .await
}

/// The shared path of transfers, hold posts, reversals and expiries, written at once. The
/// callers have written what a deferring batch kept ([`deferred::write_kept`]).
pub(crate) async fn post_transfer(
    conn: &impl ConnectionTrait,
    request: TransferRequest,
    hold_id: Option<&str>,
    reverses: Option<&str>,
    lot_policy: LotPolicy,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    request.check_shape()?;
    let asset = request.from.asset;
    let from = ensure_account_row(conn, &request.from, now).await?;
    let to = ensure_account_row(conn, &request.to, now).await?;
    let (ref_type, ref_id) = request.reference.clone().unzip();
    let hash = request.fingerprint(&from.id, &to.id, hold_id, reverses);

    // Claim the key first. On PostgreSQL a concurrent claim of the same key waits here until
    // the first transaction ends, then sees its row: retries can never both post.
    let transfer_id = new_id();
    // The row as it is stored, so that the answer needs no read back.
    let claimed_row = transfer::Model {
        id: transfer_id.clone(),
        idempotency_key: request.idempotency_key.clone(),
        request_hash: hash.clone(),
        asset: asset.as_str().to_owned(),
        debit_account_id: from.id.clone(),
        credit_account_id: to.id.clone(),
        amount: request.amount,
        code: request.code.as_str().to_owned(),
        memo: request.memo.clone(),
        ref_type,
        ref_id,
        hold_id: hold_id.map(str::to_owned),
        reverses_transfer_id: reverses.map(str::to_owned),
        created_at: now,
    };
    let row: transfer::ActiveModel = claimed_row.clone().into();
    let claimed = transfer::Entity::insert(row)
        .on_conflict(
            OnConflict::column(transfer::Column::IdempotencyKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if claimed == 0 {
        return replay(conn, &request.idempotency_key, &hash).await;
    }

    // Touch the two rows in id order so that opposite transfers cannot deadlock.
    let (debit_after, credit_after) = if from.id < to.id {
        let debit = match debit_account(conn, &from, request.amount).await? {
            Some(after) => after,
            None => {
                return unclaim_insufficient(conn, &transfer_id, &from, asset, request.amount).await
            }
        };
        (debit, credit_account(conn, &to.id, request.amount).await?)
    } else {
        let credit = credit_account(conn, &to.id, request.amount).await?;
        match debit_account(conn, &from, request.amount).await? {
            Some(debit) => (debit, credit),
            None => {
                // Undo the credit made a moment ago in this same transaction.
                credit_account(conn, &to.id, -request.amount).await?;
                return unclaim_insufficient(conn, &transfer_id, &from, asset, request.amount)
                    .await;
            }
        }
    };

    entry::Entity::insert_many([
        entry::ActiveModel {
            id: Set(new_id()),
            transfer_id: Set(transfer_id.clone()),
            account_id: Set(from.id.clone()),
            amount: Set(-request.amount),
            balance_after: Set(debit_after),
            created_at: Set(now),
        },
        entry::ActiveModel {
            id: Set(new_id()),
            transfer_id: Set(transfer_id.clone()),
            account_id: Set(to.id.clone()),
            amount: Set(request.amount),
            balance_after: Set(credit_after),
            created_at: Set(now),
        },
    ])
    .exec_without_returning(conn)
    .await?;

    if tracks_lots(&from) {
        lots::draw(conn, &from.id, &transfer_id, request.amount, &lot_policy).await?;
    }
    if tracks_lots(&to) {
        lots::credit(
            conn,
            &to.id,
            &transfer_id,
            request.amount,
            &lot_policy,
            rule.expires_at(now),
            now,
        )
        .await?;
    }

    Ok(Posted {
        transfer: claimed_row,
        replayed: false,
        balances_after: Some((debit_after, credit_after)),
    })
}

fn tracks_lots(account: &account::Model) -> bool {
    match (AccountKind::parse(&account.kind), asset_of(account)) {
        (Some(kind), Some(asset)) => kind.tracks_lots(asset),
        _ => false,
    }
}

pub(crate) async fn replay(
    conn: &impl ConnectionTrait,
    key: &str,
    hash: &str,
) -> Result<Posted, LedgerError> {
    let existing = find_row_by_key(conn, key)
        .await?
        .ok_or(LedgerError::NotFound("transfer"))?;
    if existing.request_hash != hash {
        return Err(LedgerError::IdempotencyKeyReused(key.to_owned()));
    }
    Ok(Posted {
        transfer: existing,
        replayed: true,
        balances_after: None,
    })
}

pub async fn find_by_key(
    conn: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<transfer::Model>, LedgerError> {
    deferred::write_kept(conn).await?;
    find_row_by_key(conn, key).await
}

pub(crate) async fn find_row_by_key(
    conn: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<transfer::Model>, LedgerError> {
    Ok(transfer::Entity::find()
        .filter(transfer::Column::IdempotencyKey.eq(key))
        .one(conn)
        .await?)
}

/// Releases the key claimed by a transfer that cannot be paid, so the caller's transaction
/// holds nothing of it and a later retry with the same key may succeed.
async fn unclaim_insufficient(
    conn: &impl ConnectionTrait,
    transfer_id: &str,
    from: &account::Model,
    asset: Asset,
    needed: i64,
) -> Result<Posted, LedgerError> {
    transfer::Entity::delete_by_id(transfer_id.to_owned())
        .exec(conn)
        .await?;
    let current = account::Entity::find_by_id(from.id.clone())
        .one(conn)
        .await?;
    let available = current.map_or(0, |a| a.balance - a.held);
    Err(LedgerError::Insufficient {
        asset,
        needed,
        available,
    })
}

/// `balance -= amount` when allowed; the new balance, or `None` when the available amount is
/// short. One conditional statement, so concurrent debits cannot overdraw.
async fn debit_account(
    conn: &impl ConnectionTrait,
    account: &account::Model,
    amount: i64,
) -> Result<Option<i64>, LedgerError> {
    let condition = Cond::any()
        .add(Expr::col(account::Column::AllowNegative).eq(true))
        .add(
            Expr::expr(Expr::col(account::Column::Balance).sub(Expr::col(account::Column::Held)))
                .gte(amount),
        );
    let statement = Query::update()
        .table(account::Entity)
        .value(
            account::Column::Balance,
            Expr::col(account::Column::Balance).sub(amount),
        )
        .and_where(account::Column::Id.eq(account.id.as_str()))
        .cond_where(condition)
        .returning_col(account::Column::Balance)
        .to_owned();
    let row = conn
        .query_one(conn.get_database_backend().build(&statement))
        .await?;
    Ok(row.map(|r| r.try_get::<i64>("", "balance")).transpose()?)
}

/// `balance += amount` (a negative amount undoes an earlier credit); the new balance.
async fn credit_account(
    conn: &impl ConnectionTrait,
    account_id: &str,
    amount: i64,
) -> Result<i64, LedgerError> {
    let statement = Query::update()
        .table(account::Entity)
        .value(
            account::Column::Balance,
            Expr::col(account::Column::Balance).add(amount),
        )
        .and_where(account::Column::Id.eq(account_id))
        .returning_col(account::Column::Balance)
        .to_owned();
    let row = conn
        .query_one(conn.get_database_backend().build(&statement))
        .await?
        .ok_or(LedgerError::NotFound("account"))?;
    Ok(row.try_get::<i64>("", "balance")?)
}

/// `held += amount` (negative to release) under the same rule as a debit.
pub(crate) async fn adjust_held(
    conn: &impl ConnectionTrait,
    account_id: &str,
    amount: i64,
) -> Result<bool, LedgerError> {
    let mut statement = Query::update();
    statement
        .table(account::Entity)
        .value(
            account::Column::Held,
            Expr::col(account::Column::Held).add(amount),
        )
        .and_where(account::Column::Id.eq(account_id));
    if amount > 0 {
        statement.cond_where(
            Cond::any()
                .add(Expr::col(account::Column::AllowNegative).eq(true))
                .add(
                    Expr::expr(
                        Expr::col(account::Column::Balance).sub(Expr::col(account::Column::Held)),
                    )
                    .gte(amount),
                ),
        );
    }
    let result = conn
        .execute(conn.get_database_backend().build(&statement))
        .await?;
    Ok(result.rows_affected() == 1)
}
