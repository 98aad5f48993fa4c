//! `linli sim`: hosts the real server for the district simulator (`linli-sim`). The
//! database must be fresh; the district and its admin are bootstrapped as an operator does
//! with `linli admin`, and the server runs in this process, on a free port, on the
//! simulator's clock, with its background jobs run by the simulator at each simulated hour
//! instead of by the timer.

use crate::startup::Application;
use anyhow::Context;
use identity::service::{orgs, staff};
use identity::OrgKind;
use linli_sim::{Hosted, Options, Profile};
use platform::config::Settings;
use platform::Secret;
use sea_orm::{EntityTrait, PaginatorTrait};
use std::io::Write;

pub struct SimArgs {
    pub profile: String,
    pub seed: u64,
    pub days: Option<i64>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub report: String,
}

const ADMIN: &str = "sim-admin";

/// The settings of a simulated server: the given database (default a fresh SQLite file under
/// `data/`), no demo data, jobs driven by the simulator, and a login limit fit for a whole
/// district logging in from the simulator's one address.
async fn settings_for(mut settings: Settings, args: &SimArgs) -> anyhow::Result<Settings> {
    let url = match &args.database_url {
        Some(url) => url.clone(),
        None => {
            let file = format!("data/sim-{}-{}.db", args.profile, args.seed);
            std::fs::create_dir_all("data")?;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
            format!("sqlite://{file}?mode=rwc")
        }
    };
    settings.database.url = Secret::new(url);
    settings.redis.url = args.redis_url.clone().map(Secret::new);
    settings.demo.seed = false;
    settings.jobs.enabled = false;
    settings.server.host = "127.0.0.1".to_owned();
    settings.server.port = 0;
    settings.rate_limit.login_per_ip_per_minute = 1_000_000;
    Ok(settings)
}

/// The district and its admin, in a database that must hold no org yet.
async fn bootstrap(settings: &Settings) -> anyhow::Result<String> {
    let db = platform::db::connect(&settings.database)
        .await
        .context("connecting to the database (--database-url)")?;
    crate::migrator::migrate(&db).await?;
    let existing = identity::entity::org::Entity::find().count(&db).await?;
    if existing > 0 {
        anyhow::bail!("the simulator needs a fresh database; this one has {existing} orgs");
    }
    let now = linli_sim::clock().now();
    let district = orgs::insert_org(&db, OrgKind::District, "平城区", None, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin = staff::NewStaff::parse(
        ADMIN,
        linli_sim::STAFF_PASSWORD,
        "district_admin",
        &district.id,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    staff::add_staff_account(&db, admin, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    db.close().await?;
    Ok(district.id)
}

/// Runs the simulation; `Ok(false)` when a figure differs from the truth.
pub async fn simulate(settings: Settings, args: SimArgs) -> anyhow::Result<bool> {
    let mut profile = Profile::named(&args.profile).ok_or_else(|| {
        anyhow::anyhow!(
            "--profile must be demo-month or pingcheng-year, not {}",
            args.profile
        )
    })?;
    if let Some(days) = args.days {
        profile.days = days.clamp(1, 3660);
    }
    let settings = settings_for(settings, &args).await?;
    let district_id = bootstrap(&settings).await?;
    let clock = linli_sim::clock();
    let app = Application::build_with_clock(settings.clone(), clock.clone()).await?;
    let state = app.state().clone();
    let url = format!("http://127.0.0.1:{}", app.port());
    let server = tokio::spawn(app.run_until_stopped());
    let jobs: linli_sim::Jobs = Box::new(move || {
        let state = state.clone();
        Box::pin(async move { crate::jobs::run_once(&state).await.map(|_| ()) })
    });
    let backend = match (
        settings.database.url.expose().starts_with("sqlite:"),
        settings.redis.url.is_some(),
    ) {
        (true, false) => "SQLite",
        (true, true) => "SQLite + Redis",
        (false, false) => "PostgreSQL",
        (false, true) => "PostgreSQL + Redis",
    };
    let hosted = Hosted {
        url,
        jobs,
        district_id,
        admin_username: ADMIN.to_owned(),
        admin_password: linli_sim::STAFF_PASSWORD.to_owned(),
        backend: backend.to_owned(),
    };
    let options = Options {
        profile,
        seed: args.seed,
    };
    let outcome = linli_sim::run(options, clock, hosted).await;
    server.abort();
    let outcome = outcome?;
    std::fs::write(&args.report, &outcome.report)
        .with_context(|| format!("writing the report to {}", args.report))?;
    // The verdict is the command's answer, like `linli admin add-org` printing an id.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} (report: {})", outcome.verdict, args.report)?;
    Ok(outcome.passed)
}
