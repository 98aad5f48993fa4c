//! Group commit gives the same results as posting one by one.

use crate::support::*;
use chrono::{TimeZone, Utc};
use futures_util::future::join_all;
use points_ledger::service::accounts::balance_of;
use points_ledger::service::batch::{try_post_batch, TransferBatcher};
use points_ledger::service::statement::expiring;
use points_ledger::service::transfers::{TransferCode, TransferRequest};
use points_ledger::{AccountRef, ExpiryRule, LedgerError};
use rand::{Rng, SeedableRng};

fn request(key: &str, from: AccountRef, to: AccountRef, amount: i64) -> TransferRequest {
    TransferRequest {
        idempotency_key: key.to_owned(),
        from,
        to,
        amount,
        code: TransferCode::Gift,
        memo: String::new(),
        reference: None,
    }
}

#[tokio::test]
async fn a_batch_applies_in_order_and_refuses_what_cannot_be_paid_alone() {
    let db = ledger_db().await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    award(&db, "fund-a", "alice", 100, now).await;
    let results = try_post_batch(
        &db,
        &[
            request("b1", wallet("alice"), wallet("bob"), 60),
            request("b2", wallet("alice"), wallet("carol"), 50), // only 40 left: refused
            request("b3", wallet("bob"), wallet("carol"), 60),   // bob can pay from b1's lot
            request("b1", wallet("alice"), wallet("bob"), 60),   // a retry inside the batch
            request("b1", wallet("alice"), wallet("bob"), 61),   // the same key, another request
            request("b4", wallet("alice"), wallet("alice"), 1),  // invalid alone
            // An earlier key with the same request: replayed.
            TransferRequest {
                code: TransferCode::Award,
                ..request(
                    "fund-a",
                    AccountRef::treasury(DISTRICT),
                    wallet("alice"),
                    100,
                )
            },
        ],
        ExpiryRule::default(),
        now,
    )
    .await
    .expect("the batch commits as one");
    assert!(results[0].as_ref().is_ok_and(|p| !p.replayed));
    assert!(matches!(
        results[1],
        Err(LedgerError::Insufficient {
            needed: 50,
            available: 40,
            ..
        })
    ));
    assert!(results[2].is_ok());
    assert!(results[3]
        .as_ref()
        .is_ok_and(|p| p.replayed && p.transfer.id == results[0].as_ref().unwrap().transfer.id));
    assert!(matches!(
        results[4],
        Err(LedgerError::IdempotencyKeyReused(_))
    ));
    assert!(matches!(results[5], Err(LedgerError::SameAccount)));
    assert!(
        results[6].as_ref().is_ok_and(|p| p.replayed),
        "{:?}",
        results[6]
    );

    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 40);
    assert_eq!(balance_of(&db, &wallet("bob")).await.unwrap().balance, 0);
    assert_eq!(balance_of(&db, &wallet("carol")).await.unwrap().balance, 60);
    // carol's points came through bob but are a new lot of carol's.
    assert_eq!(
        expiring(&db, &wallet("carol"), now)
            .await
            .unwrap()
            .iter()
            .map(|(a, _)| a)
            .sum::<i64>(),
        60
    );
    // The refused key was not consumed.
    let again = try_post_batch(
        &db,
        &[request("b2", wallet("alice"), wallet("carol"), 40)],
        ExpiryRule::default(),
        now,
    )
    .await
    .unwrap();
    assert!(again[0].is_ok());
    assert_verified(&db).await;
}

#[tokio::test]
async fn random_batches_end_where_one_by_one_posting_ends() {
    let batched = ledger_db().await;
    let single = ledger_db().await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let users = ["u0", "u1", "u2", "u3"];
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..12 {
        let mut requests = Vec::new();
        for i in 0..rng.random_range(1..30) {
            let key = format!("r{round}-{i}");
            let request = match rng.random_range(0..4) {
                0 => request(
                    &key,
                    AccountRef::treasury(DISTRICT),
                    wallet(users[rng.random_range(0..4)]),
                    rng.random_range(1..80),
                ),
                1 => request(
                    &key,
                    wallet(users[rng.random_range(0..4)]),
                    merchant("m"),
                    rng.random_range(1..60),
                ),
                _ => {
                    let from = rng.random_range(0..4);
                    let to = (from + rng.random_range(1..4)) % 4;
                    request(
                        &key,
                        wallet(users[from]),
                        wallet(users[to]),
                        rng.random_range(1..60),
                    )
                }
            };
            requests.push(request);
        }
        let batch_results = try_post_batch(&batched, &requests, ExpiryRule::default(), now)
            .await
            .expect("the batch commits as one");
        for (request, batch_result) in requests.into_iter().zip(batch_results) {
            let key = request.idempotency_key.clone();
            let single_result = move_points(
                &single,
                &key,
                request.from,
                request.to,
                request.amount,
                request.code,
                now,
            )
            .await;
            assert_eq!(
                batch_result.is_ok(),
                single_result.is_ok(),
                "{key}: {batch_result:?} vs {single_result:?}"
            );
        }
    }
    for account in users
        .iter()
        .map(|u| wallet(u))
        .chain([merchant("m"), AccountRef::treasury(DISTRICT)])
    {
        assert_eq!(
            balance_of(&batched, &account).await.unwrap(),
            balance_of(&single, &account).await.unwrap(),
            "{account:?}"
        );
        assert_eq!(
            expiring(&batched, &account, now).await.unwrap(),
            expiring(&single, &account, now).await.unwrap()
        );
    }
    assert_verified(&batched).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_batcher_never_overdraws_under_concurrent_callers() {
    let db = ledger_db().await;
    let now = Utc::now();
    award(&db, "fund", "alice", 250, now).await;
    let batcher = TransferBatcher::start(
        db.clone(),
        2,
        64,
        ExpiryRule::default(),
        platform::Clock::system(),
    );
    let calls = (0..100).map(|i| {
        let batcher = batcher.clone();
        tokio::spawn(async move {
            batcher
                .submit(request(
                    &format!("spend-{i}"),
                    wallet("alice"),
                    merchant("m"),
                    10,
                ))
                .await
        })
    });
    let results: Vec<_> = join_all(calls)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 25);
    assert_eq!(
        results
            .iter()
            .filter(|r| matches!(r, Err(LedgerError::Insufficient { .. })))
            .count(),
        75
    );
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 0);
    assert_verified(&db).await;
}
