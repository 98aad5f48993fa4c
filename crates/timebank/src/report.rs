//! The time bank's part of the dashboard: volunteer minutes settled and who gave them, and
//! the activities of each kind held (night schools, markets…) and who came.

use crate::service::activities::KINDS;
use crate::TimebankError;
use platform::report::{Bind, Scope};
use sea_orm::ConnectionTrait;
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolunteerFigures {
    pub volunteer_minutes: i64,
    /// Residents with settled minutes in the period.
    pub volunteers: i64,
    /// Every kind of activity (zeros included): held in the period, and who checked in.
    pub by_kind: Vec<KindFigures>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindFigures {
    pub kind: &'static str,
    /// Scheduled (not cancelled) activities starting in the period.
    pub activities: i64,
    /// Distinct residents who checked in at them.
    pub participants: i64,
}

/// What counts as volunteering (of the activities `a`): a volunteer activity, or any whose
/// minutes the time bank credits. A night-school class or a market day settled without
/// time credits is taking part, not volunteering, and stays out of the volunteer figures.
pub const VOLUNTEERING: &str = "(a.kind = 'volunteer' OR a.time_credits)";

/// [`VOLUNTEERING`] for one activity (the leaderboards cached in Redis add by it).
pub fn is_volunteering(activity: &crate::entity::activity::Model) -> bool {
    activity.kind == "volunteer" || activity.time_credits
}

fn settled() -> String {
    format!(
        "FROM activity_signups s JOIN activities a ON a.id = s.activity_id \
         WHERE a.org_path LIKE $1 AND s.settled_at >= $2 AND s.settled_at < $3 AND {VOLUNTEERING}"
    )
}

/// Activities under the org starting in the period and not cancelled.
const HELD: &str = "a.org_path LIKE $1 AND a.starts_at >= $2 AND a.starts_at < $3 \
     AND a.status = 'scheduled'";

pub async fn figures(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<VolunteerFigures, TimebankError> {
    let settled = settled();
    let volunteer_minutes = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!("SELECT CAST(COALESCE(SUM(s.settled_minutes), 0) AS BIGINT) AS n {settled}"),
        )
        .await?;
    let volunteers = scope
        .number(
            conn,
            Bind::PathPeriod,
            &format!(
                "SELECT CAST(COUNT(DISTINCT s.user_id) AS BIGINT) AS n {settled} AND s.settled_minutes > 0"
            ),
        )
        .await?;
    let held: HashMap<String, i64> = scope
        .grouped(
            conn,
            &format!(
                "SELECT a.kind AS k, CAST(COUNT(*) AS BIGINT) AS n FROM activities a \
                 WHERE {HELD} GROUP BY a.kind"
            ),
        )
        .await?
        .into_iter()
        .collect();
    let came: HashMap<String, i64> = scope
        .grouped(
            conn,
            &format!(
                "SELECT a.kind AS k, CAST(COUNT(DISTINCT s.user_id) AS BIGINT) AS n \
                 FROM activity_signups s JOIN activities a ON a.id = s.activity_id \
                 WHERE {HELD} AND s.checked_in_at IS NOT NULL GROUP BY a.kind"
            ),
        )
        .await?
        .into_iter()
        .collect();
    let by_kind = KINDS
        .iter()
        .map(|&kind| KindFigures {
            kind,
            activities: held.get(kind).copied().unwrap_or(0),
            participants: came.get(kind).copied().unwrap_or(0),
        })
        .collect();
    Ok(VolunteerFigures {
        volunteer_minutes,
        volunteers,
        by_kind,
    })
}

/// Volunteer minutes settled per Beijing month (`YYYY-MM`) of the period.
pub async fn minutes_by_month(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<(String, i64)>, TimebankError> {
    let month = scope.local_date("s.settled_at", true);
    let settled = settled();
    Ok(scope
        .grouped(
            conn,
            &format!(
                "SELECT {month} AS k, CAST(SUM(s.settled_minutes) AS BIGINT) AS n {settled} \
                 GROUP BY 1 ORDER BY 1"
            ),
        )
        .await?)
}
