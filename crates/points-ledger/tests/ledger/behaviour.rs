//! The ledger's rules, one by one, on a real database.

use crate::support::*;
use chrono::{Duration, TimeZone, Utc};
use points_ledger::service::accounts::balance_of;
use points_ledger::service::holds::{self, HoldRequest};
use points_ledger::service::transfers::TransferCode;
use points_ledger::service::{expiry, reversal, statement, verify};
use points_ledger::{AccountRef, ExpiryRule, LedgerError};
use sea_orm::{ConnectionTrait, TransactionTrait};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap()
}

#[tokio::test]
async fn transfers_move_value_and_refuse_overdrafts_without_writing() {
    let db = ledger_db().await;
    award(&db, "a1", "alice", 100, t0()).await;
    let spent = move_points(
        &db,
        "s1",
        wallet("alice"),
        merchant("m1"),
        30,
        TransferCode::Redemption,
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(spent.transfer.amount, 30);
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 70);
    assert_eq!(balance_of(&db, &merchant("m1")).await.unwrap().balance, 30);
    assert_eq!(
        balance_of(&db, &AccountRef::treasury(DISTRICT))
            .await
            .unwrap()
            .balance,
        -100
    );

    let err = move_points(
        &db,
        "s2",
        wallet("alice"),
        merchant("m1"),
        71,
        TransferCode::Redemption,
        t0(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::Insufficient {
                needed: 71,
                available: 70,
                ..
            }
        ),
        "{err:?}"
    );
    // The failed key was not consumed: the same key can succeed once there is enough.
    award(&db, "a2", "alice", 1, t0()).await;
    move_points(
        &db,
        "s2",
        wallet("alice"),
        merchant("m1"),
        71,
        TransferCode::Redemption,
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 0);

    for (amount, expected) in [(0, "InvalidAmount"), (-5, "InvalidAmount")] {
        let err = move_points(
            &db,
            "bad",
            wallet("alice"),
            merchant("m1"),
            amount,
            TransferCode::Gift,
            t0(),
        )
        .await
        .unwrap_err();
        assert!(format!("{err:?}").starts_with(expected), "{err:?}");
    }
    let err = move_points(
        &db,
        "self",
        wallet("alice"),
        wallet("alice"),
        1,
        TransferCode::Gift,
        t0(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::SameAccount));
    let err = move_points(
        &db,
        "mix",
        wallet("alice"),
        AccountRef::wallet(points_ledger::Asset::TimeCredits, "bob"),
        1,
        TransferCode::Gift,
        t0(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::AssetMismatch));
    assert_verified(&db).await;
}

#[tokio::test]
async fn a_retried_key_returns_the_first_transfer_and_a_changed_request_is_refused() {
    let db = ledger_db().await;
    let first = award(&db, "award-1", "alice", 50, t0()).await;
    let again = award(&db, "award-1", "alice", 50, t0()).await;
    assert!(again.replayed);
    assert_eq!(first.transfer.id, again.transfer.id);
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().balance, 50);
    let err = move_points(
        &db,
        "award-1",
        AccountRef::treasury(DISTRICT),
        wallet("alice"),
        60,
        TransferCode::Award,
        t0(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LedgerError::IdempotencyKeyReused(_)));
    assert_verified(&db).await;
}

