//! Idempotent requests: the first successful response to (user, `Idempotency-Key`) is
//! stored in the same transaction as the effect it describes, and replayed for retries.
//!
//! A key is claimed by inserting its row first. On PostgreSQL a concurrent claim of the same
//! key waits for the first transaction and then sees its stored response; if the first
//! transaction rolled back, the second proceeds as new. Failed requests store nothing (their
//! effects rolled back), so a retry runs again.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Alias;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr};

pub const TABLE: &str = "idempotency_records";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First use of the key: go ahead, then call [`store`].
    New,
    /// The same request succeeded before: answer with this status and body.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
}

pub async fn claim(
    conn: &impl ConnectionTrait,
    user_id: &str,
    key: &str,
    request_hash: &str,
    now: DateTime<Utc>,
) -> Result<Claim, DbErr> {
    let insert = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns(
            [
                "user_id",
                "key",
                "request_hash",
                "status_code",
                "response_body",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            user_id.into(),
            key.into(),
            request_hash.into(),
            0i32.into(),
            "".into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::columns(["user_id", "key"].map(Alias::new))
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let inserted = conn
        .execute(conn.get_database_backend().build(&insert))
        .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New);
    }
    let select = Query::select()
        .from(Alias::new(TABLE))
        .columns(["request_hash", "status_code", "response_body"].map(Alias::new))
        .and_where(Expr::col(Alias::new("user_id")).eq(user_id))
        .and_where(Expr::col(Alias::new("key")).eq(key))
        .to_owned();
    let row = conn
        .query_one(conn.get_database_backend().build(&select))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("idempotency record".into()))?;
    let stored_hash: String = row.try_get("", "request_hash")?;
    if stored_hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    let status: i32 = row.try_get("", "status_code")?;
    let body: String = row.try_get("", "response_body")?;
    Ok(Claim::Replay {
        status: u16::try_from(status).unwrap_or(200),
        body,
    })
}

/// Records the response of a claimed key (in the same transaction as the effect).
pub async fn store(
    conn: &impl ConnectionTrait,
    user_id: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table(Alias::new(TABLE))
        .value(Alias::new("status_code"), i32::from(status))
        .value(Alias::new("response_body"), body)
        .and_where(Expr::col(Alias::new("user_id")).eq(user_id))
        .and_where(Expr::col(Alias::new("key")).eq(key))
        .to_owned();
    conn.execute(conn.get_database_backend().build(&update))
        .await?;
    Ok(())
}

/// Deletes records older than `before` (kept at least 24 h by the caller's choice).
pub async fn purge(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let delete = Query::delete()
        .from_table(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("created_at")).lt(before))
        .to_owned();
    let result = conn
        .execute(conn.get_database_backend().build(&delete))
        .await?;
    Ok(result.rows_affected())
}
