//! Helpers for report queries over an org subtree and a period (the dashboard's figures).
//! Each context writes the SQL over its own tables with these; `api` composes the results.
//!
//! Queries bind `$1` to the subtree's path pattern (`/d/s/%`), and, by [`Bind`], `$2`/`$3`
//! to the period or `$2` to now. Both drivers read `$n` themselves.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement, Value};

/// The subtree and period a report covers.
#[derive(Debug, Clone)]
pub struct Scope {
    pub backend: DatabaseBackend,
    /// The org's path, e.g. `/d/s/`.
    pub org_path: String,
    /// The whole district: residents without a community count too.
    pub whole_district: bool,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// The values a query binds after the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// `$1` the path pattern.
    Path,
    /// `$1` the path pattern, `$2` and `$3` the period.
    PathPeriod,
    /// `$1` the path pattern, `$2` now.
    PathNow,
}

impl Scope {
    /// `LIKE` pattern of the subtree.
    pub fn path_pattern(&self) -> String {
        format!("{}%", self.org_path)
    }

    fn values(&self, bind: Bind) -> Vec<Value> {
        let path: Value = self.path_pattern().into();
        match bind {
            Bind::Path => vec![path],
            Bind::PathPeriod => vec![path, self.from.into(), self.to.into()],
            Bind::PathNow => vec![path, self.now.into()],
        }
    }

    /// The single number `n` a query selects (0 when it selects nothing or NULL).
    pub async fn number(
        &self,
        conn: &impl ConnectionTrait,
        bind: Bind,
        sql: &str,
    ) -> Result<i64, DbErr> {
        let row = conn
            .query_one(Statement::from_sql_and_values(
                self.backend,
                sql,
                self.values(bind),
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<i64>>("", "n"))
            .transpose()?
            .flatten()
            .unwrap_or(0))
    }

    /// `(k, n)` rows of a query grouped by a key `k` (a date, say), binding the path and
    /// the period.
    pub async fn grouped(
        &self,
        conn: &impl ConnectionTrait,
        sql: &str,
    ) -> Result<Vec<(String, i64)>, DbErr> {
        let rows = conn
            .query_all(Statement::from_sql_and_values(
                self.backend,
                sql,
                self.values(Bind::PathPeriod),
            ))
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.try_get("", "k")?,
                    r.try_get::<Option<i64>>("", "n")?.unwrap_or(0),
                ))
            })
            .collect()
    }

    /// `column` as a Beijing-time date (`YYYY-MM-DD`, or `YYYY-MM` with `month`), in SQL.
    pub fn local_date(&self, column: &str, month: bool) -> String {
        match self.backend {
            DatabaseBackend::Postgres => format!(
                "to_char(({column} AT TIME ZONE 'UTC') + interval '8 hours', '{}')",
                if month { "YYYY-MM" } else { "YYYY-MM-DD" }
            ),
            _ => format!(
                "strftime('{}', {column}, '+8 hours')",
                if month { "%Y-%m" } else { "%Y-%m-%d" }
            ),
        }
    }
}

/// SQL for "the community `column` names lies in the subtree" (binds `$1`).
pub fn community_under(column: &str) -> String {
    format!("{column} IN (SELECT id FROM orgs WHERE path LIKE $1)")
}

/// Two series keyed alike merged into one, sorted by key; a key missing from one side
/// counts 0 there.
pub fn merge(a: Vec<(String, i64)>, b: Vec<(String, i64)>) -> Vec<(String, i64, i64)> {
    let mut merged: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for (k, n) in a {
        merged.entry(k).or_default().0 += n;
    }
    for (k, n) in b {
        merged.entry(k).or_default().1 += n;
    }
    merged.into_iter().map(|(k, (x, y))| (k, x, y)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_series_sum_both_sides_per_key_in_order() {
        let a = vec![("2026-12-02".to_owned(), 5), ("2026-12-01".to_owned(), 1)];
        let b = vec![
            ("2026-12-01".to_owned(), 2),
            ("2026-12-03".to_owned(), 4),
            ("2026-12-01".to_owned(), 3),
        ];
        assert_eq!(
            merge(a, b),
            vec![
                ("2026-12-01".to_owned(), 1, 5),
                ("2026-12-02".to_owned(), 5, 0),
                ("2026-12-03".to_owned(), 0, 4),
            ]
        );
    }
}
