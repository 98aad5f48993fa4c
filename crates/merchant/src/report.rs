//! Partners' part of the dashboard: active merchants, published offers, the value of what
//! was redeemed, and the points partners received.

use crate::MerchantError;
use platform::report::{community_under, Bind, Scope};
use sea_orm::ConnectionTrait;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerFigures {
    pub merchants_active: i64,
    /// Published offers of active merchants, valid now.
    pub offers_published: i64,
    /// Cash value of what was redeemed in the period, in fen.
    pub service_value_fen: i64,
    /// Points received by partners for redemptions in the period.
    pub points_redeemed: i64,
}

pub async fn figures(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<PartnerFigures, MerchantError> {
    let merchants = community_under("m.community_id");
    let merchants_active = scope
        .number(conn, Bind::Path, &format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM merchants m WHERE m.status = 'active' AND {merchants}"
        ))
        .await?;
    let offers_published = scope
        .number(conn, Bind::PathNow, &format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM offers f JOIN merchants m ON m.id = f.merchant_id \
             WHERE f.status = 'published' AND m.status = 'active' AND f.valid_until > $2 AND {merchants}"
        ))
        .await?;
    let service_value_fen = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!(
            "SELECT CAST(COALESCE(SUM(r.cash_value_fen), 0) AS BIGINT) AS n FROM redemptions r \
             JOIN merchants m ON m.id = r.merchant_id WHERE r.status = 'redeemed' \
             AND r.redeemed_at >= $2 AND r.redeemed_at < $3 AND {merchants}"
        ),
        )
        .await?;
    let points_redeemed = scope
        .number(conn, Bind::PathPeriod, &format!(
            "SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.credit_account_id JOIN merchants m ON m.id = a.owner_id \
             WHERE a.kind = 'merchant' AND t.code = 'redemption' AND {merchants} \
             AND t.created_at >= $2 AND t.created_at < $3"
        ))
        .await?;
    Ok(PartnerFigures {
        merchants_active,
        offers_published,
        service_value_fen,
        points_redeemed,
    })
}

/// Points partners received, per Beijing day of the period.
pub async fn points_redeemed_by_day(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<(String, i64)>, MerchantError> {
    let day = scope.local_date("t.created_at", false);
    Ok(scope
        .grouped(conn, &format!(
            "SELECT {day} AS k, CAST(SUM(t.amount) AS BIGINT) AS n FROM ledger_transfers t \
             JOIN ledger_accounts a ON a.id = t.credit_account_id JOIN merchants m ON m.id = a.owner_id \
             WHERE a.kind = 'merchant' AND t.code = 'redemption' \
             AND m.community_id IN (SELECT id FROM orgs WHERE path LIKE $1) \
             AND t.created_at >= $2 AND t.created_at < $3 GROUP BY 1"
        ))
        .await?)
}
