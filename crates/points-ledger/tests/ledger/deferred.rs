//! Transfers and holds kept by a deferring group-commit batch (`platform::batch_scope`)
//! end where posting them one by one ends, and every read in between sees them.

use crate::support::*;
use chrono::{TimeZone, Utc};
use platform::batch_scope::{deferring, flush_all};
use points_ledger::service::accounts::balance_of;
use points_ledger::service::holds::{self, HoldRequest};
use points_ledger::service::statement::expiring;
use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
use points_ledger::{AccountRef, ExpiryRule, LedgerError};
use rand::{Rng, SeedableRng};
use sea_orm::TransactionTrait;

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

/// Runs `work` on a task of its own, outside the batch's scope (whose transfers it would
/// otherwise keep: the scope belongs to the task).
async fn outside_the_batch<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    tokio::spawn(work).await.unwrap()
}

#[tokio::test]
async fn kept_transfers_answer_read_and_end_like_transfers_posted_at_once() {
    let deferred = ledger_db().await;
    let single = ledger_db().await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let users = ["u0", "u1", "u2", "u3"];
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for round in 0..10 {
        let txn = deferred.begin().await.unwrap();
        deferring(async {
            for i in 0..rng.random_range(1..25) {
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
                let kept = transfer(&txn, request.clone(), ExpiryRule::default(), now).await;
                let posted = {
                    let (single, key, request) = (single.clone(), key.clone(), request.clone());
                    outside_the_batch(async move {
                        move_points(
                            &single,
                            &key,
                            request.from,
                            request.to,
                            request.amount,
                            request.code,
                            now,
                        )
                        .await
                    })
                    .await
                };
                match (&kept, &posted) {
                    (Ok(kept), Ok(posted)) => {
                        assert_eq!(kept.balances_after, posted.balances_after, "{key}");
                        assert!(!kept.replayed);
                    }
                    (
                        Err(LedgerError::Insufficient { available: a, .. }),
                        Err(LedgerError::Insufficient { available: b, .. }),
                    ) => assert_eq!(a, b, "{key}"),
                    _ => panic!("{key}: {kept:?} vs {posted:?}"),
                }
                // Now and then a read in the middle of the batch: it sees what was kept.
                if rng.random_range(0..5) == 0 {
                    let account = wallet(users[rng.random_range(0..4)]);
                    let seen = (
                        balance_of(&txn, &account).await.unwrap(),
                        expiring(&txn, &account, now).await.unwrap(),
                    );
                    let (single, account) = (single.clone(), account.clone());
                    let truth = outside_the_batch(async move {
                        (
                            balance_of(&single, &account).await.unwrap(),
                            expiring(&single, &account, now).await.unwrap(),
                        )
                    })
                    .await;
                    assert_eq!(seen, truth, "{key}");
                }
            }
            flush_all(&txn).await.unwrap();
        })
        .await;
        txn.commit().await.unwrap();
    }
    let accounts = users
        .iter()
        .map(|u| wallet(u))
        .chain([merchant("m"), AccountRef::treasury(DISTRICT)]);
    assert_same_books(&deferred, &single, accounts, now).await;
    assert_verified(&deferred).await;
}

