//! Daily counts behind the demand metrics: per Asia/Shanghai day of submission, community
//! and category, the same tallies `service::metrics` reports (total, closed, resolved, on
//! time, handling seconds, rated, satisfied) over demands that are not rejected or withdrawn;
//! and per day of *closing*, `closed_on_day`, for the dashboard's submitted-vs-closed series.
//!
//! Every write that changes a demand's tallies calls [`record`] in the same transaction
//! with the row before and after, so the counts can never drift from the demands: a rollback
//! takes both back. Rows are updated in key order, so two transactions that each move a
//! demand between the same two rows cannot deadlock. [`recount`] derives the counts from the
//! demands alone, for [`verify`] and [`rebuild`].

use crate::entity::demand;
use crate::state_machine::DemandState;
use chrono::{DateTime, Utc};
use platform::clock::local_day_start;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use std::collections::BTreeMap;

/// The slot (0..100) of a demand's id: a uniform, fixed sample of demands is those whose
/// slot is below a bound.
pub fn sample_slot(id: &str) -> i16 {
    let n = uuid::Uuid::parse_str(id)
        .map(|u| u.as_u128())
        .unwrap_or_else(|_| {
            id.bytes()
                .fold(0u128, |h, b| h.wrapping_mul(31).wrapping_add(u128::from(b)))
        });
    (n % 100) as i16
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: i64,
    pub closed: i64,
    pub resolved: i64,
    pub on_time: i64,
    pub handling_seconds: i64,
    pub rated: i64,
    pub satisfied: i64,
    /// Demands closed on this day (whatever day they were submitted).
    pub closed_on_day: i64,
}

impl Counts {
    fn add(&mut self, other: &Counts, sign: i64) {
        self.total += sign * other.total;
        self.closed += sign * other.closed;
        self.resolved += sign * other.resolved;
        self.on_time += sign * other.on_time;
        self.handling_seconds += sign * other.handling_seconds;
        self.rated += sign * other.rated;
        self.satisfied += sign * other.satisfied;
        self.closed_on_day += sign * other.closed_on_day;
    }

    pub fn plus(&mut self, other: &Counts) {
        self.add(other, 1);
    }

    /// The seven tallies of a row that names them (`closed_on_day` is left at 0).
    pub fn from_row(row: &sea_orm::QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            total: row.try_get("", "total")?,
            closed: row.try_get("", "closed")?,
            resolved: row.try_get("", "resolved")?,
            on_time: row.try_get("", "on_time")?,
            handling_seconds: row.try_get("", "handling_seconds")?,
            rated: row.try_get("", "rated")?,
            satisfied: row.try_get("", "satisfied")?,
            closed_on_day: 0,
        })
    }

    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// The row a demand counts in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub day_start: DateTime<Utc>,
    pub community_id: String,
    pub category_id: String,
}

/// The fields of a demand the counts depend on.
#[derive(Debug, Clone, FromQueryResult)]
struct Tallied {
    id: String,
    submitted_at: DateTime<Utc>,
    community_id: String,
    category_id: String,
    street_id: String,
    district_id: String,
    status: String,
    handling_seconds: Option<i64>,
    resolved_on_time: Option<bool>,
    rating_satisfied: Option<bool>,
    closed_at: Option<DateTime<Utc>>,
}

impl From<&demand::Model> for Tallied {
    fn from(d: &demand::Model) -> Self {
        Tallied {
            id: d.id.clone(),
            submitted_at: d.submitted_at,
            community_id: d.community_id.clone(),
            category_id: d.category_id.clone(),
            street_id: d.street_id.clone(),
            district_id: d.district_id.clone(),
            status: d.status.clone(),
            handling_seconds: d.handling_seconds,
            resolved_on_time: d.resolved_on_time,
            rating_satisfied: d.rating_satisfied,
            closed_at: d.closed_at,
        }
    }
}

/// Where a demand counts, with its street and district, and what it adds there: on its day
/// of submission (nothing for a rejected or withdrawn demand), and on its day of closing.
fn contributions(d: &Tallied) -> Vec<(Key, (String, String), Counts)> {
    let key = |day| Key {
        day_start: local_day_start(day),
        community_id: d.community_id.clone(),
        category_id: d.category_id.clone(),
    };
    let levels = (d.street_id.clone(), d.district_id.clone());
    let mut out = Vec::with_capacity(2);
    if let (true, Some(closed_at)) = (d.status == DemandState::Closed.as_str(), d.closed_at) {
        let closing = Counts {
            closed_on_day: 1,
            ..Counts::default()
        };
        out.push((key(closed_at), levels.clone(), closing));
    }
    if d.status == DemandState::Rejected.as_str() || d.status == DemandState::Withdrawn.as_str() {
        return out;
    }
    let counts = Counts {
        total: 1,
        closed: i64::from(d.status == DemandState::Closed.as_str()),
        resolved: i64::from(d.handling_seconds.is_some()),
        on_time: i64::from(d.resolved_on_time == Some(true)),
        handling_seconds: d.handling_seconds.unwrap_or(0),
        rated: i64::from(d.rating_satisfied.is_some()),
        satisfied: i64::from(d.rating_satisfied == Some(true)),
        closed_on_day: 0,
    };
    out.push((key(d.submitted_at), levels, counts));
    out
}

type Deltas = BTreeMap<Key, ((String, String), Counts)>;

fn tally(deltas: &mut Deltas, d: &Tallied, sign: i64) {
    for (key, levels, counts) in contributions(d) {
        deltas
            .entry(key)
            .or_insert_with(|| (levels, Counts::default()))
            .1
            .add(&counts, sign);
    }
}

