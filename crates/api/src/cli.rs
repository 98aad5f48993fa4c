//! The `linli` command line: `serve` (default), `migrate`, `admin ...`, `openapi`, `sim`.

use crate::startup::Application;
use clap::{Parser, Subcommand};
use identity::service::{orgs, staff};
use identity::OrgKind;
use platform::config::Settings;
use std::io::{BufRead, Write};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "linli",
    version,
    about = "Linli (邻里): the community mini-program backend"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks for bootstrapping a deployment.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Points ledger tasks.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Demand tasks.
    Demands {
        #[command(subcommand)]
        command: DemandsCommand,
    },
    /// Parking tasks.
    Parking {
        #[command(subcommand)]
        command: ParkingCommand,
    },
    /// Simulate the district through the API on a fresh database and check every figure
    /// against the simulation's own ground truth; exits non-zero on any difference.
    Sim {
        /// `demo-month` (one street, a month), `district-fortnight` (the district at a tenth
        /// of its people for a fortnight) or `pingcheng-year` (the whole district, a year).
        #[arg(long, default_value = "demo-month")]
        profile: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulate this many days instead of the profile's.
        #[arg(long)]
        days: Option<i64>,
        /// The first simulated day (Beijing), e.g. 2026-12-20, instead of 2026-01-01.
        #[arg(long)]
        start: Option<chrono::NaiveDate>,
        /// A fresh database (default: a new SQLite file under data/).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        redis_url: Option<String>,
        /// Where the Markdown report goes.
        #[arg(long, default_value = "sim-report.md")]
        report: String,
    },
}

#[derive(Subcommand)]
enum ParkingCommand {
    /// Check that no slot is booked twice for overlapping minutes; exits non-zero when one is.
    VerifyBookings,
}

#[derive(Subcommand)]
enum DemandsCommand {
    /// Recount the daily demand counts behind the metrics from the demands and compare;
    /// exits non-zero when they differ, unless `--rebuild` replaces them with the recount.
    VerifyCounts {
        #[arg(long)]
        rebuild: bool,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Check that the books balance; exits non-zero when they do not.
    Verify,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account; the password is read from standard input.
    AddStaff {
        #[arg(long)]
        username: String,
        /// community_staff, street_staff or district_admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        org_id: String,
    },
    /// Create an org (a district needs no parent); prints its id. With Redis configured,
    /// running servers show it at once; with the in-process cache, within 30 seconds.
    AddOrg {
        /// district, street, community or compound.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent_id: Option<String>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        let mut out = std::io::stdout().lock();
        return match out.write_all(crate::openapi::spec_json().as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("writing the spec: {e}")),
        };
    }
    let settings = match Settings::load(
        &Settings::config_dir_from_env(),
        &Settings::profile_from_env(),
    ) {
        Ok(s) => s,
        Err(e) => return fail(&format!("{e}")),
    };
    let mut settings = settings;
    if matches!(cli.command, Some(Command::Sim { .. })) {
        // A simulated year is millions of requests: only warnings go to the log.
        settings.log.filter = "warn".to_owned();
    }
    crate::telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("starting the runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve | Command::Openapi => serve(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::Sim {
                profile,
                seed,
                days,
                start,
                database_url,
                redis_url,
                report,
            } => {
                let args = crate::simulate::SimArgs {
                    profile,
                    seed,
                    days,
                    start,
                    database_url,
                    redis_url,
                    report,
                };
                match crate::simulate::simulate(settings, args).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(anyhow::anyhow!("the simulation found differences")),
                    Err(e) => Err(e),
                }
            }
            Command::Admin { command } => admin(settings, command).await,
            Command::Ledger {
                command: LedgerCommand::Verify,
            } => verify_ledger(settings).await,
            Command::Demands {
                command: DemandsCommand::VerifyCounts { rebuild },
            } => verify_demand_counts(settings, rebuild).await,
            Command::Parking {
                command: ParkingCommand::VerifyBookings,
            } => verify_bookings(settings).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

