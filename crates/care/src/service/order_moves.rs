//! Moving a home-service order along [`crate::order_state`]: each move is a compare-and-set
//! on the status it starts from, so of two concurrent (or double-tapped) moves exactly one
//! applies, and the money moves with it in the same transaction: a confirmation posts the
//! hold to the partner once, a cancellation releases it once.

use super::order_notes;
use super::orders::party_of;
use crate::entity::{order, worker};
use crate::order_state::{next, OrderAction, OrderStatus, Party, Refusal};
use crate::CareError;
use chrono::{DateTime, Duration, Utc};
use identity::Actor;
use merchant::service::offers;
use platform::validation::text_field;
use platform::{Reach, ValidationErrors};
use points_ledger::service::holds::{self, PostRequest};
use points_ledger::service::transfers::TransferCode;
use points_ledger::{AccountKind, AccountRef, Asset, ExpiryRule};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

/// The order and the status `action` takes it to, when the actor may do it now.
async fn load_for(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    order_id: &str,
    action: OrderAction,
) -> Result<(order::Model, Party, OrderStatus), CareError> {
    let row = order::Entity::find_by_id(order_id.to_owned())
        .one(conn)
        .await?
        .ok_or(CareError::NotFound("order"))?;
    let party = party_of(actor, &row).ok_or(CareError::NotFound("order"))?;
    match next(row.status, action, party) {
        Ok(to) => Ok((row, party, to)),
        Err(Refusal::NotYours) => Err(CareError::Forbidden(match party {
            Party::Orderer => "The partner's staff dispatch and complete the work.",
            Party::Partner => "The orderer confirms and rates the work.",
        })),
        Err(Refusal::NotNow) => Err(CareError::InvalidTransition {
            action: action.as_str(),
            from: row.status.as_str(),
        }),
    }
}

/// Sets the status (and `changes`) only if the order is still in `from`.
async fn compare_and_set(
    conn: &impl ConnectionTrait,
    row: &order::Model,
    action: OrderAction,
    to: OrderStatus,
    changes: Vec<(order::Column, SimpleExpr)>,
    now: DateTime<Utc>,
) -> Result<(), CareError> {
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to))
        .col_expr(order::Column::UpdatedAt, Expr::value(now));
    for (column, value) in changes {
        update = update.col_expr(column, value);
    }
    let moved = update
        .filter(order::Column::Id.eq(row.id.as_str()))
        .filter(order::Column::Status.eq(row.status))
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(CareError::InvalidTransition {
            action: action.as_str(),
            from: "changed meanwhile",
        });
    }
    Ok(())
}

/// The partner's staff send one of its verified workers (again, to change worker).
pub async fn dispatch(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
    order_id: &str,
    worker_id: &str,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    offers::merchant_of_member(conn, actor, partner_id).await?;
    let (row, _, to) = load_for(conn, actor, order_id, OrderAction::Dispatch).await?;
    if row.partner_id != partner_id {
        return Err(CareError::NotFound("order"));
    }
    let worker = worker::Entity::find_by_id(worker_id.to_owned())
        .one(conn)
        .await?
        .filter(|w| w.partner_id == partner_id)
        .ok_or(CareError::NotFound("worker"))?;
    if worker.verified_at.is_none() {
        return Err(CareError::WorkerUnverified);
    }
    let changes = vec![
        (order::Column::WorkerId, Expr::value(worker.id.clone())),
        (order::Column::DispatchedAt, Expr::value(now)),
    ];
    compare_and_set(conn, &row, OrderAction::Dispatch, to, changes, now).await?;
    let row = order::Model {
        status: to,
        worker_id: Some(worker.id),
        dispatched_at: Some(now),
        updated_at: now,
        ..row
    };
    order_notes::dispatched(conn, &row, &worker.name, now).await?;
    Ok(row)
}

/// The partner's staff report the work done; the orderer is asked to confirm.
pub async fn complete(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    order_id: &str,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    let (row, _, to) = load_for(conn, actor, order_id, OrderAction::Complete).await?;
    let changes = vec![(order::Column::CompletedAt, Expr::value(now))];
    compare_and_set(conn, &row, OrderAction::Complete, to, changes, now).await?;
    let row = order::Model {
        status: to,
        completed_at: Some(now),
        updated_at: now,
        ..row
    };
    order_notes::moved(conn, &row, Party::Partner, now).await?;
    Ok(row)
}

fn partner_account(row: &order::Model) -> AccountRef {
    let asset = Asset::parse(&row.asset).unwrap_or(Asset::Points);
    AccountRef::new(asset, AccountKind::Merchant, row.partner_id.clone())
}

/// The orderer confirms the work: the held payment goes to the partner, once.
pub async fn confirm(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    order_id: &str,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    let (row, party, _) = load_for(conn, actor, order_id, OrderAction::Confirm).await?;
    settle(conn, row, party, rule, now).await
}

