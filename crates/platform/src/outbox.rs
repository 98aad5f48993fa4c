//! WeChat subscribe messages (订阅消息), delivered through an outbox.
//!
//! A subscribe message may only be sent after the resident allowed it in the mini-program
//! (`wx.requestSubscribeMessage`); each "allow" is good for one message. The mini-program
//! reports each allowance ([`grant`]); a business change that the resident should hear about
//! consumes one ([`enqueue_if_allowed`]) and writes an outbox row in the same transaction as
//! the change. A sender worker (`api::outbox`) later claims due rows with a lease
//! ([`claim_due`]), calls WeChat outside any transaction, and records the outcome.

use crate::ids::new_id;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, Value};

const OUTBOX: &str = "wechat_outbox";
const SUBSCRIPTIONS: &str = "message_subscriptions";

/// Message kinds residents can allow; each maps to one template in `wechat.templates`.
pub const KINDS: [&str; 2] = ["demand_status", "home_service_status"];

/// WeChat keeps at most this many unused allowances per template; more would never be used.
pub const MAX_REMAINING: i32 = 50;

/// Delivery gives up after this many failed attempts (about 5 hours with the backoff below).
pub const MAX_ATTEMPTS: i32 = 8;

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Records one more allowance of `kind` for the user; returns how many are unused now.
pub async fn grant(
    conn: &impl ConnectionTrait,
    user_id: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<i32, DbErr> {
    let insert = Query::insert()
        .into_table(col(SUBSCRIPTIONS))
        .columns(["user_id", "kind", "remaining", "updated_at"].map(col))
        .values_panic([user_id.into(), kind.into(), 1.into(), now.into()])
        .on_conflict(
            OnConflict::columns(["user_id", "kind"].map(col))
                .value(
                    col("remaining"),
                    Expr::cust(format!(
                        "CASE WHEN {SUBSCRIPTIONS}.remaining < {MAX_REMAINING} \
                         THEN {SUBSCRIPTIONS}.remaining + 1 ELSE {MAX_REMAINING} END"
                    )),
                )
                .value(col("updated_at"), now)
                .to_owned(),
        )
        .to_owned();
    conn.execute(conn.get_database_backend().build(&insert))
        .await?;
    Ok(remaining(conn, user_id)
        .await?
        .into_iter()
        .find(|(k, _)| k == kind)
        .map_or(0, |(_, n)| n))
}

/// The user's unused allowances by kind.
pub async fn remaining(
    conn: &impl ConnectionTrait,
    user_id: &str,
) -> Result<Vec<(String, i32)>, DbErr> {
    let select = Query::select()
        .columns(["kind", "remaining"].map(col))
        .from(col(SUBSCRIPTIONS))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .order_by(col("kind"), Order::Asc)
        .to_owned();
    conn.query_all(conn.get_database_backend().build(&select))
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("", "kind")?, row.try_get("", "remaining")?)))
        .collect()
}

/// Cuts a template value to `max` characters, the last one an ellipsis when cut (WeChat
/// refuses longer `thing` values).
pub fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.pop();
        out.push('…');
    }
    out
}

/// A message for the outbox. `data` is the template's `{key: {value}}` object.
#[derive(Debug, Clone)]
pub struct SubscribeMessage<'a> {
    pub user_id: &'a str,
    pub kind: &'a str,
    /// The mini-program page the message opens, e.g. `pages/demand/detail?id=...`.
    pub page: String,
    pub data: serde_json::Value,
}

