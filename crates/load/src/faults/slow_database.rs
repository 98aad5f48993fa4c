//! A database too slow to keep up: the ledger's accounts table locked from outside for a
//! while (every statement touching it waits), while a flood of wallet reads joins the write
//! load. Statements outlast `database.statement_timeout_ms` and are cancelled, requests
//! outwait `database.acquire_timeout_ms` for a connection: either way they must answer 503
//! with `Retry-After`, never 500 and never hang; the servers' memory must stay bounded; and
//! once the lock is gone, they serve again at once.

use super::{outcome, Outcome, Setup, Stage};
use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Concurrent wallet readers in the flood.
const FLOOD: usize = 200;
/// The servers' memory may not pass this during the flood.
const RSS_BOUND_MIB: f64 = 300.0;

/// One flood request's answer: status (0: none), whether it said when to retry, how long.
struct Seen {
    status: u16,
    retry_after: bool,
    took: Duration,
}

pub(super) async fn slow_database(setup: &Setup) -> anyhow::Result<Outcome> {
    let mut outcome = outcome("slow-db");
    let mut stage = Stage::build(setup).await?;
    let reader = stage.api.resident("faults-flood").await?;
    stage.start_load();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stage.fleet.reset_peak();

    let database_url = stage
        .fleet
        .database_url
        .clone()
        .context("the fleet's database")?;
    let holder = Database::connect(database_url.as_str()).await?;
    let lock = holder.begin().await?;
    lock.execute_unprepared("LOCK TABLE ledger_accounts IN ACCESS EXCLUSIVE MODE")
        .await?;
    let slow_from = stage.traffic.elapsed();

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let flood: Vec<_> = (0..FLOOD)
        .map(|n| {
            let url = format!("{}/api/v1/me/wallet", stage.fleet.urls[n % 2]);
            let (http, token, stop, seen) = (
                http.clone(),
                reader.token.clone(),
                stop.clone(),
                seen.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let begun = Instant::now();
                    let answer = http.get(&url).bearer_auth(&token).send().await;
                    let (status, retry_after) = match &answer {
                        Ok(r) => (r.status().as_u16(), r.headers().contains_key("retry-after")),
                        Err(_) => (0, false),
                    };
                    if let Ok(mut seen) = seen.lock() {
                        seen.push(Seen {
                            status,
                            retry_after,
                            took: begun.elapsed(),
                        });
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(setup.slow_for).await;
    lock.rollback().await?;
    let slow_to = stage.traffic.elapsed();
    let released = Instant::now();
    stop.store(true, Ordering::Relaxed);
    for task in flood {
        task.await.context("a flood task panicked")?;
    }
    let peak = stage.fleet.peak_rss_mib().unwrap_or_default();

    // Serving again: a wallet read answers 200 on both instances.
    for url in stage.fleet.urls.clone() {
        super::wait_for(
            || {
                let (http, token, url) = (http.clone(), reader.token.clone(), url.clone());
                async move {
                    http.get(format!("{url}/api/v1/me/wallet"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == 200)
                }
            },
            Duration::from_secs(30),
        )
        .await
        .with_context(|| format!("{url} serving again after the lock"))?;
    }
    let recovered = released.elapsed();

    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for s in &seen {
        *by_status.entry(s.status).or_default() += 1;
    }
    outcome.figure(
        "accounts table locked",
        format!("{:.1} s", (slow_to - slow_from).as_secs_f64()),
    );
    outcome.figure(
        "flood of wallet reads",
        format!("{FLOOD} at once, {} answers", seen.len()),
    );
    outcome.figure(
        "flood answers by status",
        by_status
            .iter()
            .map(|(status, n)| format!("{status}: {n}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let slowest = seen.iter().map(|s| s.took).max().unwrap_or_default();
    outcome.figure(
        "slowest flood answer",
        format!("{} ms", slowest.as_millis()),
    );
    outcome.figure("peak server RSS", format!("{peak:.0} MiB"));
    outcome.figure(
        "serving again after the lock",
        format!("{:.1} s", recovered.as_secs_f64()),
    );
    let bad = seen
        .iter()
        .filter(|s| !(s.status == 200 || (s.status == 503 && s.retry_after)))
        .count();
    if bad > 0 {
        outcome.fail(format!(
            "{bad} flood answers were neither 200 nor 503 with Retry-After"
        ));
    }
    let bound = setup.acquire_timeout + setup.statement_timeout + Duration::from_secs(2);
    if slowest > bound {
        outcome.fail(format!(
            "a flood request took {} ms (bound {} ms)",
            slowest.as_millis(),
            bound.as_millis()
        ));
    }
    if peak > RSS_BOUND_MIB {
        outcome.fail(format!(
            "a server reached {peak:.0} MiB under the flood (bound {RSS_BOUND_MIB} MiB)"
        ));
    }
    if recovered > Duration::from_secs(5) {
        outcome.fail(format!(
            "serving again only {:.1} s after the lock was released",
            recovered.as_secs_f64()
        ));
    }
    let during = stage
        .traffic
        .writes()
        .into_iter()
        .filter(|w| w.first.at >= slow_from && w.first.at <= slow_to)
        .count();
    outcome.figure("keyed writes while slow", during);
    stage.finish(setup, &mut outcome).await?;
    Ok(outcome)
}
