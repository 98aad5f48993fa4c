//! Database connection: SQLite (embedded default) or PostgreSQL, chosen by the URL scheme.

use crate::config::DatabaseSettings;
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub use sea_orm::DatabaseConnection as Db;

/// Opens the pool. For SQLite, creates the file's folder first, turns on WAL and foreign
/// keys, and keeps a single connection: SQLite has one writer, and serialising through one
/// connection makes every transaction behave like `BEGIN IMMEDIATE`, so read-then-write use
/// cases cannot fail half-way with SQLITE_BUSY under concurrency.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let url = settings.url.expose();
    let slow = settings.slow_statement_ms;
    let statements = settings.statement_cache;
    if url.starts_with("sqlite:") {
        ensure_sqlite_folder(url)?;
        // Validate the URL with sqlx's own parser before handing it to sea-orm.
        SqliteConnectOptions::from_str(url)
            .map_err(|e| DbErr::Custom(format!("database.url: {e}")))?;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .statement_cache_capacity(statements);
                log_slow_statements(o, slow)
            });
        Database::connect(options).await
    } else {
        connect_postgres(url, settings, settings.max_connections, &[]).await
    }
}

/// A connection idle this long is pinged before it is handed out: long enough that a busy
/// pool never pays for it, short enough that one left idle across a PostgreSQL restart is
/// found dead and replaced instead of failing a request.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// The PostgreSQL pool. sqlx pings every connection it hands out by default: a round trip
/// more for each query outside a transaction (the wallet read went from 1,684 to 2,480
/// requests/s without it). Here only a connection idle for [`IDLE_BEFORE_PING`] is pinged.
async fn connect_postgres(
    url: &str,
    settings: &DatabaseSettings,
    connections: u32,
    session_settings: &[(&str, &str)],
) -> Result<DatabaseConnection, DbErr> {
    use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use sea_orm::sqlx::Connection as _;
    let connect = PgConnectOptions::from_str(url)
        .map_err(|e| DbErr::Custom(format!("database.url: {e}")))?
        .options([(
            "statement_timeout",
            format!("{}ms", settings.statement_timeout_ms),
        )])
        .options(session_settings.iter().copied())
        .statement_cache_capacity(settings.statement_cache);
    let connect = without_tls_on_loopback(connect, url);
    let connect = log_slow_statements(connect, settings.slow_statement_ms);
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(connect)
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)))?;
    Ok(sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(
        pool,
    ))
}

/// TLS to a server on the same host protects nothing (the bytes never leave the machine)
/// and costs both sides a share of every round trip (about 3% of PostgreSQL's time in the
/// year's simulation): unless the URL or `PGSSLMODE` asks for a mode, a loopback server is
/// spoken to in the clear. A server elsewhere keeps sqlx's default (`prefer`).
fn without_tls_on_loopback(
    connect: sea_orm::sqlx::postgres::PgConnectOptions,
    url: &str,
) -> sea_orm::sqlx::postgres::PgConnectOptions {
    let asked = url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| matches!(pair.split('=').next(), Some("sslmode" | "ssl-mode")))
    }) || std::env::var_os("PGSSLMODE").is_some();
    let host = connect.get_host();
    let loopback = host == "localhost"
        || host.starts_with('/')
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback && !asked {
        connect.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable)
    } else {
        connect
    }
}

