//! Ledger throughput benchmark: transfers per second and p50/p99 latency at several client
//! counts, with uniformly spread accounts and with one hot merchant account that every
//! transfer credits, on SQLite or PostgreSQL. Each transfer is a real use case: its own
//! transaction, idempotency key, conditional debit, entries and expiry lots; then the same
//! through group commit (`TransferBatcher`: many transfers per transaction and commit), and
//! through the group commit the HTTP routes use (`platform::group_commit`: each transfer a
//! keyed unit with its idempotency record, on the fast path the batch keeps its transfers
//! and writes them, each balance once, at its end). The ledger is verified after every run;
//! the results go to a Markdown file.
//!
//! ```text
//! cargo run --release -p points-ledger --bin ledger-bench                      # SQLite
//! cargo run --release -p points-ledger --bin ledger-bench -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/postgres               # PostgreSQL
//! ```

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Parser;
use futures_util::future::join_all;
use platform::group_commit::{Committer, Limits};
use platform::unit_of_work::Request;
use points_ledger::service::batch::TransferBatcher;
use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
use points_ledger::service::verify::verify;
use points_ledger::{AccountKind, AccountRef, Asset, ExpiryRule};
use rand::Rng;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Measure ledger transfers per second and latency")]
struct Args {
    /// `postgres://...` (a fresh database is created beside it) or omitted for SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// Concurrent clients, one run each.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 20, 64])]
    clients: Vec<usize>,
    /// Transfers per run.
    #[arg(long, default_value_t = 4000)]
    transfers: usize,
    /// Resident wallets debited.
    #[arg(long, default_value_t = 1000)]
    wallets: usize,
    /// Merchant accounts credited in the uniform scenario.
    #[arg(long, default_value_t = 200)]
    merchants: usize,
    /// Batch workers for group commit.
    #[arg(long, default_value_t = 2)]
    batch_workers: usize,
    /// Largest batch in group commit.
    #[arg(long, default_value_t = 256)]
    max_batch: usize,
    /// Where the Markdown results go.
    #[arg(long, default_value = "target/bench/ledger-bench.md")]
    out: PathBuf,
}

struct LedgerMigrator;

impl MigratorTrait for LedgerMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // The platform's tables too: the routes' group commit keeps idempotency records.
        let mut all = platform::migration::migrations();
        all.extend(points_ledger::migration::migrations());
        all
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Uniform,
    HotMerchant,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::HotMerchant => "hot merchant",
        }
    }
}

/// How each transfer reaches the database.
#[derive(Clone)]
enum Mode {
    /// Its own transaction and commit.
    PerRequest,
    /// Through the batcher: many transfers per commit.
    GroupCommit(TransferBatcher),
    /// As the HTTP routes post them: keyed units of `platform::group_commit`, routed by the
    /// credited account, transfers kept by the batch and written at its end.
    Routes(Committer),
}

impl Mode {
    fn name(&self) -> &'static str {
        match self {
            Self::PerRequest => "one commit each",
            Self::GroupCommit(_) => "group commit",
            Self::Routes(_) => "routes' group commit",
        }
    }
}

struct RunResult {
    mode: &'static str,
    scenario: Scenario,
    clients: usize,
    transfers: usize,
    failed: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl RunResult {
    fn per_second(&self) -> f64 {
        self.transfers as f64 / self.elapsed.as_secs_f64()
    }
}

async fn fresh_database(
    url: Option<&str>,
    max_connections: u32,
) -> anyhow::Result<(DatabaseConnection, String)> {
    let url = match url {
        Some(admin) if admin.starts_with("postgres") => {
            let name = format!("linli_bench_{}", uuid::Uuid::now_v7().simple());
            let conn = Database::connect(admin)
                .await
                .context("connecting to PostgreSQL")?;
            conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            conn.close().await?;
            let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
            format!("{base}/{name}")
        }
        Some(other) => bail!("unsupported database URL {other}"),
        None => {
            let dir = std::env::temp_dir().join("linli-bench");
            std::fs::create_dir_all(&dir)?;
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{}.db", uuid::Uuid::now_v7().simple()))
                    .display()
            )
        }
    };
    let settings = platform::config::DatabaseSettings {
        max_connections,
        ..platform::config::DatabaseSettings::for_url(url.clone())
    };
    let db = platform::db::connect(&settings).await?;
    LedgerMigrator::up(&db, None).await?;
    Ok((db, url))
}

async fn fund_wallets(db: &DatabaseConnection, wallets: usize) -> anyhow::Result<()> {
    for w in 0..wallets {
        let txn = db.begin().await?;
        transfer(
            &txn,
            TransferRequest {
                idempotency_key: format!("fund-{w}"),
                from: AccountRef::treasury("bench-district"),
                to: AccountRef::wallet(Asset::Points, &format!("resident-{w}")),
                amount: 1_000_000,
                code: TransferCode::Award,
                memo: String::new(),
                reference: None,
            },
            ExpiryRule::default(),
            Utc::now(),
        )
        .await?;
        txn.commit().await?;
    }
    Ok(())
}