/// Moves the counts from what `before` contributed to what `after` contributes (either may
/// be absent: a new demand has no `before`). Call it in the transaction that writes `after`.
pub async fn record(
    conn: &impl ConnectionTrait,
    before: Option<&demand::Model>,
    after: Option<&demand::Model>,
) -> Result<(), DbErr> {
    let mut deltas = Deltas::new();
    if let Some(before) = before {
        tally(&mut deltas, &before.into(), -1);
    }
    if let Some(after) = after {
        tally(&mut deltas, &after.into(), 1);
    }
    // BTreeMap iterates in key order: every writer locks rows in the same order.
    for (key, (levels, delta)) in deltas {
        if !delta.is_zero() {
            add(conn, &key, &levels, &delta).await?;
        }
    }
    Ok(())
}

async fn add(
    conn: &impl ConnectionTrait,
    key: &Key,
    (street_id, district_id): &(String, String),
    delta: &Counts,
) -> Result<(), DbErr> {
    let sql = "INSERT INTO demand_daily_counts (day_start, community_id, category_id, \
         street_id, district_id, total, closed, resolved, on_time, handling_seconds, rated, \
         satisfied, closed_on_day) \
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
       ON CONFLICT (day_start, community_id, category_id) DO UPDATE SET \
         total = demand_daily_counts.total + excluded.total, \
         closed = demand_daily_counts.closed + excluded.closed, \
         resolved = demand_daily_counts.resolved + excluded.resolved, \
         on_time = demand_daily_counts.on_time + excluded.on_time, \
         handling_seconds = demand_daily_counts.handling_seconds + excluded.handling_seconds, \
         rated = demand_daily_counts.rated + excluded.rated, \
         satisfied = demand_daily_counts.satisfied + excluded.satisfied, \
         closed_on_day = demand_daily_counts.closed_on_day + excluded.closed_on_day";
    conn.execute(sea_orm::Statement::from_sql_and_values(
        conn.get_database_backend(),
        sql,
        vec![
            key.day_start.into(),
            key.community_id.clone().into(),
            key.category_id.clone().into(),
            street_id.clone().into(),
            district_id.clone().into(),
            delta.total.into(),
            delta.closed.into(),
            delta.resolved.into(),
            delta.on_time.into(),
            delta.handling_seconds.into(),
            delta.rated.into(),
            delta.satisfied.into(),
            delta.closed_on_day.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The counts as the demands say they should be, read in pages of ids.
pub async fn recount(conn: &impl ConnectionTrait) -> Result<Deltas, DbErr> {
    const PAGE: u64 = 10_000;
    let mut out = Deltas::new();
    let mut after = String::new();
    loop {
        let page: Vec<Tallied> = demand::Entity::find()
            .select_only()
            .columns([
                demand::Column::Id,
                demand::Column::SubmittedAt,
                demand::Column::CommunityId,
                demand::Column::CategoryId,
                demand::Column::StreetId,
                demand::Column::DistrictId,
                demand::Column::Status,
                demand::Column::HandlingSeconds,
                demand::Column::ResolvedOnTime,
                demand::Column::RatingSatisfied,
                demand::Column::ClosedAt,
            ])
            .filter(demand::Column::Id.gt(after.as_str()))
            .order_by_asc(demand::Column::Id)
            .limit(PAGE)
            .into_model::<Tallied>()
            .all(conn)
            .await?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.id.clone();
        for d in &page {
            tally(&mut out, d, 1);
        }
    }
}

/// The counts as stored, without rows that add up to nothing.
pub async fn stored(conn: &impl ConnectionTrait) -> Result<BTreeMap<Key, Counts>, DbErr> {
    let rows = conn
        .query_all(Statement::from_string(
            conn.get_database_backend(),
            "SELECT day_start, community_id, category_id, total, closed, resolved, on_time, \
               handling_seconds, rated, satisfied, closed_on_day FROM demand_daily_counts",
        ))
        .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let counts = Counts {
            closed_on_day: row.try_get("", "closed_on_day")?,
            ..Counts::from_row(&row)?
        };
        if !counts.is_zero() {
            let key = Key {
                day_start: row.try_get("", "day_start")?,
                community_id: row.try_get("", "community_id")?,
                category_id: row.try_get("", "category_id")?,
            };
            out.insert(key, counts);
        }
    }
    Ok(out)
}

/// Where the stored counts differ from a recount: (key, stored, recounted). Empty when
/// they agree.
pub async fn verify(
    conn: &impl ConnectionTrait,
) -> Result<Vec<(Key, Option<Counts>, Option<Counts>)>, DbErr> {
    let mut stored = stored(conn).await?;
    let mut differences = Vec::new();
    for (key, (_, counts)) in recount(conn).await? {
        if counts.is_zero() {
            continue;
        }
        match stored.remove(&key) {
            Some(s) if s == counts => {}
            other => differences.push((key, other, Some(counts))),
        }
    }
    differences.extend(stored.into_iter().map(|(k, s)| (k, Some(s), None)));
    Ok(differences)
}

/// Replaces the stored counts with a recount (after a bulk load that bypassed [`record`]).
pub async fn rebuild(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    let counts = recount(conn).await?;
    conn.execute_unprepared("DELETE FROM demand_daily_counts")
        .await?;
    for (key, (levels, delta)) in counts {
        add(conn, &key, &levels, &delta).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_slots_spread_evenly_over_a_hundred() {
        let mut seen = [0u32; 100];
        for _ in 0..20_000 {
            seen[sample_slot(&platform::ids::new_id()) as usize] += 1;
        }
        // 200 expected per slot; six standard deviations either side.
        assert!(seen.iter().all(|&n| (115..=285).contains(&n)), "{seen:?}");
        assert_eq!(sample_slot("not a uuid"), sample_slot("not a uuid"));
    }
}
