//! Idempotent requests: the first successful response to (user, `Idempotency-Key`) is
//! stored in the same transaction as the effect it describes, and replayed for retries.
//!
//! A key is claimed by inserting its row first. On PostgreSQL a concurrent claim of the same
//! key waits for the first transaction and then sees its stored response; if the first
//! transaction rolled back, the second proceeds as new. Failed requests store nothing (their
//! effects rolled back), so a retry runs again.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Alias;
use sea_orm::sea_query::{Cond, Expr, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};
use std::collections::HashMap;

pub const TABLE: &str = "idempotency_records";

/// Keys per statement of the batch functions, well under both backends' parameter limits.
const CHUNK: usize = 200;

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

/// A key's stored record: what it was used for and the answer it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// The stored records of `keys` (user, key) that exist, in one query; for a batch that
/// settles its keys together (`group_commit`'s fast path).
pub async fn find_many(
    conn: &impl ConnectionTrait,
    keys: &[(&str, &str)],
) -> Result<HashMap<(String, String), Stored>, DbErr> {
    let mut found = HashMap::new();
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        let (users, keys): (Vec<String>, Vec<String>) = keys
            .iter()
            .map(|(user_id, key)| ((*user_id).to_owned(), (*key).to_owned()))
            .unzip();
        let select = Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            FIND_MANY,
            [Value::from(users), Value::from(keys)],
        );
        for row in conn.query_all(select).await? {
            insert_stored(&mut found, &row)?;
        }
        return Ok(found);
    }
    for chunk in keys.chunks(CHUNK) {
        let mut any = Cond::any();
        for (user_id, key) in chunk {
            any = any.add(
                Cond::all()
                    .add(Expr::col(Alias::new("user_id")).eq(*user_id))
                    .add(Expr::col(Alias::new("key")).eq(*key)),
            );
        }
        let select = Query::select()
            .from(Alias::new(TABLE))
            .columns(
                [
                    "user_id",
                    "key",
                    "request_hash",
                    "status_code",
                    "response_body",
                ]
                .map(Alias::new),
            )
            .cond_where(any)
            .to_owned();
        for row in conn
            .query_all(conn.get_database_backend().build(&select))
            .await?
        {
            insert_stored(&mut found, &row)?;
        }
    }
    Ok(found)
}

/// [`find_many`] on PostgreSQL: one statement of fixed shape (the keys as two arrays),
/// prepared once per connection whatever the batch's size. Each key is looked up by the
/// primary key (`LATERAL`): a plain join, planned once for arrays of unknown length, may
/// scan the whole table instead.
const FIND_MANY: &str = "\
SELECT r.user_id, r.key, r.request_hash, r.status_code, r.response_body
FROM UNNEST($1::text[], $2::text[]) AS k(user_id, key)
CROSS JOIN LATERAL (
    SELECT * FROM idempotency_records AS r WHERE r.user_id = k.user_id AND r.key = k.key
) AS r";

fn insert_stored(
    found: &mut HashMap<(String, String), Stored>,
    row: &sea_orm::QueryResult,
) -> Result<(), DbErr> {
    let status: i32 = row.try_get("", "status_code")?;
    found.insert(
        (row.try_get("", "user_id")?, row.try_get("", "key")?),
        Stored {
            request_hash: row.try_get("", "request_hash")?,
            status: u16::try_from(status).unwrap_or(200),
            body: row.try_get("", "response_body")?,
        },
    );
    Ok(())
}

/// A record to write with its answer at once.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub user_id: &'a str,
    pub key: &'a str,
    pub request_hash: &'a str,
    pub status: u16,
    pub body: &'a str,
    pub created_at: DateTime<Utc>,
}

