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
//! The inputs are written by the demand's own events (see `service::actions`) and summed
//! per day in `demand_daily_counts` (see `service::rollup`); each query here selects by one
//! indexed equality per org level plus the period, and returns one row per (category,
//! community) cell or, for the percentiles, the handling times themselves.

use crate::entity::category;
use crate::service::rollup::Counts;
use crate::DemandError;
use chrono::{DateTime, Utc};
use identity::entity::org;
use identity::{Actor, OrgKind};
use platform::clock::{local_day_start, local_midnight_at_or_after, CHINA_OFFSET};
use platform::ValidationErrors;
use sea_orm::{
    AccessMode, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IsolationLevel,
    QueryFilter, QueryResult, Statement, TransactionTrait, Value,
};
use std::collections::{BTreeMap, HashMap};

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
    /// The share of resolved demands median and p90 come from: 1.0 when exact, less when
    /// they come from a sample (see [`PercentilePolicy`]).
    pub percentile_sample_rate: f64,
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
    let org = identity::service::orgs::by_id(conn, &wanted)
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

/// How median and p90 are found: exactly, by sorting every resolved demand's handling
/// time, up to `exact_up_to` resolved demands; beyond that from the fixed uniform sample of
/// demands whose `sample_slot` is below a bound chosen to hold about `sample_target` of
/// them (read from a covering index). Sorting a district's year (a million rows) takes
/// seconds; a sample of 50,000 puts the percentile's rank within about ±0.3% of the
/// exact one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PercentilePolicy {
    pub exact_up_to: i64,
    pub sample_target: i64,
}

impl Default for PercentilePolicy {
    fn default() -> Self {
        Self {
            exact_up_to: 50_000,
            sample_target: 50_000,
        }
    }
}

impl PercentilePolicy {
    /// The sample slots (of 100) to read for `resolved` demands; 100 is all of them.
    pub fn slots_for(&self, resolved: i64) -> i64 {
        if resolved <= self.exact_up_to || resolved <= 0 {
            return 100;
        }
        let wanted = (100 * self.sample_target.max(1) + resolved - 1) / resolved;
        wanted.clamp(1, 100)
    }
}

/// The figures for `org` over `[from, to)` with the default [`PercentilePolicy`].
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
    compute_with(db, org, from, to, now, PercentilePolicy::default()).await
}