fn fail(message: &str) -> ExitCode {
    tracing::error!("{message}");
    eprintln!("linli: {message}");
    ExitCode::FAILURE
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    if settings.demo.seed && settings.demo.simulated_month {
        crate::simulate::give_demo_history(&settings).await?;
    }
    Application::build(settings)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let db = platform::db::connect(&settings.database).await?;
    crate::migrator::migrate(&db).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn verify_demand_counts(settings: Settings, rebuild: bool) -> anyhow::Result<()> {
    use demands::service::rollup;
    use sea_orm::TransactionTrait;
    let db = platform::db::connect(&settings.database).await?;
    crate::migrator::migrate(&db).await?;
    let differences = rollup::verify(&db).await?;
    let mut out = std::io::stdout().lock();
    for (key, stored, recounted) in &differences {
        writeln!(
            out,
            "MISMATCH day {} community {} category {}: stored {stored:?}, recounted {recounted:?}",
            key.day_start, key.community_id, key.category_id
        )?;
    }
    if differences.is_empty() {
        writeln!(out, "daily demand counts agree with the demands")?;
        return Ok(());
    }
    if rebuild {
        let txn = db.begin().await?;
        rollup::rebuild(&txn).await?;
        txn.commit().await?;
        writeln!(out, "daily demand counts rebuilt from the demands")?;
        return Ok(());
    }
    anyhow::bail!(
        "{} daily demand counts differ from the demands (run with --rebuild to replace them)",
        differences.len()
    )
}

async fn verify_bookings(settings: Settings) -> anyhow::Result<()> {
    let db = platform::db::connect(&settings.database).await?;
    crate::migrator::migrate(&db).await?;
    let overlaps = parking::service::bookings::overlapping_pairs(&db).await?;
    writeln!(std::io::stdout().lock(), "overlapping bookings: {overlaps}")?;
    if overlaps != 0 {
        anyhow::bail!("{overlaps} pairs of live bookings overlap on one slot");
    }
    Ok(())
}

async fn verify_ledger(settings: Settings) -> anyhow::Result<()> {
    let db = platform::db::connect(&settings.database).await?;
    crate::migrator::migrate(&db).await?;
    let report =
        points_ledger::service::verify::verify(&platform::db::snapshot(&db).await?).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "balanced: {}  accounts: {}  transfers: {}",
        report.balanced, report.accounts_checked, report.transfers_checked
    )?;
    for asset in &report.assets {
        writeln!(out, "asset {}: sum {}", asset.asset, asset.sum)?;
    }
    for m in &report.mismatches {
        writeln!(
            out,
            "MISMATCH {} {}: expected {}, found {}",
            m.check, m.subject, m.expected, m.actual
        )?;
    }
    if !report.balanced {
        anyhow::bail!(
            "the ledger does not balance ({} mismatches)",
            report.mismatches.len()
        );
    }
    Ok(())
}

/// The org tree that running servers keep rendered is stale now: with Redis, bump its
/// generation there so every instance renders it afresh; with each server's in-process
/// cache there is nothing this process can reach, and the stored tree lapses by itself.
async fn tell_running_servers(settings: &Settings) {
    let Some(url) = settings.redis_url() else {
        eprintln!(
            "no Redis configured: running servers show the new org within {} seconds",
            crate::public_reads::KEPT_FOR.as_secs()
        );
        return;
    };
    let bumped = match platform::cache::Cache::redis(url, &settings.redis.key_prefix).await {
        Ok(cache) => crate::public_reads::forget_in(&cache, crate::public_reads::Family::Orgs)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = bumped {
        eprintln!(
            "warning: could not reach Redis ({e}); running servers show the new org within {} seconds",
            crate::public_reads::KEPT_FOR.as_secs()
        );
    }
}

async fn admin(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    let db = platform::db::connect(&settings.database).await?;
    crate::migrator::migrate(&db).await?;
    let now = chrono::Utc::now();
    match command {
        AdminCommand::AddStaff {
            username,
            role,
            org_id,
        } => {
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let new = staff::NewStaff::parse(&username, password, &role, &org_id)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let created = staff::add_staff_account(&db, new, now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", created.user_id)?;
        }
        AdminCommand::AddOrg {
            kind,
            name,
            parent_id,
        } => {
            let kind = OrgKind::parse(&kind).ok_or_else(|| {
                anyhow::anyhow!("--kind must be district, street, community or compound")
            })?;
            let parent = match &parent_id {
                Some(id) => Some(
                    orgs::find(&db, id)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .ok_or_else(|| anyhow::anyhow!("no org with id {id}"))?,
                ),
                None => None,
            };
            if kind.parent_kind().map(OrgKind::as_str) != parent.as_ref().map(|p| p.kind.as_str()) {
                anyhow::bail!(
                    "a {} must have a parent of kind {:?}",
                    kind.as_str(),
                    kind.parent_kind().map(OrgKind::as_str)
                );
            }
            let created = orgs::insert_org(&db, kind, name.trim(), parent.as_ref(), now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tell_running_servers(&settings).await;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", created.id)?;
        }
    }
    Ok(())
}
