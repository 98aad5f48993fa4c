//! Prometheus figures: request counts and latencies by route template, the database pool,
//! the cache, the group-commit writers, and what residents and staff did ([`business`]).

pub mod business;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    db_pool_size: IntGauge,
    db_pool_idle: IntGauge,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    cache_errors: IntCounter,
    cache_down: IntGauge,
    cache_owed: IntGauge,
    batches: IntCounter,
    units: IntCounter,
    failed_commits: IntCounter,
    reruns: IntCounter,
    fast_batches: IntCounter,
    fallbacks: IntCounter,
    queued: IntGauge,
    pub business: business::Business,
    /// One scrape at a time brings the counters kept elsewhere up to date ([`catch_up`]).
    scraping: std::sync::Mutex<()>,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("linli".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method and route",
            )
            .buckets(vec![
                0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let db_pool_size = IntGauge::new("db_pool_connections", "Open database connections")?;
        let db_pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections")?;
        let cache_hits = IntCounter::new("cache_hits_total", "Cache lookups that found a value")?;
        let cache_misses =
            IntCounter::new("cache_misses_total", "Cache lookups that found nothing")?;
        let cache_errors = IntCounter::new("cache_errors_total", "Cache operations that failed")?;
        let cache_down = IntGauge::new(
            "cache_down",
            "1 while Redis is marked down and skipped (requests fall back to the database)",
        )?;
        let cache_owed = IntGauge::new(
            "cache_owed_writes",
            "Revocations and invalidations waiting to be replayed to Redis",
        )?;
        let batches = IntCounter::new(
            "group_commit_batches_total",
            "Transactions the unit-of-work writer has run",
        )?;
        let units = IntCounter::new(
            "group_commit_units_total",
            "Requests' units of work run in those transactions",
        )?;
        let failed_commits = IntCounter::new(
            "group_commit_failed_batches_total",
            "Writer transactions that could not begin or commit",
        )?;
        let reruns = IntCounter::new(
            "group_commit_reruns_total",
            "Units of work run again after losing a lock race to another writer lane",
        )?;
        let fast_batches = IntCounter::new(
            "group_commit_fast_batches_total",
            "Writer transactions run without savepoints, their keys and deferred writes settled together",
        )?;
        let fallbacks = IntCounter::new(
            "group_commit_fallbacks_total",
            "Fast batches rolled back and run again behind savepoints (a unit failed, or a key was taken)",
        )?;
        let queued = IntGauge::new(
            "group_commit_queued_units",
            "Units of work waiting for the writers now",
        )?;
        for counter in [
            &batches,
            &units,
            &failed_commits,
            &reruns,
            &fast_batches,
            &fallbacks,
        ] {
            registry.register(Box::new(counter.clone()))?;
        }
        for gauge in [&queued, &cache_down, &cache_owed] {
            registry.register(Box::new(gauge.clone()))?;
        }
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(db_pool_size.clone()))?;
        registry.register(Box::new(db_pool_idle.clone()))?;
        registry.register(Box::new(cache_hits.clone()))?;
        registry.register(Box::new(cache_misses.clone()))?;
        registry.register(Box::new(cache_errors.clone()))?;
        let business = business::Business::new(&registry)?;
        Ok(Self {
            business,
            scraping: std::sync::Mutex::new(()),
            registry,
            requests,
            latency,
            db_pool_size,
            db_pool_idle,
            cache_hits,
            cache_misses,
            cache_errors,
            cache_down,
            cache_owed,
            batches,
            units,
            failed_commits,
            reruns,
            fast_batches,
            fallbacks,
            queued,
        })
    }

    /// Reads the pool, cache and writer figures and renders everything in the text format.
    pub fn render(
        &self,
        db: &sea_orm::DatabaseConnection,
        cache: &platform::Cache,
        committer: &platform::group_commit::Committer,
    ) -> String {
        let _one_scrape = self
            .scraping
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (size, idle) = platform::db::pool_figures(db);
        self.db_pool_size.set(i64::from(size));
        self.db_pool_idle
            .set(i64::try_from(idle).unwrap_or(i64::MAX));
        let stats = cache.stats();
        catch_up(&self.cache_hits, &stats.hits);
        catch_up(&self.cache_misses, &stats.misses);
        catch_up(&self.cache_errors, &stats.errors);
        self.cache_down.set(i64::from(cache.is_down()));
        self.cache_owed
            .set(i64::try_from(cache.owed_writes()).unwrap_or(i64::MAX));
        let figures = committer.figures();
        catch_up(&self.batches, &figures.batches);
        catch_up(&self.units, &figures.units);
        catch_up(&self.failed_commits, &figures.failed_commits);
        catch_up(&self.reruns, &figures.reruns);
        catch_up(&self.fast_batches, &figures.fast_batches);
        catch_up(&self.fallbacks, &figures.fallbacks);
        self.queued
            .set(i64::try_from(committer.queued()).unwrap_or(i64::MAX));
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "encoding metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

/// Brings `counter` up to `source`, a count kept by the cache or the writers themselves
/// (read at scrape time, so they need not know about Prometheus).
fn catch_up(counter: &IntCounter, source: &std::sync::atomic::AtomicU64) {
    let now = source.load(std::sync::atomic::Ordering::Relaxed);
    counter.inc_by(now.saturating_sub(counter.get()));
}