/// The figures for `org` over `[from, to)`, all from one snapshot (on PostgreSQL one
/// read-only repeatable-read transaction):
/// - the counts from the daily counts (`service::rollup`) for the whole Asia/Shanghai days
///   in the period, and from the demands themselves for the hours before the first and
///   after the last midnight;
/// - `overdue_open` from the open demands, which are few;
/// - median and p90 from the handling times, exactly or from a sample (see the policy).
pub async fn compute_with<C>(
    db: &C,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    policy: PercentilePolicy,
) -> Result<DemandMetrics, DemandError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let scope = Scope::of(db, org, from, to)?;
    // SQLite's one connection already gives a transaction a stable snapshot.
    let txn = if scope.backend == DatabaseBackend::Postgres {
        let txn = db
            .begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?;
        // Plan each query for its own period and sample bound: a generic plan cached for a
        // 30-day period with most sample slots can pick a full scan and keep it for a year
        // with 6 of them (seconds instead of tens of milliseconds).
        txn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan")
            .await?;
        // The sample's sort (tens of thousands of rows) fits in memory instead of spilling
        // to disk, and these queries' estimated cost is above the JIT threshold while JIT
        // compilation costs more (about 20 ms) than it saves on them.
        txn.execute_unprepared("SET LOCAL work_mem = '16MB'; SET LOCAL jit = off")
            .await?;
        txn
    } else {
        db.begin().await?
    };

    let mut counts = Grouped::<Counts>::default();
    let first_midnight = local_midnight_at_or_after(from);
    let last_midnight = local_day_start(to);
    if first_midnight < last_midnight {
        counts.merge(
            scope
                .daily_counts(&txn, first_midnight, last_midnight)
                .await?,
        );
        for (start, end) in [(from, first_midnight), (last_midnight, to)] {
            if start < end {
                counts.merge(scope.demand_counts(&txn, start, end).await?);
            }
        }
    } else {
        counts.merge(scope.demand_counts(&txn, from, to).await?);
    }
    let overdue = scope.overdue_open(&txn, from, to, now).await?;
    let slots = policy.slots_for(counts.overall.resolved);
    let percentiles = scope.percentiles(&txn, from, to, slots).await?;

    let figures = |counts: &Counts, overdue: i64, percentiles: Option<&(f64, f64)>| Figures {
        total: counts.total,
        closed: counts.closed,
        closure_rate: ratio(counts.closed, counts.total),
        resolved: counts.resolved,
        resolved_on_time: counts.on_time,
        on_time_rate: ratio(counts.on_time, counts.resolved),
        avg_handling_hours: ratio(counts.handling_seconds, counts.resolved).map(|s| s / 3600.0),
        median_handling_hours: percentiles.map(|p| p.0 / 3600.0),
        p90_handling_hours: percentiles.map(|p| p.1 / 3600.0),
        rated: counts.rated,
        satisfied: counts.satisfied,
        satisfaction_rate: ratio(counts.satisfied, counts.rated),
        overdue_open: overdue,
    };
    let breakdown = |counts: &HashMap<String, Counts>,
                     overdue: &HashMap<String, i64>,
                     percentiles: &HashMap<String, Option<(f64, f64)>>| {
        counts
            .iter()
            .filter(|(_, c)| c.total > 0)
            .map(|(id, c)| {
                let f = figures(
                    c,
                    overdue.get(id).copied().unwrap_or(0),
                    percentiles.get(id).and_then(Option::as_ref),
                );
                (id.clone(), f)
            })
            .collect::<HashMap<_, _>>()
    };
    let overall = figures(
        &counts.overall,
        overdue.overall,
        percentiles.overall.as_ref(),
    );
    let by_category = breakdown(
        &counts.by_category,
        &overdue.by_category,
        &percentiles.by_category,
    );
    let by_community = breakdown(
        &counts.by_community,
        &overdue.by_community,
        &percentiles.by_community,
    );

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
        percentile_sample_rate: slots as f64 / 100.0,
    })
}

/// Demands submitted and demands closed per Asia/Shanghai day of `[from, to)` under `org`:
/// `(YYYY-MM-DD, submitted, closed)` in date order, days without either left out. Whole days
/// come from the daily counts, the hours at the edges from the demands.
pub async fn daily_series(
    db: &impl ConnectionTrait,
    org: &org::Model,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, i64, i64)>, DemandError> {
    let scope = Scope::of(db, org, from, to)?;
    let mut days: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let date = |t: DateTime<Utc>| (t + CHINA_OFFSET).format("%Y-%m-%d").to_string();
    let first_midnight = local_midnight_at_or_after(from);
    let last_midnight = local_day_start(to);
    let mut edges = vec![(from, to)];
    if first_midnight < last_midnight {
        edges = vec![(from, first_midnight), (last_midnight, to)];
        let sql = format!(
            "SELECT day_start, CAST(SUM(total) AS BIGINT) AS submitted, \
               CAST(SUM(closed_on_day) AS BIGINT) AS closed FROM demand_daily_counts \
             WHERE {} = $1 AND day_start >= $2 AND day_start < $3 GROUP BY day_start",
            scope.level
        );
        let values = vec![first_midnight.into(), last_midnight.into()];
        for row in db.query_all(scope.statement(&sql, values)).await? {
            let day: DateTime<Utc> = row.try_get("", "day_start")?;
            let entry = days.entry(date(day)).or_default();
            entry.0 += row.try_get::<i64>("", "submitted")?;
            entry.1 += row.try_get::<i64>("", "closed")?;
        }
    }
    for (start, end) in edges.into_iter().filter(|(s, e)| s < e) {
        let submitted = format!(
            "SELECT submitted_at AS at FROM demands WHERE {} = $1 \
             AND submitted_at >= $2 AND submitted_at < $3 AND {COUNTED}",
            scope.level
        );
        let closed = format!(
            "SELECT closed_at AS at FROM demands WHERE {} = $1 AND status = 'closed' \
             AND closed_at >= $2 AND closed_at < $3",
            scope.level
        );
        for (sql, closing) in [(submitted, false), (closed, true)] {
            let values = vec![start.into(), end.into()];
            for row in db.query_all(scope.statement(&sql, values)).await? {
                let at: DateTime<Utc> = row.try_get("", "at")?;
                let entry = days.entry(date(at)).or_default();
                if closing {
                    entry.1 += 1;
                } else {
                    entry.0 += 1;
                }
            }
        }
    }
    Ok(days
        .into_iter()
        .filter(|(_, (s, c))| *s != 0 || *c != 0)
        .map(|(day, (s, c))| (day, s, c))
        .collect())
}

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

