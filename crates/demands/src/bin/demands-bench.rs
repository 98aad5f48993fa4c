//! Demand metrics at a city's volume: seeds a fresh PostgreSQL database with a district of
//! 12 streets and 31 communities and N demands (default 1,000,000) spread over a year and
//! inserted in the order they were filed (as in real life, so a period is a range on disk), with
//! realistic outcomes (most closed and rated, some open, overdue, rejected or withdrawn), then
//! times `metrics::compute` (the query behind `GET /api/v1/staff/metrics/demands`) for one
//! street and for the whole district, over the year and over the last 30 days.
//! The results go to a Markdown file.
//!
//! ```text
//! cargo run --release -p demands --bin demands-bench -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/postgres
//! ```

use anyhow::{bail, Context};
use chrono::{Duration, Utc};
use clap::Parser;
use demands::service::{categories, metrics};
use identity::entity::org;
use identity::OrgKind;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Seed demands on PostgreSQL and time the metrics query")]
struct Args {
    /// `postgres://...`; a fresh database is created beside it and kept for inspection.
    #[arg(long)]
    database_url: String,
    /// Demands to seed.
    #[arg(long, default_value_t = 1_000_000)]
    demands: i64,
    /// Timed runs per query (after one warm-up).
    #[arg(long, default_value_t = 15)]
    runs: usize,
    /// Where the Markdown results go.
    #[arg(long, default_value = "target/bench/demands-bench.md")]
    out: PathBuf,
}

struct BenchMigrator;

impl MigratorTrait for BenchMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = platform::migration::migrations();
        all.extend(identity::migration::migrations());
        all.extend(demands::migration::migrations());
        all
    }
}

async fn fresh_database(admin: &str) -> anyhow::Result<(DatabaseConnection, String)> {
    if !admin.starts_with("postgres") {
        bail!("demands-bench needs a postgres:// URL");
    }
    let name = format!("linli_bench_{}", uuid::Uuid::now_v7().simple());
    let conn = Database::connect(admin)
        .await
        .context("connecting to PostgreSQL")?;
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    conn.close().await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    let url = format!("{base}/{name}");
    let settings = platform::config::DatabaseSettings {
        max_connections: 4,
        ..platform::config::DatabaseSettings::for_url(url.clone())
    };
    let db = platform::db::connect(&settings).await?;
    BenchMigrator::up(&db, None).await?;
    Ok((db, url))
}

struct Tree {
    district: org::Model,
    streets: Vec<org::Model>,
}

async fn seed_orgs(db: &DatabaseConnection) -> anyhow::Result<Tree> {
    use identity::service::orgs::insert_org;
    let now = Utc::now();
    let district = insert_org(db, OrgKind::District, "平城区", None, now).await?;
    let mut streets = Vec::new();
    let mut communities = 0;
    for s in 0..12 {
        let street = insert_org(
            db,
            OrgKind::Street,
            &format!("街道{s}"),
            Some(&district),
            now,
        )
        .await?;
        // 31 communities: seven streets with three, five with two.
        let count = if s < 7 { 3 } else { 2 };
        for c in 0..count {
            let community = insert_org(
                db,
                OrgKind::Community,
                &format!("社区{s}-{c}"),
                Some(&street),
                now,
            )
            .await?;
            db.execute(Statement::from_sql_and_values(
                db.get_database_backend(),
                "INSERT INTO bench_communities (n, id, path, street_id, district_id) VALUES ($1, $2, $3, $4, $5)",
                [
                    communities.into(),
                    community.id.into(),
                    community.path.into(),
                    street.id.clone().into(),
                    district.id.clone().into(),
                ],
            ))
            .await?;
            communities += 1;
        }
        streets.push(street);
    }
    Ok(Tree { district, streets })
}

