//! Planner statistics on a PostgreSQL whose autovacuum is off.
//!
//! Every statement is prepared once per connection, and after a few runs PostgreSQL keeps
//! one generic plan for it, made for the tables as they were then. It remakes the plan when
//! a table's statistics change, which autovacuum's `ANALYZE` does as tables grow. With
//! autovacuum off (as on some test and CI machines) that never happens: a sequential scan
//! chosen while a table had thirty rows is kept when it has thirty thousand (the ledger's
//! balance update scanned every account, 1–4 ms a batch, a simulated month in). There the
//! server analyzes its tables itself, by autovacuum's own rule: a table is due once more
//! than 50 rows plus a tenth of it changed since it was last analyzed.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};

/// The tables autovacuum would analyze now, were it on; none when it is on, or on SQLite.
const DUE: &str = "\
SELECT relname FROM pg_stat_user_tables
WHERE current_setting('autovacuum') = 'off'
  AND schemaname = current_schema()
  AND n_mod_since_analyze > 50 + 0.1 * n_live_tup
ORDER BY relname";

/// Analyzes the tables that are due (see the module documentation); their names.
pub async fn analyze_due_tables(conn: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    if conn.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(Vec::new());
    }
    let due = conn
        .query_all(Statement::from_string(DatabaseBackend::Postgres, DUE))
        .await?;
    let mut analyzed = Vec::with_capacity(due.len());
    for row in due {
        let table: String = row.try_get("", "relname")?;
        // A name from the catalog, quoted as an identifier.
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        conn.execute_unprepared(&format!("ANALYZE {quoted}"))
            .await?;
        analyzed.push(table);
    }
    Ok(analyzed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fresh_database;

    #[tokio::test]
    async fn a_table_that_grew_is_analyzed_when_autovacuum_is_off_and_left_alone_otherwise() {
        let db = fresh_database().await;
        if db.get_database_backend() != DatabaseBackend::Postgres {
            assert!(analyze_due_tables(&db).await.unwrap().is_empty());
            return;
        }
        db.execute_unprepared(
            "CREATE TABLE grown (id INTEGER PRIMARY KEY); \
             INSERT INTO grown SELECT generate_series(1, 200)",
        )
        .await
        .unwrap();
        // The counters reach the statistics system when the inserting session flushes.
        let ask = |sql: &str| Statement::from_string(DatabaseBackend::Postgres, sql.to_owned());
        let mut changed = 0;
        for _ in 0..100 {
            db.execute_unprepared("SELECT pg_stat_force_next_flush()")
                .await
                .unwrap();
            let row = db
                .query_one(ask(
                    "SELECT n_mod_since_analyze AS n FROM pg_stat_user_tables \
                     WHERE relname = 'grown'",
                ))
                .await
                .unwrap();
            changed = row.map_or(0, |r| r.try_get::<i64>("", "n").unwrap_or(0));
            if changed >= 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            changed >= 200,
            "the statistics system saw {changed} changes"
        );
        let autovacuum_off = db
            .query_one(ask("SELECT current_setting('autovacuum') = 'off' AS off"))
            .await
            .unwrap()
            .unwrap()
            .try_get::<bool>("", "off")
            .unwrap();
        let analyzed = analyze_due_tables(&db).await.unwrap();
        assert_eq!(analyzed.contains(&"grown".to_owned()), autovacuum_off);
        if autovacuum_off {
            // Analyzed: not due again until it changes again.
            assert!(analyze_due_tables(&db).await.unwrap().is_empty());
        }
    }
}
