//! `linli-load`: drives real Linli servers over HTTP through the scenarios of a busy
//! district day and reports, per scenario, successful requests per second, p50 and p99
//! latency, errors by code and the server's peak RSS; afterwards it checks that the ledger
//! balances and that no parking slot is booked twice, and writes a Markdown table.
//!
//! ```text
//! cargo build --release -p api -p linli-load
//! target/release/linli-load                                   # every scenario, SQLite
//! target/release/linli-load --database-url postgres://postgres@127.0.0.1:5432/postgres \
//!     --redis-url redis://127.0.0.1:6379 --instances 2        # PostgreSQL + Redis, two servers
//! target/release/linli-load --url http://127.0.0.1:8080 --scenario catalog   # a running server
//! ```

use anyhow::{bail, Context};
use clap::Parser;
use linli_load::client::{Linli, Recorder};
use linli_load::report::Row;
use linli_load::servers::{self, Fleet, Launch};
use linli_load::{report, scenarios};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Clone)]
#[command(
    name = "linli-load",
    about = "Load scenarios against real Linli servers"
)]
struct Args {
    /// Scenarios to run (repeat the flag); `all` or none for every one.
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// PostgreSQL server for the fresh database of each scenario (omitted: SQLite).
    #[arg(long)]
    database_url: Option<String>,
    /// Redis for the servers (omitted: their in-process cache).
    #[arg(long)]
    redis_url: Option<String>,
    /// Server processes sharing the database, taken in turn by the clients.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Load a server that is already running instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// Concurrent virtual users (each one connection, one resident).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Database connections per server.
    #[arg(long, default_value_t = 32)]
    pool: u32,
    /// Group-commit writer lanes per server on PostgreSQL (`database.writer_lanes`).
    #[arg(long, default_value_t = 4)]
    lanes: usize,
    /// A short correctness run (4 users, 2 s per scenario) for CI.
    #[arg(long)]
    smoke: bool,
    #[arg(long, default_value = "target/load/linli-load.md")]
    out: PathBuf,
    /// The `linli` binary to start (default: the one beside this binary).
    #[arg(long)]
    binary: Option<PathBuf>,
    #[arg(long, default_value = "config")]
    config_dir: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("linli-load: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every scenario in turn; true when none had an error or a failed check.
async fn run(mut args: Args) -> anyhow::Result<bool> {
    if args.smoke {
        args.clients = 4;
        args.seconds = 2.0;
    }
    let scenarios: Vec<String> = if args.scenarios.is_empty() || args.scenarios == ["all"] {
        scenarios::ALL.iter().map(|s| s.to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    if let Some(unknown) = scenarios
        .iter()
        .find(|s| !scenarios::ALL.contains(&s.as_str()))
    {
        bail!(
            "unknown scenario {unknown}; known: {}",
            scenarios::ALL.join(", ")
        );
    }
    let setup = describe(&args);
    let mut rows = Vec::new();
    for scenario in &scenarios {
        eprintln!(
            "linli-load: {scenario} on {setup}, {} users, {} s",
            args.clients, args.seconds
        );
        let row = one_scenario(&args, scenario, &setup).await?;
        eprintln!(
            "  {:.0} ok/s, p50 {:.1} ms, p99 {:.1} ms, {} errors, {}",
            row.ok_per_second,
            row.p50_ms,
            row.p99_ms,
            row.error_count(),
            row.checks
        );
        rows.push(row);
    }
    let preamble = format!(
        "{} virtual users, {} s per scenario, {} database connections and {} writer lanes \
         per server; ok/s counts successful requests; RSS is the peak of the largest server \
         process.",
        args.clients, args.seconds, args.pool, args.lanes
    );
    let md = report::markdown(&format!("linli-load on {setup}"), &preamble, &rows);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &md).with_context(|| format!("writing {}", args.out.display()))?;
    // The table on standard output is what this command is for.
    #[allow(clippy::print_stdout)]
    {
        println!("{md}");
    }
    eprintln!("linli-load: table written to {}", args.out.display());
    Ok(rows
        .iter()
        .all(|row| row.error_count() == 0 && !row.checks.contains("FAILED")))
}

fn describe(args: &Args) -> String {
    if let Some(url) = &args.url {
        return url.clone();
    }
    let backend = match (&args.database_url, &args.redis_url) {
        (Some(_), Some(_)) => "PostgreSQL + Redis",
        (Some(_), None) => "PostgreSQL",
        (None, Some(_)) => "SQLite + Redis",
        (None, None) => "SQLite",
    };
    let instances = if args.instances == 1 {
        "1 instance".to_owned()
    } else {
        format!("{} instances", args.instances)
    };
    format!("{backend}, {instances}")
}

async fn one_scenario(args: &Args, scenario: &str, setup: &str) -> anyhow::Result<Row> {
    let binary = args.binary.clone().unwrap_or_else(servers::default_binary);
    let fleet = match &args.url {
        Some(url) => Fleet::at(url),
        None => {
            let database_url =
                platform::db::create_fresh_database(args.database_url.as_deref(), "linli_load")
                    .await
                    .context("creating a fresh database")?;
            Fleet::start(Launch {
                binary: binary.clone(),
                config_dir: args.config_dir.clone(),
                database_url,
                redis_url: args.redis_url.clone(),
                redis_prefix: format!("linli-load:{}:", uuid::Uuid::now_v7().simple()),
                instances: args.instances,
                pool: args.pool,
                lanes: args.lanes,
                extra_env: Vec::new(),
                log_dir: None,
            })
            .await?
        }
    };
    let recorder = Recorder::default();
    let api = Linli::new(&fleet.urls, args.clients, recorder.clone())?;
    let world = Arc::new(scenarios::World::build(&api, scenario, args.clients).await?);
    fleet.reset_peak();

    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let users = (0..args.clients).map(|user| {
        let api = api.clone();
        let world = world.clone();
        let scenario = scenario.to_owned();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                world.flow(&api, &scenario, user).await;
            }
        })
    });
    for user in futures_util::future::join_all(users).await {
        user.context("a virtual user panicked")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let samples = recorder.take();
    let mut row = Row::from_samples(scenario, setup, &samples, seconds, fleet.peak_rss_mib());
    row.checks = checks(args, &fleet, &api, &world, &binary).await;
    let database_url = fleet.database_url.clone();
    fleet.stop().await;
    if let Some(url) = database_url {
        platform::db::drop_fresh_database(args.database_url.as_deref(), &url).await?;
    }
    Ok(row)
}

/// The books after the run: the ledger through its API (and the command line when the
/// database is at hand), and the no-double-booking rule.
async fn checks(
    args: &Args,
    fleet: &Fleet,
    api: &Linli,
    world: &scenarios::World,
    binary: &std::path::Path,
) -> String {
    let mut said = Vec::new();
    let (status, verify) = api
        .call(
            None,
            reqwest::Method::GET,
            "/admin/ledger/verify",
            Some(world.admin_token()),
            None,
            None,
        )
        .await;
    if status == 200 && verify["balanced"] == true {
        said.push(format!(
            "ledger balanced ({} accounts)",
            verify["accounts_checked"]
        ));
    } else {
        said.push(format!("ledger FAILED: {status} {verify}"));
    }
    if fleet.database_url.is_some() {
        match fleet
            .linli(binary, &args.config_dir, &["parking", "verify-bookings"])
            .await
        {
            Ok(out) if out.contains("overlapping bookings: 0") => said.push("no overlap".into()),
            Ok(out) => said.push(format!("bookings FAILED: {out}")),
            Err(err) => said.push(format!("bookings FAILED: {err:#}")),
        }
    }
    if let Some(writers) = writer_figures(&fleet.urls).await {
        said.push(writers);
    }
    said.join("; ")
}

/// What the servers' group-commit writers did over the whole run (setup included), summed
/// from their `/metrics`: how many units shared how many transactions, and how often a fast
/// batch fell back to savepoints or a unit ran again. None when a server does not answer.
async fn writer_figures(urls: &[String]) -> Option<String> {
    const COUNTERS: [&str; 5] = [
        "linli_group_commit_units_total",
        "linli_group_commit_batches_total",
        "linli_group_commit_fast_batches_total",
        "linli_group_commit_fallbacks_total",
        "linli_group_commit_reruns_total",
    ];
    let mut sums = [0.0_f64; 5];
    for url in urls {
        let text = reqwest::get(format!("{url}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            if let Some(i) = COUNTERS.iter().position(|c| *c == name) {
                sums[i] += value.parse::<f64>().unwrap_or(0.0);
            }
        }
    }
    let [units, batches, fast, fallbacks, reruns] = sums;
    Some(format!(
        "writers: {units} units in {batches} batches ({fast} fast, {fallbacks} fell back, {reruns} re-runs)"
    ))
}