/// Writes `records` with their answers, skipping any key that exists already; how many were
/// written. Fewer than given means another transaction used one of the keys meanwhile.
pub async fn record_many(
    conn: &impl ConnectionTrait,
    records: &[Record<'_>],
) -> Result<usize, DbErr> {
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        let texts = |get: fn(&Record<'_>) -> String| {
            Value::from(records.iter().map(get).collect::<Vec<String>>())
        };
        let insert = Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            RECORD_MANY,
            [
                texts(|r| r.user_id.to_owned()),
                texts(|r| r.key.to_owned()),
                texts(|r| r.request_hash.to_owned()),
                Value::from(
                    records
                        .iter()
                        .map(|r| i32::from(r.status))
                        .collect::<Vec<_>>(),
                ),
                texts(|r| r.body.to_owned()),
                Value::from(records.iter().map(|r| r.created_at).collect::<Vec<_>>()),
            ],
        );
        return Ok(conn.execute(insert).await?.rows_affected() as usize);
    }
    let mut written = 0;
    for chunk in records.chunks(CHUNK) {
        let mut insert = Query::insert();
        insert
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
            .on_conflict(
                OnConflict::columns(["user_id", "key"].map(Alias::new))
                    .do_nothing()
                    .to_owned(),
            );
        for r in chunk {
            insert.values_panic([
                r.user_id.into(),
                r.key.into(),
                r.request_hash.into(),
                i32::from(r.status).into(),
                r.body.into(),
                r.created_at.into(),
            ]);
        }
        let result = conn
            .execute(conn.get_database_backend().build(&insert))
            .await?;
        written += result.rows_affected() as usize;
    }
    Ok(written)
}

/// [`record_many`] on PostgreSQL: one statement of fixed shape, one array per column.
const RECORD_MANY: &str = "\
INSERT INTO idempotency_records
    (user_id, key, request_hash, status_code, response_body, created_at)
SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[], $5::text[],
    $6::timestamptz[])
ON CONFLICT (user_id, key) DO NOTHING";

/// Deletes up to `limit` records older than `before` (kept at least 24 h by the caller's
/// choice), oldest first; the next round takes the rest. Chosen by key from the oldest
/// end of the `created_at` index: a plain `DELETE … WHERE created_at < $1`, planned on a
/// table whose statistics are stale (PostgreSQL with autovacuum off), read the whole
/// table at every round.
pub async fn purge(
    conn: &impl ConnectionTrait,
    before: DateTime<Utc>,
    limit: u64,
) -> Result<u64, DbErr> {
    let (user_id, key) = (Alias::new("user_id"), Alias::new("key"));
    let oldest = Query::select()
        .columns([user_id.clone(), key.clone()])
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("created_at")).lt(before))
        .order_by(Alias::new("created_at"), sea_orm::sea_query::Order::Asc)
        .limit(limit)
        .to_owned();
    let delete = Query::delete()
        .from_table(Alias::new(TABLE))
        .and_where(
            Expr::tuple([Expr::col(user_id).into(), Expr::col(key).into()]).in_subquery(oldest),
        )
        .to_owned();
    let result = conn
        .execute(conn.get_database_backend().build(&delete))
        .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    /// A round deletes at most its limit, always the oldest records before the cut-off,
    /// and never a record from after it; the next round takes the rest.
    #[tokio::test]
    async fn a_purge_takes_the_oldest_records_before_the_cut_off_a_batch_at_a_time() {
        let db = crate::testing::plumbed_database().await;
        let start = Utc::now();
        for hour in 0..10 {
            let at = start + Duration::hours(hour);
            let claimed = claim(&db, "u1", &format!("k{hour}"), "hash", at)
                .await
                .unwrap();
            assert_eq!(claimed, Claim::New);
        }
        let before = start + Duration::hours(6); // k0..k5 are older
        let remaining = |keys: &[&str]| {
            keys.iter()
                .map(|k| (*k).to_owned())
                .collect::<Vec<String>>()
        };
        async fn keys_left(db: &sea_orm::DatabaseConnection) -> Vec<String> {
            let select = Query::select()
                .column(Alias::new("key"))
                .from(Alias::new(TABLE))
                .order_by(Alias::new("created_at"), sea_orm::sea_query::Order::Asc)
                .to_owned();
            db.query_all(db.get_database_backend().build(&select))
                .await
                .unwrap()
                .iter()
                .map(|row| row.try_get::<String>("", "key").unwrap())
                .collect()
        }
        assert_eq!(purge(&db, before, 4).await.unwrap(), 4);
        assert_eq!(
            keys_left(&db).await,
            remaining(&["k4", "k5", "k6", "k7", "k8", "k9"])
        );
        assert_eq!(purge(&db, before, 4).await.unwrap(), 2);
        assert_eq!(keys_left(&db).await, remaining(&["k6", "k7", "k8", "k9"]));
        assert_eq!(purge(&db, before, 4).await.unwrap(), 0);
    }
}
