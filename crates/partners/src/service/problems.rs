//! The 问题清单: what goes wrong in a community, open until staff record its resolution.

use super::history::{self, Change};
use super::scope::{community_in_reach, list_paths, page, reach, require_staff, under};
use crate::entity::problem;
use crate::lists::Severity;
use crate::PartnerError;
use chrono::{DateTime, Utc};
use identity::Actor;
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

#[derive(Debug, Clone)]
pub struct NewProblem {
    pub community_id: String,
    pub title: String,
    pub description: String,
    pub severity: String,
}

pub async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewProblem,
    now: DateTime<Utc>,
) -> Result<problem::Model, PartnerError> {
    require_staff(actor)?;
    let mut errors = ValidationErrors::new();
    let title = name_field(&mut errors, "title", &input.title, 100);
    let description = text_field(&mut errors, "description", &input.description, 0, 2000);
    let severity = Severity::parse(&input.severity);
    if severity.is_none() {
        errors.add("severity", Severity::choices());
    }
    errors.into_result()?;
    let community = community_in_reach(conn, actor, &input.community_id).await?;
    let row = problem::Model {
        id: new_id(),
        community_id: community.id,
        org_path: community.path,
        title,
        description,
        severity: severity.map_or("low", |s| s.as_str()).to_owned(),
        status: "open".to_owned(),
        resolution: None,
        created_by: actor.user_id.clone(),
        created_at: now,
        updated_at: now,
        resolved_at: None,
    };
    problem::Entity::insert(problem::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    let change = Change {
        list: "problem",
        item_id: &row.id,
        action: "record",
        from: None,
        to: "open",
        note: "",
    };
    history::record(conn, change, &actor.user_id, now).await?;
    Ok(row)
}

/// Closes an open problem with what was done about it; a resolved one stays resolved.
pub async fn resolve(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    problem_id: &str,
    resolution: &str,
    now: DateTime<Utc>,
) -> Result<problem::Model, PartnerError> {
    let mut errors = ValidationErrors::new();
    let resolution = text_field(&mut errors, "resolution", resolution, 1, 2000);
    errors.into_result()?;
    let mut row = find(conn, actor, problem_id).await?;
    let moved = problem::Entity::update_many()
        .col_expr(problem::Column::Status, Expr::value("resolved"))
        .col_expr(problem::Column::Resolution, Expr::value(resolution.clone()))
        .col_expr(problem::Column::ResolvedAt, Expr::value(now))
        .col_expr(problem::Column::UpdatedAt, Expr::value(now))
        .filter(problem::Column::Id.eq(problem_id))
        .filter(problem::Column::Status.eq("open"))
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(PartnerError::InvalidTransition {
            action: "resolve",
            from: row.status,
        });
    }
    let change = Change {
        list: "problem",
        item_id: problem_id,
        action: "resolve",
        from: Some("open"),
        to: "resolved",
        note: &resolution,
    };
    history::record(conn, change, &actor.user_id, now).await?;
    row.status = "resolved".to_owned();
    row.resolution = Some(resolution);
    row.resolved_at = Some(now);
    row.updated_at = now;
    Ok(row)
}

pub async fn find(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    problem_id: &str,
) -> Result<problem::Model, PartnerError> {
    let row = problem::Entity::find_by_id(problem_id.to_owned())
        .one(conn)
        .await?
        .ok_or(PartnerError::NotFound("problem"))?;
    reach(actor, &row.org_path, "problem")?;
    Ok(row)
}

/// Problems under the actor's scope (or the org named), newest first, of one status when
/// given (`open` or `resolved`).
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    org_id: Option<&str>,
    status: Option<&str>,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<problem::Model>, Option<String>), PartnerError> {
    if status.is_some_and(|s| !["open", "resolved"].contains(&s)) {
        return Err(ValidationErrors::single("status", "must be open or resolved").into());
    }
    let paths = list_paths(conn, actor, org_id).await?;
    let mut query = problem::Entity::find().filter(under(&paths, problem::Column::OrgPath));
    if let Some(status) = status {
        query = query.filter(problem::Column::Status.eq(status));
    }
    let key = |r: &problem::Model| r.id.clone();
    page(conn, query, problem::Column::Id, limit, before, key).await
}
