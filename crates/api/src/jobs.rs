//! Background jobs, run every `jobs.interval_seconds` by each instance that has
//! `jobs.enabled`. Every job is idempotent and safe with several instances running at once:
//! holds, lots, demands and outbox rows change by compare-and-set, and expiry transfers carry
//! idempotency keys. WeChat messages go out last, after every transaction has committed.

use crate::state::AppState;
use chrono::Duration;
use sea_orm::TransactionTrait;

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
    pub messages: crate::outbox::DeliveryReport,
}

/// One round of every job.
pub async fn run_once(state: &AppState) -> anyhow::Result<RoundReport> {
    let now = state.clock.now();
    let txn = state.db.begin().await?;
    let reservations_expired = merchant::service::redemptions::expire_due(&txn, now, BATCH).await?;
    txn.commit().await?;

    let txn = state.db.begin().await?;
    let holds_released = points_ledger::service::holds::release_expired(&txn, now, BATCH).await?;
    txn.commit().await?;

    let txn = state.db.begin().await?;
    let points_expired = points_ledger::service::expiry::expire_lots(&txn, now, BATCH).await?;
    txn.commit().await?;

    let txn = state.db.begin().await?;
    let demands = demands::service::sla::run(&txn, now, BATCH).await?;
    txn.commit().await?;

    let txn = state.db.begin().await?;
    let parking_no_shows = parking::service::bookings::mark_no_shows(
        &txn,
        Duration::minutes(state.settings.parking.no_show_minutes),
        state.settings.parking.no_show_units,
        state.expiry_rule(),
        now,
        BATCH,
    )
    .await?;
    txn.commit().await?;

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
        messages,
    })
}

/// Runs rounds forever; errors are logged and the next round tries again.
pub async fn run_forever(state: AppState) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(
        state.settings.jobs.interval_seconds,
    ));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
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
