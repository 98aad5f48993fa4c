//! Concurrent debits cannot overdraw, and concurrent retries of one key post once. Runs on
//! SQLite by default and on PostgreSQL (a real pool, real row locks) with
//! LINLI_TEST_DATABASE_URL.

use crate::support::*;
use chrono::Utc;
use futures_util::future::join_all;
use points_ledger::service::accounts::balance_of;
use points_ledger::service::transfers::TransferCode;
use points_ledger::LedgerError;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_debits_of_ten_from_250_leave_exactly_25_paid() {
    let db = ledger_db().await;
    let now = Utc::now();
    award(&db, "fund", "alice", 250, now).await;
    let attempts = (0..100).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            move_points(
                &db,
                &format!("spend-{i}"),
                wallet("alice"),
                merchant("m1"),
                10,
                TransferCode::Redemption,
                now,
            )
            .await
        })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    let insufficient = results
        .iter()
        .filter(|r| matches!(r, Err(LedgerError::Insufficient { .. })))
        .count();
    assert_eq!(
        succeeded,
        25,
        "{:?}",
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .collect::<Vec<_>>()
    );
    assert_eq!(insufficient, 75);
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 0);
    assert_eq!(balance_of(&db, &merchant("m1")).await.unwrap().balance, 250);
    assert_verified(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_retries_of_one_key_post_one_transfer() {
    let db = ledger_db().await;
    let now = Utc::now();
    award(&db, "fund", "alice", 100, now).await;
    let attempts = (0..100).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            move_points(
                &db,
                "the-one-key",
                wallet("alice"),
                merchant("m1"),
                7,
                TransferCode::Redemption,
                now,
            )
            .await
        })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let ids: std::collections::HashSet<&str> =
        results.iter().map(|p| p.transfer.id.as_str()).collect();
    assert_eq!(ids.len(), 1, "every retry sees the same transfer");
    assert_eq!(results.iter().filter(|p| !p.replayed).count(), 1);
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 93);
    assert_verified(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opposite_transfers_between_two_wallets_do_not_deadlock() {
    let db = ledger_db().await;
    let now = Utc::now();
    award(&db, "fa", "alice", 1000, now).await;
    award(&db, "fb", "bob", 1000, now).await;
    let attempts = (0..60).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            let (from, to) = if i % 2 == 0 {
                ("alice", "bob")
            } else {
                ("bob", "alice")
            };
            move_points(
                &db,
                &format!("g{i}"),
                wallet(from),
                wallet(to),
                5,
                TransferCode::Gift,
                now,
            )
            .await
        })
    });
    for result in join_all(attempts).await {
        result.unwrap().unwrap();
    }
    let total = balance_of(&db, &wallet("alice")).await.unwrap().balance
        + balance_of(&db, &wallet("bob")).await.unwrap().balance;
    assert_eq!(total, 2000);
    assert_verified(&db).await;
}
