//! Faults made on purpose under a keyed write load. Each scenario starts its own PostgreSQL
//! ([`postgres::PrivatePostgres`]) and `redis-server` (`platform::testing::RedisServer`), two
//! Linli instances on them, and the write load of [`traffic::Traffic`]; it makes its fault,
//! lets the load run on, then settles every unanswered write with its key and checks that
//! nothing acknowledged was lost or doubled, that no write answered 500, that the ledger
//! balances, that no slot is booked twice and that the demand counts equal a recount.
//!
//! - `kill9`: SIGKILL to one instance or the other at random moments, restarted at once.
//! - `redis-down`: Redis killed for a while and started again empty; a logout meanwhile.
//! - `pg-restart`: PostgreSQL stopped (every connection cut) and started again.
//! - `slow-db`: the ledger's accounts locked from outside while a flood of reads arrives.
//! - `nginx`: one instance killed repeatedly behind `deploy/nginx.conf` in a real nginx.
//! - `sigterm`: a rolling restart behind nginx, each instance stopped with SIGTERM in turn.
//! - `backup-restore`: `deploy/backup.sh` and `deploy/restore.sh`, then the dashboard
//!   compared.

mod backup;
mod behind_nginx;
pub mod postgres;
mod slow_database;
pub mod traffic;

use crate::client::{Linli, Recorder};
use crate::servers::{Fleet, Launch};
use anyhow::Context;
use platform::testing::RedisServer;
use postgres::PrivatePostgres;
use rand::Rng;
use reqwest::StatusCode;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use traffic::{Kind, Traffic};

pub const SCENARIOS: [&str; 7] = [
    "kill9",
    "redis-down",
    "pg-restart",
    "slow-db",
    "nginx",
    "sigterm",
    "backup-restore",
];

/// What every scenario needs to know.
#[derive(Clone)]
pub struct Setup {
    pub binary: PathBuf,
    pub config_dir: PathBuf,
    /// Writers of each kind of write.
    pub writers_per_kind: usize,
    /// SIGKILLs in `kill9`.
    pub kills: usize,
    /// How long Redis stays away in `redis-down`.
    pub redis_outage: Duration,
    /// How long PostgreSQL stays down in `pg-restart`.
    pub postgres_down: Duration,
    /// The servers' pool acquire wait (`database.acquire_timeout_ms`): how long a request
    /// may wait for a database connection before it answers 503.
    pub acquire_timeout: Duration,
    /// The servers' `database.statement_timeout_ms`.
    pub statement_timeout: Duration,
    /// How long the database stays slow in `slow-db`.
    pub slow_for: Duration,
    /// The deployment's folder (`deploy/`): nginx.conf for `nginx`, backup.sh and
    /// restore.sh for `backup-restore`.
    pub deploy_dir: PathBuf,
    /// Where the servers' logs go, one file per instance.
    pub log_dir: Option<PathBuf>,
}

/// A scenario's figures (name, value) and failures (none: it passed).
pub struct Outcome {
    pub scenario: &'static str,
    pub figures: Vec<(String, String)>,
    pub failures: Vec<String>,
}

impl Outcome {
    fn figure(&mut self, name: &str, value: impl ToString) {
        self.figures.push((name.to_owned(), value.to_string()));
    }

    fn fail(&mut self, failure: String) {
        self.failures.push(failure);
    }
}

/// The services and servers of one scenario, and the load on them.
struct Stage {
    postgres: PrivatePostgres,
    redis: RedisServer,
    fleet: Fleet,
    api: Linli,
    traffic: Arc<Traffic>,
    stop: Arc<AtomicBool>,
    load: Option<tokio::task::JoinHandle<()>>,
}

/// The services and servers, before any client.
struct Servers {
    postgres: PrivatePostgres,
    redis: RedisServer,
    fleet: Fleet,
}

