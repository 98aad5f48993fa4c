//! The district's promises as figures: closure, on-time, handling hours and satisfaction.
//!
//! Over demands submitted in `[from, to)` under an org (district, street or community),
//! leaving out `rejected` and `withdrawn` ones (API.md, "Resident demands"):
//! `closure_rate = closed / total`; `on_time_rate` = resolved by `due_at` / resolved;
//! handling hours from submission to the *first* resolution (wall clock) over resolved
//! demands, as mean, median and 90th percentile (linear interpolation between ranks, as
//! PostgreSQL's `percentile_cont`); `satisfaction_rate = satisfied / rated`, each demand
//! counted once with its latest rating; `overdue_open` = open and past `due_at` now.
//!
//! The inputs are written by the demand's own events (see `service::actions`); everything
//! is computed in SQL here, by one indexed equality per org level plus the period.

use crate::entity::category;
use crate::DemandError;
use chrono::{DateTime, Utc};
use identity::entity::org;
use identity::{Actor, OrgKind};
use platform::ValidationErrors;
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IsolationLevel,
    QueryFilter, QueryResult, Statement, TransactionTrait, Value,
};
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub total: i64,
    pub closed: i64,
    pub closure_rate: Option<f64>,
    pub resolved: i64,
    pub resolved_on_time: i64,
    pub on_time_rate: Option<f64>,
    pub avg_handling_hours: Option<f64>,
    pub median_handling_hours: Option<f64>,
    pub p90_handling_hours: Option<f64>,
    pub rated: i64,
    pub satisfied: i64,
    pub satisfaction_rate: Option<f64>,
    pub overdue_open: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DemandMetrics {
    pub org_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub figures: Figures,
    pub by_category: Vec<Group>,
    pub by_community: Vec<Group>,
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The org the figures are for: `org_id` if the caller reaches it, else the caller's own.
pub async fn scope_org(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    org_id: Option<&str>,
) -> Result<org::Model, DemandError> {
    let wanted = match org_id {
        Some(id) => id.to_owned(),
        None => actor
            .staff_scopes()
            .max_by_key(|(role, _)| *role)
            .map(|(_, org)| org.id.clone())
            .ok_or(DemandError::Forbidden(
                "Only street and community staff see demand metrics.",
            ))?,
    };
    if !actor.is_org_staff() {
        return Err(DemandError::Forbidden(
            "Only street and community staff see demand metrics.",
        ));
    }
    let org = org::Entity::find_by_id(wanted)
        .one(conn)
        .await?
        .filter(|o| actor.can_reach(&o.path))
        .ok_or_else(|| ValidationErrors::single("org_id", "is not an org in your scope"))?;
    Ok(org)
}

/// The demand column that holds an org of this kind (`district_id`, `street_id`,
/// `community_id`): scoping by one indexed equality.
pub fn level_column(kind: &str) -> Result<&'static str, DemandError> {
    match OrgKind::parse(kind) {
        Some(OrgKind::District) => Ok("district_id"),
        Some(OrgKind::Street) => Ok("street_id"),
        Some(OrgKind::Community) => Ok("community_id"),
        _ => Err(
            ValidationErrors::single("org_id", "must be a district, a street or a community")
                .into(),
        ),
    }
}

