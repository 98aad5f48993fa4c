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
    let settings = crate::config::DatabaseSettings::for_url(fresh_database_url().await);
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

/// A `redis-server` of a test's own on a free loopback port, keeping nothing on disk, for
/// tests that break Redis on purpose: [`RedisServer::pause`] freezes it (a partition: calls
/// hang until they time out), [`RedisServer::kill`] and [`RedisServer::restart`] take it
/// away and bring it back empty on the same port. Killed when dropped.
pub struct RedisServer {
    pub url: String,
    port: u16,
    child: Option<std::process::Child>,
}

impl RedisServer {
    /// Starts `redis-server` from the PATH and waits until it accepts connections.
    pub async fn start() -> std::io::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut server = Self {
            url: format!("redis://127.0.0.1:{port}"),
            port,
            child: None,
        };
        server.launch().await?;
        Ok(server)
    }

    async fn launch(&mut self) -> std::io::Result<()> {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(std::io::Error::other(format!(
            "redis-server did not listen on port {} within 5 s",
            self.port
        )))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// SIGSTOP: the port stays open, nothing answers.
    pub fn pause(&self) -> std::io::Result<()> {
        self.signal("STOP")
    }

    /// SIGCONT after [`RedisServer::pause`]: it answers again, remembering everything.
    pub fn resume(&self) -> std::io::Result<()> {
        self.signal("CONT")
    }

    fn signal(&self, name: &str) -> std::io::Result<()> {
        let pid = self
            .pid()
            .ok_or_else(|| std::io::Error::other("redis-server is not running"))?;
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("kill -{name} {pid} failed")))
        }
    }

    /// SIGKILL: connections drop and the port refuses new ones.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again, empty, on the same port.
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.kill();
        self.launch().await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// SQLite's plan of a statement, one line per step (`SEARCH t USING INDEX …`, `SCAN t`,
/// …): for tests that keep a query run at every request or job round off table scans.
#[allow(clippy::expect_used)]
pub async fn sqlite_plan(
    db: &sea_orm::DatabaseConnection,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    db.query_all(sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {sql}"),
        values,
    ))
    .await
    .expect("EXPLAIN QUERY PLAN")
    .iter()
    .map(|row| row.try_get("", "detail").expect("a plan step's detail"))
    .collect()
}