impl Stage {
    /// Everything, the clients talking to the instances in turn.
    async fn build(setup: &Setup) -> anyhow::Result<Self> {
        let servers = Self::servers(setup).await?;
        let urls = servers.fleet.urls.clone();
        Self::with_clients(setup, servers, &urls).await
    }

    async fn servers(setup: &Setup) -> anyhow::Result<Servers> {
        let postgres = PrivatePostgres::start().context("starting a PostgreSQL of our own")?;
        let redis = RedisServer::start()
            .await
            .context("starting a redis-server of our own")?;
        let database_url =
            platform::db::create_fresh_database(Some(&postgres.admin_url), "linli_faults")
                .await
                .context("creating the database")?;
        let fleet = Fleet::start(Launch {
            binary: setup.binary.clone(),
            config_dir: setup.config_dir.clone(),
            database_url,
            redis_url: Some(redis.url.clone()),
            redis_prefix: "linli-faults:".to_owned(),
            instances: 2,
            pool: 16,
            lanes: 2,
            extra_env: vec![
                (
                    "LINLI__DATABASE__ACQUIRE_TIMEOUT_MS".to_owned(),
                    setup.acquire_timeout.as_millis().to_string(),
                ),
                (
                    "LINLI__DATABASE__STATEMENT_TIMEOUT_MS".to_owned(),
                    setup.statement_timeout.as_millis().to_string(),
                ),
                // The servers' own account of the faults (starts, stops, Redis marked down
                // and back) in the log folder, without a line per request.
                ("LINLI__LOG__FILTER".to_owned(), "info,sqlx=warn".to_owned()),
                ("LINLI__LOG__REQUESTS".to_owned(), "false".to_owned()),
            ],
            log_dir: setup.log_dir.clone(),
        })
        .await?;
        Ok(Servers {
            postgres,
            redis,
            fleet,
        })
    }

    /// The write load's residents and clients, talking to `urls` (the instances, or a load
    /// balancer in front of them).
    async fn with_clients(
        setup: &Setup,
        servers: Servers,
        urls: &[String],
    ) -> anyhow::Result<Self> {
        let api = Linli::new(urls, 64, Recorder::default())?;
        let traffic = Traffic::prepare(&api, setup.writers_per_kind).await?;
        Ok(Self {
            postgres: servers.postgres,
            redis: servers.redis,
            fleet: servers.fleet,
            api,
            traffic,
            stop: Arc::new(AtomicBool::new(false)),
            load: None,
        })
    }

    fn start_load(&mut self) {
        let traffic = self.traffic.clone();
        let stop = self.stop.clone();
        self.load = Some(tokio::spawn(async move { traffic.run(stop).await }));
    }