#[tokio::test]
async fn holds_reserve_then_post_part_or_void_or_expire() {
    let db = ledger_db().await;
    award(&db, "a", "alice", 100, t0()).await;
    let reserve = |key: &str, amount: i64, minutes: i64| HoldRequest {
        idempotency_key: key.to_owned(),
        account: wallet("alice"),
        amount,
        expires_at: t0() + Duration::minutes(minutes),
        reference: Some(("redemption".into(), key.to_owned())),
    };
    let h1 = holds::reserve(&db, reserve("h1", 60, 30), t0())
        .await
        .unwrap();
    let b = balance_of(&db, &wallet("alice")).await.unwrap();
    assert_eq!((b.balance, b.held, b.available()), (100, 60, 40));
    // Only the available amount can be reserved or spent.
    assert!(matches!(
        holds::reserve(&db, reserve("h2", 41, 30), t0()).await,
        Err(LedgerError::Insufficient { available: 40, .. })
    ));
    assert!(matches!(
        move_points(
            &db,
            "spend",
            wallet("alice"),
            merchant("m"),
            41,
            TransferCode::Redemption,
            t0()
        )
        .await,
        Err(LedgerError::Insufficient { .. })
    ));
    // Post 45 of the 60: the rest is released.
    let posted = holds::post(
        &db,
        post_to_merchant(&h1.id, 45, "post-h1"),
        ExpiryRule::default(),
        t0(),
    )
    .await
    .unwrap();
    assert_eq!(posted.transfer.hold_id.as_deref(), Some(h1.id.as_str()));
    let b = balance_of(&db, &wallet("alice")).await.unwrap();
    assert_eq!((b.balance, b.held), (55, 0));
    // Posting or voiding it again does not move anything more.
    assert!(
        holds::post(
            &db,
            post_to_merchant(&h1.id, 45, "post-h1"),
            ExpiryRule::default(),
            t0()
        )
        .await
        .unwrap()
        .replayed
    );
    assert!(matches!(
        holds::void(&db, &h1.id, t0()).await,
        Err(LedgerError::HoldNotPending(_))
    ));

    let h3 = holds::reserve(&db, reserve("h3", 20, 30), t0())
        .await
        .unwrap();
    let voided = holds::void(&db, &h3.id, t0()).await.unwrap();
    assert_eq!(voided.status, "voided");
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().held, 0);

    let h4 = holds::reserve(&db, reserve("h4", 10, 5), t0())
        .await
        .unwrap();
    let later = t0() + Duration::minutes(6);
    assert!(matches!(
        holds::post(
            &db,
            post_to_merchant(&h4.id, 10, "post-h4"),
            ExpiryRule::default(),
            later
        )
        .await,
        Err(LedgerError::HoldExpired)
    ));
    assert_eq!(holds::release_expired(&db, later, 100).await.unwrap(), 1);
    assert_eq!(holds::release_expired(&db, later, 100).await.unwrap(), 0);
    assert_eq!(
        holds::find(&db, &h4.id).await.unwrap().unwrap().status,
        "expired"
    );
    assert_eq!(balance_of(&db, &wallet("alice")).await.unwrap().held, 0);
    assert_verified(&db).await;
}

#[tokio::test]
async fn debits_draw_lots_earliest_first_and_expiry_takes_what_is_left_once() {
    let db = ledger_db().await;
    let y2026 = t0();
    let y2027 = Utc.with_ymd_and_hms(2027, 6, 1, 0, 0, 0).unwrap();
    award(&db, "old", "alice", 100, y2026).await; // expires end of 2027
    award(&db, "new", "alice", 50, y2027).await; // expires end of 2028
    move_points(
        &db,
        "spend",
        wallet("alice"),
        merchant("m"),
        120,
        TransferCode::Redemption,
        y2027,
    )
    .await
    .unwrap();
    // The 2026 lot was used up first; 30 of the 2027 lot are left.
    let expiring = statement::expiring(&db, &wallet("alice"), y2027)
        .await
        .unwrap();
    assert_eq!(
        expiring,
        vec![(30, Utc.with_ymd_and_hms(2028, 12, 31, 16, 0, 0).unwrap())]
    );

    // Reversing the spend gives back the lots it drew from, with their own expiry dates.
    reversal::reverse(
        &db,
        &find_transfer(&db, "spend").await,
        "undo-spend",
        "退款",
        ExpiryRule::default(),
        y2027,
    )
    .await
    .unwrap();
    let expiring = statement::expiring(&db, &wallet("alice"), y2027)
        .await
        .unwrap();
    assert_eq!(
        expiring,
        vec![
            (100, Utc.with_ymd_and_hms(2027, 12, 31, 16, 0, 0).unwrap()),
            (50, Utc.with_ymd_and_hms(2028, 12, 31, 16, 0, 0).unwrap())
        ]
    );
    assert!(matches!(
        reversal::reverse(
            &db,
            &find_transfer(&db, "spend").await,
            "undo-again",
            "",
            ExpiryRule::default(),
            y2027
        )
        .await,
        Err(LedgerError::AlreadyReversed)
    ));

    // Hold 40 (they must not expire while held), then let 2027 end.
    holds::reserve(
        &db,
        HoldRequest {
            idempotency_key: "hold".into(),
            account: wallet("alice"),
            amount: 140,
            expires_at: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
            reference: None,
        },
        y2027,
    )
    .await
    .unwrap();
    let new_year = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
    let expired = expiry::expire_lots(&db, new_year, 100).await.unwrap();
    // 150 in the wallet, 140 held: only 10 of the expired 100-lot can go now.
    assert_eq!(expired, 10);
    assert_eq!(
        expiry::expire_lots(&db, new_year, 100).await.unwrap(),
        0,
        "a rerun expires nothing more"
    );
    let hold = points_ledger::service::holds::find(&db, &hold_id(&db, "hold").await)
        .await
        .unwrap()
        .unwrap();
    holds::void(&db, &hold.id, new_year).await.unwrap();
    assert_eq!(expiry::expire_lots(&db, new_year, 100).await.unwrap(), 90);
    let b = balance_of(&db, &wallet("alice")).await.unwrap();
    assert_eq!(b.balance, 50);
    assert_eq!(
        balance_of(&db, &AccountRef::expiry_sink())
            .await
            .unwrap()
            .balance,
        100
    );

    let (lines, _) = statement::statement(&db, &wallet("alice"), 10, None)
        .await
        .unwrap();
    let kinds: Vec<&str> = lines.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "expiry",
            "expiry",
            "reversal",
            "redemption",
            "award",
            "award"
        ]
    );
    assert_eq!(lines[0].balance_after, 50);
    assert_verified(&db).await;
}

