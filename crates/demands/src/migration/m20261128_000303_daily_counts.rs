//! Daily counts per community and category, kept in step with every demand write, so that
//! a year of a district's metrics sums a few tens of thousands of rows instead of scanning a
//! million demands (the day is the day of submission, except `closed_on_day`: demands
//! closed that day, for the dashboard's daily series); and a sample slot per demand, so that percentiles over very many
//! demands can be estimated from a fixed sample read from a covering index.
//!
//! The backfill below is written out here on purpose: a migration must keep working when
//! the service code that maintains the counts later changes.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use std::collections::BTreeMap;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Demands {
    Table,
    SampleSlot,
}

#[derive(DeriveIden, Clone, Copy)]
enum DemandDailyCounts {
    Table,
    DayStart,
    CommunityId,
    CategoryId,
    StreetId,
    DistrictId,
    Total,
    Closed,
    Resolved,
    OnTime,
    HandlingSeconds,
    Rated,
    Satisfied,
    ClosedOnDay,
}

fn reference<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).string_len(36).not_null().to_owned()
}

fn count<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .big_integer()
        .not_null()
        .default(0)
        .to_owned()
}

/// `overdue_open` counts open demands past due from this index alone.
const OPEN_INDEX: &str = "CREATE INDEX ix_demands_open_due ON demands \
       (due_at, submitted_at, district_id, street_id, community_id, category_id) \
     WHERE status IN ('submitted', 'accepted', 'in_progress')";

/// Percentiles read `handling_seconds` with the category and community of a sample of one
/// district's or street's resolved demands in a period, from the index alone.
const SAMPLE_INDEXES: [&str; 2] = [
    "CREATE INDEX ix_demands_district_sample ON demands \
       (district_id, sample_slot, submitted_at, handling_seconds, category_id, community_id) \
     WHERE handling_seconds IS NOT NULL AND status NOT IN ('rejected', 'withdrawn')",
    "CREATE INDEX ix_demands_street_sample ON demands \
       (street_id, sample_slot, submitted_at, handling_seconds, category_id, community_id) \
     WHERE handling_seconds IS NOT NULL AND status NOT IN ('rejected', 'withdrawn')",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Demands::Table)
                    .add_column(
                        ColumnDef::new(Demands::SampleSlot)
                            .small_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;

        use DemandDailyCounts as C;
        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(
                        ColumnDef::new(C::DayStart)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(reference(C::CommunityId))
                    .col(reference(C::CategoryId))
                    .col(reference(C::StreetId))
                    .col(reference(C::DistrictId))
                    .col(count(C::Total))
                    .col(count(C::Closed))
                    .col(count(C::Resolved))
                    .col(count(C::OnTime))
                    .col(count(C::HandlingSeconds))
                    .col(count(C::Rated))
                    .col(count(C::Satisfied))
                    .col(count(C::ClosedOnDay))
                    .primary_key(
                        Index::create()
                            .col(C::DayStart)
                            .col(C::CommunityId)
                            .col(C::CategoryId),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, level) in [
            ("ix_demand_daily_counts_district", C::DistrictId),
            ("ix_demand_daily_counts_street", C::StreetId),
            ("ix_demand_daily_counts_community", C::CommunityId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(C::Table)
                        .col(level)
                        .col(C::DayStart)
                        .to_owned(),
                )
                .await?;
        }
        let conn = manager.get_connection();
        for sql in SAMPLE_INDEXES.into_iter().chain([OPEN_INDEX]) {
            conn.execute_unprepared(sql).await?;
        }
        backfill(conn).await
    }
}

/// The Asia/Shanghai day that contains `t`, as the UTC instant it starts.
fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let offset = Duration::hours(8);
    (t + offset).date_naive().and_time(NaiveTime::MIN).and_utc() - offset
}

fn sample_slot(id: &str) -> i16 {
    let n = uuid::Uuid::parse_str(id)
        .map(|u| u.as_u128())
        .unwrap_or_else(|_| id.bytes().fold(0u128, |h, b| h * 31 + u128::from(b)));
    (n % 100) as i16
}