    /// Stops the load and waits for its last requests.
    async fn stop_load(&mut self) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(load) = self.load.take() {
            load.await.context("the load panicked")?;
        }
        Ok(())
    }

    /// Stops the load, settles and checks; fills the common figures into `outcome`.
    async fn finish(mut self, setup: &Setup, outcome: &mut Outcome) -> anyhow::Result<()> {
        self.stop_load().await?;
        let resent = self.traffic.settle().await;
        let steps_resent = self.traffic.settle_steps().await;
        let writes = self.traffic.writes();
        outcome.figure("keyed writes", writes.len());
        for kind in Kind::ALL {
            let acknowledged = writes
                .iter()
                .filter(|w| w.kind == kind && w.outcome().acknowledged())
                .count();
            outcome.figure(&format!("{} acknowledged", kind.name()), acknowledged);
        }
        let mut first_failures: std::collections::BTreeMap<String, usize> = Default::default();
        for write in writes.iter().filter(|w| !w.first.acknowledged()) {
            *first_failures.entry(write.first.label()).or_default() += 1;
        }
        outcome.figure(
            "not acknowledged at first, by answer",
            if first_failures.is_empty() {
                "none".to_owned()
            } else {
                first_failures
                    .iter()
                    .map(|(label, n)| format!("{label}: {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        outcome.figure("sent again with their keys", resent);
        let steps = self.traffic.steps();
        for action in ["verify", "accept", "start", "resolve"] {
            let of_action: Vec<_> = steps.iter().filter(|s| s.action == action).collect();
            let failed = of_action.iter().filter(|s| !s.first.acknowledged()).count();
            outcome.figure(
                &format!("{action} steps (not acknowledged at first)"),
                format!("{} ({failed})", of_action.len()),
            );
        }
        outcome.figure("steps sent again or finished after the fault", steps_resent);
        let answered_500 = writes
            .iter()
            .map(|w| (&w.first, &w.settled))
            .chain(steps.iter().map(|s| (&s.first, &s.settled)))
            .filter(|(first, settled)| {
                first.status == 500 || settled.as_ref().is_some_and(|s| s.status == 500)
            })
            .count();
        if answered_500 > 0 {
            outcome.fail(format!("{answered_500} writes answered 500"));
        }
        for failure in self.traffic.check().await? {
            outcome.fail(failure);
        }
        let config = &setup.config_dir;
        let binary = &setup.binary;
        for (command, expect) in [
            (&["ledger", "verify"][..], ""),
            (
                &["parking", "verify-bookings"][..],
                "overlapping bookings: 0",
            ),
            (&["demands", "verify-counts"][..], "agree"),
        ] {
            match self.fleet.linli(binary, config, command).await {
                Ok(out) if out.contains(expect) => {}
                Ok(out) => outcome.fail(format!("linli {}: {out}", command.join(" "))),
                Err(e) => outcome.fail(format!("{e:#}")),
            }
        }
        outcome.figure(
            "ledger, bookings, demand counts",
            if outcome.failures.is_empty() {
                "verified"
            } else {
                "see failures"
            },
        );
        self.fleet.stop().await;
        drop(self.redis);
        drop(self.postgres);
        Ok(())
    }
}

pub async fn run(scenario: &str, setup: &Setup) -> anyhow::Result<Outcome> {
    match scenario {
        "kill9" => kill9(setup).await,
        "redis-down" => redis_down(setup).await,
        "pg-restart" => postgres_restart(setup).await,
        "slow-db" => slow_database::slow_database(setup).await,
        "nginx" => behind_nginx::behind_nginx(setup).await,
        "sigterm" => behind_nginx::rolling_restart(setup).await,
        "backup-restore" => backup::backup_restore(setup).await,
        other => anyhow::bail!("unknown scenario {other}; known: {}", SCENARIOS.join(", ")),
    }
}

fn outcome(scenario: &'static str) -> Outcome {
    Outcome {
        scenario,
        figures: Vec::new(),
        failures: Vec::new(),
    }
}

/// SIGKILL to one instance or the other at random moments under load, each restarted on its
/// port at once; the writes it took with it are sent again with their keys.
async fn kill9(setup: &Setup) -> anyhow::Result<Outcome> {
    let mut outcome = outcome("kill9");
    let mut stage = Stage::build(setup).await?;
    stage.start_load();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut restarts = Vec::new();
    for n in 0..setup.kills {
        let wait = rand::rng().random_range(300..1500);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let instance = n % 2;
        stage.fleet.kill(instance).await?;
        let begun = Instant::now();
        stage.fleet.restart(instance).await?;
        restarts.push(begun.elapsed());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    outcome.figure("SIGKILLs", setup.kills);
    if let Some(slowest) = restarts.iter().max() {
        outcome.figure(
            "slowest restart to ready",
            format!("{:.1} s", slowest.as_secs_f64()),
        );
    }
    stage.finish(setup, &mut outcome).await?;
    Ok(outcome)
}

/// Redis killed for the outage and started again empty; meanwhile a resident logs out.
/// No write may fail because of it, and the logout must hold on both instances, during the
/// outage and after.
async fn redis_down(setup: &Setup) -> anyhow::Result<Outcome> {
    let mut outcome = outcome("redis-down");
    let mut stage = Stage::build(setup).await?;
    let leaver = stage.api.resident("faults-leaver").await?;
    for url in &stage.fleet.urls {
        expect_status(&me(url, &leaver.token).await, 200, "before the outage")?;
    }
    stage.start_load();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let outage_from = stage.traffic.elapsed();
    stage.redis.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logout = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/logout", stage.fleet.urls[0]))
        .bearer_auth(&leaver.token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    if logout != 204 {
        outcome.fail(format!("a logout during the outage answered {logout}"));
    }
    for url in &stage.fleet.urls {
        if let Err(e) = expect_status(&me(url, &leaver.token).await, 401, "during the outage") {
            outcome.fail(format!("{url}: {e}"));
        }
        if let Err(e) = expect_status(&ready(url).await, 503, "readiness during the outage") {
            outcome.fail(format!("{url}: {e}"));
        }
    }
    tokio::time::sleep(
        setup
            .redis_outage
            .saturating_sub(Duration::from_millis(500)),
    )
    .await;
    stage.redis.restart().await?;
    let outage_to = stage.traffic.elapsed();
    let back = Instant::now();
    for url in &stage.fleet.urls {
        wait_for(
            || async { ready(url).await == 200 },
            Duration::from_secs(10),
        )
        .await
        .with_context(|| format!("{url} ready again after Redis"))?;
    }
    outcome.figure(
        "ready again after Redis",
        format!("{:.1} s", back.elapsed().as_secs_f64()),
    );
    for url in &stage.fleet.urls {
        if let Err(e) = expect_status(&me(url, &leaver.token).await, 401, "after the outage") {
            outcome.fail(format!("{url}: {e}"));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during: Vec<_> = stage
        .traffic
        .writes()
        .into_iter()
        .filter(|w| w.first.at >= outage_from && w.first.at <= outage_to)
        .collect();
    let failed = during.iter().filter(|w| !w.first.acknowledged()).count();
    outcome.figure(
        "Redis away",
        format!("{:.0} s", (outage_to - outage_from).as_secs_f64()),
    );
    outcome.figure("writes during the outage", during.len());
    outcome.figure("of which failed", failed);
    if let Some(slowest) = during.iter().map(|w| w.first.took).max() {
        outcome.figure(
            "slowest write during the outage",
            format!("{} ms", slowest.as_millis()),
        );
    }
    if failed > 0 {
        outcome.fail(format!("{failed} writes failed while Redis was away"));
    }
    outcome.figure("logout during the outage", "held on both instances");
    stage.finish(setup, &mut outcome).await?;
    Ok(outcome)
}

/// PostgreSQL stopped (fast shutdown: every connection cut) and started again under load:
/// readiness says 503 while it is down, requests fail fast with 503, and both instances
/// serve again soon after it is back, without being restarted.
async fn postgres_restart(setup: &Setup) -> anyhow::Result<Outcome> {
    let mut outcome = outcome("pg-restart");
    let mut stage = Stage::build(setup).await?;
    stage.start_load();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let down_from = stage.traffic.elapsed();
    stage.postgres.down()?;
    let mut readiness = Vec::new();
    let down_until = Instant::now() + setup.postgres_down;
    while Instant::now() < down_until {
        for url in &stage.fleet.urls {
            readiness.push(ready(url).await);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stage.postgres.up()?;
    let up_at = Instant::now();
    let down_to = stage.traffic.elapsed();
    // Recovered: every instance ready and taking a write.
    for url in stage.fleet.urls.clone() {
        let api = Linli::new(std::slice::from_ref(&url), 1, Recorder::default())?;
        let token = stage.traffic.award_token();
        let body = stage.traffic.probe_award();
        wait_for(
            || {
                let (api, body, url) = (api.clone(), body.clone(), url.clone());
                async move {
                    ready(&url).await == 200
                        && api
                            .call(
                                None,
                                reqwest::Method::POST,
                                "/staff/points/awards",
                                Some(token),
                                Some(&body),
                                None,
                            )
                            .await
                            .0
                            == 201
                }
            },
            Duration::from_secs(30),
        )
        .await
        .with_context(|| format!("{url} serving again after PostgreSQL"))?;
    }
    let recovery = up_at.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let not_503 = readiness.iter().filter(|s| **s != 503).count();
    outcome.figure(
        "PostgreSQL down",
        format!("{:.1} s", (down_to - down_from).as_secs_f64()),
    );
    outcome.figure(
        "readiness while down",
        format!(
            "{} of {} answered 503",
            readiness.len() - not_503,
            readiness.len()
        ),
    );
    if not_503 > 0 {
        outcome.fail(format!(
            "readiness answered other than 503 {not_503} times while PostgreSQL was down"
        ));
    }
    let during: Vec<_> = stage
        .traffic
        .writes()
        .into_iter()
        .filter(|w| w.first.at >= down_from && w.first.at <= down_to)
        .collect();
    let slowest = during
        .iter()
        .map(|w| w.first.took)
        .max()
        .unwrap_or_default();
    outcome.figure("writes while down", during.len());
    outcome.figure(
        "slowest answer while down",
        format!("{} ms", slowest.as_millis()),
    );
    let bound = setup.acquire_timeout + Duration::from_secs(2);
    if slowest > bound {
        outcome.fail(format!(
            "a request took {} ms while PostgreSQL was down (bound {} ms)",
            slowest.as_millis(),
            bound.as_millis()
        ));
    }
    outcome.figure(
        "serving again after PostgreSQL answered",
        format!("{:.1} s", recovery.as_secs_f64()),
    );
    if recovery > Duration::from_secs(5) {
        outcome.fail(format!(
            "both instances served again only {:.1} s after PostgreSQL was back",
            recovery.as_secs_f64()
        ));
    }
    stage.finish(setup, &mut outcome).await?;
    Ok(outcome)
}

async fn me(url: &str, token: &str) -> u16 {
    status_of(&format!("{url}/api/v1/me"), Some(token)).await
}

async fn ready(url: &str) -> u16 {
    status_of(&format!("{url}/readyz"), None).await
}

/// The status of a GET (0 when no answer came within 10 s).
async fn status_of(url: &str, token: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

fn expect_status(got: &u16, expected: u16, when: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        *got == expected,
        "{when}: expected {expected}, got {got} ({})",
        StatusCode::from_u16(*got).map_or("no answer".into(), |s| s.to_string())
    );
    Ok(())
}

/// Polls `check` every 100 ms until it holds or `limit` passes.
async fn wait_for<F, Fut>(check: F, limit: Duration) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("not within {} s", limit.as_secs())
}

/// The Markdown report of every scenario run.
pub fn markdown(outcomes: &[Outcome], setup: &Setup) -> String {
    let mut md = format!(
        "# linli-faults\n\nTwo instances on a PostgreSQL and a redis-server of the harness's \
         own; {} writers of each kind (awards, reservations, bookings, demands), every write \
         keyed; pool acquire wait {} ms, statement timeout {} ms.\n",
        setup.writers_per_kind,
        setup.acquire_timeout.as_millis(),
        setup.statement_timeout.as_millis()
    );
    for outcome in outcomes {
        let verdict = if outcome.failures.is_empty() {
            "passed"
        } else {
            "FAILED"
        };
        md.push_str(&format!(
            "\n## {} — {verdict}\n\n| figure | value |\n|---|---|\n",
            outcome.scenario
        ));
        for (name, value) in &outcome.figures {
            md.push_str(&format!("| {name} | {value} |\n"));
        }
        for failure in &outcome.failures {
            md.push_str(&format!("\n- FAILURE: {failure}"));
        }
        if !outcome.failures.is_empty() {
            md.push('\n');
        }
    }
    md
}
