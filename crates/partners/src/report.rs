//! The partner scheme's part of the dashboard: partners by kind, the three lists, running
//! projects and their goal achievement, missing disclosures and the use of spaces, for an
//! org subtree (and, for the spaces, the period).

use crate::entity::{evaluation, project};
use crate::project_state::ProjectStatus;
use crate::service::{disclosures, spaces};
use crate::PartnerError;
use ::merchant::PartnerKind;
use platform::report::{community_under, Bind, Scope};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemeFigures {
    /// Active partners of each kind, in `PartnerKind::ALL` order.
    pub partners_by_kind: Vec<(&'static str, i64)>,
    pub needs_open: i64,
    pub needs_matched: i64,
    pub needs_met: i64,
    pub problems_open: i64,
    pub projects_running: i64,
    /// Mean over running projects of their latest evaluation's achievement; `None` before
    /// any is evaluated.
    pub average_goal_achievement: Option<f64>,
    pub disclosures_missing: i64,
    /// Approved space bookings starting in the period, and their hours.
    pub space_bookings: i64,
    pub space_hours: f64,
}

pub async fn figures(
    conn: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<SchemeFigures, PartnerError> {
    let mut partners_by_kind = Vec::with_capacity(PartnerKind::ALL.len());
    let under = community_under("m.community_id");
    for kind in PartnerKind::ALL {
        // The kind is one of our own words, never input.
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM merchants m \
             WHERE m.status = 'active' AND m.kind = '{}' AND {under}",
            kind.as_str()
        );
        partners_by_kind.push((kind.as_str(), scope.number(conn, Bind::Path, &sql).await?));
    }
    let count = |table: &str, status: &str| {
        format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE status = '{status}' \
             AND org_path LIKE $1"
        )
    };
    let needs_open = scope
        .number(conn, Bind::Path, &count("community_needs", "open"))
        .await?;
    let needs_matched = scope
        .number(conn, Bind::Path, &count("community_needs", "matched"))
        .await?;
    let needs_met = scope
        .number(conn, Bind::Path, &count("community_needs", "met"))
        .await?;
    let problems_open = scope
        .number(conn, Bind::Path, &count("community_problems", "open"))
        .await?;
    let running = project::Entity::find()
        .filter(project::Column::OrgPath.starts_with(scope.org_path.as_str()))
        .filter(project::Column::Status.eq(ProjectStatus::Running.as_str()))
        .all(conn)
        .await?;
    let average_goal_achievement = latest_mean(conn, &running).await?;
    let paths = vec![scope.org_path.clone()];
    let disclosures_missing = disclosures::missing_under(conn, &paths).await?.len() as i64;
    let (space_bookings, space_hours) =
        spaces::usage_under(conn, &paths, scope.from, scope.to).await?;
    Ok(SchemeFigures {
        partners_by_kind,
        needs_open,
        needs_matched,
        needs_met,
        problems_open,
        projects_running: running.len() as i64,
        average_goal_achievement,
        disclosures_missing,
        space_bookings,
        space_hours,
    })
}

/// The mean of each project's latest evaluation achievement.
async fn latest_mean(
    conn: &impl ConnectionTrait,
    projects: &[project::Model],
) -> Result<Option<f64>, PartnerError> {
    let evaluations = evaluation::Entity::find()
        .filter(evaluation::Column::ProjectId.is_in(projects.iter().map(|p| p.id.clone())))
        .order_by_asc(evaluation::Column::Id)
        .all(conn)
        .await?;
    let mut latest: HashMap<String, f64> = HashMap::new();
    for e in evaluations {
        latest.insert(e.project_id, e.achievement);
    }
    if latest.is_empty() {
        return Ok(None);
    }
    Ok(Some(latest.values().sum::<f64>() / latest.len() as f64))
}
