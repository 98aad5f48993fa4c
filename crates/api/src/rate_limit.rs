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

/// An attempt counted against limits on failures (wrong codes, wrong passwords) before it
/// is made: every window is hit with `INCR`, then compared, so a parallel burst cannot slip
/// past a check-then-count. Keep the hits when the attempt failed the way the limits count
/// (`failed`); take them back otherwise (`not_a_failure`).
pub struct FailureAttempt {
    limiter: RateLimiter,
    keys: Vec<String>,
}

impl RateLimiter {
    /// Counts one attempt in each `(key, limit, window)`, in order; 429 (with every hit given
    /// back) as soon as one is over its limit.
    pub async fn attempt(
        &self,
        limits: Vec<(String, u32, Duration)>,
    ) -> Result<FailureAttempt, ApiError> {
        let mut attempt = FailureAttempt {
            limiter: self.clone(),
            keys: Vec::with_capacity(limits.len()),
        };
        for (key, limit, window) in limits {
            let counted = self.hit(&key, limit, window).await;
            attempt.keys.push(key);
            if let Err(limited) = counted {
                attempt.not_a_failure().await;
                return Err(limited);
            }
        }
        Ok(attempt)
    }
}

impl FailureAttempt {
    /// The attempt failed as the limits count: its hits stay.
    pub fn failed(self) {}

    /// The attempt succeeded, or failed for another reason: its hits are given back.
    pub async fn not_a_failure(self) {
        for key in &self.keys {
            self.limiter.give_back(key).await;
        }
    }
}
