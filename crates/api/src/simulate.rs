//! `linli sim`: hosts the real server for the district simulator (`linli-sim`). The
//! database must be fresh; the district and its admin are bootstrapped as an operator does
//! with `linli admin`, and the server runs in this process, on a free port, on the
//! simulator's clock, with its background jobs run by the simulator at each simulated hour
//! instead of by the timer.

use crate::startup::Application;
use crate::state::AppState;
use anyhow::Context;
use identity::service::{orgs, staff};
use identity::OrgKind;
use linli_sim::{Hosted, Options, Profile, Round};
use platform::config::Settings;
use platform::{Reach, Secret};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

pub struct SimArgs {
    pub profile: String,
    pub seed: u64,
    pub days: Option<i64>,
    /// The first simulated day (Beijing) instead of the profile's.
    pub start: Option<chrono::NaiveDate>,
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub report: String,
}

const ADMIN: &str = "sim-admin";

/// The settings of a simulated server: the given database (default a fresh SQLite file under
/// `data/`) and Redis, hosted for the simulator.
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
    Ok(hosted(settings))
}

/// A server hosted for the simulator: no demo data of its own, jobs driven by the
/// simulator, on a free loopback port, with a login limit fit for a whole district logging
/// in from the simulator's one address.
fn hosted(mut settings: Settings) -> Settings {
    settings.demo.seed = false;
    settings.jobs.enabled = false;
    settings.server.host = "127.0.0.1".to_owned();
    settings.server.port = 0;
    // One worker a server: the run has a server per street, and each street sends one
    // request at a time.
    settings.server.workers = 1;
    settings.rate_limit.login_per_ip_per_minute = 1_000_000;
    settings
}

/// The district and its admin, in a database that must hold no org yet.
async fn bootstrap(
    settings: &Settings,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<String> {
    let db = platform::db::connect(&settings.database)
        .await
        .context("connecting to the database (--database-url)")?;
    crate::migrator::migrate(&db).await?;
    let existing = identity::entity::org::Entity::find().count(&db).await?;
    if existing > 0 {
        anyhow::bail!("the simulator needs a fresh database; this one has {existing} orgs");
    }
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
            "--profile must be demo-month, district-fortnight or pingcheng-year, not {}",
            args.profile
        )
    })?;
    if let Some(days) = args.days {
        profile.days = days.clamp(1, 3660);
    }
    if let Some(day) = args.start {
        profile.start = platform::clock::local_day_start(
            day.and_time(chrono::NaiveTime::MIN).and_utc() + chrono::Duration::hours(12),
        );
    }
    let mut settings = settings_for(settings, &args).await?;
    settings.ledger.points_expire_years_after = profile.points_expire_years_after;
    let district_id = bootstrap(&settings, profile.start).await?;
    let clocks = linli_sim::clocks(&profile);
    let servers = Servers::start(settings.clone(), &clocks).await?;
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
        urls: servers.urls.clone(),
        jobs: jobs_of(servers.states.clone()),
        district_id,
        admin_username: ADMIN.to_owned(),
        admin_password: linli_sim::STAFF_PASSWORD.to_owned(),
        backend: backend.to_owned(),
        street: None,
        street_rounds: street_rounds(&settings),
    };
    let options = Options {
        profile,
        seed: args.seed,
        checks: true,
    };
    let outcome = linli_sim::run(options, clocks, hosted).await;
    servers.stop();
    let outcome = outcome?;
    std::fs::write(&args.report, &outcome.report)
        .with_context(|| format!("writing the report to {}", args.report))?;
    // The verdict is the command's answer, like `linli admin add-org` printing an id.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} (report: {})", outcome.verdict, args.report)?;
    Ok(outcome.passed)
}

/// Whether each street runs its own job rounds: on PostgreSQL, not on SQLite, whose one
/// writer would take twelve streets' rounds in turn (`Hosted::street_rounds`).
fn street_rounds(settings: &Settings) -> bool {
    !settings.database.url.expose().starts_with("sqlite:")
}