/// The figures for `org` over `[from, to)`. All three breakdowns come from one snapshot: on
/// PostgreSQL one read-only repeatable-read transaction and one `GROUPING SETS` scan.
pub async fn compute<C>(
    db: &C,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DemandMetrics, DemandError>
where
    C: ConnectionTrait + TransactionTrait,
{
    if to <= from {
        return Err(ValidationErrors::single("to", "must be after from").into());
    }
    let query = Query {
        level: level_column(&org.kind)?,
        values: vec![org.id.clone().into(), from.into(), to.into(), now.into()],
        backend: db.get_database_backend(),
    };
    // SQLite's one connection already gives a transaction a stable snapshot.
    let txn = if query.backend == DatabaseBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?
    } else {
        db.begin().await?
    };
    let (overall, by_category, by_community) = if query.backend == DatabaseBackend::Postgres {
        // Sorting a year of a district's demands for the percentiles needs more than the
        // default 4 MB of sort memory; without it PostgreSQL sorts on disk.
        txn.execute_unprepared("SET LOCAL work_mem = '128MB'")
            .await?;
        query.grouping_sets(&txn).await?
    } else {
        let overall = query
            .figures(&txn, None)
            .await?
            .remove("")
            .unwrap_or_default();
        let by_category = query.figures(&txn, Some("category_id")).await?;
        let by_community = query.figures(&txn, Some("community_id")).await?;
        (overall, by_category, by_community)
    };

    let category_names: HashMap<String, String> = category::Entity::find()
        .filter(category::Column::Id.is_in(by_category.keys().cloned()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let community_names: HashMap<String, String> = org::Entity::find()
        .filter(org::Column::Id.is_in(by_community.keys().cloned()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    txn.commit().await?;
    Ok(DemandMetrics {
        org_id: org.id.clone(),
        from,
        to,
        figures: overall,
        by_category: named(by_category, &category_names),
        by_community: named(by_community, &community_names),
    })
}

type Breakdown = HashMap<String, Figures>;

/// Groups sorted by name, so the output is stable.
fn named(groups: HashMap<String, Figures>, names: &HashMap<String, String>) -> Vec<Group> {
    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|(id, figures)| Group {
            name: names.get(&id).cloned().unwrap_or_default(),
            id,
            figures,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    out
}

struct Query {
    level: &'static str,
    /// `$1` org id, `$2` from, `$3` to, `$4` now.
    values: Vec<Value>,
    backend: DatabaseBackend,
}

/// The counts every breakdown shares; `$4` is now.
const AGGREGATES: &str = "CAST(COUNT(*) AS BIGINT) AS total, \
    CAST(COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS closed, \
    CAST(COUNT(handling_seconds) AS BIGINT) AS resolved, \
    CAST(COALESCE(SUM(CASE WHEN resolved_on_time THEN 1 ELSE 0 END), 0) AS BIGINT) AS on_time, \
    CAST(COALESCE(SUM(handling_seconds), 0) AS BIGINT) AS handling_sum, \
    CAST(COUNT(rating_satisfied) AS BIGINT) AS rated, \
    CAST(COALESCE(SUM(CASE WHEN rating_satisfied THEN 1 ELSE 0 END), 0) AS BIGINT) AS satisfied, \
    CAST(COALESCE(SUM(CASE WHEN status IN ('submitted', 'accepted', 'in_progress') \
      AND due_at < $4 THEN 1 ELSE 0 END), 0) AS BIGINT) AS overdue_open";

fn figures_from_row(row: &QueryResult, with_percentiles: bool) -> Result<Figures, DemandError> {
    let total: i64 = row.try_get("", "total")?;
    let closed: i64 = row.try_get("", "closed")?;
    let resolved: i64 = row.try_get("", "resolved")?;
    let on_time: i64 = row.try_get("", "on_time")?;
    let handling_sum: i64 = row.try_get("", "handling_sum")?;
    let rated: i64 = row.try_get("", "rated")?;
    let satisfied: i64 = row.try_get("", "satisfied")?;
    let (p50, p90) = if with_percentiles {
        (
            row.try_get::<Option<f64>>("", "p50")?,
            row.try_get::<Option<f64>>("", "p90")?,
        )
    } else {
        (None, None)
    };
    Ok(Figures {
        total,
        closed,
        closure_rate: ratio(closed, total),
        resolved,
        resolved_on_time: on_time,
        on_time_rate: ratio(on_time, resolved),
        avg_handling_hours: ratio(handling_sum, resolved).map(|s| s / 3600.0),
        median_handling_hours: p50.map(|s| s / 3600.0),
        p90_handling_hours: p90.map(|s| s / 3600.0),
        rated,
        satisfied,
        satisfaction_rate: ratio(satisfied, rated),
        overdue_open: row.try_get("", "overdue_open")?,
    })
}

impl Query {
    fn filter(&self) -> String {
        format!(
            "{} = $1 AND submitted_at >= $2 AND submitted_at < $3 \
             AND status NOT IN ('rejected', 'withdrawn')",
            self.level
        )
    }

    fn statement(&self, sql: String) -> Statement {
        platform::db::numbered_statement(self.backend, &sql, self.values.clone())
    }

    /// Figures per value of `group` (or one entry under "" without a group), percentiles by
    /// rank (SQLite).
    async fn figures(
        &self,
        conn: &impl ConnectionTrait,
        group: Option<&str>,
    ) -> Result<Breakdown, DemandError> {
        let key = group.unwrap_or("''");
        let group_by = group.map(|g| format!("GROUP BY {g}")).unwrap_or_default();
        let sql = format!(
            "SELECT {key} AS g, {AGGREGATES} FROM demands WHERE {filter} {group_by}",
            filter = self.filter(),
        );
        let mut out = HashMap::new();
        for row in conn.query_all(self.statement(sql)).await? {
            let figures = figures_from_row(&row, false)?;
            if group.is_some() && figures.total == 0 {
                continue;
            }
            out.insert(row.try_get("", "g")?, figures);
        }
        for (g, (p50, p90)) in self.percentiles_by_rank(conn, group).await? {
            if let Some(figures) = out.get_mut(&g) {
                figures.median_handling_hours = Some(p50 / 3600.0);
                figures.p90_handling_hours = Some(p90 / 3600.0);
            }
        }
        Ok(out)
    }

    /// Overall, by category and by community in one scan (PostgreSQL), with the
    /// percentiles from `percentile_cont`.
    async fn grouping_sets(
        &self,
        conn: &impl ConnectionTrait,
    ) -> Result<(Figures, Breakdown, Breakdown), DemandError> {
        let sql = format!(
            "SELECT GROUPING(category_id, community_id) AS grouping, category_id, community_id, \
               {AGGREGATES}, \
               percentile_cont(0.5) WITHIN GROUP (ORDER BY handling_seconds) AS p50, \
               percentile_cont(0.9) WITHIN GROUP (ORDER BY handling_seconds) AS p90 \
             FROM demands WHERE {filter} \
             GROUP BY GROUPING SETS ((), (category_id), (community_id))",
            filter = self.filter(),
        );
        let mut overall = Figures::default();
        let mut by_category = HashMap::new();
        let mut by_community = HashMap::new();
        for row in conn.query_all(self.statement(sql)).await? {
            let figures = figures_from_row(&row, true)?;
            // GROUPING() has a bit set for each column the row is *not* grouped by.
            match row.try_get::<i32>("", "grouping")? {
                1 => {
                    by_category.insert(row.try_get("", "category_id")?, figures);
                }
                2 => {
                    by_community.insert(row.try_get("", "community_id")?, figures);
                }
                _ => overall = figures,
            }
        }
        Ok((overall, by_category, by_community))
    }

    /// Median and 90th percentile of handling seconds per group where SQL has no
    /// `percentile_cont` (SQLite): a window numbers the rows and only the two ranks around
    /// each percentile come back.
    async fn percentiles_by_rank(
        &self,
        conn: &impl ConnectionTrait,
        group: Option<&str>,
    ) -> Result<HashMap<String, (f64, f64)>, DemandError> {
        let key = group.unwrap_or("''");
        let partition = group
            .map(|g| format!("PARTITION BY {g}"))
            .unwrap_or_default();
        let sql = format!(
            "SELECT g, i, n, h FROM ( \
               SELECT {key} AS g, handling_seconds AS h, \
                 ROW_NUMBER() OVER ({partition} ORDER BY handling_seconds) - 1 AS i, \
                 COUNT(*) OVER ({partition}) AS n \
               FROM demands WHERE {filter} AND handling_seconds IS NOT NULL \
             ) ranked \
             WHERE i = (n - 1) / 2 OR i = n / 2 \
                OR i = (9 * (n - 1)) / 10 OR i = (9 * (n - 1) + 9) / 10",
            filter = self.filter(),
        );
        let mut ranks: HashMap<String, (i64, HashMap<i64, i64>)> = HashMap::new();
        for row in conn.query_all(self.statement(sql)).await? {
            let g: String = row.try_get("", "g")?;
            let entry = ranks.entry(g).or_default();
            entry.0 = row.try_get("", "n")?;
            entry.1.insert(row.try_get("", "i")?, row.try_get("", "h")?);
        }
        Ok(ranks
            .into_iter()
            .filter_map(|(g, (n, values))| {
                let p50 = interpolate(n, 1, 2, &values)?;
                let p90 = interpolate(n, 9, 10, &values)?;
                Some((g, (p50, p90)))
            })
            .collect())
    }
}

/// The `num/den` percentile of `n` sorted values given the ones at the ranks around it:
/// position `p (n - 1)`, between ranks `floor` and `ceil`, in exact integer arithmetic.
fn interpolate(n: i64, num: i64, den: i64, values: &HashMap<i64, i64>) -> Option<f64> {
    if n <= 0 {
        return None;
    }
    let scaled = num * (n - 1);
    let lower = scaled / den;
    let fraction = (scaled % den) as f64 / den as f64;
    let low = *values.get(&lower)? as f64;
    let high = if fraction > 0.0 {
        *values.get(&(lower + 1))? as f64
    } else {
        low
    };
    Some(low + (high - low) * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percentile(sorted: &[i64], num: i64, den: i64) -> Option<f64> {
        let values: HashMap<i64, i64> = sorted
            .iter()
            .copied()
            .enumerate()
            .map(|(i, v)| (i as i64, v))
            .collect();
        interpolate(sorted.len() as i64, num, den, &values)
    }

    #[test]
    fn percentiles_interpolate_between_ranks_like_percentile_cont() {
        assert_eq!(percentile(&[7], 1, 2), Some(7.0));
        assert_eq!(percentile(&[1, 3], 1, 2), Some(2.0));
        assert_eq!(percentile(&[1, 2, 3, 4], 1, 2), Some(2.5));
        // 0.9 * (10 - 1) = 8.1 → between the 9th and 10th values.
        let ten: Vec<i64> = (1..=10).map(|v| v * 10).collect();
        let p90 = percentile(&ten, 9, 10).unwrap();
        assert!((p90 - 91.0).abs() < 1e-9, "{p90}");
        assert_eq!(percentile(&[], 1, 2), None);
    }

    #[test]
    fn ratios_are_absent_without_a_denominator() {
        assert_eq!(ratio(1, 0), None);
        assert_eq!(ratio(1, 4), Some(0.25));
    }
}
