use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use identity::service::AuthService;
use platform::config::Settings;
use platform::group_commit::Committer;
use platform::{Cache, Clock};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use wechat::WechatClient;

/// Everything a handler may need, shared by all workers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    /// The writer (on SQLite its one connection): everything that writes, and reads that
    /// must see what the same request wrote.
    pub db: DatabaseConnection,
    /// Reads of GET handlers, and reads a write may make of the last committed state before
    /// its unit runs (a gate event's lot): SQLite's read-only pool beside the writer, or the
    /// same pool as `db` on PostgreSQL (`platform::db::connect_readers`).
    pub reads: DatabaseConnection,
    /// Where request handlers' units of work go: batched into shared transactions.
    pub committer: Committer,
    pub cache: Cache,
    pub clock: Clock,
    pub auth: AuthService,
    /// For the subscribe-message sender; logins go through `auth`.
    pub wechat: WechatClient,
    pub rate_limiter: RateLimiter,
    pub metrics: Arc<Metrics>,
    /// Seals and opens care records' phone and ID numbers (`care.encryption_key`).
    pub care_sealer: care::sealed::Sealer,
}

impl AppState {
    /// When points earned now expire (`ledger.points_expire_years_after`).
    pub fn expiry_rule(&self) -> points_ledger::ExpiryRule {
        points_ledger::ExpiryRule {
            years_after: self.settings.ledger.points_expire_years_after,
        }
    }
}