/// A URL for a new, empty database named `<prefix>_<uuid>`: beside `postgres_admin` on that
/// server (created there), or an SQLite file in the system's temp folder when `None`.
/// For the test suite, the benchmarks and the load harness, which each want a clean slate.
pub async fn create_fresh_database(
    postgres_admin: Option<&str>,
    prefix: &str,
) -> Result<String, DbErr> {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let Some(admin) = postgres_admin else {
        let dir = std::env::temp_dir().join(prefix.replace('_', "-"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
        return Ok(format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{unique}.db")).display()
        ));
    };
    let name = format!("{prefix}_{unique}");
    let conn = Database::connect(admin).await?;
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    conn.close().await?;
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// Removes a database made by [`create_fresh_database`]: drops it on the PostgreSQL server
/// (closing what still uses it), or deletes the SQLite file and its WAL companions.
pub async fn drop_fresh_database(postgres_admin: Option<&str>, url: &str) -> Result<(), DbErr> {
    match postgres_admin {
        Some(admin) => {
            let name = url.rsplit('/').next().unwrap_or_default();
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(DbErr::Custom(format!("not a fresh database: {name}")));
            }
            let conn = Database::connect(admin).await?;
            conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
            conn.close().await
        }
        None => {
            let path = url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap_or_default();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
            Ok(())
        }
    }
}

/// The pool for writes that may be forgotten by a crash of PostgreSQL, never half-done:
/// on PostgreSQL a few connections whose commits do not wait for the write-ahead log to
/// reach the disk (`synchronous_commit = off`; the log is flushed within a few hundred
/// milliseconds). For logins and token rotations only: each is one atomic statement, and a
/// crash that forgets one costs its resident a new login (the tokens they were given name
/// a session or token the database no longer has), never value or a revocation, which stay
/// on `writer`. The flush is a commit's largest wait on a small machine (every refresh
/// waited for it). SQLite's writer already commits with `synchronous = NORMAL`.
pub async fn connect_session_writes(
    settings: &DatabaseSettings,
    writer: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    let url = settings.url.expose();
    if writer.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(writer.clone());
    }
    let connections = (settings.max_connections / 4).clamp(1, SESSION_WRITERS);
    connect_postgres(url, settings, connections, &[("synchronous_commit", "off")]).await
}

/// Logins and refreshes are one short statement each: a few connections keep up.
const SESSION_WRITERS: u32 = 4;

/// The pool for reads. On SQLite, read-only connections beside the one writer: in WAL mode
/// each reads the last committed state without waiting for the writer, so reads never
/// queue behind a batch (and a write sent here by mistake fails loudly instead of becoming
/// a second writer). An in-memory SQLite database cannot be shared, and PostgreSQL needs no
/// second pool: both read through `writer`.
pub async fn connect_readers(
    settings: &DatabaseSettings,
    writer: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    let url = settings.url.expose();
    if !url.starts_with("sqlite:") || url.contains(":memory:") {
        return Ok(writer.clone());
    }
    let slow = settings.slow_statement_ms;
    let statements = settings.statement_cache;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(settings.max_connections.clamp(1, SQLITE_READERS))
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| {
            let o = o
                .read_only(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .statement_cache_capacity(statements);
            log_slow_statements(o, slow)
        });
    Database::connect(options).await
}

/// Every statement unlogged but those running over `slow_ms` (`database.slow_statement_ms`;
/// 0: none), which sqlx logs at WARN under the target `sqlx::query` with their SQL text (the
/// parameters are not logged): the one statement to look at when a route slows down.
fn log_slow_statements<O: sea_orm::sqlx::ConnectOptions>(options: O, slow_ms: u64) -> O {
    let options = options.disable_statement_logging();
    if slow_ms == 0 {
        return options;
    }
    options.log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(slow_ms))
}

/// More readers than cores only adds contention on SQLite's shared memory index.
const SQLITE_READERS: u32 = 4;

fn ensure_sqlite_folder(url: &str) -> Result<(), DbErr> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
    }
    Ok(())
}

/// A read-only transaction that sees one committed state throughout (PostgreSQL
/// `REPEATABLE READ`; an SQLite read transaction is a snapshot in WAL mode), for checks that
/// read many tables while writes go on, such as the ledger verify. Dropping it ends it.
pub async fn snapshot(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction, DbErr> {
    use sea_orm::{AccessMode, IsolationLevel, TransactionTrait};
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
        }
        _ => db.begin().await,
    }
}

