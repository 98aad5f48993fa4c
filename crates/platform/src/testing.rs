//! Support for tests across the workspace: a fresh, empty database per test.
//!
//! SQLite by default; PostgreSQL when `LINLI_TEST_DATABASE_URL` names a server (each test
//! then gets its own new database, named `linli_t_<uuid>`, beside the one in the URL). When
//! the variable is set and PostgreSQL cannot be reached, this panics: tests fail, never skip.

pub const DATABASE_ENV: &str = "LINLI_TEST_DATABASE_URL";
pub const REDIS_ENV: &str = "LINLI_TEST_REDIS_URL";

pub fn postgres_admin_url() -> Option<String> {
    std::env::var(DATABASE_ENV).ok().filter(|u| !u.is_empty())
}

pub fn redis_url() -> Option<String> {
    std::env::var(REDIS_ENV).ok().filter(|u| !u.is_empty())
}

/// A URL for a new, empty database.
#[allow(clippy::expect_used)]
pub async fn fresh_database_url() -> String {
    let admin = postgres_admin_url();
    crate::db::create_fresh_database(admin.as_deref(), "linli_t")
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database (is {DATABASE_ENV} right?): {e}"))
}

/// Connects to a fresh database with the pool settings the server would use.
#[allow(clippy::expect_used)]
pub async fn fresh_database() -> sea_orm::DatabaseConnection {
    let settings = crate::config::DatabaseSettings {
        url: crate::Secret::new(fresh_database_url().await),
        max_connections: 16,
        writer_lanes: 1,
    };
    crate::db::connect(&settings)
        .await
        .expect("connect to the test database")
}

/// A fresh database with the platform's own tables (notifications, outbox, idempotency
/// records, ...), for this crate's unit tests.
#[cfg(test)]
#[allow(clippy::expect_used)]
pub(crate) async fn plumbed_database() -> sea_orm::DatabaseConnection {
    use sea_orm_migration::{MigrationTrait, MigratorTrait};
    struct Plumbing;
    impl MigratorTrait for Plumbing {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            crate::migration::migrations()
        }
    }
    let db = fresh_database().await;
    Plumbing::up(&db, None)
        .await
        .expect("migrate the platform tables");
    db
}
