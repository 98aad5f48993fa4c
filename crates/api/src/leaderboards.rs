//! Volunteer leaderboards, kept in Redis sorted sets when Redis is configured: one set per
//! org and period (`lb:vol:<org>:<period>`), read with `ZREVRANGE`. A set that is missing
//! (never built, expired, or Redis flushed) is rebuilt from the database on its next read;
//! settlements add to the sets that exist after their transaction commits. Sets live an
//! hour, so a change lost between a commit and its Redis update heals within the hour.
//! Without Redis the boards are computed in SQL on every read.

use crate::error::ApiError;
use crate::state::AppState;
use identity::entity::org;
use std::time::Duration;
use timebank::entity::activity;
use timebank::service::leaderboard::{totals, Period};
use timebank::service::settlement::Payment;

const TTL: Duration = Duration::from_secs(3600);

/// The cache key of an org's board for a period key (`m2026-11`, `y2026`, `all`).
pub fn key(org_id: &str, period_key: &str) -> String {
    format!("lb:vol:{org_id}:{period_key}")
}

/// The top `limit` `(user_id, minutes)` under the org in the period, most first.
pub async fn top(
    state: &AppState,
    org: &org::Model,
    period: Period,
    limit: usize,
) -> Result<Vec<(String, i64)>, ApiError> {
    let now = state.clock.now();
    let cache_key = key(&org.id, &period.key(now));
    if state.cache.is_redis() {
        match state.cache.ranking_top(&cache_key, limit).await {
            Ok(Some(top)) => return Ok(top),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "leaderboard: Redis unavailable, using the database")
            }
        }
    }
    let all = totals(&state.db, &org.path, period, now).await?;
    if state.cache.is_redis() {
        if let Err(e) = state.cache.ranking_replace(&cache_key, &all, TTL).await {
            tracing::warn!(error = %e, "leaderboard: could not store the rebuilt board");
        }
    }
    Ok(all.into_iter().take(limit).collect())
}

/// Adds freshly settled minutes to every board they count on: the organising org and each
/// org above it, for the activity's month, its year and all time.
pub async fn record(state: &AppState, activity: &activity::Model, paid: &[Payment]) {
    if !state.cache.is_redis() || !timebank::report::is_volunteering(activity) {
        return;
    }
    let orgs: Vec<&str> = activity
        .org_path
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let periods = [
        Period::Month.key(activity.starts_at),
        Period::Year.key(activity.starts_at),
        Period::All.key(activity.starts_at),
    ];
    for payment in paid.iter().filter(|p| p.minutes > 0) {
        for org_id in &orgs {
            for period in &periods {
                if let Err(e) = state
                    .cache
                    .ranking_add_if_present(&key(org_id, period), &payment.user_id, payment.minutes)
                    .await
                {
                    tracing::warn!(error = %e, "leaderboard: could not add settled minutes; the board heals when it expires");
                }
            }
        }
    }
}
