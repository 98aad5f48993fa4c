//! Proof that the books balance, computed from the rows, not trusted from counters:
//! every asset sums to zero; every balance equals the sum of its entries; every `held`
//! equals the sum of its pending holds; no account that may not go negative is negative;
//! every transfer has exactly two entries that cancel out; every points wallet's lots add up
//! to its balance.

use crate::LedgerError;
use sea_orm::{ConnectionTrait, Statement};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetSum {
    pub asset: String,
    pub sum: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Which check failed: `balance_vs_entries`, `held_vs_holds`, `negative_balance`,
    /// `transfer_entries`, `lots_vs_balance`, `asset_sum`.
    pub check: &'static str,
    /// The account, transfer or asset concerned.
    pub subject: String,
    pub expected: i64,
    pub actual: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub balanced: bool,
    pub assets: Vec<AssetSum>,
    pub accounts_checked: i64,
    pub transfers_checked: i64,
    pub mismatches: Vec<Mismatch>,
}

/// At most this many mismatches are listed per check.
const LIST_LIMIT: usize = 100;

pub async fn verify(conn: &impl ConnectionTrait) -> Result<VerifyReport, LedgerError> {
    super::deferred::write_kept(conn).await?; // what a deferring batch kept, first
    let mut mismatches = Vec::new();

    let assets: Vec<AssetSum> = rows(
        conn,
        "SELECT a.asset AS subject, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS actual \
         FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id GROUP BY a.asset ORDER BY a.asset",
    )
    .await?
    .into_iter()
    .map(|(subject, _, actual)| AssetSum { asset: subject, sum: actual })
    .collect();
    for asset in &assets {
        if asset.sum != 0 {
            mismatches.push(Mismatch {
                check: "asset_sum",
                subject: asset.asset.clone(),
                expected: 0,
                actual: asset.sum,
            });
        }
    }

    let checks: [(&'static str, &str); 5] = [
        (
            "balance_vs_entries",
            "SELECT a.id AS subject, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS expected, a.balance AS actual \
             FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id \
             GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(e.amount), 0)",
        ),
        (
            "held_vs_holds",
            "SELECT a.id AS subject, CAST(COALESCE(SUM(h.amount), 0) AS BIGINT) AS expected, a.held AS actual \
             FROM ledger_accounts a LEFT JOIN ledger_holds h ON h.account_id = a.id AND h.status = 'pending' \
             GROUP BY a.id, a.held HAVING a.held <> COALESCE(SUM(h.amount), 0)",
        ),
        (
            "negative_balance",
            "SELECT id AS subject, CAST(0 AS BIGINT) AS expected, balance - held AS actual \
             FROM ledger_accounts WHERE NOT allow_negative AND (balance < 0 OR balance - held < 0)",
        ),
        (
            "transfer_entries",
            "SELECT t.id AS subject, CAST(2 AS BIGINT) AS expected, CAST(COUNT(e.id) AS BIGINT) AS actual \
             FROM ledger_transfers t LEFT JOIN ledger_entries e ON e.transfer_id = t.id \
             GROUP BY t.id, t.amount \
             HAVING COUNT(e.id) <> 2 OR COALESCE(SUM(e.amount), 0) <> 0 OR COALESCE(MAX(e.amount), 0) <> t.amount",
        ),
        (
            "lots_vs_balance",
            "SELECT a.id AS subject, a.balance AS expected, CAST(COALESCE(SUM(l.remaining), 0) AS BIGINT) AS actual \
             FROM ledger_accounts a LEFT JOIN ledger_lots l ON l.account_id = a.id \
             WHERE a.kind = 'wallet' AND a.asset = 'points' \
             GROUP BY a.id, a.balance HAVING a.balance <> COALESCE(SUM(l.remaining), 0)",
        ),
    ];
    for (check, sql) in checks {
        for (subject, expected, actual) in rows(conn, sql).await?.into_iter().take(LIST_LIMIT) {
            mismatches.push(Mismatch {
                check,
                subject,
                expected,
                actual,
            });
        }
    }

    let accounts_checked = count(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ledger_accounts",
    )
    .await?;
    let transfers_checked = count(
        conn,
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ledger_transfers",
    )
    .await?;
    Ok(VerifyReport {
        balanced: mismatches.is_empty(),
        assets,
        accounts_checked,
        transfers_checked,
        mismatches,
    })
}

/// Runs a check query returning `subject`, optional `expected`, `actual`.
async fn rows(
    conn: &impl ConnectionTrait,
    sql: &str,
) -> Result<Vec<(String, i64, i64)>, LedgerError> {
    let backend = conn.get_database_backend();
    let results = conn.query_all(Statement::from_string(backend, sql)).await?;
    results
        .into_iter()
        .map(|row| {
            let subject: String = row.try_get("", "subject")?;
            let expected: i64 = row.try_get("", "expected").unwrap_or(0);
            let actual: i64 = row.try_get("", "actual")?;
            Ok((subject, expected, actual))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(LedgerError::from)
}

async fn count(conn: &impl ConnectionTrait, sql: &str) -> Result<i64, LedgerError> {
    let backend = conn.get_database_backend();
    Ok(conn
        .query_one(Statement::from_string(backend, sql))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}