type Key = (DateTime<Utc>, String, String);
type Cells = BTreeMap<Key, (String, String, [i64; 8])>;

/// The tallies of one (day, community, category) row, created with its street and district.
fn cell<'a>(counts: &'a mut Cells, key: Key, levels: &(String, String)) -> &'a mut [i64; 8] {
    &mut counts
        .entry(key)
        .or_insert_with(|| (levels.0.clone(), levels.1.clone(), [0; 8]))
        .2
}

/// Sample slots and daily counts for the demands already filed.
async fn backfill<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all(Statement::from_string(
            backend,
            "SELECT id, submitted_at, community_id, category_id, street_id, district_id, \
               status, handling_seconds, resolved_on_time, rating_satisfied, closed_at \
             FROM demands",
        ))
        .await?;
    let mut counts = Cells::new();
    for row in rows {
        let id: String = row.try_get("", "id")?;
        let slot = if backend == sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            "UPDATE demands SET sample_slot = $1 WHERE id = $2"
        } else {
            "UPDATE demands SET sample_slot = ? WHERE id = ?"
        };
        conn.execute(Statement::from_sql_and_values(
            backend,
            slot,
            [sample_slot(&id).into(), id.into()],
        ))
        .await?;
        let status: String = row.try_get("", "status")?;
        if status == "rejected" || status == "withdrawn" {
            continue;
        }
        let submitted_at: DateTime<Utc> = row.try_get("", "submitted_at")?;
        let handling: Option<i64> = row.try_get("", "handling_seconds")?;
        let on_time: Option<bool> = row.try_get("", "resolved_on_time")?;
        let satisfied: Option<bool> = row.try_get("", "rating_satisfied")?;
        let community_id: String = row.try_get("", "community_id")?;
        let category_id: String = row.try_get("", "category_id")?;
        let levels: (String, String) = (
            row.try_get("", "street_id")?,
            row.try_get("", "district_id")?,
        );
        let key = |day| (day_start(day), community_id.clone(), category_id.clone());
        let c = cell(&mut counts, key(submitted_at), &levels);
        c[0] += 1;
        c[1] += i64::from(status == "closed");
        c[2] += i64::from(handling.is_some());
        c[3] += i64::from(on_time == Some(true));
        c[4] += handling.unwrap_or(0);
        c[5] += i64::from(satisfied.is_some());
        c[6] += i64::from(satisfied == Some(true));
        let closed_at: Option<DateTime<Utc>> = row.try_get("", "closed_at")?;
        if let (true, Some(closed_at)) = (status == "closed", closed_at) {
            cell(&mut counts, key(closed_at), &levels)[7] += 1;
        }
    }
    for ((day, community_id, category_id), (street_id, district_id, c)) in counts {
        let insert = Query::insert()
            .into_table(DemandDailyCounts::Table)
            .columns([
                DemandDailyCounts::DayStart,
                DemandDailyCounts::CommunityId,
                DemandDailyCounts::CategoryId,
                DemandDailyCounts::StreetId,
                DemandDailyCounts::DistrictId,
                DemandDailyCounts::Total,
                DemandDailyCounts::Closed,
                DemandDailyCounts::Resolved,
                DemandDailyCounts::OnTime,
                DemandDailyCounts::HandlingSeconds,
                DemandDailyCounts::Rated,
                DemandDailyCounts::Satisfied,
                DemandDailyCounts::ClosedOnDay,
            ])
            .values_panic([
                day.into(),
                community_id.into(),
                category_id.into(),
                street_id.into(),
                district_id.into(),
                c[0].into(),
                c[1].into(),
                c[2].into(),
                c[3].into(),
                c[4].into(),
                c[5].into(),
                c[6].into(),
                c[7].into(),
            ])
            .to_owned();
        conn.execute(backend.build(&insert)).await?;
    }
    Ok(())
}
