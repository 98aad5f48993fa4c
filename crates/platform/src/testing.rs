//! Support for tests across the workspace: a fresh, empty database per test.
//!
//! SQLite by default; PostgreSQL when `LINLI_TEST_DATABASE_URL` names a server (each test
//! then gets its own new database, named `linli_t_<uuid>`, beside the one in the URL). When
//! the variable is set and PostgreSQL cannot be reached, this panics: tests fail, never skip.

use sea_orm::{ConnectionTrait, Database};

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
    let unique = uuid::Uuid::now_v7().simple().to_string();
    match postgres_admin_url() {
        Some(admin) => {
            let name = format!("linli_t_{unique}");
            let conn = Database::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {DATABASE_ENV}: {e}"));
            conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            conn.close().await.ok();
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        }
        None => {
            let dir = std::env::temp_dir().join("linli-tests");
            std::fs::create_dir_all(&dir).expect("create the temp folder");
            format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{unique}.db")).display()
            )
        }
    }
}

/// Connects to a fresh database with the pool settings the server would use.
#[allow(clippy::expect_used)]
pub async fn fresh_database() -> sea_orm::DatabaseConnection {
    let settings = crate::config::DatabaseSettings {
        url: crate::Secret::new(fresh_database_url().await),
        max_connections: 16,
    };
    crate::db::connect(&settings)
        .await
        .expect("connect to the test database")
}