#[tokio::test]
async fn statements_page_newest_first() {
    let db = ledger_db().await;
    for i in 0..5 {
        award(&db, &format!("a{i}"), "alice", i + 1, t0()).await;
    }
    let (page1, cursor) = statement::statement(&db, &wallet("alice"), 2, None)
        .await
        .unwrap();
    assert_eq!(
        page1.iter().map(|l| l.amount).collect::<Vec<_>>(),
        vec![5, 4]
    );
    let (page2, cursor) = statement::statement(&db, &wallet("alice"), 2, cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|l| l.amount).collect::<Vec<_>>(),
        vec![3, 2]
    );
    let (page3, cursor) = statement::statement(&db, &wallet("alice"), 2, cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(page3.iter().map(|l| l.amount).collect::<Vec<_>>(), vec![1]);
    assert!(cursor.is_none());
}

#[tokio::test]
async fn verify_catches_a_balance_edited_behind_the_ledgers_back() {
    let db = ledger_db().await;
    award(&db, "a", "alice", 100, t0()).await;
    assert_verified(&db).await;
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared(
        "UPDATE ledger_accounts SET balance = balance + 5 WHERE kind = 'wallet'",
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let report = verify::verify(&db).await.unwrap();
    assert!(!report.balanced);
    let checks: Vec<&str> = report.mismatches.iter().map(|m| m.check).collect();
    assert!(checks.contains(&"balance_vs_entries"), "{checks:?}");
    assert!(checks.contains(&"lots_vs_balance"), "{checks:?}");
}

#[tokio::test]
async fn the_database_refuses_an_overdraft_even_if_the_code_forgot_to_check() {
    let db = ledger_db().await;
    award(&db, "a", "alice", 10, t0()).await;
    let result = db
        .execute_unprepared("UPDATE ledger_accounts SET balance = -1 WHERE kind = 'wallet'")
        .await;
    assert!(
        result.is_err(),
        "the CHECK constraint must refuse a negative wallet"
    );
    let result = db
        .execute_unprepared("UPDATE ledger_accounts SET held = 11 WHERE kind = 'wallet'")
        .await;
    assert!(
        result.is_err(),
        "the CHECK constraint must refuse held > balance"
    );
}

async fn find_transfer(db: &sea_orm::DatabaseConnection, key: &str) -> String {
    points_ledger::service::transfers::find_by_key(db, key)
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn hold_id(db: &sea_orm::DatabaseConnection, key: &str) -> String {
    use points_ledger::entity::hold;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    hold::Entity::find()
        .filter(hold::Column::IdempotencyKey.eq(key))
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id
}