/// Confirmed: the status set (from completed), the hold posted to the partner.
async fn settle(
    conn: &impl ConnectionTrait,
    row: order::Model,
    by: Party,
    rule: ExpiryRule,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    let to = OrderStatus::Confirmed;
    let changes = vec![(order::Column::ConfirmedAt, Expr::value(now))];
    compare_and_set(conn, &row, OrderAction::Confirm, to, changes, now).await?;
    holds::post(
        conn,
        PostRequest {
            hold_id: row.hold_id.clone(),
            to: partner_account(&row),
            amount: row.price,
            code: TransferCode::HomeService,
            memo: row.offer_title.clone(),
            idempotency_key: format!("home-service-post:{}", row.id),
        },
        rule,
        now,
    )
    .await?;
    let row = order::Model {
        status: to,
        confirmed_at: Some(now),
        updated_at: now,
        ..row
    };
    order_notes::moved(conn, &row, by, now).await?;
    Ok(row)
}

/// Either party cancels before the work is done: the hold released, the stock back.
pub async fn cancel(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    order_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    let mut errors = ValidationErrors::new();
    let reason = text_field(&mut errors, "reason", reason, 0, 200);
    errors.into_result()?;
    let (row, party, _) = load_for(conn, actor, order_id, OrderAction::Cancel).await?;
    release(conn, row, party, reason, now).await
}

/// Cancelled: the status set (from requested or dispatched), the hold voided, stock back.
async fn release(
    conn: &impl ConnectionTrait,
    row: order::Model,
    by: Party,
    reason: String,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    let to = OrderStatus::Cancelled;
    let changes = vec![
        (order::Column::CancelledAt, Expr::value(now)),
        (order::Column::CancelReason, Expr::value(reason.clone())),
    ];
    compare_and_set(conn, &row, OrderAction::Cancel, to, changes, now).await?;
    holds::void(conn, &row.hold_id, now).await?;
    offers::return_stock(conn, &row.offer_id).await?;
    let row = order::Model {
        status: to,
        cancelled_at: Some(now),
        cancel_reason: Some(reason),
        updated_at: now,
        ..row
    };
    order_notes::moved(conn, &row, by, now).await?;
    Ok(row)
}

/// Orders nobody finished lapse this long after their wanted time (released).
pub const LAPSE_AFTER_DAYS: i64 = 7;
/// Completed orders the orderer has not confirmed are confirmed this long after completion,
/// as their silence says the work was done (posted to the partner).
pub const AUTO_CONFIRM_AFTER_DAYS: i64 = 7;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StaleReport {
    pub lapsed: u64,
    pub auto_confirmed: u64,
}

/// The orders [`close_stale`] would act on at `now`: unserved past their time, and
/// completed but never confirmed. The job round asks about both before running it. Within
/// `reach`: the orders of its orgs.
pub fn stale(now: DateTime<Utc>, reach: &Reach) -> [sea_orm::Select<order::Entity>; 2] {
    let within = |orders: sea_orm::Select<order::Entity>| match reach.path() {
        None => orders,
        Some(path) => orders.filter(order::Column::OrgPath.starts_with(path)),
    };
    [
        within(
            order::Entity::find()
                .filter(
                    order::Column::Status.is_in([OrderStatus::Requested, OrderStatus::Dispatched]),
                )
                .filter(order::Column::At.lt(now - Duration::days(LAPSE_AFTER_DAYS))),
        ),
        within(
            order::Entity::find()
                .filter(order::Column::Status.eq(OrderStatus::Completed))
                .filter(
                    order::Column::CompletedAt.lt(now - Duration::days(AUTO_CONFIRM_AFTER_DAYS)),
                ),
        ),
    ]
}

/// The job: lapses unserved orders and confirms silent ones, both long before their hold
/// would expire (`orders::HOLD_DAYS_AFTER`). An order someone moved meanwhile is skipped.
pub async fn close_stale(
    conn: &impl ConnectionTrait,
    rule: ExpiryRule,
    now: DateTime<Utc>,
    reach: &Reach,
    limit: u64,
) -> Result<StaleReport, CareError> {
    let mut report = StaleReport::default();
    let [unserved, silent] = stale(now, reach);
    let unserved = unserved.limit(limit).all(conn).await?;
    for row in unserved {
        match release(conn, row, Party::Partner, "lapsed".to_owned(), now).await {
            Ok(_) => report.lapsed += 1,
            Err(CareError::InvalidTransition { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let silent = silent.limit(limit).all(conn).await?;
    for row in silent {
        match settle(conn, row, Party::Orderer, rule, now).await {
            Ok(_) => report.auto_confirmed += 1,
            Err(CareError::InvalidTransition { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// The orderer rates a confirmed order, once (1–5, an optional comment).
pub async fn rate(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    order_id: &str,
    rating: i32,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<order::Model, CareError> {
    let mut errors = ValidationErrors::new();
    if !(1..=5).contains(&rating) {
        errors.add("rating", "must be a whole number from 1 to 5");
    }
    let comment = text_field(&mut errors, "comment", comment, 0, 500);
    errors.into_result()?;
    let (row, _, _) = load_for(conn, actor, order_id, OrderAction::Rate).await?;
    let rated = order::Entity::update_many()
        .col_expr(order::Column::Rating, Expr::value(rating))
        .col_expr(order::Column::RatingComment, Expr::value(comment.clone()))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(row.id.as_str()))
        .filter(order::Column::Rating.is_null())
        .exec(conn)
        .await?;
    if rated.rows_affected != 1 {
        return Err(CareError::InvalidTransition {
            action: "rate",
            from: "rated already",
        });
    }
    Ok(order::Model {
        rating: Some(rating),
        rating_comment: Some(comment),
        updated_at: now,
        ..row
    })
}