/// Rows in the transfers table, counted past the ledger's functions (which would write what
/// a batch kept first).
async fn transfer_rows(conn: &impl sea_orm::ConnectionTrait) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    points_ledger::entity::transfer::Entity::find()
        .count(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_hold_after_a_kept_transfer_sees_the_balance_it_left() {
    let db = ledger_db().await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    award(&db, "fund", "alice", 100, now).await;
    let txn = db.begin().await.unwrap();
    let hold = deferring(async {
        transfer(
            &txn,
            request("spend", wallet("alice"), merchant("m"), 70),
            ExpiryRule::default(),
            now,
        )
        .await
        .unwrap();
        // Kept, not written: the table holds only the award.
        assert_eq!(transfer_rows(&txn).await, 1);
        // 30 left: a hold of 50 must be refused, not granted against the balance as it was
        // before the kept transfer (the hold is kept too, against the balance kept here).
        let hold = holds::reserve(
            &txn,
            HoldRequest {
                idempotency_key: "hold".into(),
                account: wallet("alice"),
                amount: 50,
                expires_at: now + chrono::Duration::hours(1),
                reference: None,
            },
            now,
        )
        .await;
        assert_eq!(transfer_rows(&txn).await, 1);
        flush_all(&txn).await.unwrap();
        assert_eq!(transfer_rows(&txn).await, 2);
        hold
    })
    .await;
    assert!(
        matches!(hold, Err(LedgerError::Insufficient { available: 30, .. })),
        "{hold:?}"
    );
    txn.commit().await.unwrap();
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 30);
    assert_verified(&db).await;
}

#[tokio::test]
async fn a_kept_transfer_whose_key_was_used_before_fails_the_batch_write() {
    let db = ledger_db().await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    award(&db, "fund", "alice", 100, now).await;
    let txn = db.begin().await.unwrap();
    let written = deferring(async {
        // The same key as the award before: posted at once it would replay; kept, the write
        // refuses it, and the batch runs again unit by unit.
        let kept = transfer(
            &txn,
            TransferRequest {
                code: TransferCode::Award,
                ..request("fund", AccountRef::treasury(DISTRICT), wallet("alice"), 100)
            },
            ExpiryRule::default(),
            now,
        )
        .await;
        assert!(kept.is_ok());
        flush_all(&txn).await
    })
    .await;
    assert!(written.is_err(), "the write refuses a key used before");
    txn.rollback().await.unwrap();
    assert_eq!(
        balance_of(&db, &wallet("alice")).await.unwrap().balance,
        100
    );
    assert_verified(&db).await;
}

fn hold_request(key: &str, user: &str, amount: i64, now: chrono::DateTime<Utc>) -> HoldRequest {
    HoldRequest {
        idempotency_key: key.to_owned(),
        account: wallet(user),
        amount,
        expires_at: now + chrono::Duration::days(1),
        reference: Some(("test".to_owned(), key.to_owned())),
    }
}

/// A hold made in both databases: its id in the batch's and in the one-by-one one.
struct Pending {
    kept: String,
    single: String,
    amount: i64,
}

