//! Expiry lots of residents' points: credits create lots, debits draw from them
//! earliest-expiry first and record the draws, reversals give the draws back.

use crate::entity::{lot, lot_draw};
use crate::LedgerError;
use chrono::{DateTime, Utc};
use platform::ids::new_id;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};

/// Which lots a movement affects.
#[derive(Debug, Clone)]
pub(crate) enum LotPolicy {
    /// Debits draw earliest-expiry first; credits form a new lot.
    EarliestFirst,
    /// Debits draw from this lot only (expiry of that lot).
    FromLot(String),
    /// Credits give back what the reversed transfer drew, lot by lot.
    RestoreDrawsOf(String),
}

pub(crate) async fn credit(
    conn: &impl ConnectionTrait,
    account_id: &str,
    transfer_id: &str,
    amount: i64,
    policy: &LotPolicy,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let mut left = amount;
    if let LotPolicy::RestoreDrawsOf(original) = policy {
        let draws = lot_draw::Entity::find()
            .filter(lot_draw::Column::TransferId.eq(original.as_str()))
            .order_by_asc(lot_draw::Column::Id)
            .all(conn)
            .await?;
        for draw in draws {
            let give = draw.amount.min(left);
            if give == 0 {
                break;
            }
            lot::Entity::update_many()
                .col_expr(
                    lot::Column::Remaining,
                    Expr::col(lot::Column::Remaining).add(give),
                )
                .filter(lot::Column::Id.eq(draw.lot_id.as_str()))
                .exec(conn)
                .await?;
            left -= give;
        }
    }
    if left > 0 {
        lot::Entity::insert(lot::ActiveModel {
            id: Set(new_id()),
            account_id: Set(account_id.to_owned()),
            transfer_id: Set(transfer_id.to_owned()),
            amount: Set(left),
            remaining: Set(left),
            expires_at: Set(expires_at),
            created_at: Set(now),
        })
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

pub(crate) async fn draw(
    conn: &impl ConnectionTrait,
    account_id: &str,
    transfer_id: &str,
    amount: i64,
    policy: &LotPolicy,
) -> Result<(), LedgerError> {
    let mut query = lot::Entity::find()
        .filter(lot::Column::AccountId.eq(account_id))
        .filter(lot::Column::Remaining.gt(0));
    if let LotPolicy::FromLot(lot_id) = policy {
        query = query.filter(lot::Column::Id.eq(lot_id.as_str()));
    }
    let lots = query
        .order_by_asc(lot::Column::ExpiresAt)
        .order_by_asc(lot::Column::Id)
        .all(conn)
        .await?;
    let mut left = amount;
    let mut draws = Vec::new();
    for lot in lots {
        if left == 0 {
            break;
        }
        let take = lot.remaining.min(left);
        let updated = lot::Entity::update_many()
            .col_expr(
                lot::Column::Remaining,
                Expr::col(lot::Column::Remaining).sub(take),
            )
            .filter(lot::Column::Id.eq(lot.id.as_str()))
            .filter(lot::Column::Remaining.gte(take))
            .exec(conn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(LedgerError::Db(sea_orm::DbErr::Custom(format!(
                "lot {} changed under a serialised debit",
                lot.id
            ))));
        }
        draws.push(lot_draw::ActiveModel {
            id: Set(new_id()),
            transfer_id: Set(transfer_id.to_owned()),
            lot_id: Set(lot.id),
            amount: Set(take),
        });
        left -= take;
    }
    if left != 0 {
        // The account's balance allowed the debit, so its lots must cover it; anything else
        // is a broken invariant, and the caller's transaction must not commit.
        return Err(LedgerError::Db(sea_orm::DbErr::Custom(format!(
            "lots of account {account_id} are {left} short of its balance"
        ))));
    }
    if !draws.is_empty() {
        lot_draw::Entity::insert_many(draws)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}
