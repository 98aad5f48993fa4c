//! All contexts' migrations, in order.

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, TransactionTrait};
use sea_orm_migration::{MigrationTrait, MigratorTrait};

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = platform::migration::migrations();
        all.extend(identity::migration::migrations());
        all.extend(points_ledger::migration::migrations());
        all.extend(merchant::migration::migrations());
        all.extend(demands::migration::migrations());
        all.extend(timebank::migration::migrations());
        all.extend(parking::migration::migrations());
        all.extend(partners::migration::migrations());
        all.extend(care::migration::migrations());
        all
    }
}

/// An arbitrary constant naming Linli's migration lock.
const MIGRATION_LOCK_KEY: i64 = 0x4c49_4e4c_4900;

/// Applies pending migrations. On PostgreSQL several instances may start at once; an advisory
/// lock held for the migration transaction lets one migrate while the others wait.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let txn = db.begin().await?;
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
            ))
            .await?;
            Migrator::up(&txn, None).await?;
            txn.commit().await
        }
        _ => Migrator::up(db, None).await,
    }
}