#[tokio::test]
async fn kept_holds_answer_read_and_end_like_holds_posted_at_once() {
    let deferred = ledger_db().await;
    let single = ledger_db().await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let users = ["u0", "u1", "u2"];
    let mut pending: Vec<Pending> = Vec::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    for round in 0..12 {
        let txn = deferred.begin().await.unwrap();
        deferring(async {
            for i in 0..rng.random_range(1..25) {
                let key = format!("r{round}-{i}");
                let user = users[rng.random_range(0..users.len())];
                match rng.random_range(0..6) {
                    // Points in, kept as a transfer.
                    0 => {
                        let amount = rng.random_range(1..60);
                        let award = TransferRequest {
                            code: TransferCode::Award,
                            ..request(&key, AccountRef::treasury(DISTRICT), wallet(user), amount)
                        };
                        let kept = transfer(&txn, award.clone(), ExpiryRule::default(), now)
                            .await
                            .unwrap();
                        let single = single.clone();
                        let posted = outside_the_batch(async move {
                            let txn = single.begin().await.unwrap();
                            let posted = transfer(&txn, award, ExpiryRule::default(), now)
                                .await
                                .unwrap();
                            txn.commit().await.unwrap();
                            posted
                        })
                        .await;
                        assert_eq!(kept.balances_after, posted.balances_after, "{key}");
                    }
                    // A reservation; refused alike when the available points are short.
                    1 | 2 => {
                        let amount = rng.random_range(1..50);
                        let kept =
                            holds::reserve(&txn, hold_request(&key, user, amount, now), now).await;
                        let (single, request) =
                            (single.clone(), hold_request(&key, user, amount, now));
                        let made = outside_the_batch(async move {
                            let txn = single.begin().await.unwrap();
                            let made = holds::reserve(&txn, request, now).await;
                            txn.commit().await.unwrap();
                            made
                        })
                        .await;
                        match (kept, made) {
                            (Ok(kept), Ok(made)) => {
                                assert_eq!(kept.amount, made.amount);
                                pending.push(Pending {
                                    kept: kept.id,
                                    single: made.id,
                                    amount,
                                });
                            }
                            (
                                Err(LedgerError::Insufficient { available: a, .. }),
                                Err(LedgerError::Insufficient { available: b, .. }),
                            ) => assert_eq!(a, b, "{key}"),
                            (kept, made) => panic!("{key}: {kept:?} vs {made:?}"),
                        }
                    }
                    // Posting part or all of a pending hold (sometimes twice: the retry
                    // replays), or voiding it.
                    _ if !pending.is_empty() => {
                        let hold = pending.swap_remove(rng.random_range(0..pending.len()));
                        if rng.random_range(0..3) == 0 {
                            holds::void(&txn, &hold.kept, now).await.unwrap();
                            let single = single.clone();
                            outside_the_batch(async move {
                                holds::void(&single, &hold.single, now).await.unwrap();
                            })
                            .await;
                            continue;
                        }
                        let amount = rng.random_range(1..=hold.amount);
                        let kept = holds::post(
                            &txn,
                            post_to_merchant(&hold.kept, amount, &key),
                            ExpiryRule::default(),
                            now,
                        )
                        .await
                        .unwrap();
                        assert!(!kept.replayed);
                        if rng.random_range(0..4) == 0 {
                            let again = holds::post(
                                &txn,
                                post_to_merchant(&hold.kept, amount, &key),
                                ExpiryRule::default(),
                                now,
                            )
                            .await
                            .unwrap();
                            assert!(again.replayed, "{key}: a retry replays");
                            assert_eq!(again.transfer.id, kept.transfer.id);
                        }
                        let (single, request) =
                            (single.clone(), post_to_merchant(&hold.single, amount, &key));
                        let posted = outside_the_batch(async move {
                            let txn = single.begin().await.unwrap();
                            let posted = holds::post(&txn, request, ExpiryRule::default(), now)
                                .await
                                .unwrap();
                            txn.commit().await.unwrap();
                            posted
                        })
                        .await;
                        assert_eq!(kept.balances_after, posted.balances_after, "{key}");
                    }
                    _ => {}
                }
                // Now and then a read in the middle of the batch: it sees what was kept.
                if rng.random_range(0..4) == 0 {
                    let account = wallet(users[rng.random_range(0..users.len())]);
                    let seen = balance_of(&txn, &account).await.unwrap();
                    let (single, account) = (single.clone(), account.clone());
                    let truth =
                        outside_the_batch(async move { balance_of(&single, &account).await })
                            .await
                            .unwrap();
                    assert_eq!(seen, truth, "{key}");
                }
            }
            flush_all(&txn).await.unwrap();
        })
        .await;
        txn.commit().await.unwrap();
    }
    let accounts = users
        .iter()
        .map(|u| wallet(u))
        .chain([merchant("m"), AccountRef::treasury(DISTRICT)]);
    assert_same_books(&deferred, &single, accounts, now).await;
    for hold in &pending {
        let kept = holds::find(&deferred, &hold.kept).await.unwrap().unwrap();
        assert_eq!(kept.status, "pending");
    }
    assert_verified(&deferred).await;
}

