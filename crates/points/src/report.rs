//! Points' part of the dashboard: what budgets issued, what lapsed, what residents hold.

use crate::PointsError;
use identity::report::residents_wallets;
use platform::report::{Bind, Scope};
use sea_orm::ConnectionTrait;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointsFigures {
    /// From the subtree's budgets to residents (awards, activity settlements) in the period.
    pub issued: i64,
    /// Residents' points that lapsed in the period.
    pub expired: i64,
    /// Held by the subtree's residents now.
    pub circulating: i64,
}

const ISSUED: &str = "FROM ledger_transfers t JOIN ledger_accounts a ON a.id = t.debit_account_id \
     WHERE a.kind = 'org_budget' AND t.asset = 'points' AND t.code IN ('award', 'settlement') \
     AND a.owner_id IN (SELECT id FROM orgs WHERE path LIKE $1) \
     AND t.created_at >= $2 AND t.created_at < $3";

pub async fn figures(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<PointsFigures, PointsError> {
    let issued = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!("SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n {ISSUED}"),
        )
        .await?;
    let wallets = residents_wallets(scope);
    let expired = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!(
                "SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.debit_account_id \
             WHERE t.code = 'expiry' AND t.asset = 'points' AND {wallets} \
             AND t.created_at >= $2 AND t.created_at < $3"
            ),
        )
        .await?;
    let circulating = scope
        .number(
            conn,
            Bind::Path,
            &format!(
                "SELECT CAST(COALESCE(SUM(a.balance), 0) AS BIGINT) AS n FROM ledger_accounts a \
             WHERE a.asset = 'points' AND {wallets}"
            ),
        )
        .await?;
    Ok(PointsFigures {
        issued,
        expired,
        circulating,
    })
}

/// Points issued by the subtree's budgets, per Beijing day of the period.
pub async fn issued_by_day(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<(String, i64)>, PointsError> {
    let day = scope.local_date("t.created_at", false);
    Ok(scope
        .grouped(
            conn,
            &format!("SELECT {day} AS k, CAST(SUM(t.amount) AS BIGINT) AS n {ISSUED} GROUP BY 1"),
        )
        .await?)
}
