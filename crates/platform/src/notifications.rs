//! In-app notifications: every context tells users what happened to their things through
//! here, in the same transaction as the change itself (so a rolled-back change notifies
//! nobody). Users read them with `GET /api/v1/me/notifications`.
//!
//! Inside a group-commit batch that defers (`crate::batch_scope`), a notification is kept
//! and the batch's end inserts all of them in one statement, instead of one insert per
//! verify, award or demand step; every function here that reads or changes the table
//! writes what is kept first.

use crate::batch_scope::{self, Deferred};
use crate::ids::new_id;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Alias, Expr, Order, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr, Value};

const TABLE: &str = "notifications";

#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub user_id: &'a str,
    /// A stable machine name, e.g. `redemption_verified`.
    pub kind: &'a str,
    pub title: String,
    pub body: String,
    /// The business object, e.g. (`redemption`, id).
    pub reference: Option<(&'a str, &'a str)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn clip(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

pub async fn notify(
    conn: &impl ConnectionTrait,
    note: NewNotification<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let (ref_type, ref_id) = note.reference.unzip();
    // Made here, so that ids (time-ordered) keep the order in which things happened.
    let row: Row = [
        new_id().into(),
        note.user_id.into(),
        note.kind.into(),
        clip(&note.title, 100).into(),
        clip(&note.body, 500).into(),
        ref_type.map(str::to_owned).into(),
        ref_id.map(str::to_owned).into(),
        now.into(),
    ];
    if let Some(kept) = batch_scope::slot::<KeptNotes>() {
        kept.lock().await.0.push(row);
        return Ok(());
    }
    insert(conn, vec![row]).await
}

/// One notification's values, in the order of [`COLUMNS`].
type Row = [Value; 8];

const COLUMNS: [&str; 8] = [
    "id",
    "user_id",
    "kind",
    "title",
    "body",
    "ref_type",
    "ref_id",
    "created_at",
];

/// Rows per insert: well under either backend's limit on bound parameters.
const INSERT_CHUNK: usize = 500;

async fn insert(conn: &impl ConnectionTrait, rows: Vec<Row>) -> Result<(), DbErr> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut insert = Query::insert();
        insert.into_table(col(TABLE)).columns(COLUMNS.map(col));
        for row in rows.by_ref().take(INSERT_CHUNK) {
            insert.values_panic(row.map(SimpleExpr::from));
        }
        conn.execute(conn.get_database_backend().build(&insert))
            .await?;
    }
    Ok(())
}

/// The notifications of the running batch, not inserted yet.
#[derive(Default)]
struct KeptNotes(Vec<Row>);

impl Deferred for KeptNotes {
    fn flush<'c>(&'c mut self, txn: &'c DatabaseTransaction) -> BoxFuture<'c, Result<(), DbErr>> {
        Box::pin(insert(txn, std::mem::take(&mut self.0)))
    }
}

/// Inserts what the running batch kept, before the table is read or changed by SQL.
async fn write_kept(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let Some(kept) = batch_scope::slot::<KeptNotes>() else {
        return Ok(());
    };
    let rows = std::mem::take(&mut kept.lock().await.0);
    insert(conn, rows).await
}

