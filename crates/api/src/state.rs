use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use identity::service::AuthService;
use platform::config::Settings;
use platform::{Cache, Clock};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Everything a handler may need, shared by all workers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub cache: Cache,
    pub clock: Clock,
    pub auth: AuthService,
    pub rate_limiter: RateLimiter,
    pub metrics: Arc<Metrics>,
}