/// The run's servers, one per clock, over one database: the first is the coordinator's,
/// then one per shard.
struct Servers {
    urls: Vec<String>,
    states: Vec<AppState>,
    running: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Servers {
    async fn start(settings: Settings, clocks: &[platform::Clock]) -> anyhow::Result<Self> {
        let doors = Application::build_doors(settings, clocks.to_vec()).await?;
        let states: Vec<AppState> = doors.iter().map(|door| door.state().clone()).collect();
        if states.is_empty() {
            anyhow::bail!("no server for the run");
        }
        let urls = doors
            .iter()
            .map(|door| format!("http://127.0.0.1:{}", door.port()))
            .collect();
        let running = doors
            .into_iter()
            .map(|door| tokio::spawn(door.run_hosted()))
            .collect();
        Ok(Self {
            urls,
            states,
            running,
        })
    }

    fn stop(self) {
        for server in self.running {
            server.abort();
        }
    }
}

/// A round of the server's real jobs, for the simulator to run: the district's on the
/// coordinator's server (`states[0]`), or a street's on its shard's server and clock
/// (`states[shard + 1]`), narrowed to the street's subtree. It answers the work of the
/// district's batched jobs the round did (the simulator runs district rounds until one
/// does none).
fn jobs_of(states: Vec<AppState>) -> linli_sim::Jobs {
    // A street's path never changes; asked once, not at each of its 8,760 rounds a year.
    let paths = Arc::new(Mutex::new(HashMap::<String, String>::new()));
    Arc::new(move |round| {
        let (states, paths) = (states.clone(), paths.clone());
        Box::pin(async move {
            let (state, reach) = match round {
                Round::District => (&states[0], Reach::Everywhere),
                Round::Street { shard, street_id } => {
                    let state = states
                        .get(shard + 1)
                        .with_context(|| format!("no server for shard {shard}"))?;
                    let known = paths
                        .lock()
                        .map_err(|_| anyhow::anyhow!("poisoned"))?
                        .get(&street_id)
                        .cloned();
                    let path = match known {
                        Some(path) => path,
                        None => {
                            let street = orgs::find(&state.db, &street_id)
                                .await?
                                .with_context(|| format!("no street {street_id}"))?;
                            paths
                                .lock()
                                .map_err(|_| anyhow::anyhow!("poisoned"))?
                                .insert(street_id, street.path.clone());
                            street.path
                        }
                    };
                    (state, Reach::Under(path))
                }
            };
            let round = crate::jobs::run_round(state, &reach).await?;
            let messages = &round.messages;
            Ok(round.points_expired.unsigned_abs()
                + round.idempotency_records_purged
                + messages.sent
                + messages.refused
                + messages.failed)
        })
    })
}

/// The street whose first communities the demo database's simulated month fills in.
const DEMO_STREET: &str = "新华街道";
/// The staff account the month creates for its first community: its presence marks a demo
/// database that already has its history.
const DEMO_HISTORY_MARK: &str = "community1";

/// Gives a new demo database the simulated month before today: `demo-month` (seed 1) run
/// through the API in 新华街道 by the demo staff, on a clock frozen 30 days back and moved
/// to today's midnight, by a server of its own that is gone before the real one starts.
/// The curated demo data is seeded first, at today's time. Nothing is checked: `linli sim`
/// is where the figures are compared with the truth.
pub async fn give_demo_history(settings: &Settings) -> anyhow::Result<()> {
    let db = platform::db::connect(&settings.database)
        .await
        .context("connecting to the database (database.url)")?;
    crate::migrator::migrate(&db).await?;
    let marked = identity::entity::staff_account::Entity::find()
        .filter(identity::entity::staff_account::Column::Username.eq(DEMO_HISTORY_MARK))
        .count(&db)
        .await?;
    if marked > 0 {
        return Ok(());
    }
    let sealer =
        care::sealed::Sealer::from_base64(settings.care.key()).context("care.encryption_key")?;
    crate::seed::run(&db, &platform::Clock::system(), &sealer)
        .await
        .context("seeding demo data")?;
    let district = identity::entity::org::Entity::find()
        .filter(identity::entity::org::Column::Name.eq(crate::seed::DISTRICT))
        .one(&db)
        .await?
        .context("the demo district")?;
    db.close().await?;
    tracing::info!(
        "giving the new demo database a simulated month in {DEMO_STREET} (once, about 15 s)"
    );
    let profile = Profile::month_before(chrono::Utc::now());
    let clocks = linli_sim::clocks(&profile);
    let mut hosted_settings = hosted(settings.clone());
    hosted_settings.log.requests = false;
    let servers = Servers::start(hosted_settings, &clocks).await?;
    let hosted = Hosted {
        urls: servers.urls.clone(),
        jobs: jobs_of(servers.states.clone()),
        district_id: district.id,
        admin_username: "admin".to_owned(),
        admin_password: crate::seed::DEMO_PASSWORD.to_owned(),
        backend: String::new(),
        street: Some(linli_sim::ExistingStreet {
            name: DEMO_STREET.to_owned(),
            staff_username: "street".to_owned(),
            staff_password: crate::seed::DEMO_PASSWORD.to_owned(),
        }),
        street_rounds: street_rounds(settings),
    };
    let options = Options {
        profile,
        seed: 1,
        checks: false,
    };
    let outcome = linli_sim::run(options, clocks, hosted).await;
    servers.stop();
    outcome.context("simulating the demo month")?;
    Ok(())
}
