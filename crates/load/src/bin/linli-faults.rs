//! `linli-faults`: breaks an instance, Redis or PostgreSQL on purpose under a keyed write
//! load and checks that nothing acknowledged was lost or doubled (see `linli_load::faults`).
//!
//! ```text
//! cargo build --release -p api -p linli-load
//! target/release/linli-faults                         # every scenario, full length
//! target/release/linli-faults --scenario redis-down   # kill9, redis-down, pg-restart,
//!                                                     # slow-db, nginx, sigterm, backup-restore
//! target/release/linli-faults --smoke                 # shorter, for CI
//! ```
//!
//! Needs PostgreSQL's server programs (`initdb`, `pg_ctl`), `redis-server` and, for the
//! `nginx` scenario, nginx installed; it starts its own of each on free loopback ports.

use anyhow::Context;
use clap::Parser;
use linli_load::faults::{self, Setup};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "linli-faults",
    about = "Fault scenarios against real Linli servers under a keyed write load"
)]
struct Args {
    /// kill9, redis-down or pg-restart (repeat the flag); none for every one.
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// SIGKILLs in kill9.
    #[arg(long, default_value_t = 10)]
    kills: usize,
    /// Seconds Redis stays away in redis-down.
    #[arg(long, default_value_t = 60)]
    redis_outage: u64,
    /// Seconds PostgreSQL stays down in pg-restart.
    #[arg(long, default_value_t = 8)]
    postgres_down: u64,
    /// Writers of each kind of write (awards, reservations, bookings, demands).
    #[arg(long, default_value_t = 4)]
    writers: usize,
    /// The servers' database pool acquire wait, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    acquire_timeout_ms: u64,
    /// The servers' statement timeout, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    statement_timeout_ms: u64,
    /// Seconds the database stays slow (its accounts table locked) in slow-db.
    #[arg(long, default_value_t = 15)]
    slow_for: u64,
    /// Shorter runs for CI: 3 kills, Redis away 10 s, PostgreSQL down 4 s, the database slow
    /// for 5 s, 2 writers each.
    #[arg(long)]
    smoke: bool,
    #[arg(long, default_value = "target/faults/linli-faults.md")]
    out: PathBuf,
    /// The `linli` binary to start (default: the one beside this binary).
    #[arg(long)]
    binary: Option<PathBuf>,
    #[arg(long, default_value = "config")]
    config_dir: PathBuf,
    /// The deployment folder: its nginx.conf goes in front of the instances in `nginx`, its
    /// backup.sh and restore.sh run in `backup-restore`.
    #[arg(long, default_value = "deploy")]
    deploy_dir: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("linli-faults: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<bool> {
    let mut setup = Setup {
        binary: args
            .binary
            .clone()
            .unwrap_or_else(linli_load::servers::default_binary),
        config_dir: args.config_dir.clone(),
        writers_per_kind: args.writers,
        kills: args.kills,
        redis_outage: Duration::from_secs(args.redis_outage),
        postgres_down: Duration::from_secs(args.postgres_down),
        acquire_timeout: Duration::from_millis(args.acquire_timeout_ms),
        statement_timeout: Duration::from_millis(args.statement_timeout_ms),
        slow_for: Duration::from_secs(args.slow_for),
        deploy_dir: args.deploy_dir.clone(),
        log_dir: args.out.parent().map(|dir| dir.join("logs")),
    };
    if args.smoke {
        setup.kills = 3;
        setup.redis_outage = Duration::from_secs(10);
        setup.postgres_down = Duration::from_secs(4);
        setup.writers_per_kind = 2;
        setup.slow_for = Duration::from_secs(5);
    }
    let scenarios: Vec<String> = if args.scenarios.is_empty() {
        faults::SCENARIOS.iter().map(|s| s.to_string()).collect()
    } else {
        args.scenarios.clone()
    };
    let mut outcomes = Vec::new();
    for scenario in &scenarios {
        eprintln!("linli-faults: {scenario}");
        let begun = std::time::Instant::now();
        let mut outcome = faults::run(scenario, &setup).await?;
        outcome.figures.push((
            "scenario took".to_owned(),
            format!("{:.0} s", begun.elapsed().as_secs_f64()),
        ));
        for (name, value) in &outcome.figures {
            eprintln!("  {name}: {value}");
        }
        for failure in &outcome.failures {
            eprintln!("  FAILURE: {failure}");
        }
        outcomes.push(outcome);
    }
    let md = faults::markdown(&outcomes, &setup);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, &md).with_context(|| format!("writing {}", args.out.display()))?;
    // The report on standard output is what this command is for.
    #[allow(clippy::print_stdout)]
    {
        println!("{md}");
    }
    Ok(outcomes.iter().all(|o| o.failures.is_empty()))
}
