//! The time bank's part of the dashboard: volunteer minutes settled and who gave them.

use crate::TimebankError;
use platform::report::{Bind, Scope};
use sea_orm::ConnectionTrait;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolunteerFigures {
    pub volunteer_minutes: i64,
    /// Residents with settled minutes in the period.
    pub volunteers: i64,
}

const SETTLED: &str = "FROM activity_signups s JOIN activities a ON a.id = s.activity_id \
     WHERE a.org_path LIKE $1 AND s.settled_at >= $2 AND s.settled_at < $3";

pub async fn figures(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<VolunteerFigures, TimebankError> {
    let volunteer_minutes = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!("SELECT CAST(COALESCE(SUM(s.settled_minutes), 0) AS BIGINT) AS n {SETTLED}"),
        )
        .await?;
    let volunteers = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!(
                "SELECT CAST(COUNT(DISTINCT s.user_id) AS BIGINT) AS n {SETTLED} AND s.settled_minutes > 0"
            ),
        )
        .await?;
    Ok(VolunteerFigures {
        volunteer_minutes,
        volunteers,
    })
}

/// Volunteer minutes settled per Beijing month (`YYYY-MM`) of the period.
pub async fn minutes_by_month(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<(String, i64)>, TimebankError> {
    let month = scope.local_date("s.settled_at", true);
    Ok(scope
        .grouped(
            conn,
            &format!(
                "SELECT {month} AS k, CAST(SUM(s.settled_minutes) AS BIGINT) AS n {SETTLED} \
                 GROUP BY 1 ORDER BY 1"
            ),
        )
        .await?)
}