async fn run(
    db: &DatabaseConnection,
    args: &Args,
    mode: &Mode,
    scenario: Scenario,
    clients: usize,
    run_id: usize,
) -> anyhow::Result<RunResult> {
    let per_client = args.transfers / clients;
    let started = Instant::now();
    let tasks = (0..clients).map(|c| {
        let db = db.clone();
        let mode = mode.clone();
        let (wallets, merchants) = (args.wallets, args.merchants);
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            let mut failed = 0usize;
            for i in 0..per_client {
                let (wallet, merchant) = {
                    let mut rng = rand::rng();
                    let merchant = match scenario {
                        Scenario::Uniform => rng.random_range(0..merchants),
                        Scenario::HotMerchant => 0,
                    };
                    (rng.random_range(0..wallets), merchant)
                };
                let begun = Instant::now();
                let request = TransferRequest {
                    idempotency_key: format!("run{run_id}-c{c}-t{i}"),
                    from: AccountRef::wallet(Asset::Points, &format!("resident-{wallet}")),
                    to: AccountRef::new(
                        Asset::Points,
                        AccountKind::Merchant,
                        format!("merchant-{merchant}"),
                    ),
                    amount: 1,
                    code: TransferCode::Redemption,
                    memo: String::new(),
                    reference: None,
                };
                let result = match &mode {
                    Mode::PerRequest => {
                        async {
                            let txn = db.begin().await?;
                            transfer(&txn, request, ExpiryRule::default(), Utc::now()).await?;
                            txn.commit().await?;
                            anyhow::Ok(())
                        }
                        .await
                    }
                    Mode::GroupCommit(batcher) => batcher
                        .submit(request)
                        .await
                        .map(|_| ())
                        .map_err(anyhow::Error::from),
                    Mode::Routes(committer) => {
                        let route = request.to.owner_id.clone();
                        let keyed = Request::new(
                            &format!("resident-{wallet}"),
                            Some(request.idempotency_key.clone()),
                            &(wallet, merchant, request.amount),
                        );
                        let now = Utc::now();
                        committer
                            .run(Some(&route), keyed, 201, now, move |txn| {
                                Box::pin(async move {
                                    transfer(txn, request, ExpiryRule::default(), now)
                                        .await
                                        .map(|posted| posted.transfer.id)
                                })
                            })
                            .await
                            .map(|_| ())
                            .map_err(anyhow::Error::from)
                    }
                };
                latencies.push(begun.elapsed());
                if result.is_err() {
                    failed += 1;
                }
            }
            (latencies, failed)
        })
    });
    let mut latencies = Vec::with_capacity(args.transfers);
    let mut failed = 0;
    for result in join_all(tasks).await {
        let (l, f) = result?;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(RunResult {
        mode: mode.name(),
        scenario,
        clients,
        transfers: latencies.len(),
        failed,
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let (db, url) = fresh_database(
        args.database_url.as_deref(),
        u32::try_from(max_clients).unwrap_or(64),
    )
    .await?;
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    eprintln!(
        "ledger-bench on {backend}: funding {} wallets",
        args.wallets
    );
    fund_wallets(&db, args.wallets).await?;

    let mut results = Vec::new();
    let mut run_id = 0;
    let batcher = TransferBatcher::start(
        db.clone(),
        if backend == "SQLite" {
            1
        } else {
            args.batch_workers
        },
        args.max_batch,
        ExpiryRule::default(),
        platform::Clock::system(),
    );
    let committer = Committer::start(
        db.clone(),
        Limits {
            batch: args.max_batch,
            lanes: args.batch_workers,
            ..Limits::default()
        },
    );
    let modes = [
        Mode::PerRequest,
        Mode::GroupCommit(batcher),
        Mode::Routes(committer),
    ];
    for mode in &modes {
        for scenario in [Scenario::Uniform, Scenario::HotMerchant] {
            for &clients in &args.clients {
                run_id += 1;
                let result = run(&db, &args, mode, scenario, clients, run_id).await?;
                let report = verify(&db).await?;
                if !report.balanced {
                    bail!(
                        "the ledger does not verify after {} with {clients} clients: {:?}",
                        scenario.name(),
                        report.mismatches
                    );
                }
                eprintln!(
                "{:>15} {:>12} {:>3} clients: {:>7.0} transfers/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} failed; verified)",
                mode.name(),
                scenario.name(),
                clients,
                result.per_second(),
                result.p50.as_secs_f64() * 1000.0,
                result.p99.as_secs_f64() * 1000.0,
                result.failed
            );
                results.push(result);
            }
        }
    }

    let mut md = String::new();
    writeln!(md, "# ledger-bench on {backend}")?;
    writeln!(md)?;
    writeln!(
        md,
        "{} transfers per run, {} funded wallets, {} merchants (uniform); {} cores; ledger verified after every run.",
        args.transfers,
        args.wallets,
        args.merchants,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    )?;
    writeln!(md)?;
    writeln!(
        md,
        "| mode | scenario | clients | transfers/s | p50 ms | p99 ms | failed |"
    )?;
    writeln!(md, "|---|---|---:|---:|---:|---:|---:|")?;
    for r in &results {
        writeln!(
            md,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            r.mode,
            r.scenario.name(),
            r.clients,
            r.per_second(),
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0,
            r.failed
        )?;
    }
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let out = args.out.with_file_name(format!(
        "{}-{}.md",
        args.out
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("ledger-bench"),
        backend.to_lowercase()
    ));
    std::fs::File::create(&out)?.write_all(md.as_bytes())?;
    eprintln!("results written to {}", out.display());
    Ok(())
}
