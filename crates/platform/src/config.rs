//! Layered settings: `config/default.toml`, then `config/{LINLI_ENV}.toml`, then
//! `LINLI__SECTION__KEY` environment variables. Invalid settings stop the process at start
//! with a message that names the key.

use crate::secret::Secret;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The JWT secret shipped in `config/default.toml`. Usable for development only.
pub const DEVELOPMENT_JWT_SECRET: &str = "linli-development-only-jwt-secret-do-not-deploy";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The profile name (`development`, `test`, `production`, ...), from `LINLI_ENV`.
    #[serde(default = "default_profile")]
    pub profile: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub wechat: WechatSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub demo: DemoSettings,
    pub log: LogSettings,
    pub ledger: LedgerSettings,
    pub merchant: MerchantSettings,
    pub timebank: TimebankSettings,
    pub parking: ParkingSettings,
    pub jobs: JobsSettings,
    pub care: CareSettings,
}

fn default_trusted_proxies() -> String {
    "127.0.0.1,::1".to_owned()
}

impl ServerSettings {
    /// True when `peer` is one of `trusted_proxies`.
    pub fn is_trusted_proxy(&self, peer: std::net::IpAddr) -> bool {
        self.trusted_proxies
            .split(',')
            .filter_map(|n| parse_network(n.trim()))
            .any(|(network, prefix)| in_network(peer, network, prefix))
    }
}

/// `10.0.0.0/8`, `::1` (a single address) → (network, prefix length).
fn parse_network(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (address, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let address: std::net::IpAddr = address.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((address, prefix))
}

fn in_network(ip: std::net::IpAddr, network: std::net::IpAddr, prefix: u8) -> bool {
    use std::net::IpAddr;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let (ip, network, bits) = match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix);
    shift >= bits || (ip >> shift) == (network >> shift)
}

fn default_profile() -> String {
    "development".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// The proxies whose `X-Forwarded-For` is believed: comma-separated addresses or CIDR
    /// networks. A request from any other peer is attributed to the peer itself.
    #[serde(default = "default_trusted_proxies")]
    pub trusted_proxies: String,
    /// Actix worker threads; 0 means one per core.
    #[serde(default)]
    pub workers: usize,
    /// On SIGTERM: how long requests in flight may take to finish after the server stops
    /// accepting connections, and then the job round in progress.
    #[serde(default = "default_shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
}

