//! Fixed-window rate limits kept in the cache (shared through Redis when configured, so
//! several API instances count together).

use crate::error::ApiError;
use platform::Cache;
use std::time::Duration;

#[derive(Clone)]
pub struct RateLimiter {
    cache: Cache,
}

impl RateLimiter {
    pub fn new(cache: Cache) -> Self {
        Self { cache }
    }

    /// 429 when `key` has already seen `limit` hits in its current window, without counting
    /// this request: for a second, slower ceiling consulted before a primary limit counts.
    pub async fn ensure_below(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<(), ApiError> {
        match self.cache.get(&format!("ratelimit:{key}")).await {
            Ok(Some(count)) if count.parse::<u64>().unwrap_or(0) >= u64::from(limit) => {
                tracing::warn!(key, "rate limit reached");
                Err(ApiError::too_many_requests(window.as_secs()))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, key, "rate limiter unavailable; allowing the request");
                Ok(())
            }
        }
    }

    /// Forgets every hit of `key`, e.g. a caller's failed logins once they log in.
    pub async fn reset(&self, key: &str) {
        if let Err(e) = self.cache.delete(&format!("ratelimit:{key}")).await {
            tracing::warn!(error = %e, key, "could not reset a rate limit");
        }
    }

    /// Takes back one hit of `key` (see [`Cache::unhit_window`]). Limits on failures count
    /// every attempt with [`RateLimiter::hit`] before it is made, atomically, so a burst of
    /// parallel attempts cannot all pass a check-then-count; an attempt that succeeds is
    /// given back here.
    pub async fn give_back(&self, key: &str) {
        if let Err(e) = self.cache.unhit_window(&format!("ratelimit:{key}")).await {
            tracing::warn!(error = %e, key, "could not give back a rate-limit hit");
        }
    }

    /// Counts one hit against `key`; 429 with `Retry-After` once `limit` is exceeded within
    /// `window`. If the cache is unreachable the request is let through (and logged): a
    /// cache outage should not lock every resident out.
    pub async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<(), ApiError> {
        match self
            .cache
            .hit_window(&format!("ratelimit:{key}"), window)
            .await
        {
            Ok(count) if count.count > u64::from(limit) => {
                let retry_after =
                    count.resets_in.as_secs() + u64::from(count.resets_in.subsec_nanos() > 0);
                tracing::warn!(key, count = count.count, "rate limit exceeded");
                Err(ApiError::too_many_requests(retry_after))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, key, "rate limiter unavailable; allowing the request");
                Ok(())
            }
        }
    }
}
