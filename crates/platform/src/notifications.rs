//! In-app notifications: every context tells users what happened to their things through
//! here, in the same transaction as the change itself (so a rolled-back change notifies
//! nobody). Users read them with `GET /api/v1/me/notifications`.

use crate::ids::new_id;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

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
    let insert = Query::insert()
        .into_table(col(TABLE))
        .columns(
            [
                "id",
                "user_id",
                "kind",
                "title",
                "body",
                "ref_type",
                "ref_id",
                "created_at",
            ]
            .map(col),
        )
        .values_panic([
            new_id().into(),
            note.user_id.into(),
            note.kind.into(),
            clip(&note.title, 100).into(),
            clip(&note.body, 500).into(),
            ref_type.map(str::to_owned).into(),
            ref_id.map(str::to_owned).into(),
            now.into(),
        ])
        .to_owned();
    conn.execute(conn.get_database_backend().build(&insert))
        .await?;
    Ok(())
}

/// A user's notifications, newest first, `limit` at a time, older than `before` (an id).
pub async fn list(
    conn: &impl ConnectionTrait,
    user_id: &str,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<Notification>, Option<String>), DbErr> {
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