/// Warns when PostgreSQL's autovacuum is off. Linli's busiest tables are written and
/// deleted from all day (idempotency records purged hourly, holds, bookings and demands
/// moving through their states); without vacuum their dead rows pile up, every index scan
/// walks them, and the planner, never given fresh statistics, misjudges the tables' sizes.
/// A configuration for throwaway test databases, not for a district's data.
pub async fn warn_if_autovacuum_off(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let row = db
        .query_one(sea_orm::Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT current_setting('autovacuum') AS autovacuum",
        ))
        .await?;
    let setting: Option<String> = row.map(|r| r.try_get("", "autovacuum")).transpose()?;
    if setting.as_deref() == Some("off") {
        tracing::warn!(
            "PostgreSQL's autovacuum is off: tables that churn (idempotency records, holds, \
             bookings, demands) will bloat and their queries slow down over weeks; turn it on \
             (autovacuum = on, the default) for anything but throwaway databases"
        );
    }
    Ok(())
}

/// Cheap liveness query for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Pool size and idle connections, for `/metrics`.
pub fn pool_figures(db: &DatabaseConnection) -> (u32, usize) {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// Which kind of constraint a statement broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    Unique,
    /// PostgreSQL exclusion constraints (overlapping bookings).
    Exclusion,
    ForeignKey,
    NotNull,
    Check,
}

/// A broken constraint, as the driver reports it: its kind from the error code, and its
/// name where the database gives one (PostgreSQL does; SQLite does not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub kind: ViolationKind,
    pub constraint: Option<String>,
}

/// The constraint `err` broke, if it is a constraint violation. Read from the driver's
/// error code and constraint name, never from the message text.
pub fn violation(err: &DbErr) -> Option<Violation> {
    use sea_orm::sqlx::error::ErrorKind;
    let database = database_error(err)?;
    let kind = match database.kind() {
        ErrorKind::UniqueViolation => ViolationKind::Unique,
        ErrorKind::ForeignKeyViolation => ViolationKind::ForeignKey,
        ErrorKind::NotNullViolation => ViolationKind::NotNull,
        ErrorKind::CheckViolation => ViolationKind::Check,
        // SQLSTATE 23P01: exclusion_violation (sqlx has no kind for it).
        _ if database.code().as_deref() == Some("23P01") => ViolationKind::Exclusion,
        _ => return None,
    };
    Some(Violation {
        kind,
        constraint: database.constraint().map(str::to_owned),
    })
}

/// True when `err` is a unique-constraint violation (on either backend), so callers can turn
/// a lost race into a clean answer instead of a 500.
pub fn is_unique_violation(err: &DbErr) -> bool {
    violation(err).is_some_and(|v| v.kind == ViolationKind::Unique)
}

/// True when PostgreSQL aborted the statement to break a deadlock (SQLSTATE 40P01), for a
/// serialisation failure (40001), or because its wait for a lock outlasted `lock_timeout`
/// (55P03): the statement's work is void and a retry may succeed.
pub fn is_transient(err: &DbErr) -> bool {
    database_error(err)
        .and_then(|d| d.code())
        .is_some_and(|code| matches!(code.as_ref(), "40P01" | "40001" | "55P03"))
}

/// True when the connection to the database failed rather than a statement: it could not
/// be opened, was lost mid-way (the network gone), or the server ended it (shutting down or
/// restarting: SQLSTATE classes 08 and 57P). A transaction cut off so was rolled back, except
/// when the loss came between sending COMMIT and its answer: then only a retry with the
/// request's `Idempotency-Key` tells, and it settles the request exactly once either way.
pub fn is_connection_lost(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    use sea_orm::RuntimeErr;
    let server_ended_it = database_error(err)
        .and_then(|d| d.code())
        .is_some_and(|code| code.starts_with("08") || code.starts_with("57P"));
    server_ended_it
        || match err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
                matches!(
                    e,
                    Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed
                )
            }
            _ => false,
        }
}

/// True when a statement outlasted `database.statement_timeout_ms` and PostgreSQL cancelled
/// it (SQLSTATE 57014): the database is too slow now; its transaction was rolled back.
pub fn is_statement_timeout(err: &DbErr) -> bool {
    database_error(err)
        .and_then(|d| d.code())
        .is_some_and(|code| code == "57014")
}

