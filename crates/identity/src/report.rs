//! Identity's part of the dashboard: residents in a subtree.

use crate::IdentityError;
use platform::report::{community_under, Bind, Scope};
use sea_orm::ConnectionTrait;

/// Residents (WeChat users) living in the subtree; for the whole district also those who
/// have not chosen a community yet.
pub async fn residents(conn: &impl ConnectionTrait, scope: &Scope) -> Result<i64, IdentityError> {
    let living = if scope.whole_district {
        format!(
            "(community_id IS NULL OR {})",
            community_under("community_id")
        )
    } else {
        community_under("community_id")
    };
    Ok(scope
        .number(
            conn,
            Bind::Path,
            &format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users WHERE openid IS NOT NULL AND {living}"),
        )
        .await?)
}

/// SQL for "the wallet account `a` belongs to a resident of the subtree".
pub fn residents_wallets(scope: &Scope) -> String {
    let living = if scope.whole_district {
        format!(
            "community_id IS NULL OR {}",
            community_under("community_id")
        )
    } else {
        community_under("community_id")
    };
    format!("a.kind = 'wallet' AND a.owner_id IN (SELECT id FROM users WHERE {living})")
}