/// What a table holds, row by row, without the generated ids (which differ between the
/// two databases): transfers by key with their optional columns, entries and lots by
/// transfer key, draws by transfer key and the key of the lot's transfer.
async fn rows_by_key(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    use points_ledger::entity::{account, entry, lot, lot_draw, transfer as row};
    use sea_orm::EntityTrait;
    use std::collections::HashMap;
    let transfers = row::Entity::find().all(db).await.unwrap();
    let key_of: HashMap<String, String> = transfers
        .iter()
        .map(|t| (t.id.clone(), t.idempotency_key.clone()))
        .collect();
    let owner_of: HashMap<String, String> = account::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, format!("{}:{}:{}", a.asset, a.kind, a.owner_id)))
        .collect();
    let lot_transfer: HashMap<String, String> = lot::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.id, key_of[&l.transfer_id].clone()))
        .collect();
    let mut rows: Vec<String> = transfers
        .iter()
        .map(|t| {
            format!(
                "transfer {} {} {}→{} {} memo={:?} ref={:?}/{:?} hold={} at {}",
                t.idempotency_key,
                t.code,
                owner_of[&t.debit_account_id],
                owner_of[&t.credit_account_id],
                t.amount,
                t.memo,
                t.ref_type,
                t.ref_id,
                t.hold_id.is_some(),
                t.created_at,
            )
        })
        .collect();
    for e in entry::Entity::find().all(db).await.unwrap() {
        rows.push(format!(
            "entry {} {} {} after {} at {}",
            key_of[&e.transfer_id],
            owner_of[&e.account_id],
            e.amount,
            e.balance_after,
            e.created_at
        ));
    }
    for l in lot::Entity::find().all(db).await.unwrap() {
        rows.push(format!(
            "lot {} {} {} left {} until {}",
            key_of[&l.transfer_id], owner_of[&l.account_id], l.amount, l.remaining, l.expires_at
        ));
    }
    for d in lot_draw::Entity::find().all(db).await.unwrap() {
        rows.push(format!(
            "draw {} from {} {}",
            key_of[&d.transfer_id], lot_transfer[&d.lot_id], d.amount
        ));
    }
    rows.sort();
    rows
}

#[tokio::test]
async fn a_batch_writes_the_rows_posting_one_by_one_writes() {
    let deferred = ledger_db().await;
    let single = ledger_db().await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    // A lot from before the batch, to be drawn from inside it.
    for db in [&deferred, &single] {
        award(db, "before", "alice", 30, now).await;
    }
    let batch = [
        // Optional columns set, and not: each must read back as it went in.
        TransferRequest {
            code: TransferCode::Award,
            memo: "参加社区志愿服务".to_owned(),
            reference: Some(("staff".to_owned(), "s1".to_owned())),
            ..request("a1", AccountRef::treasury(DISTRICT), wallet("alice"), 50)
        },
        request("g1", wallet("alice"), wallet("bob"), 20),
        // Draws from the lot before the batch and from those the batch made.
        request("p1", wallet("alice"), merchant("m"), 45),
        request("p2", wallet("bob"), merchant("m"), 5),
        request("a2", AccountRef::treasury(DISTRICT), wallet("carol"), 7),
    ];
    let txn = deferred.begin().await.unwrap();
    deferring(async {
        for request in &batch {
            transfer(&txn, request.clone(), ExpiryRule::default(), now)
                .await
                .unwrap();
        }
        flush_all(&txn).await.unwrap();
    })
    .await;
    txn.commit().await.unwrap();
    for request in batch {
        let txn = single.begin().await.unwrap();
        transfer(&txn, request, ExpiryRule::default(), now)
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
    let rows = rows_by_key(&deferred).await;
    // The lot from before the batch is drawn first (it expires no later), then those the
    // batch made: a1's by alice, g1's by bob.
    for draw in [
        "draw g1 from before 20",
        "draw p1 from before 10",
        "draw p1 from a1 35",
        "draw p2 from g1 5",
    ] {
        assert!(rows.iter().any(|r| r == draw), "{draw}: {rows:#?}");
    }
    assert_eq!(rows, rows_by_key(&single).await);
    assert_verified(&deferred).await;
}