/// The error the database itself reported, when a statement reached it and was refused.
fn database_error(err: &DbErr) -> Option<&dyn sea_orm::sqlx::error::DatabaseError> {
    use sea_orm::RuntimeErr;
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            e.as_database_error()
        }
        _ => None,
    }
}

/// True when `err` broke the constraint named `name` (PostgreSQL).
pub fn violates(err: &DbErr, name: &str) -> bool {
    violation(err).is_some_and(|v| v.constraint.as_deref() == Some(name))
}

#[cfg(test)]
mod violation_tests {
    use super::*;
    use crate::problem::{Code, Problem};

    /// The one value a PostgreSQL query answers, in its column `v`.
    async fn value_of<T: sea_orm::TryGetable>(db: &DatabaseConnection, sql: &str) -> T {
        db.query_one(sea_orm::Statement::from_string(
            DatabaseBackend::Postgres,
            sql,
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<T>("", "v")
        .unwrap()
    }

    #[tokio::test]
    async fn a_broken_unique_constraint_is_known_by_its_code_and_name() {
        let db = crate::testing::fresh_database().await;
        db.execute_unprepared(
            "CREATE TABLE things (id TEXT PRIMARY KEY, name TEXT NOT NULL, \
             CONSTRAINT uq_things_name UNIQUE (name))",
        )
        .await
        .unwrap();
        db.execute_unprepared("INSERT INTO things VALUES ('a', 'x')")
            .await
            .unwrap();
        let err = db
            .execute_unprepared("INSERT INTO things VALUES ('b', 'x')")
            .await
            .unwrap_err();
        let broken = violation(&err).expect("a constraint violation");
        assert_eq!(broken.kind, ViolationKind::Unique);
        assert!(is_unique_violation(&err));
        if db.get_database_backend() == DatabaseBackend::Postgres {
            assert_eq!(broken.constraint.as_deref(), Some("uq_things_name"));
            assert!(violates(&err, "uq_things_name"));
        }
        assert_eq!(Problem::from(err).code, Code::Conflict);

        let null = db
            .execute_unprepared("INSERT INTO things VALUES ('c', NULL)")
            .await
            .unwrap_err();
        assert_eq!(
            violation(&null).map(|v| v.kind),
            Some(ViolationKind::NotNull)
        );
        assert_eq!(
            Problem::from(null).code,
            Code::InternalError,
            "our bug, not a race"
        );
        assert_eq!(
            violation(&DbErr::Custom("UNIQUE constraint failed".into())),
            None
        );
    }

    /// PostgreSQL ended the pool's idle connection (as a restart does): the next query gets a
    /// live connection, because one idle past [`IDLE_BEFORE_PING`] is pinged first.
    #[tokio::test]
    async fn a_connection_that_died_while_idle_is_replaced_before_use() {
        let url = crate::testing::fresh_database_url().await;
        if !url.starts_with("postgres") {
            return;
        }
        let settings = DatabaseSettings {
            max_connections: 1,
            ..DatabaseSettings::for_url(url.clone())
        };
        let pool = connect_postgres(&url, &settings, 1, &[]).await.unwrap();
        let pid = "SELECT pg_backend_pid() AS v";
        let first = value_of::<i32>(&pool, pid).await;
        let admin = Database::connect(url.as_str()).await.unwrap();
        admin
            .execute_unprepared(&format!("SELECT pg_terminate_backend({first})"))
            .await
            .unwrap();
        tokio::time::sleep(IDLE_BEFORE_PING + Duration::from_millis(200)).await;
        let second = value_of::<i32>(&pool, pid).await;
        assert_ne!(first, second, "a new connection answered");
    }

    /// sqlx keeps 100 prepared statements per connection unless told; the routes use about
    /// 300 often, and each one evicted is prepared again (a round trip and a parse).
    #[tokio::test]
    async fn a_connection_keeps_as_many_prepared_statements_as_configured() {
        let url = crate::testing::fresh_database_url().await;
        if !url.starts_with("postgres") {
            return; // SQLite's prepared statements are not visible from SQL.
        }
        let settings = DatabaseSettings {
            max_connections: 1,
            statement_cache: 300,
            ..DatabaseSettings::for_url(url.clone())
        };
        let pool = connect_postgres(&url, &settings, 1, &[]).await.unwrap();
        for k in 0..150 {
            pool.query_one(sea_orm::Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                format!("SELECT $1::int + {k} AS n"),
                [1.into()],
            ))
            .await
            .unwrap();
        }
        let kept = pool
            .query_one(sea_orm::Statement::from_string(
                DatabaseBackend::Postgres,
                "SELECT count(*) AS n FROM pg_prepared_statements",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert!(
            kept >= 150,
            "the one connection keeps {kept} prepared statements"
        );
    }

    /// Only the session pool trades the disk flush for speed; every other write waits for it.
    #[tokio::test]
    async fn only_the_session_pool_commits_without_waiting_for_the_disk() {
        let settings =
            crate::config::DatabaseSettings::for_url(crate::testing::fresh_database_url().await);
        let writer = connect(&settings).await.unwrap();
        let sessions = connect_session_writes(&settings, &writer).await.unwrap();
        if writer.get_database_backend() != DatabaseBackend::Postgres {
            // SQLite: the one writer, as for every other write.
            sessions
                .execute_unprepared("CREATE TABLE t (id INTEGER PRIMARY KEY)")
                .await
                .unwrap();
            let on_writer = writer
                .query_one(sea_orm::Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "SELECT count(*) AS n FROM t",
                ))
                .await
                .unwrap();
            assert!(on_writer.is_some(), "the session writes went to the writer");
            return;
        }
        let commit = "SELECT current_setting('synchronous_commit') AS v";
        assert_eq!(value_of::<String>(&sessions, commit).await, "off");
        assert_eq!(value_of::<String>(&writer, commit).await, "on");
        // The statement timeout still holds there.
        let timeout = "SELECT current_setting('statement_timeout') AS v";
        assert_eq!(value_of::<String>(&sessions, timeout).await, "30s");
    }

    #[test]
    fn tls_is_left_out_only_for_a_loopback_server_whose_url_asks_for_no_mode() {
        use sea_orm::sqlx::postgres::{PgConnectOptions, PgSslMode};
        if std::env::var_os("PGSSLMODE").is_some() {
            return; // The environment asks for a mode: it is kept everywhere.
        }
        let mode = |url: &str| {
            let options = PgConnectOptions::from_str(url).unwrap();
            without_tls_on_loopback(options, url).get_ssl_mode()
        };
        for loopback in [
            "postgres://postgres@127.0.0.1:5432/linli",
            "postgres://postgres@localhost/linli",
            "postgres://postgres@[::1]:5432/linli",
            "postgres://postgres@127.0.0.2/linli?application_name=x",
        ] {
            assert!(matches!(mode(loopback), PgSslMode::Disable), "{loopback}");
        }
        assert!(matches!(
            mode("postgres://linli@db.internal:5432/linli"),
            PgSslMode::Prefer
        ));
        assert!(matches!(
            mode("postgres://linli@10.0.0.5/linli"),
            PgSslMode::Prefer
        ));
        assert!(matches!(
            mode("postgres://postgres@127.0.0.1/linli?sslmode=require"),
            PgSslMode::Require
        ));
        assert!(matches!(
            mode("postgres://postgres@127.0.0.1/linli?application_name=x&sslmode=prefer"),
            PgSslMode::Prefer
        ));
    }

    /// What the server itself says of the connection: in the clear on loopback by default,
    /// TLS when the URL asks for it and the server offers it.
    #[tokio::test]
    async fn a_loopback_connection_is_in_the_clear_unless_the_url_asks_for_tls() {
        let url = crate::testing::fresh_database_url().await;
        if !url.starts_with("postgres") || std::env::var_os("PGSSLMODE").is_some() {
            return;
        }
        let uses_tls = |url: String| async move {
            let db = connect(&crate::config::DatabaseSettings::for_url(url))
                .await
                .unwrap();
            let row = db
                .query_one(sea_orm::Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT ssl, current_setting('ssl') = 'on' AS offered \
                     FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                ))
                .await
                .unwrap()
                .unwrap();
            let used: bool = row.try_get("", "ssl").unwrap();
            let offered: bool = row.try_get("", "offered").unwrap();
            db.close().await.unwrap();
            (used, offered)
        };
        let (used, _) = uses_tls(url.clone()).await;
        assert!(!used, "a loopback connection without sslmode went over TLS");
        let (used, offered) = uses_tls(format!("{url}?sslmode=prefer")).await;
        assert_eq!(
            used, offered,
            "sslmode=prefer takes TLS when the server offers it"
        );
        let _ = drop_fresh_database(crate::testing::postgres_admin_url().as_deref(), &url).await;
    }

    #[tokio::test]
    async fn a_deadlock_victim_is_a_retryable_conflict() {
        let db = crate::testing::fresh_database().await;
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return; // SQLite has one writer: no two transactions hold row locks at once.
        }
        use sea_orm::TransactionTrait;
        db.execute_unprepared("CREATE TABLE pair (id INT PRIMARY KEY, n INT NOT NULL)")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO pair VALUES (1, 0), (2, 0)")
            .await
            .unwrap();
        let (a, b) = (db.begin().await.unwrap(), db.begin().await.unwrap());
        a.execute_unprepared("UPDATE pair SET n = n + 1 WHERE id = 1")
            .await
            .unwrap();
        b.execute_unprepared("UPDATE pair SET n = n + 1 WHERE id = 2")
            .await
            .unwrap();
        // Each now wants the other's row: PostgreSQL cancels one of them.
        let (first, second) = tokio::join!(
            a.execute_unprepared("UPDATE pair SET n = n + 1 WHERE id = 2"),
            b.execute_unprepared("UPDATE pair SET n = n + 1 WHERE id = 1"),
        );
        let victim = first.err().or(second.err()).expect("one side is cancelled");
        assert!(is_transient(&victim), "{victim}");
        let problem = Problem::from(victim);
        assert_eq!(problem.code, Code::Conflict);
        assert!(!is_transient(&DbErr::Custom("deadlock".into())));
    }

