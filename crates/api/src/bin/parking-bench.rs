//! Parking bookings over HTTP at the district's scale: starts the real server (in this
//! process, on a fresh database), sets up one lot of 607 slots open all day, funds the
//! drivers, then has N concurrent clients book random 1–3 hour windows over the next 30 days
//! through `POST /api/v1/parking/bookings`, as the mini-program does. Reports successful
//! bookings per second, latency percentiles and refusals, checks that no slot is booked
//! twice for any minute, and writes the results to a Markdown file.
//!
//! ```text
//! cargo run --release -p api --bin parking-bench                                   # SQLite
//! cargo run --release -p api --bin parking-bench -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/postgres                   # PostgreSQL
//! ```

use anyhow::{bail, Context};
use chrono::{Duration, Utc};
use clap::Parser;
use futures_util::future::join_all;
use platform::config::Settings;
use rand::Rng;
use sea_orm::TransactionTrait;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(about = "Measure parking bookings per second over HTTP")]
struct Args {
    /// `postgres://...` (a fresh database is created beside it) or omitted for SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 20)]
    clients: usize,
    /// Booking attempts in all.
    #[arg(long, default_value_t = 4000)]
    bookings: usize,
    #[arg(long, default_value_t = 607)]
    slots: i64,
    /// Bookings fall in this many days from tomorrow.
    #[arg(long, default_value_t = 30)]
    days: i64,
    #[arg(long, default_value = "target/bench/parking-bench.md")]
    out: PathBuf,
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(other) = args
        .database_url
        .as_deref()
        .filter(|u| !u.starts_with("postgres"))
    {
        bail!("unsupported database URL {other}");
    }
    let url =
        platform::db::create_fresh_database(args.database_url.as_deref(), "linli_bench").await?;
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let mut settings = Settings::load_with_env(Path::new("config"), "test", Some(HashMap::new()))
        .context("loading config/ (run from the workspace root)")?;
    settings.database.url = platform::Secret::new(url.clone());
    settings.database.max_connections = u32::try_from(args.clients).unwrap_or(20).max(8);
    settings.server.port = 0;
    let app = api::Application::build(settings).await?;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let db = app.state().db.clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;

    let (_, admin) = post(
        &client,
        &format!("{base}/auth/staff-login"),
        None,
        &json!({"username": "admin", "password": "linli-demo"}),
    )
    .await?;
    let admin_token = admin["access_token"]
        .as_str()
        .context("admin login")?
        .to_owned();
    let orgs: Value = client
        .get(format!("{base}/orgs"))
        .send()
        .await?
        .json()
        .await?;
    let district = orgs[0]["id"].as_str().context("org tree")?.to_owned();
    let (status, lot) = post(
        &client,
        &format!("{base}/admin/parking/lots"),
        Some(&admin_token),
        &json!({
            "name": "基准停车场", "org_id": district, "slot_count": args.slots, "points_per_hour": 10,
            "open_hours": [{"days": [1, 2, 3, 4, 5, 6, 7], "from": "00:00", "to": "24:00"}],
            "max_booking_hours": 12,
        }),
    )
    .await?;
    if status != 201 {
        bail!("creating the lot: {status} {lot}");
    }
    let lot_id = lot["id"].as_str().context("lot id")?.to_owned();

    // One driver per client, funded straight from the district treasury.
    let mut drivers = Vec::new();
    for i in 0..args.clients {
        let (_, login) = post(
            &client,
            &format!("{base}/auth/wechat-login"),
            None,
            &json!({"code": format!("dev-bench-driver{i}")}),
        )
        .await?;
        let user_id = login["user"]["id"]
            .as_str()
            .context("driver login")?
            .to_owned();
        let txn = db.begin().await?;
        points_ledger::service::transfers::transfer(
            &txn,
            points_ledger::service::transfers::TransferRequest {
                idempotency_key: format!("bench-fund-{user_id}"),
                from: points_ledger::AccountRef::treasury(&district),
                to: points_ledger::AccountRef::wallet(points_ledger::Asset::Points, &user_id),
                amount: 10_000_000,
                code: points_ledger::service::transfers::TransferCode::Award,
                memo: "bench".into(),
                reference: None,
            },
            points_ledger::ExpiryRule::default(),
            Utc::now(),
        )
        .await?;
        txn.commit().await?;
        drivers.push(login["access_token"].as_str().context("token")?.to_owned());
    }

    let tomorrow = Utc::now() + Duration::days(1);
    let per_client = args.bookings / args.clients;
    eprintln!(
        "parking-bench on {backend}: {} clients × {per_client} bookings over {} slots and {} days",
        args.clients, args.slots, args.days
    );
    let started = Instant::now();
    let runs = drivers.iter().enumerate().map(|(i, token)| {
        let client = client.clone();
        let url = format!("{base}/parking/bookings");
        let lot_id = lot_id.clone();
        let days = args.days;
        async move {
            let mut latencies = Vec::with_capacity(per_client);
            let mut outcomes: HashMap<u16, usize> = HashMap::new();
            for n in 0..per_client {
                let (day, half_hour, length) = {
                    let mut rng = rand::rng();
                    (
                        rng.random_range(0..days),
                        rng.random_range(0..40),
                        rng.random_range(2..=6),
                    )
                };
                let starts_at = tomorrow + Duration::days(day) + Duration::minutes(30 * half_hour);
                let body = json!({
                    "lot_id": lot_id, "plate": format!("晋B{:05}", (i * 1000 + n) % 100_000),
                    "starts_at": starts_at, "ends_at": starts_at + Duration::minutes(30 * length),
                });
                let begun = Instant::now();
                let status = match post(&client, &url, Some(token), &body).await {
                    Ok((status, _)) => status,
                    Err(_) => 0,
                };
                latencies.push(begun.elapsed().as_secs_f64() * 1000.0);
                *outcomes.entry(status).or_default() += 1;
            }
            (latencies, outcomes)
        }
    });
    let results = join_all(runs).await;
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<f64> = results
        .iter()
        .flat_map(|(l, _)| l.iter().copied())
        .collect();
    let mut outcomes: HashMap<u16, usize> = HashMap::new();
    for (_, o) in &results {
        for (status, count) in o {
            *outcomes.entry(*status).or_default() += count;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let booked = outcomes.get(&201).copied().unwrap_or(0);
    let refused = outcomes.get(&409).copied().unwrap_or(0);
    let failed = latencies.len() - booked - refused;

    let overlaps = parking::service::bookings::overlapping_pairs(&db).await?;
    if overlaps != 0 {
        bail!("{overlaps} overlapping bookings");
    }

    let mut md = String::new();
    writeln!(md, "# parking-bench on {backend}")?;
    writeln!(md)?;
    writeln!(md, "{} slots, bookings of 1–3 hours over {} days, {} concurrent clients over HTTP, {} attempts.", args.slots, args.days, args.clients, latencies.len())?;
    writeln!(md)?;
    writeln!(
        md,
        "| booked | refused (409) | failed | bookings/s | p50 ms | p99 ms | overlaps |"
    )?;
    writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        md,
        "| {booked} | {refused} | {failed} | {:.0} | {:.0} | {:.0} | {overlaps} |",
        booked as f64 / elapsed,
        at(0.5),
        at(0.99)
    )?;
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &md)?;
    eprintln!("{md}");
    eprintln!("results written to {}", args.out.display());
    if failed > 0 {
        bail!("{failed} requests failed: {outcomes:?}");
    }
    Ok(())
}