fn default_shutdown_grace_seconds() -> u64 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`.
    pub url: Secret,
    /// Pool size on PostgreSQL. SQLite always uses one connection (it has one writer).
    pub max_connections: u32,
    /// Group-commit writers side by side on PostgreSQL, each on a connection of the pool
    /// (`platform::group_commit`); SQLite always has one.
    pub writer_lanes: usize,
    /// How long a request waits for a pool connection (or for a new one to open) before it
    /// answers 503 `database_unavailable`: the bound on a request's wait when PostgreSQL is
    /// down or every connection is busy.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL cancels any statement running longer (`statement_timeout`); the request
    /// answers 503 `database_unavailable` with `Retry-After` and nothing of it is written.
    pub statement_timeout_ms: u64,
    /// A statement running longer is logged at WARN with its SQL (never its parameters):
    /// the query to look at when requests slow down. `0` turns the log off.
    #[serde(default = "default_slow_statement_ms")]
    pub slow_statement_ms: u64,
    /// Prepared statements each connection keeps (least recently used go first). More
    /// spares PostgreSQL parsing and planning them again; each costs the server a little
    /// memory per connection.
    #[serde(default = "default_statement_cache")]
    pub statement_cache: usize,
}

impl DatabaseSettings {
    /// A pool on `url` as the tests and benchmarks open one: 16 connections, one writer
    /// lane, 5 s to get a connection, 30 s per statement, the default slow-statement log and
    /// statement cache. Change what differs with `..DatabaseSettings::for_url(url)`.
    pub fn for_url(url: String) -> Self {
        Self {
            url: crate::Secret::new(url),
            max_connections: 16,
            writer_lanes: 1,
            acquire_timeout_ms: 5_000,
            statement_timeout_ms: 30_000,
            slow_statement_ms: default_slow_statement_ms(),
            statement_cache: DEFAULT_STATEMENT_CACHE,
        }
    }
}

fn default_slow_statement_ms() -> u64 {
    500
}

/// Prepared statements kept per connection: sqlx's own default. More spares PostgreSQL
/// parsing statements again (the routes use about 300 often; 512 made the first 60 days of
/// the simulated year 7% faster), but a statement kept that long keeps the generic plan
/// PostgreSQL chose for it while its table was small, until the table is next analysed.
/// With autovacuum off nothing analyses it: at 512 the batch's balance update kept a plan
/// made for an almost empty `ledger_accounts` and took 4.6 ms instead of 0.11 ms by the
/// end of the year, which then took 987 s instead of 930 s.
pub const DEFAULT_STATEMENT_CACHE: usize = 100;

fn default_statement_cache() -> usize {
    DEFAULT_STATEMENT_CACHE
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Unset or empty: an in-process cache (single instance only).
    #[serde(default)]
    pub url: Option<Secret>,
    /// Prefix for every key, so several deployments (or test runs) can share one Redis.
    pub key_prefix: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WechatMode {
    /// Calls the real WeChat server API (or whatever `wechat.base_url` points at).
    Live,
    /// Accepts `dev-<name>` login codes; development and tests only.
    Fake,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatSettings {
    pub mode: WechatMode,
    pub base_url: String,
    pub app_id: String,
    pub app_secret: Secret,
    pub timeout_ms: u64,
    /// Subscribe-message template for demand status changes (empty: none is sent). The
    /// template needs the keys thing1 (title), phrase2 (status), time3 (time), thing4 (note).
    pub demand_status_template_id: String,
    /// Subscribe-message template for home-service order updates (empty: none is sent),
    /// with the same keys: thing1 (service), phrase2 (status), time3 (time), thing4 (note).
    pub home_service_status_template_id: String,
    /// Which build subscribe messages open: `formal`, `trial` or `developer`.
    pub miniprogram_state: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub jwt_secret: Secret,
    pub access_token_ttl_seconds: i64,
    pub refresh_token_ttl_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Login attempts (WeChat or staff) one client address may make per minute.
    pub login_per_ip_per_minute: u32,
    /// Failed staff logins per username from one client address per 15 minutes, against
    /// password guessing (successes are not counted and clear the count).
    pub staff_login_per_username_per_15min: u32,
    /// Failed staff logins per username from all clients per hour: a slower ceiling against
    /// guessing from many addresses.
    pub staff_login_failures_per_username_per_hour: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// Seed the demo district, staff logins and sample data at start.
    pub seed: bool,
    /// With `seed`, give a new demo database the simulated month before today (`linli sim`'s
    /// demo-month in 新华街道), so its dashboard shows a living street.
    #[serde(default)]
    pub simulated_month: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    /// Points earned in year Y expire at the end of year Y + this (China Standard Time).
    pub points_expire_years_after: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantSettings {
    /// Days a reservation waits to be redeemed before it lapses.
    pub reservation_days: i64,
    /// Seconds a redemption code stays valid.
    pub code_ttl_seconds: i64,
    /// Failed code checks allowed per staff member per minute (against guessing).
    pub verify_failures_per_staff_per_minute: u32,
    /// Failed code checks allowed per merchant per minute, across its staff.
    pub verify_failures_per_merchant_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimebankSettings {
    /// Seconds an on-site check-in code is shown before it rotates.
    pub check_code_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareSettings {
    /// The key care records' phone and ID numbers are sealed with: 32 bytes, base64. Empty
    /// outside production means the public development key (`DEVELOPMENT_CARE_KEY`);
    /// production refuses to start without a key of its own.
    pub encryption_key: Secret,
}

/// Base64 of 32 bytes that everyone can read in the source: development and tests only.
pub const DEVELOPMENT_CARE_KEY: &str = "bGlubGktZGV2ZWxvcG1lbnQtb25seS1jYXJlLWtleSE=";

impl CareSettings {
    /// The key to use: the configured one, or the development key when none is set.
    pub fn key(&self) -> &str {
        match self.encryption_key.expose() {
            "" => DEVELOPMENT_CARE_KEY,
            key => key,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParkingSettings {
    /// A booking nobody drove into this many minutes after its start is a no-show.
    pub no_show_minutes: i64,
    /// Billing units a no-show is charged (at most what was held).
    pub no_show_units: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsSettings {
    /// Run background jobs (expiry, hold release, clean-up) in this process.
    pub enabled: bool,
    /// Seconds between job rounds.
    pub interval_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,sqlx=warn`.
    pub filter: String,
    /// A line for every request answered below 500 (those at 500 and above are always logged).
    #[serde(default = "default_true")]
    pub requests: bool,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid configuration: {}", render_problems(.0))]
    Invalid(Vec<(&'static str, String)>),
}

fn render_problems(problems: &[(&'static str, String)]) -> String {
    problems
        .iter()
        .map(|(key, message)| format!("`{key}` {message}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `config/default.toml` of the repository, compiled in: the binary starts where no
/// `config/` folder is beside it.
const EMBEDDED_DEFAULT: &str = include_str!("../../../config/default.toml");

/// The repository's profile files, compiled in like the defaults.
fn embedded_profile(profile: &str) -> Option<&'static str> {
    match profile {
        "production" => Some(include_str!("../../../config/production.toml")),
        "test" => Some(include_str!("../../../config/test.toml")),
        _ => None,
    }
}

impl Settings {
    /// Loads settings for `profile` from `config_dir` (its `default.toml`, then
    /// `{profile}.toml`), or from the compiled-in copies of the repository's files when the
    /// folder has no `default.toml`; then the process environment.
    pub fn load(config_dir: &Path, profile: &str) -> Result<Self, ConfigError> {
        Self::load_with_env(config_dir, profile, None)
    }

    /// As [`Settings::load`], but with `env` standing in for the process environment
    /// (`None` reads the real one). Lets tests check overrides without touching globals.
    pub fn load_with_env(
        config_dir: &Path,
        profile: &str,
        env: Option<HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let on_disk = config_dir.join("default.toml").is_file();
        let mut builder = config::Config::builder();
        builder = if on_disk {
            builder
                .add_source(config::File::from(config_dir.join("default.toml")).required(true))
                .add_source(
                    config::File::from(config_dir.join(format!("{profile}.toml"))).required(false),
                )
        } else {
            // No folder beside the binary: the files of the repository, compiled in.
            let mut builder = builder.add_source(config::File::from_str(
                EMBEDDED_DEFAULT,
                config::FileFormat::Toml,
            ));
            if let Some(text) = embedded_profile(profile) {
                builder =
                    builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
            }
            builder
        };
        let built = builder
            .add_source(
                config::Environment::with_prefix("LINLI")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .source(env),
            )
            .set_override("profile", profile)?
            .build()?;
        let settings: Settings = built.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The profile named by `LINLI_ENV` (default `development`).
    pub fn profile_from_env() -> String {
        std::env::var("LINLI_ENV")
            .ok()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(default_profile)
    }

    /// `LINLI_CONFIG_DIR`, else `./config`.
    pub fn config_dir_from_env() -> PathBuf {
        std::env::var_os("LINLI_CONFIG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("config"))
    }

    pub fn is_production(&self) -> bool {
        self.profile == "production"
    }

    /// True when `server.host` is `localhost` or a loopback address (127.0.0.0/8, ::1).
    pub fn listens_on_loopback_only(&self) -> bool {
        let host = self
            .server
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    pub fn redis_url(&self) -> Option<&str> {
        self.redis
            .url
            .as_ref()
            .map(Secret::expose)
            .filter(|u| !u.trim().is_empty())
    }

    /// Checks that go beyond types. Production refuses development conveniences.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems: Vec<(&'static str, String)> = Vec::new();
        let mut invalid =
            |key: &'static str, message: &str| problems.push((key, message.to_owned()));
        let db = self.database.url.expose();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            invalid(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        if self
            .server
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .any(|n| parse_network(n).is_none())
        {
            invalid(
                "server.trusted_proxies",
                "must be comma-separated IP addresses or CIDR networks",
            );
        }
        if self.database.max_connections == 0 {
            invalid("database.max_connections", "must be at least 1");
        }
        if self.database.acquire_timeout_ms == 0 {
            invalid("database.acquire_timeout_ms", "must be at least 1");
        }
        if self.database.statement_timeout_ms == 0 {
            invalid(
                "database.statement_timeout_ms",
                "must be at least 1 (PostgreSQL would read 0 as no limit)",
            );
        }
        if self.database.writer_lanes == 0
            || self.database.writer_lanes >= self.database.max_connections as usize
        {
            invalid(
                "database.writer_lanes",
                "must be at least 1 and fewer than database.max_connections",
            );
        }
        if let Some(url) = self.redis_url() {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                invalid("redis.url", "must start with redis:// or rediss://");
            }
        }
        if self.auth.jwt_secret.expose().len() < 32 {
            invalid("auth.jwt_secret", "must be at least 32 bytes long");
        }
        if !(60..=86_400).contains(&self.auth.access_token_ttl_seconds) {
            invalid(
                "auth.access_token_ttl_seconds",
                "must be between 60 and 86400",
            );
        }
        if !(1..=365).contains(&self.auth.refresh_token_ttl_days) {
            invalid("auth.refresh_token_ttl_days", "must be between 1 and 365");
        }
        if self.rate_limit.login_per_ip_per_minute == 0 {
            invalid("rate_limit.login_per_ip_per_minute", "must be at least 1");
        }
        if self.rate_limit.staff_login_failures_per_username_per_hour == 0 {
            invalid(
                "rate_limit.staff_login_failures_per_username_per_hour",
                "must be at least 1",
            );
        }
        if self.rate_limit.staff_login_per_username_per_15min == 0 {
            invalid(
                "rate_limit.staff_login_per_username_per_15min",
                "must be at least 1",
            );
        }
        if !(0..=10).contains(&self.ledger.points_expire_years_after) {
            invalid(
                "ledger.points_expire_years_after",
                "must be between 0 and 10",
            );
        }
        if !(1..=90).contains(&self.merchant.reservation_days) {
            invalid("merchant.reservation_days", "must be between 1 and 90");
        }
        if !(30..=3600).contains(&self.merchant.code_ttl_seconds) {
            invalid("merchant.code_ttl_seconds", "must be between 30 and 3600");
        }
        if self.merchant.verify_failures_per_staff_per_minute == 0
            || self.merchant.verify_failures_per_merchant_per_minute == 0
        {
            invalid(
                "merchant.verify_failures_per_staff_per_minute",
                "limits must be at least 1",
            );
        }
        if !(10..=600).contains(&self.timebank.check_code_seconds) {
            invalid("timebank.check_code_seconds", "must be between 10 and 600");
        }
        if !(1..=720).contains(&self.parking.no_show_minutes) {
            invalid("parking.no_show_minutes", "must be between 1 and 720");
        }
        if !(0..=48).contains(&self.parking.no_show_units) {
            invalid("parking.no_show_units", "must be between 0 and 48");
        }
        if self.jobs.interval_seconds == 0 {
            invalid("jobs.interval_seconds", "must be at least 1");
        }
        if !["formal", "trial", "developer"].contains(&self.wechat.miniprogram_state.as_str()) {
            invalid(
                "wechat.miniprogram_state",
                "must be formal, trial or developer",
            );
        }
        if self.wechat.mode == WechatMode::Live {
            if self.wechat.app_id.trim().is_empty() {
                invalid("wechat.app_id", "is required when wechat.mode = \"live\"");
            }
            if self.wechat.app_secret.is_empty() {
                invalid(
                    "wechat.app_secret",
                    "is required when wechat.mode = \"live\"",
                );
            }
        }
        // The development secret is public: anyone could mint tokens for any user. It is
        // refused wherever real users can reach the server, not only under one profile name.
        if self.auth.jwt_secret.expose() == DEVELOPMENT_JWT_SECRET {
            if self.wechat.mode == WechatMode::Live {
                invalid("auth.jwt_secret", "the development default is public and refused with wechat.mode = \"live\"; set LINLI__AUTH__JWT_SECRET");
            } else if !self.listens_on_loopback_only() {
                invalid("auth.jwt_secret", "the development default is public and refused when server.host is not a loopback address; set LINLI__AUTH__JWT_SECRET");
            }
        }
        if self.is_production() {
            if self.wechat.mode == WechatMode::Fake {
                invalid(
                    "wechat.mode",
                    "\"fake\" accepts made-up login codes and is refused in production; set LINLI__WECHAT__MODE=live",
                );
            }
            if self.auth.jwt_secret.expose() == DEVELOPMENT_JWT_SECRET {
                invalid("auth.jwt_secret", "the development default is public and refused in production; set LINLI__AUTH__JWT_SECRET");
            }
            if self.demo.seed {
                invalid("demo.seed", "demo data and demo passwords are refused in production; set LINLI__DEMO__SEED=false");
            }
            let key = self.care.encryption_key.expose();
            if key.is_empty() || key == DEVELOPMENT_CARE_KEY {
                invalid("care.encryption_key", "care records need a key of their own in production (32 random bytes, base64); set LINLI__CARE__ENCRYPTION_KEY");
            }
        }
        {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD.decode(self.care.key());
            if decoded.map(|k| k.len()) != Ok(32) {
                invalid("care.encryption_key", "must be 32 bytes, base64-encoded");
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn without_a_config_folder_the_compiled_in_files_apply() {
        let nowhere =
            std::env::temp_dir().join(format!("linli-no-config-{}", uuid::Uuid::now_v7().simple()));
        for profile in ["development", "test"] {
            let embedded = Settings::load_with_env(&nowhere, profile, env(&[])).unwrap();
            let on_disk = Settings::load_with_env(&config_dir(), profile, env(&[])).unwrap();
            assert_eq!(format!("{embedded:?}"), format!("{on_disk:?}"), "{profile}");
        }
        let tuned = Settings::load_with_env(
            &nowhere,
            "development",
            env(&[("LINLI__SERVER__PORT", "9999")]),
        )
        .unwrap();
        assert_eq!(tuned.server.port, 9999, "the environment still overrides");
    }

    #[test]
    fn defaults_load_for_development() {
        let s = Settings::load_with_env(&config_dir(), "development", env(&[])).unwrap();
        assert_eq!(s.server.port, 8080);
        assert_eq!(s.wechat.mode, WechatMode::Fake);
        assert!(s.demo.seed);
        assert!(s.redis_url().is_none());
        assert!(s.database.url.expose().starts_with("sqlite:"));
    }

    #[test]
    fn environment_overrides_win() {
        let s = Settings::load_with_env(
            &config_dir(),
            "development",
            env(&[
                ("LINLI__SERVER__PORT", "9191"),
                ("LINLI__REDIS__URL", "redis://127.0.0.1:6379"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.port, 9191);
        assert_eq!(s.redis_url(), Some("redis://127.0.0.1:6379"));
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = Settings::load_with_env(
            &config_dir(),
            "development",
            env(&[("LINLI__SERVER__PORT", "eighty")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("server.port"), "{err}");
    }

    #[test]
    fn production_refuses_fake_wechat_and_default_secret() {
        let err = Settings::load_with_env(
            &config_dir(),
            "production",
            env(&[("LINLI__WECHAT__MODE", "fake")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("wechat.mode"), "{err}");

        let err = Settings::load_with_env(
            &config_dir(),
            "production",
            env(&[
                ("LINLI__WECHAT__APP_ID", "wx123"),
                ("LINLI__WECHAT__APP_SECRET", "s3cret"),
                ("LINLI__AUTH__JWT_SECRET", DEVELOPMENT_JWT_SECRET),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("auth.jwt_secret"), "{err}");
        // Without a care key of its own, or with the development one.
        for key in [None, Some(DEVELOPMENT_CARE_KEY)] {
            let mut vars = vec![
                ("LINLI__WECHAT__APP_ID", "wx123"),
                ("LINLI__WECHAT__APP_SECRET", "s3cret"),
                (
                    "LINLI__AUTH__JWT_SECRET",
                    "a-real-secret-that-is-long-enough-1234567890",
                ),
            ];
            if let Some(key) = key {
                vars.push(("LINLI__CARE__ENCRYPTION_KEY", key));
            }
            let err = Settings::load_with_env(&config_dir(), "production", env(&vars))
                .unwrap_err()
                .to_string();
            assert!(err.contains("care.encryption_key"), "{key:?}: {err}");
        }
        // Anywhere, a key that is not 32 bytes of base64.
        let err = Settings::load_with_env(
            &config_dir(),
            "test",
            env(&[("LINLI__CARE__ENCRYPTION_KEY", "c2hvcnQ=")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("care.encryption_key"), "{err}");
    }

    #[test]
    fn the_public_development_secret_is_refused_where_real_users_reach_the_server() {
        for overrides in [
            vec![
                ("LINLI__WECHAT__MODE", "live"),
                ("LINLI__WECHAT__APP_ID", "wx123"),
                ("LINLI__WECHAT__APP_SECRET", "s3cret"),
            ],
            vec![("LINLI__SERVER__HOST", "0.0.0.0")],
            vec![("LINLI__SERVER__HOST", "192.168.1.20")],
        ] {
            let err = Settings::load_with_env(&config_dir(), "development", env(&overrides))
                .unwrap_err()
                .to_string();
            assert!(err.contains("auth.jwt_secret"), "{overrides:?}: {err}");
        }
        for host in ["127.0.0.1", "localhost", "::1", "127.0.0.2"] {
            let loopback = Settings::load_with_env(
                &config_dir(),
                "development",
                env(&[("LINLI__SERVER__HOST", host)]),
            );
            assert!(loopback.is_ok(), "{host}");
        }
        let real_secret = Settings::load_with_env(
            &config_dir(),
            "development",
            env(&[
                ("LINLI__SERVER__HOST", "0.0.0.0"),
                (
                    "LINLI__AUTH__JWT_SECRET",
                    "a-real-secret-that-is-long-enough-1234567890",
                ),
            ]),
        );
        assert!(real_secret.is_ok());
    }

    #[test]
    fn trusted_proxies_are_addresses_and_networks() {
        let mut s = Settings::load_with_env(&config_dir(), "development", env(&[])).unwrap();
        s.server.trusted_proxies = "127.0.0.1, 10.0.0.0/8,fd00::/8".to_owned();
        for (ip, trusted) in [
            ("127.0.0.1", true),
            ("127.0.0.2", false),
            ("10.9.8.7", true),
            ("11.0.0.1", false),
            ("fd12::1", true),
            ("::ffff:10.1.2.3", true),
            ("::1", false),
        ] {
            assert_eq!(
                s.server.is_trusted_proxy(ip.parse().unwrap()),
                trusted,
                "{ip}"
            );
        }
        let err = Settings::load_with_env(
            &config_dir(),
            "development",
            env(&[("LINLI__SERVER__TRUSTED_PROXIES", "10.0.0.0/33")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("server.trusted_proxies"), "{err}");
    }

    #[test]
    fn production_starts_with_real_settings() {
        let s = Settings::load_with_env(
            &config_dir(),
            "production",
            env(&[
                ("LINLI__WECHAT__APP_ID", "wx123"),
                ("LINLI__WECHAT__APP_SECRET", "s3cret"),
                (
                    "LINLI__AUTH__JWT_SECRET",
                    "a-real-secret-that-is-long-enough-1234567890",
                ),
                ("LINLI__DATABASE__URL", "postgres://linli@db/linli"),
                (
                    "LINLI__CARE__ENCRYPTION_KEY",
                    "cmVhbC1jYXJlLWtleS1vZi0zMi1ieXRlcy0xMjM0NTY=",
                ),
            ]),
        )
        .unwrap();
        assert!(s.is_production());
        assert!(!format!("{s:?}").contains("cmVhbC1jYXJl"));
        assert!(!s.demo.seed);
        assert!(!format!("{s:?}").contains("a-real-secret"));
    }
}