/// One figure overall, per category and per community.
#[derive(Debug, Default)]
struct Grouped<T> {
    overall: T,
    by_category: HashMap<String, T>,
    by_community: HashMap<String, T>,
}

impl<T: Default> Grouped<T> {
    /// Adds a (category, community) cell to the overall figure and to both of its groups.
    fn add_cell(&mut self, category_id: String, community_id: String, add: impl Fn(&mut T)) {
        add(&mut self.overall);
        add(self.by_category.entry(category_id).or_default());
        add(self.by_community.entry(community_id).or_default());
    }
}

impl Grouped<Counts> {
    fn merge(&mut self, other: Grouped<Counts>) {
        self.overall.plus(&other.overall);
        for (mine, theirs) in [
            (&mut self.by_category, other.by_category),
            (&mut self.by_community, other.by_community),
        ] {
            for (id, counts) in theirs {
                mine.entry(id).or_default().plus(&counts);
            }
        }
    }
}

/// The counts over demands themselves (the hours at the edges of a period).
const DEMAND_COUNTS: &str = "CAST(COUNT(*) AS BIGINT) AS total, \
    CAST(COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS closed, \
    CAST(COUNT(handling_seconds) AS BIGINT) AS resolved, \
    CAST(COALESCE(SUM(CASE WHEN resolved_on_time THEN 1 ELSE 0 END), 0) AS BIGINT) AS on_time, \
    CAST(COALESCE(SUM(handling_seconds), 0) AS BIGINT) AS handling_seconds, \
    CAST(COUNT(rating_satisfied) AS BIGINT) AS rated, \
    CAST(COALESCE(SUM(CASE WHEN rating_satisfied THEN 1 ELSE 0 END), 0) AS BIGINT) AS satisfied";

/// The same counts summed from the daily counts.
const DAILY_COUNTS: &str = "CAST(COALESCE(SUM(total), 0) AS BIGINT) AS total, \
    CAST(COALESCE(SUM(closed), 0) AS BIGINT) AS closed, \
    CAST(COALESCE(SUM(resolved), 0) AS BIGINT) AS resolved, \
    CAST(COALESCE(SUM(on_time), 0) AS BIGINT) AS on_time, \
    CAST(COALESCE(SUM(handling_seconds), 0) AS BIGINT) AS handling_seconds, \
    CAST(COALESCE(SUM(rated), 0) AS BIGINT) AS rated, \
    CAST(COALESCE(SUM(satisfied), 0) AS BIGINT) AS satisfied";

/// Demands that count: rejected and withdrawn ones do not. Written out (not bound) so that
/// PostgreSQL matches the partial indexes, whose predicates say the same.
const COUNTED: &str = "status NOT IN ('rejected', 'withdrawn')";

/// The demands (or daily counts) of one org: `level` is the column that holds it.
struct Scope {
    level: &'static str,
    org_id: String,
    backend: DatabaseBackend,
}

