//! Background jobs, run every `jobs.interval_seconds` by each instance that has
//! `jobs.enabled`. Every job is idempotent and safe with several instances running at once:
//! holds, lots, demands and outbox rows change by compare-and-set, and expiry transfers carry
//! idempotency keys. WeChat messages go out last, after every transaction has committed.

use crate::metrics::business::Closure;
use crate::state::AppState;
use chrono::Duration;
use platform::unit_of_work::atomically;

/// Rows one job touches per round; the next round continues.
const BATCH: u64 = 500;
/// Idempotency records are kept this long (API.md promises at least 24 h).
const IDEMPOTENCY_RETENTION_HOURS: i64 = 48;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RoundReport {
    pub reservations_expired: u64,
    pub holds_released: u64,
    pub points_expired: i64,
    pub idempotency_records_purged: u64,
    pub demands: demands::service::sla::SlaReport,
    pub parking_no_shows: u64,
    pub home_service_orders: care::service::order_moves::StaleReport,
    pub messages: crate::outbox::DeliveryReport,
}

/// One round of every job.
pub async fn run_once(state: &AppState) -> anyhow::Result<RoundReport> {
    let now = state.clock.now();
    let db = &state.db;
    // Each step is its own unit of work: one failing step rolls back only itself.
    let reservations_expired = atomically(db, move |conn| {
        Box::pin(merchant::service::redemptions::expire_due(conn, now, BATCH))
    })
    .await?;
    let holds_released = atomically(db, move |conn| {
        Box::pin(points_ledger::service::holds::release_expired(
            conn, now, BATCH,
        ))
    })
    .await?;
    let points_expired = atomically(db, move |conn| {
        Box::pin(points_ledger::service::expiry::expire_lots(
            conn, now, BATCH,
        ))
    })
    .await?;
    let demands = atomically(db, move |conn| {
        Box::pin(demands::service::sla::run(conn, now, BATCH))
    })
    .await?;
    let business = &state.metrics.business;
    business.demands_overdue(demands.escalated);
    business.demands_closed(Closure::Automatic, demands.auto_closed);
    let no_show_after = Duration::minutes(state.settings.parking.no_show_minutes);
    let (no_show_units, rule) = (state.settings.parking.no_show_units, state.expiry_rule());
    let parking_no_shows = atomically(db, move |conn| {
        Box::pin(parking::service::bookings::mark_no_shows(
            conn,
            no_show_after,
            no_show_units,
            rule,
            now,
            BATCH,
        ))
    })
    .await?;

    let home_service_orders = atomically(db, move |conn| {
        Box::pin(care::service::order_moves::close_stale(
            conn, rule, now, BATCH,
        ))
    })
    .await?;

    let idempotency_records_purged = platform::idempotency::purge(
        &state.db,
        now - Duration::hours(IDEMPOTENCY_RETENTION_HOURS),
    )
    .await?;

    let messages = crate::outbox::deliver_due(state).await?;
    Ok(RoundReport {
        reservations_expired,
        holds_released,
        points_expired,
        idempotency_records_purged,
        demands,
        parking_no_shows,
        home_service_orders,
        messages,
    })
}

/// Runs a round every `jobs.interval_seconds` until `stop` turns true; errors are logged
/// and the next round tries again. Stopping waits for the round in progress: a round is
/// never cut off between its steps.
pub async fn run_until(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(
        state.settings.jobs.interval_seconds,
    ));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
        match run_once(&state).await {
            Ok(report) if report != RoundReport::default() => {
                tracing::info!(?report, "background jobs ran")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "background jobs failed; retrying next round")
            }
        }
    }
}
