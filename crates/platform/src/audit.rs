//! The audit trail of sensitive staff actions (disabling staff, overriding settled minutes,
//! confirming partner settlements, manual parking check-outs that charge overstay, merchant
//! reviews): who did what to which object, when, and the figures involved. Written in the
//! same transaction as the action, append-only, never carrying phone numbers or tokens.

use crate::ids::new_id;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

const TABLE: &str = "audit_events";
const COLUMNS: [&str; 7] = [
    "id",
    "at",
    "actor_id",
    "action",
    "subject_type",
    "subject_id",
    "detail",
];

#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// The staff member (or resident) who acted; `None` for the system.
    pub actor_id: Option<&'a str>,
    /// A stable machine name, e.g. `staff_disabled`.
    pub action: &'a str,
    /// The object acted on, e.g. (`staff`, user id).
    pub subject: (&'a str, &'a str),
    /// What the action changed, as JSON.
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub detail: serde_json::Value,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

pub async fn record(
    conn: &impl ConnectionTrait,
    entry: AuditEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(col(TABLE))
        .columns(COLUMNS.map(col))
        .values_panic([
            new_id().into(),
            now.into(),
            entry.actor_id.map(str::to_owned).into(),
            entry.action.into(),
            entry.subject.0.into(),
            entry.subject.1.into(),
            entry.detail.to_string().into(),
        ])
        .to_owned();
    conn.execute(conn.get_database_backend().build(&insert))
        .await
        .map(|_| ())
}

/// The audit events of one object, oldest first.
pub async fn of_subject(
    conn: &impl ConnectionTrait,
    subject_type: &str,
    subject_id: &str,
) -> Result<Vec<AuditEvent>, DbErr> {
    let select = Query::select()
        .columns(COLUMNS.map(col))
        .from(col(TABLE))
        .and_where(Expr::col(col("subject_type")).eq(subject_type))
        .and_where(Expr::col(col("subject_id")).eq(subject_id))
        .order_by(col("at"), Order::Asc)
        .order_by(col("id"), Order::Asc)
        .to_owned();
    let rows = conn
        .query_all(conn.get_database_backend().build(&select))
        .await?;
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("", "detail")?;
            Ok(AuditEvent {
                id: row.try_get("", "id")?,
                at: row.try_get("", "at")?,
                actor_id: row.try_get("", "actor_id")?,
                action: row.try_get("", "action")?,
                subject_type: row.try_get("", "subject_type")?,
                subject_id: row.try_get("", "subject_id")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
            })
        })
        .collect()
}