impl Scope {
    /// The scope of `org`'s figures over `[from, to)`, which must not be empty.
    fn of(
        db: &impl ConnectionTrait,
        org: &org::Model,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Self, DemandError> {
        if to <= from {
            return Err(ValidationErrors::single("to", "must be after from").into());
        }
        Ok(Self {
            level: level_column(&org.kind)?,
            org_id: org.id.clone(),
            backend: db.get_database_backend(),
        })
    }

    /// `$1` is the org; `values` are `$2`...
    fn statement(&self, sql: &str, mut values: Vec<Value>) -> Statement {
        values.insert(0, self.org_id.clone().into());
        sea_orm::Statement::from_sql_and_values(self.backend, sql, values)
    }

    /// `select` per (category, community) over `from_where`, folded here into the overall
    /// figure and the two breakdowns: a few hundred cells at most, the same SQL on both
    /// backends.
    async fn cells<T: Default>(
        &self,
        conn: &impl ConnectionTrait,
        select: &str,
        from_where: &str,
        values: Vec<Value>,
        read: impl Fn(&QueryResult) -> Result<T, sea_orm::DbErr>,
        add: impl Fn(&mut T, &T),
    ) -> Result<Grouped<T>, DemandError> {
        let sql = format!(
            "SELECT category_id, community_id, {select} {from_where} \
             GROUP BY category_id, community_id"
        );
        let mut out = Grouped::<T>::default();
        for row in conn.query_all(self.statement(&sql, values)).await? {
            let cell = read(&row)?;
            out.add_cell(
                row.try_get("", "category_id")?,
                row.try_get("", "community_id")?,
                |sum| add(sum, &cell),
            );
        }
        Ok(out)
    }

    /// Counts over whole days `[from, to)` (both Asia/Shanghai midnights).
    async fn daily_counts(
        &self,
        conn: &impl ConnectionTrait,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Grouped<Counts>, DemandError> {
        let from_where = format!(
            "FROM demand_daily_counts WHERE {} = $1 AND day_start >= $2 AND day_start < $3",
            self.level
        );
        let values = vec![from.into(), to.into()];
        self.cells(
            conn,
            DAILY_COUNTS,
            &from_where,
            values,
            Counts::from_row,
            Counts::plus,
        )
        .await
    }

    /// Counts over the demands submitted in `[from, to)`.
    async fn demand_counts(
        &self,
        conn: &impl ConnectionTrait,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Grouped<Counts>, DemandError> {
        let from_where = format!(
            "FROM demands WHERE {} = $1 AND submitted_at >= $2 AND submitted_at < $3 \
             AND {COUNTED}",
            self.level
        );
        let values = vec![from.into(), to.into()];
        self.cells(
            conn,
            DEMAND_COUNTS,
            &from_where,
            values,
            Counts::from_row,
            Counts::plus,
        )
        .await
    }

    /// Demands submitted in `[from, to)` that are open and past `due_at` at `now` (from
    /// the partial index of open demands alone).
    async fn overdue_open(
        &self,
        conn: &impl ConnectionTrait,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Grouped<i64>, DemandError> {
        let from_where = format!(
            "FROM demands WHERE {OPEN} AND due_at < $4 AND {} = $1 \
             AND submitted_at >= $2 AND submitted_at < $3",
            self.level
        );
        let values = vec![from.into(), to.into(), now.into()];
        let read = |row: &QueryResult| row.try_get::<i64>("", "overdue");
        let add = |sum: &mut i64, n: &i64| *sum += n;
        self.cells(
            conn,
            "CAST(COUNT(*) AS BIGINT) AS overdue",
            &from_where,
            values,
            read,
            add,
        )
        .await
    }

    /// Median and p90 of handling seconds of the resolved demands submitted in
    /// `[from, to)` whose sample slot is below `slots` (100: all of them), read from a
    /// covering index: at most about `PercentilePolicy::sample_target` values. PostgreSQL
    /// sorts them itself and sends three figures per group; SQLite, which has no ordered-set
    /// aggregates, sends the values and they are sorted here, with the same interpolation.
    async fn percentiles(
        &self,
        conn: &impl ConnectionTrait,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        slots: i64,
    ) -> Result<Grouped<Option<(f64, f64)>>, DemandError> {
        let from_where = format!(
            "FROM demands \
             WHERE {} = $1 AND sample_slot < $4 AND submitted_at >= $2 \
             AND submitted_at < $3 AND handling_seconds IS NOT NULL AND {COUNTED}",
            self.level
        );
        let values = vec![from.into(), to.into(), slots.into()];
        if self.backend == DatabaseBackend::Postgres {
            return self
                .percentiles_in_database(conn, &from_where, values)
                .await;
        }
        let sql = format!("SELECT category_id, community_id, handling_seconds {from_where}");
        let mut handling = Grouped::<Vec<i64>>::default();
        for row in conn.query_all(self.statement(&sql, values)).await? {
            let seconds: i64 = row.try_get("", "handling_seconds")?;
            handling.add_cell(
                row.try_get("", "category_id")?,
                row.try_get("", "community_id")?,
                |values| values.push(seconds),
            );
        }
        let both = |mut values: Vec<i64>| {
            values.sort_unstable();
            percentile(&values, 1, 2).zip(percentile(&values, 9, 10))
        };
        let by = |groups: HashMap<String, Vec<i64>>| {
            groups
                .into_iter()
                .map(|(id, values)| (id, both(values)))
                .collect()
        };
        Ok(Grouped {
            overall: both(handling.overall),
            by_category: by(handling.by_category),
            by_community: by(handling.by_community),
        })
    }

    /// PostgreSQL's `percentile_cont` over the overall set and each category and community
    /// (one scan, grouping sets): tens of rows cross the wire instead of tens of thousands.
    async fn percentiles_in_database(
        &self,
        conn: &impl ConnectionTrait,
        from_where: &str,
        values: Vec<Value>,
    ) -> Result<Grouped<Option<(f64, f64)>>, DemandError> {
        let sql = format!(
            "SELECT category_id, community_id, \
               GROUPING(category_id) AS any_category, GROUPING(community_id) AS any_community, \
               percentile_cont(0.5) WITHIN GROUP (ORDER BY handling_seconds) AS median, \
               percentile_cont(0.9) WITHIN GROUP (ORDER BY handling_seconds) AS p90 \
             {from_where} GROUP BY GROUPING SETS ((), (category_id), (community_id))"
        );
        let mut out = Grouped::<Option<(f64, f64)>>::default();
        for row in conn.query_all(self.statement(&sql, values)).await? {
            let figures = row
                .try_get::<Option<f64>>("", "median")?
                .zip(row.try_get::<Option<f64>>("", "p90")?);
            let any_category = row.try_get::<i32>("", "any_category")? == 1;
            let any_community = row.try_get::<i32>("", "any_community")? == 1;
            match (any_category, any_community) {
                (true, true) => out.overall = figures,
                (false, true) => {
                    out.by_category
                        .insert(row.try_get("", "category_id")?, figures);
                }
                (true, false) => {
                    out.by_community
                        .insert(row.try_get("", "community_id")?, figures);
                }
                (false, false) => {}
            }
        }
        Ok(out)
    }
}

/// Open demands: written out so that PostgreSQL matches the partial index on them.
const OPEN: &str = "status IN ('submitted', 'accepted', 'in_progress')";

/// The `num/den` percentile of sorted `values` as PostgreSQL's `percentile_cont`: position
/// `p (n - 1)`, linear between the values at its floor and ceiling, in exact integer
/// arithmetic for the position.
fn percentile(sorted: &[i64], num: usize, den: usize) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let scaled = num * last;
    let lower = scaled / den;
    let fraction = (scaled % den) as f64 / den as f64;
    let low = sorted[lower] as f64;
    let high = sorted.get(lower + 1).map_or(low, |&v| v as f64);
    Some(low + (high - low) * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn percentiles_are_exact_up_to_the_limit_then_sampled_to_the_target() {
        let policy = PercentilePolicy {
            exact_up_to: 1_000,
            sample_target: 500,
        };
        assert_eq!(policy.slots_for(0), 100);
        assert_eq!(policy.slots_for(1_000), 100);
        // 1,001 resolved: 50 slots hold about 500 of them.
        assert_eq!(policy.slots_for(1_001), 50);
        assert_eq!(policy.slots_for(900_000), 1);
        let default = PercentilePolicy::default();
        assert_eq!(default.slots_for(900_000), 6);
    }

    #[test]
    fn ratios_are_absent_without_a_denominator() {
        assert_eq!(ratio(1, 0), None);
        assert_eq!(ratio(1, 4), Some(0.25));
    }
}