/// Queues the message if the user has an unused allowance of its kind (and uses it up);
/// returns whether it was queued. Call inside the transaction of the change it reports.
pub async fn enqueue_if_allowed(
    conn: &impl ConnectionTrait,
    message: SubscribeMessage<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let consume = Query::update()
        .table(col(SUBSCRIPTIONS))
        .value(col("remaining"), Expr::col(col("remaining")).sub(1))
        .value(col("updated_at"), now)
        .and_where(Expr::col(col("user_id")).eq(message.user_id))
        .and_where(Expr::col(col("kind")).eq(message.kind))
        .and_where(Expr::col(col("remaining")).gt(0))
        .to_owned();
    let consumed = conn
        .execute(conn.get_database_backend().build(&consume))
        .await?
        .rows_affected();
    if consumed != 1 {
        return Ok(false);
    }
    let insert = Query::insert()
        .into_table(col(OUTBOX))
        .columns(
            [
                "id",
                "user_id",
                "kind",
                "page",
                "data",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
            ]
            .map(col),
        )
        .values_panic([
            new_id().into(),
            message.user_id.into(),
            message.kind.into(),
            message.page.into(),
            message.data.to_string().into(),
            "pending".into(),
            0.into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    conn.execute(conn.get_database_backend().build(&insert))
        .await?;
    Ok(true)
}

/// A queued message this worker holds the lease on.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub page: String,
    pub data: serde_json::Value,
    pub attempts: i32,
    pub lease_token: String,
}

/// Messages due for a try at `now` and not leased to a worker, oldest due first, columns
/// still to choose:
/// what [`claim_due`] claims, and what the job round asks about before running it.
pub fn due(now: DateTime<Utc>) -> SelectStatement {
    Query::select()
        .from(col(OUTBOX))
        .and_where(Expr::col(col("status")).eq("pending"))
        .and_where(Expr::col(col("next_attempt_at")).lte(now))
        .and_where(
            Expr::col(col("lease_until"))
                .is_null()
                .or(Expr::col(col("lease_until")).lt(now)),
        )
        .order_by(col("next_attempt_at"), Order::Asc)
        .to_owned()
}

/// Claims up to `limit` due messages for `lease`. A row is claimed by compare-and-set on its
/// lease, so of several workers (in several processes) exactly one gets each row; a worker
/// that dies mid-send loses its lease when it runs out and the row becomes due again.
pub async fn claim_due(
    conn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<Claimed>, DbErr> {
    let backend = conn.get_database_backend();
    let due = due(now)
        .columns(["id", "user_id", "kind", "page", "data", "attempts"].map(col))
        .limit(limit)
        .to_owned();
    let mut claimed = Vec::new();
    for row in conn.query_all(backend.build(&due)).await? {
        let id: String = row.try_get("", "id")?;
        let token = new_id();
        let take = Query::update()
            .table(col(OUTBOX))
            .value(col("lease_token"), token.as_str())
            .value(col("lease_until"), now + lease)
            .and_where(Expr::col(col("id")).eq(id.as_str()))
            .and_where(Expr::col(col("status")).eq("pending"))
            .and_where(
                Expr::col(col("lease_until"))
                    .is_null()
                    .or(Expr::col(col("lease_until")).lt(now)),
            )
            .to_owned();
        if conn.execute(backend.build(&take)).await?.rows_affected() != 1 {
            continue; // another worker took it first
        }
        let data: String = row.try_get("", "data")?;
        claimed.push(Claimed {
            id,
            user_id: row.try_get("", "user_id")?,
            kind: row.try_get("", "kind")?,
            page: row.try_get("", "page")?,
            data: serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
            attempts: row.try_get("", "attempts")?,
            lease_token: token,
        });
    }
    Ok(claimed)
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// WeChat will not take it (43101: the user has no allowance left, 43107/43108 and the
    /// like); recorded, never retried.
    Refused(String),
    /// Worth trying again later (-1 busy, network trouble).
    Retry(String),
    /// A fault on our side (no openid, no template); recorded, not retried.
    Failed(String),
}

/// Seconds to wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... capped at 2 h.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = attempts.clamp(0, 8) as u32;
    Duration::seconds((30_i64 << exponent).min(7200))
}

/// Records the outcome, if this worker still holds the lease; returns whether it did.
pub async fn complete(
    conn: &impl ConnectionTrait,
    claimed: &Claimed,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut update = Query::update();
    update
        .table(col(OUTBOX))
        .value(col("lease_token"), Value::String(None))
        .value(col("lease_until"), Value::ChronoDateTimeUtc(None))
        .value(col("attempts"), claimed.attempts + 1)
        .and_where(Expr::col(col("id")).eq(claimed.id.as_str()))
        .and_where(Expr::col(col("lease_token")).eq(claimed.lease_token.as_str()));
    let error = |text: &str| -> String { text.chars().take(500).collect() };
    match outcome {
        Outcome::Sent => {
            update
                .value(col("status"), "sent")
                .value(col("sent_at"), now);
        }
        Outcome::Refused(why) => {
            update
                .value(col("status"), "refused")
                .value(col("last_error"), error(why));
        }
        Outcome::Failed(why) => {
            update
                .value(col("status"), "failed")
                .value(col("last_error"), error(why));
        }
        Outcome::Retry(why) if claimed.attempts + 1 >= MAX_ATTEMPTS => {
            update
                .value(col("status"), "failed")
                .value(col("last_error"), error(why));
        }
        Outcome::Retry(why) => {
            update
                .value(col("next_attempt_at"), now + backoff(claimed.attempts))
                .value(col("last_error"), error(why));
        }
    }
    Ok(conn
        .execute(conn.get_database_backend().build(&update))
        .await?
        .rows_affected()
        == 1)
}

/// One row of the outbox, for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// The user's queued and delivered messages, oldest first.
pub async fn for_user(conn: &impl ConnectionTrait, user_id: &str) -> Result<Vec<OutboxRow>, DbErr> {
    let select = Query::select()
        .columns(["id", "user_id", "kind", "status", "attempts", "last_error"].map(col))
        .from(col(OUTBOX))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .order_by(col("id"), Order::Asc)
        .to_owned();
    conn.query_all(conn.get_database_backend().build(&select))
        .await?
        .into_iter()
        .map(|row| {
            Ok(OutboxRow {
                id: row.try_get("", "id")?,
                user_id: row.try_get("", "user_id")?,
                kind: row.try_get("", "kind")?,
                status: row.try_get("", "status")?,
                attempts: row.try_get("", "attempts")?,
                last_error: row.try_get("", "last_error")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use chrono::Duration;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(20), Duration::seconds(7200));
    }
}