async fn seed_demands(db: &DatabaseConnection, total: i64) -> anyhow::Result<()> {
    let now = Utc::now();
    for (n, (name, hours)) in [
        ("环境卫生", 24),
        ("物业维修", 48),
        ("停车交通", 24),
        ("一老一小", 12),
        ("邻里纠纷", 72),
        ("安全隐患", 6),
        ("其他", 48),
    ]
    .into_iter()
    .enumerate()
    {
        let category = categories::create(db, None, name, hours, now).await?;
        db.execute(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO bench_categories (n, id, sla_hours) VALUES ($1, $2, $3)",
            [(n as i32).into(), category.id.into(), hours.into()],
        ))
        .await?;
    }
    db.execute_unprepared(
        "INSERT INTO users (id, openid, nickname, created_at, updated_at) \
         SELECT md5('user' || g)::uuid::text, 'bench-' || g, '居民' || g, now(), now() \
         FROM generate_series(1, 20000) g",
    )
    .await?;
    db.execute_unprepared("SELECT setseed(0.42)").await?;
    let chunk = 100_000;
    let mut start = 1;
    while start <= total {
        let end = (start + chunk - 1).min(total);
        let begun = Instant::now();
        db.execute_unprepared(&format!(
            "INSERT INTO demands (id, resident_id, category_id, title, description, district_id, street_id, \
               community_id, community_path, org_id, org_path, handler_id, status, photos, resolution, \
               submitted_at, due_at, warn_at, accepted_at, first_resolved_at, resolved_at, closed_at, \
               handling_seconds, resolved_on_time, rating_satisfied, rating_score, rated_at, version, updated_at, \
               sample_slot) \
             SELECT md5('demand' || g)::uuid::text, md5('user' || (1 + g % 20000))::uuid::text, category_id, \
               '诉求' || g, '基准数据', district_id, street_id, community_id, path, community_id, path, NULL, \
               status, '[]', CASE WHEN handled THEN '已办结' END, \
               submitted_at, submitted_at + sla_hours * interval '1 hour', \
               submitted_at + sla_hours * interval '45 minutes', \
               CASE WHEN status NOT IN ('submitted', 'withdrawn', 'rejected') THEN submitted_at + interval '20 minutes' END, \
               CASE WHEN handled THEN submitted_at + handling * interval '1 second' END, \
               CASE WHEN handled THEN submitted_at + handling * interval '1 second' END, \
               CASE WHEN status = 'closed' THEN submitted_at + handling * interval '1 second' + interval '1 day' END, \
               CASE WHEN handled THEN handling END, \
               CASE WHEN handled THEN handling <= sla_hours * 3600 END, \
               CASE WHEN rated THEN r_satisfied < 0.95 END, \
               CASE WHEN rated THEN (CASE WHEN r_satisfied < 0.95 THEN 5 ELSE 2 END) END, \
               CASE WHEN rated THEN submitted_at + handling * interval '1 second' + interval '1 day' END, \
               1, submitted_at, floor(r_slot * 100)::smallint \
             FROM ( \
               SELECT g, c.id AS community_id, c.path, c.street_id, c.district_id, k.id AS category_id, \
                 k.sla_hours, submitted_at, r_satisfied, r_slot, \
                 CASE WHEN r_status < 0.03 THEN 'rejected' WHEN r_status < 0.05 THEN 'withdrawn' \
                      WHEN r_status < 0.06 THEN 'submitted' WHEN r_status < 0.08 THEN 'in_progress' \
                      WHEN r_status < 0.13 THEN 'resolved' ELSE 'closed' END AS status, \
                 r_status >= 0.08 AS handled, \
                 r_status >= 0.13 AND r_rate < 0.8 AS rated, \
                 (1800 + r_handle * r_handle * 16 * 3600)::bigint AS handling \
               FROM ( \
                 SELECT g, random() AS r_status, random() AS r_handle, random() AS r_rate, \
                   random() AS r_satisfied, random() AS r_slot, \
                   now() - interval '365 days' + (g::float8 / {total}) * interval '365 days' \
                     - random() * interval '10 minutes' AS submitted_at \
                 FROM generate_series({start}, {end}) g \
               ) r \
               JOIN bench_communities c ON c.n = g % 31 \
               JOIN bench_categories k ON k.n = g % 7 \
             ) s"
        ))
        .await?;
        eprintln!(
            "  demands {start}..={end} in {:.1} s",
            begun.elapsed().as_secs_f64()
        );
        start = end + 1;
    }
    // The bulk load went around the service: count the days the way it would have.
    let begun = Instant::now();
    demands::service::rollup::rebuild(db).await?;
    eprintln!(
        "  daily counts rebuilt in {:.1} s",
        begun.elapsed().as_secs_f64()
    );
    db.execute_unprepared("VACUUM ANALYZE demands").await?;
    db.execute_unprepared("VACUUM ANALYZE demand_daily_counts")
        .await?;
    Ok(())
}

struct Timing {
    label: String,
    rows: i64,
    min_ms: f64,
    median_ms: f64,
    p95_ms: f64,
}

async fn time_metrics(
    db: &DatabaseConnection,
    label: &str,
    org: &org::Model,
    days: i64,
    runs: usize,
) -> anyhow::Result<Timing> {
    let now = Utc::now();
    let from = now - Duration::days(days);
    let warm = metrics::compute(db, org, from, now, now).await?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let begun = Instant::now();
        let figures = metrics::compute(db, org, from, now, now).await?;
        samples.push(begun.elapsed().as_secs_f64() * 1000.0);
        if figures.figures.total != warm.figures.total {
            bail!("the figures changed between runs");
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "  {label}: {} demands, median {:.0} ms (closure {:.3}, satisfaction {:.3}, avg {:.2} h, p90 {:.2} h)",
        warm.figures.total,
        at(0.5),
        warm.figures.closure_rate.unwrap_or_default(),
        warm.figures.satisfaction_rate.unwrap_or_default(),
        warm.figures.avg_handling_hours.unwrap_or_default(),
        warm.figures.p90_handling_hours.unwrap_or_default(),
    );
    Ok(Timing {
        label: label.to_owned(),
        rows: warm.figures.total,
        min_ms: samples[0],
        median_ms: at(0.5),
        p95_ms: at(0.95),
    })
}