/// A user's notifications, newest first, `limit` at a time, older than `before` (an id).
pub async fn list(
    conn: &impl ConnectionTrait,
    user_id: &str,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<Notification>, Option<String>), DbErr> {
    write_kept(conn).await?;
    let mut select = Query::select();
    select
        .columns(
            [
                "id",
                "kind",
                "title",
                "body",
                "ref_type",
                "ref_id",
                "created_at",
                "read_at",
            ]
            .map(col),
        )
        .from(col(TABLE))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .order_by(col("id"), Order::Desc)
        .limit(limit + 1);
    if let Some(before) = before {
        select.and_where(Expr::col(col("id")).lt(before));
    }
    let rows = conn
        .query_all(conn.get_database_backend().build(&select))
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            Ok(Notification {
                id: row.try_get("", "id")?,
                kind: row.try_get("", "kind")?,
                title: row.try_get("", "title")?,
                body: row.try_get("", "body")?,
                ref_type: row.try_get("", "ref_type")?,
                ref_id: row.try_get("", "ref_id")?,
                created_at: row.try_get("", "created_at")?,
                read_at: row.try_get("", "read_at")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let (items, next) = crate::paging::split_page(items, limit, |row| row.id.clone());
    Ok((items, next))
}

/// Marks one notification (or, with `None`, all) of the user read; returns how many changed.
pub async fn mark_read(
    conn: &impl ConnectionTrait,
    user_id: &str,
    id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    write_kept(conn).await?;
    let mut update = Query::update();
    update
        .table(col(TABLE))
        .value(col("read_at"), now)
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .and_where(Expr::col(col("read_at")).is_null());
    if let Some(id) = id {
        update.and_where(Expr::col(col("id")).eq(id));
    }
    Ok(conn
        .execute(conn.get_database_backend().build(&update))
        .await?
        .rows_affected())
}

/// True when the notification exists and is the user's (read or not).
pub async fn is_users(conn: &impl ConnectionTrait, user_id: &str, id: &str) -> Result<bool, DbErr> {
    write_kept(conn).await?;
    let select = Query::select()
        .column(col("id"))
        .from(col(TABLE))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .and_where(Expr::col(col("id")).eq(id))
        .to_owned();
    Ok(conn
        .query_one(conn.get_database_backend().build(&select))
        .await?
        .is_some())
}

/// How many unread notifications the user has.
pub async fn unread_count(conn: &impl ConnectionTrait, user_id: &str) -> Result<i64, DbErr> {
    write_kept(conn).await?;
    let select = Query::select()
        .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), col("n"))
        .from(col(TABLE))
        .and_where(Expr::col(col("user_id")).eq(user_id))
        .and_where(Expr::col(col("read_at")).is_null())
        .to_owned();
    Ok(conn
        .query_one(conn.get_database_backend().build(&select))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch_scope::{deferring, flush_all};
    use crate::testing::plumbed_database;
    use sea_orm::TransactionTrait;

    /// Rows in the table, counted past this module (whose reads write what is kept first).
    async fn rows(conn: &impl ConnectionTrait) -> i64 {
        let select = Query::select()
            .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), col("n"))
            .from(col(TABLE))
            .to_owned();
        conn.query_one(conn.get_database_backend().build(&select))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap()
    }

    fn note(user_id: &'static str, title: &str) -> NewNotification<'static> {
        NewNotification {
            user_id,
            kind: "test",
            title: title.to_owned(),
            body: String::new(),
            reference: Some(("thing", "t1")),
        }
    }

    #[tokio::test]
    async fn a_batch_keeps_its_notifications_and_inserts_them_together() {
        let db = plumbed_database().await;
        let now = Utc::now();
        let txn = db.begin().await.unwrap();
        deferring(async {
            for n in 0..3 {
                notify(&txn, note("u1", &format!("note {n}")), now)
                    .await
                    .unwrap();
            }
            notify(&txn, note("u2", "other"), now).await.unwrap();
            assert_eq!(rows(&txn).await, 0, "kept, not inserted");
            // A read inside the batch writes them first, and sees them in order.
            let (listed, _) = list(&txn, "u1", 10, None).await.unwrap();
            let titles: Vec<&str> = listed.iter().map(|n| n.title.as_str()).collect();
            assert_eq!(titles, ["note 2", "note 1", "note 0"]);
            assert_eq!(rows(&txn).await, 4);
            notify(&txn, note("u2", "later"), now).await.unwrap();
            assert_eq!(rows(&txn).await, 4);
            flush_all(&txn).await.unwrap();
            assert_eq!(rows(&txn).await, 5);
        })
        .await;
        txn.commit().await.unwrap();
        assert_eq!(unread_count(&db, "u2").await.unwrap(), 2);
        // Outside a batch, inserted at once.
        notify(&db, note("u1", "now"), now).await.unwrap();
        assert_eq!(rows(&db).await, 6);
    }
}