    #[tokio::test]
    async fn sqlite_readers_do_not_wait_for_an_open_write_and_cannot_write() {
        let settings =
            crate::config::DatabaseSettings::for_url(crate::testing::fresh_database_url().await);
        let writer = connect(&settings).await.unwrap();
        if writer.get_database_backend() != DatabaseBackend::Sqlite {
            return; // PostgreSQL reads through the one pool.
        }
        writer
            .execute_unprepared("CREATE TABLE things (id INTEGER PRIMARY KEY)")
            .await
            .unwrap();
        writer
            .execute_unprepared("INSERT INTO things VALUES (1)")
            .await
            .unwrap();
        let readers = connect_readers(&settings, &writer).await.unwrap();
        use sea_orm::TransactionTrait;
        let open_write = writer.begin().await.unwrap();
        open_write
            .execute_unprepared("INSERT INTO things VALUES (2)")
            .await
            .unwrap();
        // The writer's only connection is inside an uncommitted transaction; a reader still
        // answers at once, with the last committed state.
        let count = |db: &DatabaseConnection| {
            let db = db.clone();
            async move {
                db.query_one(sea_orm::Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "SELECT COUNT(*) AS n FROM things",
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
            }
        };
        let seen = tokio::time::timeout(Duration::from_secs(2), count(&readers))
            .await
            .expect("the read did not wait for the writer");
        assert_eq!(seen, 1);
        open_write.commit().await.unwrap();
        assert_eq!(count(&readers).await, 2);
        let refused = readers
            .execute_unprepared("INSERT INTO things VALUES (3)")
            .await;
        assert!(refused.is_err(), "a reader must not write");
    }
}