/// How far the sampled percentiles are from the exact ones (which take one full sort), and
/// how long the exact ones take.
struct Accuracy {
    label: String,
    sample_rate: f64,
    exact_ms: f64,
    /// Largest relative difference of median or p90, overall and per group.
    overall: f64,
    worst_group: f64,
}

async fn sample_accuracy(
    db: &DatabaseConnection,
    label: &str,
    org: &org::Model,
    days: i64,
) -> anyhow::Result<Accuracy> {
    let now = Utc::now();
    let from = now - Duration::days(days);
    let sampled = metrics::compute(db, org, from, now, now).await?;
    let everything = metrics::PercentilePolicy {
        exact_up_to: i64::MAX,
        ..Default::default()
    };
    let begun = Instant::now();
    let exact = metrics::compute_with(db, org, from, now, now, everything).await?;
    let exact_ms = begun.elapsed().as_secs_f64() * 1000.0;
    let off = |a: &metrics::Figures, b: &metrics::Figures| {
        let rel = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) if y != 0.0 => ((x - y) / y).abs(),
            _ => 0.0,
        };
        rel(a.median_handling_hours, b.median_handling_hours)
            .max(rel(a.p90_handling_hours, b.p90_handling_hours))
    };
    let mut worst_group = 0.0f64;
    for (mine, theirs) in [
        (&sampled.by_category, &exact.by_category),
        (&sampled.by_community, &exact.by_community),
    ] {
        for (a, b) in mine.iter().zip(theirs.iter()) {
            worst_group = worst_group.max(off(&a.figures, &b.figures));
        }
    }
    Ok(Accuracy {
        label: label.to_owned(),
        sample_rate: sampled.percentile_sample_rate,
        exact_ms,
        overall: off(&sampled.figures, &exact.figures),
        worst_group,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (db, url) = fresh_database(&args.database_url).await?;
    db.execute_unprepared(
        "CREATE TABLE bench_communities (n int PRIMARY KEY, id text, path text, street_id text, district_id text); \
         CREATE TABLE bench_categories (n int PRIMARY KEY, id text, sla_hours int)",
    )
    .await?;
    eprintln!("demands-bench: seeding {} demands into {url}", args.demands);
    let seeding = Instant::now();
    let tree = seed_orgs(&db).await?;
    seed_demands(&db, args.demands).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();

    let street = &tree.streets[0];
    let mut timings = Vec::new();
    for (label, org, days) in [
        ("street, last 30 days", street, 30),
        ("street, whole year", street, 366),
        ("district, last 30 days", &tree.district, 30),
        ("district, whole year", &tree.district, 366),
    ] {
        timings.push(time_metrics(&db, label, org, days, args.runs).await?);
    }
    let mut accuracy = Vec::new();
    for (label, org, days) in [
        ("street, whole year", street, 366),
        ("district, last 30 days", &tree.district, 30),
        ("district, whole year", &tree.district, 366),
    ] {
        accuracy.push(sample_accuracy(&db, label, org, days).await?);
    }

    let mut md = String::new();
    writeln!(md, "# demands-bench on PostgreSQL")?;
    writeln!(md)?;
    writeln!(
        md,
        "{} demands over a year in 31 communities of 12 streets, seeded in {seed_seconds:.0} s. \
         `metrics::compute` (overall, by category, by community) timed {} times after a warm-up.",
        args.demands, args.runs
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "| scope | demands counted | min ms | median ms | p95 ms |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|")?;
    for t in &timings {
        writeln!(
            md,
            "| {} | {} | {:.0} | {:.0} | {:.0} |",
            t.label, t.rows, t.min_ms, t.median_ms, t.p95_ms
        )?;
    }
    writeln!(md)?;
    writeln!(
        md,
        "Median and p90 from a sample against the exact figures (one full sort, timed once):"
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "| scope | sample | exact percentiles ms | overall off by | worst group off by |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|")?;
    for a in &accuracy {
        writeln!(
            md,
            "| {} | {:.0}% | {:.0} | {:.2}% | {:.2}% |",
            a.label,
            a.sample_rate * 100.0,
            a.exact_ms,
            a.overall * 100.0,
            a.worst_group * 100.0
        )?;
    }
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &md)?;
    eprintln!("results written to {}", args.out.display());
    Ok(())
}
