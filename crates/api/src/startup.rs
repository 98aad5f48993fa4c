//! Building and running the application: used by `linli serve` and by the test suite, which
//! starts the real server on port 0.

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::middleware::observe;
use crate::rate_limit::RateLimiter;
use crate::routes;
use crate::state::AppState;
use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use identity::service::AuthService;
use identity::tokens::TokenKeys;
use platform::config::Settings;
use platform::group_commit::{Committer, Limits};
use platform::Code;
use platform::{Cache, Clock};
use std::net::TcpListener;
use std::sync::Arc;
use wechat::WechatClient;

pub struct Application {
    server: Server,
    host: String,
    port: u16,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// As [`Application::build`], with a clock the caller can move (tests).
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let mut doors = Self::build_doors(settings, vec![clock]).await?;
        Ok(doors.remove(0))
    }

    /// One server per clock, each on its own port, all over one set of database pools,
    /// cache and group committer: the district simulator's streets run side by side, each
    /// on its own simulated clock, as one process. Demo data (when on) is seeded once, at
    /// the first clock's time.
    pub async fn build_doors(settings: Settings, clocks: Vec<Clock>) -> anyhow::Result<Vec<Self>> {
        let first = clocks.first().cloned().unwrap_or_else(Clock::system);
        let shared = Shared::connect(&settings, &first).await?;
        clocks
            .into_iter()
            .map(|clock| Self::serve(shared.state(&settings, clock), &settings))
            .collect()
    }

    fn serve(state: AppState, settings: &Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "binding {}:{} (server.host, server.port)",
                    settings.server.host, settings.server.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let data = web::Data::new(state.clone());
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PathConfig::default().error_handler(|err, _| {
                    ApiError::new(Code::InvalidPath, err.to_string()).into()
                }))
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::new(Code::InvalidQuery, err.to_string()).into()
                }))
                .wrap(from_fn(observe))
                .configure(routes::ops::routes)
                .configure(routes::dashboard_page::routes)
                .service(web::scope("/api/v1").configure(routes::api_v1))
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::for_status(StatusCode::NOT_FOUND))
                }))
        })
        .listen(listener)?
        .shutdown_timeout(settings.server.shutdown_grace_seconds);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        Ok(Self {
            server: server.run(),
            host: settings.server.host.clone(),
            port,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves for a command that hosts the server (`linli sim`, the demo's simulated month):
    /// no announcement, no job loop (the host runs the jobs on its own clock).
    pub async fn run_hosted(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until the process is told to stop (SIGINT/SIGTERM), then drains.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let shown_host = if self.host == "0.0.0.0" {
            "127.0.0.1"
        } else {
            self.host.as_str()
        };
        tracing::info!(
            address = %format!("{}:{}", self.host, self.port),
            "Linli is listening on http://{shown_host}:{} (API /api/v1, spec /api-docs/openapi.json, staff dashboard /dashboard)",
            self.port
        );
        if self.state.settings.demo.seed {
            tracing::info!(
                "Demo logins: staff `admin`, `street`, `community` with password `{}` via POST /api/v1/auth/staff-login; a resident via POST /api/v1/auth/wechat-login {{\"code\":\"dev-alice\"}}; then GET /api/v1/me with Authorization: Bearer <access_token>",
                crate::seed::DEMO_PASSWORD
            );
        }
        let (stop_jobs, stopping) = tokio::sync::watch::channel(false);
        let jobs = self
            .state
            .settings
            .jobs
            .enabled
            .then(|| tokio::spawn(crate::jobs::run_until(self.state.clone(), stopping)));
        // On SIGTERM or SIGINT actix stops accepting connections and gives the requests in
        // flight up to `server.shutdown_grace_seconds` to finish (their units of work with
        // them); then the job loop finishes the round it is in, if any, within as long.
        let served = self.server.await;
        tracing::info!("no more requests; stopping the job loop");
        let _ = stop_jobs.send(true);
        if let Some(jobs) = jobs {
            let grace =
                std::time::Duration::from_secs(self.state.settings.server.shutdown_grace_seconds);
            match tokio::time::timeout(grace, jobs).await {
                Ok(_) => tracing::info!("Linli stopped cleanly"),
                Err(_) => tracing::warn!("the job round in progress outlasted the grace; stopping anyway (its transaction rolls back)"),
            }
        } else {
            tracing::info!("Linli stopped cleanly");
        }
        served
    }
}

/// What every server of the process shares: the database pools, the cache, the WeChat
/// client, the group committer, the metrics and the care sealer. Only the clock (and the
/// token service reading it) is a server's own.
struct Shared {
    db: sea_orm::DatabaseConnection,
    reads: sea_orm::DatabaseConnection,
    /// Logins and token rotations (see `platform::db::connect_session_writes`).
    session_writes: sea_orm::DatabaseConnection,
    cache: Cache,
    wechat: WechatClient,
    committer: Committer,
    metrics: Arc<Metrics>,
    care_sealer: care::sealed::Sealer,
}

impl Shared {
    async fn connect(settings: &Settings, clock: &Clock) -> anyhow::Result<Self> {
        let db = platform::db::connect(&settings.database)
            .await
            .context("connecting to the database (database.url)")?;
        crate::migrator::migrate(&db)
            .await
            .context("running migrations")?;
        platform::db::warn_if_autovacuum_off(&db)
            .await
            .context("reading the database's settings")?;
        // After the migrations: the readers open the file the writer has set up in WAL mode.
        let reads = platform::db::connect_readers(&settings.database, &db)
            .await
            .context("opening the database's reader pool (database.url)")?;
        let session_writes = platform::db::connect_session_writes(&settings.database, &db)
            .await
            .context("opening the database's session pool (database.url)")?;
        let care_sealer = care::sealed::Sealer::from_base64(settings.care.key())
            .context("care.encryption_key")?;
        if settings.demo.seed {
            crate::seed::run(&db, clock, &care_sealer)
                .await
                .context("seeding demo data")?;
        }
        let cache = match settings.redis_url() {
            Some(url) => Cache::redis(url, &settings.redis.key_prefix)
                .await
                .context("connecting to Redis (redis.url)")?,
            None => Cache::in_memory(&settings.redis.key_prefix),
        };
        let wechat = WechatClient::from_settings(&settings.wechat)
            .context("setting up the WeChat client")?;
        Ok(Self {
            committer: Committer::start(
                db.clone(),
                Limits {
                    lanes: settings.database.writer_lanes,
                    ..Limits::default()
                },
            ),
            db,
            reads,
            session_writes,
            cache,
            wechat,
            metrics: Arc::new(Metrics::new().context("registering metrics")?),
            care_sealer,
        })
    }

    /// A server's state on `clock`.
    fn state(&self, settings: &Settings, clock: Clock) -> AppState {
        let keys = TokenKeys::new(
            settings.auth.jwt_secret.expose(),
            settings.auth.access_token_ttl_seconds,
        );
        let auth = AuthService::new(
            self.db.clone(),
            self.cache.clone(),
            self.wechat.clone(),
            keys,
            clock.clone(),
            settings.auth.refresh_token_ttl_days,
        )
        .reading_from(self.reads.clone())
        .writing_sessions_to(self.session_writes.clone());
        AppState {
            settings: Arc::new(settings.clone()),
            committer: self.committer.clone(),
            db: self.db.clone(),
            reads: self.reads.clone(),
            rate_limiter: RateLimiter::new(self.cache.clone()),
            cache: self.cache.clone(),
            clock,
            auth,
            wechat: self.wechat.clone(),
            metrics: self.metrics.clone(),
            care_sealer: self.care_sealer.clone(),
        }
    }
}
