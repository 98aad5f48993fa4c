//! The dashboard's figures at a city's volume: on the database `demands-bench` leaves behind
//! (1,000,000 demands over a year), brings the schema up to date and times what
//! `GET /api/v1/staff/dashboard` and `/staff/dashboard/series` compute, for the district
//! and for a street, over the year and over 30 days. Results go to a Markdown file.
//!
//! ```text
//! cargo run --release -p demands --bin demands-bench -- --database-url postgres://postgres@127.0.0.1:5432/postgres
//! cargo run --release -p api --bin dashboard-bench -- --database-url postgres://postgres@127.0.0.1:5432/linli_bench_<id>
//! ```

use anyhow::Context;
use chrono::{Duration, Utc};
use clap::Parser;
use identity::entity::org;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Time the dashboard's figures on the demands-bench database")]
struct Args {
    /// The database demands-bench seeded (it prints its URL).
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(long, default_value = "target/bench/dashboard-bench.md")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = platform::config::DatabaseSettings {
        max_connections: 4,
        ..platform::config::DatabaseSettings::for_url(args.database_url.clone())
    };
    let db = platform::db::connect(&settings).await?;
    api::migrator::migrate(&db)
        .await
        .context("bringing the schema up to date")?;
    let district = org::Entity::find()
        .filter(org::Column::Kind.eq("district"))
        .one(&db)
        .await?
        .context("no district: run demands-bench first")?;
    let street = org::Entity::find()
        .filter(org::Column::Kind.eq("street"))
        .one(&db)
        .await?
        .context("no street")?;
    let mut md = String::new();
    writeln!(md, "# dashboard-bench on PostgreSQL")?;
    writeln!(md)?;
    writeln!(md, "What `GET /api/v1/staff/dashboard` (demand metrics + the other figures) and `/staff/dashboard/series` compute, {} runs after a warm-up, median ms.", args.runs)?;
    writeln!(md)?;
    writeln!(
        md,
        "| scope | demand metrics | other figures | dashboard total | series |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|")?;
    for (label, scope, days) in [
        ("district, whole year", &district, 366),
        ("district, last 30 days", &district, 30),
        ("street, whole year", &street, 366),
        ("street, last 30 days", &street, 30),
    ] {
        let now = Utc::now();
        let from = now - Duration::days(days);
        let mut timings: [Vec<f64>; 3] = Default::default();
        for run in 0..=args.runs {
            let begun = Instant::now();
            demands::service::metrics::compute(&db, scope, from, now, now).await?;
            let metrics_ms = begun.elapsed().as_secs_f64() * 1000.0;
            let begun = Instant::now();
            api::dashboard::figures(&db, scope, from, now, now).await?;
            let figures_ms = begun.elapsed().as_secs_f64() * 1000.0;
            let begun = Instant::now();
            api::dashboard::series(&db, scope, from, now, now).await?;
            let series_ms = begun.elapsed().as_secs_f64() * 1000.0;
            if run > 0 {
                timings[0].push(metrics_ms);
                timings[1].push(figures_ms);
                timings[2].push(series_ms);
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (m, f, s) = (
            median(&mut timings[0]),
            median(&mut timings[1]),
            median(&mut timings[2]),
        );
        eprintln!("  {label}: metrics {m:.0} ms, figures {f:.0} ms, series {s:.0} ms");
        writeln!(md, "| {label} | {m:.0} | {f:.0} | {:.0} | {s:.0} |", m + f)?;
    }
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &md)?;
    eprintln!("{md}\nresults written to {}", args.out.display());
    Ok(())
}
