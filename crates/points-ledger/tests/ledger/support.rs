//! A fresh database with the ledger's tables, on SQLite or (with LINLI_TEST_DATABASE_URL)
//! PostgreSQL.

use chrono::{DateTime, Utc};
use points_ledger::service::accounts::balance_of;
use points_ledger::service::holds::PostRequest;
use points_ledger::service::statement::expiring;
use points_ledger::service::transfers::{transfer, Posted, TransferCode, TransferRequest};
use points_ledger::{AccountRef, Asset, ExpiryRule, LedgerError};
use sea_orm::{DatabaseConnection, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

struct LedgerMigrator;

impl MigratorTrait for LedgerMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        points_ledger::migration::migrations()
    }
}

pub async fn ledger_db() -> DatabaseConnection {
    let db = platform::testing::fresh_database().await;
    LedgerMigrator::up(&db, None)
        .await
        .expect("ledger migrations");
    db
}

pub const DISTRICT: &str = "district-1";

pub fn wallet(user: &str) -> AccountRef {
    AccountRef::wallet(Asset::Points, user)
}

pub fn merchant(id: &str) -> AccountRef {
    AccountRef::new(Asset::Points, points_ledger::AccountKind::Merchant, id)
}

/// One transfer in its own transaction, as a use case would run it.
pub async fn move_points(
    db: &DatabaseConnection,
    key: &str,
    from: AccountRef,
    to: AccountRef,
    amount: i64,
    code: TransferCode,
    now: DateTime<Utc>,
) -> Result<Posted, LedgerError> {
    let txn = db.begin().await?;
    let posted = transfer(
        &txn,
        TransferRequest {
            idempotency_key: key.to_owned(),
            from,
            to,
            amount,
            code,
            memo: String::new(),
            reference: None,
        },
        ExpiryRule::default(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(posted)
}

pub async fn award(
    db: &DatabaseConnection,
    key: &str,
    user: &str,
    amount: i64,
    now: DateTime<Utc>,
) -> Posted {
    move_points(
        db,
        key,
        AccountRef::treasury(DISTRICT),
        wallet(user),
        amount,
        TransferCode::Award,
        now,
    )
    .await
    .expect("award")
}

pub async fn assert_verified(db: &DatabaseConnection) {
    let report = points_ledger::service::verify::verify(db)
        .await
        .expect("verify runs");
    assert!(
        report.balanced,
        "ledger does not verify: {:?}",
        report.mismatches
    );
}

/// Posts `amount` of a hold to the merchant `m`.
pub fn post_to_merchant(hold_id: &str, amount: i64, key: &str) -> PostRequest {
    PostRequest {
        hold_id: hold_id.to_owned(),
        to: merchant("m"),
        amount,
        code: TransferCode::Redemption,
        memo: String::new(),
        idempotency_key: key.to_owned(),
    }
}

/// The two databases hold the same balances, held amounts and expiring lots for `accounts`.
pub async fn assert_same_books(
    a: &DatabaseConnection,
    b: &DatabaseConnection,
    accounts: impl Iterator<Item = AccountRef>,
    now: DateTime<Utc>,
) {
    for account in accounts {
        assert_eq!(
            balance_of(a, &account).await.unwrap(),
            balance_of(b, &account).await.unwrap(),
            "{account:?}"
        );
        assert_eq!(
            expiring(a, &account, now).await.unwrap(),
            expiring(b, &account, now).await.unwrap(),
            "{account:?}"
        );
    }
}
