//! Partner projects: proposed by community staff with goals and the needs they serve,
//! accepted by the partner's owner, agreed, run and closed (`crate::project_state`);
//! evaluated per period against their goals, rated by residents, and paid from the
//! community's budget through the ledger.

use super::history::{self, Change};
use super::scope::{community_in_reach, list_paths, page, reach, require_staff, under};
use crate::entity::{
    evaluation, evaluation_result, need, project, project_goal, project_need, rating,
};
use crate::lists::{Mechanism, NeedStatus, ProjectKind};
use crate::project_state::{mean_achievement, next, ProjectAction, ProjectStatus, Refusal};
use crate::PartnerError;
use ::merchant::entity::{merchant, merchant_member};
use ::merchant::MerchantStatus;
use chrono::{DateTime, NaiveDate, Utc};
use identity::Actor;
use platform::ids::new_id;
use platform::validation::{name_field, text_field};
use platform::ValidationErrors;
use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
use points_ledger::{AccountRef, ExpiryRule};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

/// Goals one project may carry.
const MAX_GOALS: usize = 20;

#[derive(Debug, Clone)]
pub struct NewProject {
    pub partner_id: String,
    pub community_id: String,
    pub need_ids: Vec<String>,
    pub kind: String,
    pub mechanism: String,
    pub title: String,
    pub goals: Vec<(String, i64)>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub budget_fen: Option<i64>,
}

/// A project with its goals and the needs it serves.
#[derive(Debug, Clone)]
pub struct ProjectView {
    pub project: project::Model,
    pub goals: Vec<project_goal::Model>,
    pub need_ids: Vec<String>,
}

pub async fn propose(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    input: NewProject,
    now: DateTime<Utc>,
) -> Result<ProjectView, PartnerError> {
    require_staff(actor)?;
    let mut errors = ValidationErrors::new();
    let title = name_field(&mut errors, "title", &input.title, 100);
    let kind = ProjectKind::parse(&input.kind);
    if kind.is_none() {
        errors.add("kind", ProjectKind::choices());
    }
    let mechanism = Mechanism::parse(&input.mechanism);
    if mechanism.is_none() {
        errors.add("mechanism", Mechanism::choices());
    }
    if input.ends_on < input.starts_on {
        errors.add("ends_on", "must not be before starts_on");
    }
    if input.budget_fen.is_some_and(|b| b < 0) {
        errors.add("budget_fen", "must not be negative");
    }
    let goals = parse_goals(&mut errors, &input.goals);
    let mut need_ids = input.need_ids.clone();
    need_ids.sort();
    need_ids.dedup();
    errors.into_result()?;
    let community = community_in_reach(conn, actor, &input.community_id).await?;
    let partner = merchant::Entity::find_by_id(input.partner_id.clone())
        .one(conn)
        .await?
        .filter(|p| p.status == MerchantStatus::Active)
        .ok_or_else(|| ValidationErrors::single("partner_id", "is not an active partner"))?;
    if !need_ids.is_empty() {
        let found = need::Entity::find()
            .filter(need::Column::Id.is_in(need_ids.clone()))
            .filter(need::Column::CommunityId.eq(community.id.as_str()))
            .filter(
                need::Column::Status
                    .is_in([NeedStatus::Open.as_str(), NeedStatus::Matched.as_str()]),
            )
            .count(conn)
            .await?;
        if found != need_ids.len() as u64 {
            return Err(ValidationErrors::single(
                "need_ids",
                "every need must be an open or matched need of this community",
            )
            .into());
        }
    }
    let row = project::Model {
        id: new_id(),
        partner_id: partner.id,
        community_id: community.id,
        org_path: community.path,
        kind: kind.map_or("other", |k| k.as_str()).to_owned(),
        mechanism: mechanism
            .map_or("public_benefit", |m| m.as_str())
            .to_owned(),
        title,
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        budget_fen: input.budget_fen,
        status: ProjectStatus::Proposed.as_str().to_owned(),
        accepted_at: None,
        accepted_by: None,
        terminated_reason: None,
        created_by: actor.user_id.clone(),
        created_at: now,
        updated_at: now,
    };
    project::Entity::insert(project::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    let goal_rows: Vec<project_goal::Model> = goals
        .into_iter()
        .enumerate()
        .map(|(position, (metric, target))| project_goal::Model {
            project_id: row.id.clone(),
            metric,
            target,
            position: position as i64,
        })
        .collect();
    project_goal::Entity::insert_many(
        goal_rows
            .iter()
            .cloned()
            .map(project_goal::ActiveModel::from),
    )
    .exec_without_returning(conn)
    .await?;
    if !need_ids.is_empty() {
        project_need::Entity::insert_many(need_ids.iter().map(|need_id| {
            project_need::ActiveModel {
                project_id: Set(row.id.clone()),
                need_id: Set(need_id.clone()),
            }
        }))
        .exec_without_returning(conn)
        .await?;
    }
    record(
        conn,
        &row.id,
        "propose",
        None,
        ProjectStatus::Proposed,
        actor,
        "",
        now,
    )
    .await?;
    Ok(ProjectView {
        project: row,
        goals: goal_rows,
        need_ids,
    })
}

fn parse_goals(errors: &mut ValidationErrors, goals: &[(String, i64)]) -> Vec<(String, i64)> {
    if goals.is_empty() || goals.len() > MAX_GOALS {
        errors.add("goals", format!("between 1 and {MAX_GOALS} goals"));
    }
    let mut parsed: Vec<(String, i64)> = Vec::with_capacity(goals.len());
    for (metric, target) in goals {
        let metric = name_field(errors, "goals.metric", metric, 100);
        if *target <= 0 {
            errors.add("goals.target", "must be positive");
        }
        if parsed.iter().any(|(m, _)| *m == metric) {
            errors.add("goals.metric", "each goal names a different metric");
        }
        parsed.push((metric, *target));
    }
    parsed
}

#[allow(clippy::too_many_arguments)]
async fn record(
    conn: &impl ConnectionTrait,
    project_id: &str,
    action: &'static str,
    from: Option<ProjectStatus>,
    to: ProjectStatus,
    actor: &Actor,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), PartnerError> {
    let change = Change {
        list: "project",
        item_id: project_id,
        action,
        from: from.map(ProjectStatus::as_str),
        to: to.as_str(),
        note,
    };
    history::record(conn, change, &actor.user_id, now).await
}

/// A project with its goals and needs, the row alone checked against nothing.
pub async fn load(
    conn: &impl ConnectionTrait,
    project_id: &str,
) -> Result<ProjectView, PartnerError> {
    let project = project::Entity::find_by_id(project_id.to_owned())
        .one(conn)
        .await?
        .ok_or(PartnerError::NotFound("project"))?;
    let goals = project_goal::Entity::find()
        .filter(project_goal::Column::ProjectId.eq(project_id))
        .order_by_asc(project_goal::Column::Position)
        .all(conn)
        .await?;
    let need_ids = project_need::Entity::find()
        .filter(project_need::Column::ProjectId.eq(project_id))
        .order_by_asc(project_need::Column::NeedId)
        .all(conn)
        .await?
        .into_iter()
        .map(|n| n.need_id)
        .collect();
    Ok(ProjectView {
        project,
        goals,
        need_ids,
    })
}

/// A project staff of its community (or above) reach; anyone else: not found.
pub async fn find(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    project_id: &str,
) -> Result<ProjectView, PartnerError> {
    let view = load(conn, project_id).await?;
    reach(actor, &view.project.org_path, "project")?;
    Ok(view)
}

/// The partner's owner accepts a proposed project (the partner's half of agreeing).
pub async fn accept(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
    project_id: &str,
    now: DateTime<Utc>,
) -> Result<ProjectView, PartnerError> {
    let mut view = load(conn, project_id).await?;
    if view.project.partner_id != partner_id || !is_owner(conn, actor, partner_id).await? {
        return Err(PartnerError::NotFound("project"));
    }
    let status = status_of(&view.project);
    if status != ProjectStatus::Proposed || view.project.accepted_at.is_some() {
        return Err(PartnerError::InvalidTransition {
            action: "accept",
            from: if status == ProjectStatus::Proposed {
                "accepted already".to_owned()
            } else {
                status.as_str().to_owned()
            },
        });
    }
    project::Entity::update_many()
        .col_expr(project::Column::AcceptedAt, Expr::value(now))
        .col_expr(
            project::Column::AcceptedBy,
            Expr::value(actor.user_id.clone()),
        )
        .col_expr(project::Column::UpdatedAt, Expr::value(now))
        .filter(project::Column::Id.eq(project_id))
        .exec(conn)
        .await?;
    record(
        conn,
        project_id,
        "accept",
        Some(status),
        status,
        actor,
        "",
        now,
    )
    .await?;
    view.project.accepted_at = Some(now);
    view.project.accepted_by = Some(actor.user_id.clone());
    view.project.updated_at = now;
    Ok(view)
}

async fn is_owner(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: &str,
) -> Result<bool, PartnerError> {
    if !actor.merchant_ids().iter().any(|id| id == partner_id) {
        return Ok(false);
    }
    Ok(merchant_member::Entity::find()
        .filter(merchant_member::Column::MerchantId.eq(partner_id))
        .filter(merchant_member::Column::UserId.eq(actor.user_id.as_str()))
        .filter(merchant_member::Column::MemberRole.eq("owner"))
        .filter(merchant_member::Column::RemovedAt.is_null())
        .count(conn)
        .await?
        > 0)
}

fn status_of(project: &project::Model) -> ProjectStatus {
    ProjectStatus::parse(&project.status).unwrap_or(ProjectStatus::Proposed)
}

/// Staff move a project on: agree (after the partner accepted), start, close. Agreeing
/// marks the open needs it serves matched; closing marks them met.
pub async fn act(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    project_id: &str,
    action: ProjectAction,
    now: DateTime<Utc>,
) -> Result<ProjectView, PartnerError> {
    let mut view = find(conn, actor, project_id).await?;
    let from = status_of(&view.project);
    let to = move_to(conn, &view.project, action, now, None).await?;
    let needs_to = match action {
        ProjectAction::Agree => Some((vec![NeedStatus::Open], NeedStatus::Matched)),
        ProjectAction::Close => {
            Some((vec![NeedStatus::Open, NeedStatus::Matched], NeedStatus::Met))
        }
        _ => None,
    };
    if let (Some((from_needs, to_need)), false) = (needs_to, view.need_ids.is_empty()) {
        need::Entity::update_many()
            .col_expr(need::Column::Status, Expr::value(to_need.as_str()))
            .col_expr(need::Column::UpdatedAt, Expr::value(now))
            .filter(need::Column::Id.is_in(view.need_ids.clone()))
            .filter(need::Column::Status.is_in(from_needs.iter().map(|s| s.as_str())))
            .exec(conn)
            .await?;
    }
    record(
        conn,
        project_id,
        action.as_str(),
        Some(from),
        to,
        actor,
        "",
        now,
    )
    .await?;
    view.project.status = to.as_str().to_owned();
    view.project.updated_at = now;
    Ok(view)
}

/// Moves `project` by `action` with a compare-and-set on its status.
pub(crate) async fn move_to(
    conn: &impl ConnectionTrait,
    project: &project::Model,
    action: ProjectAction,
    now: DateTime<Utc>,
    reason: Option<&str>,
) -> Result<ProjectStatus, PartnerError> {
    let from = status_of(project);
    let to =
        next(from, action, project.accepted_at.is_some()).map_err(|refusal| match refusal {
            Refusal::AwaitingPartner => PartnerError::AwaitingPartner,
            Refusal::NotFrom(status) => PartnerError::InvalidTransition {
                action: action.as_str(),
                from: status.as_str().to_owned(),
            },
        })?;
    let mut update = project::Entity::update_many()
        .col_expr(project::Column::Status, Expr::value(to.as_str()))
        .col_expr(project::Column::UpdatedAt, Expr::value(now));
    if let Some(reason) = reason {
        update = update.col_expr(project::Column::TerminatedReason, Expr::value(reason));
    }
    let moved = update
        .filter(project::Column::Id.eq(project.id.as_str()))
        .filter(project::Column::Status.eq(from.as_str()))
        .exec(conn)
        .await?;
    if moved.rows_affected != 1 {
        return Err(PartnerError::InvalidTransition {
            action: action.as_str(),
            from: "changing".to_owned(),
        });
    }
    Ok(to)
}

#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    pub org_id: Option<String>,
    pub status: Option<ProjectStatus>,
    pub partner_id: Option<String>,
}

/// Projects under the actor's scope (or the org named), newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ProjectFilter,
    limit: u64,
    before: Option<&str>,
) -> Result<(Vec<project::Model>, Option<String>), PartnerError> {
    let paths = list_paths(conn, actor, filter.org_id.as_deref()).await?;
    let mut query = project::Entity::find().filter(under(&paths, project::Column::OrgPath));
    if let Some(status) = filter.status {
        query = query.filter(project::Column::Status.eq(status.as_str()));
    }
    if let Some(partner_id) = &filter.partner_id {
        query = query.filter(project::Column::PartnerId.eq(partner_id.as_str()));
    }
    let key = |r: &project::Model| r.id.clone();
    page(conn, query, project::Column::Id, limit, before, key).await
}

/// An evaluation with what each goal achieved.
#[derive(Debug, Clone)]
pub struct EvaluationView {
    pub evaluation: evaluation::Model,
    pub results: Vec<evaluation_result::Model>,
}

/// Staff evaluate a running or closed project for one period: every goal gets what it
/// achieved; the evaluation keeps each goal's achievement and their capped mean.
pub async fn evaluate(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    project_id: &str,
    period: &str,
    results: &[(String, i64)],
    notes: &str,
    now: DateTime<Utc>,
) -> Result<EvaluationView, PartnerError> {
    let view = find(conn, actor, project_id).await?;
    let mut errors = ValidationErrors::new();
    let period = name_field(&mut errors, "period", period, 20);
    let notes = text_field(&mut errors, "notes", notes, 0, 2000);
    let mut scored: Vec<(i64, i64)> = Vec::new();
    for goal in &view.goals {
        match results.iter().find(|(metric, _)| *metric == goal.metric) {
            Some((_, achieved)) if *achieved >= 0 => scored.push((goal.target, *achieved)),
            Some(_) => errors.add("results.achieved", "must not be negative"),
            None => errors.add("results", format!("no result for the goal {}", goal.metric)),
        }
    }
    if results
        .iter()
        .any(|(metric, _)| !view.goals.iter().any(|g| g.metric == *metric))
    {
        errors.add(
            "results.metric",
            "names a metric that is not a goal of the project",
        );
    }
    errors.into_result()?;
    let status = status_of(&view.project);
    if !matches!(status, ProjectStatus::Running | ProjectStatus::Closed) {
        return Err(PartnerError::InvalidTransition {
            action: "evaluate",
            from: status.as_str().to_owned(),
        });
    }
    let taken = evaluation::Entity::find()
        .filter(evaluation::Column::ProjectId.eq(project_id))
        .filter(evaluation::Column::Period.eq(period.as_str()))
        .count(conn)
        .await?;
    if taken > 0 {
        return Err(PartnerError::EvaluationExists(period));
    }
    let row = evaluation::Model {
        id: new_id(),
        project_id: project_id.to_owned(),
        period,
        notes,
        achievement: mean_achievement(&scored).unwrap_or(0.0),
        created_by: actor.user_id.clone(),
        created_at: now,
    };
    evaluation::Entity::insert(evaluation::ActiveModel::from(row.clone()))
        .exec_without_returning(conn)
        .await?;
    let result_rows: Vec<evaluation_result::Model> = view
        .goals
        .iter()
        .zip(&scored)
        .map(|(goal, (target, achieved))| evaluation_result::Model {
            evaluation_id: row.id.clone(),
            metric: goal.metric.clone(),
            target: *target,
            achieved: *achieved,
        })
        .collect();
    evaluation_result::Entity::insert_many(
        result_rows
            .iter()
            .cloned()
            .map(evaluation_result::ActiveModel::from),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(EvaluationView {
        evaluation: row,
        results: result_rows,
    })
}

/// A project's evaluations, oldest first.
pub async fn evaluations(
    conn: &impl ConnectionTrait,
    project_id: &str,
) -> Result<Vec<EvaluationView>, PartnerError> {
    let rows = evaluation::Entity::find()
        .filter(evaluation::Column::ProjectId.eq(project_id))
        .order_by_asc(evaluation::Column::Id)
        .all(conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let results = evaluation_result::Entity::find()
            .filter(evaluation_result::Column::EvaluationId.eq(row.id.as_str()))
            .all(conn)
            .await?;
        out.push(EvaluationView {
            evaluation: row,
            results,
        });
    }
    Ok(out)
}

/// A resident of the project's community rates a running or closed project, 1–5; a new
/// rating replaces their earlier one. True when it is their first.
pub async fn rate(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    project_id: &str,
    score: i64,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<bool, PartnerError> {
    let mut errors = ValidationErrors::new();
    if !(1..=5).contains(&score) {
        errors.add("score", "must be between 1 and 5");
    }
    let comment = text_field(&mut errors, "comment", comment, 0, 500);
    errors.into_result()?;
    let view = load(conn, project_id).await?;
    if !actor.is_resident || actor.community_id.as_deref() != Some(&view.project.community_id) {
        return Err(PartnerError::Forbidden(
            "Residents of the project's community rate it.",
        ));
    }
    let status = status_of(&view.project);
    if !matches!(status, ProjectStatus::Running | ProjectStatus::Closed) {
        return Err(PartnerError::InvalidTransition {
            action: "rate",
            from: status.as_str().to_owned(),
        });
    }
    let deleted = rating::Entity::delete_many()
        .filter(rating::Column::ProjectId.eq(project_id))
        .filter(rating::Column::UserId.eq(actor.user_id.as_str()))
        .exec(conn)
        .await?;
    rating::Entity::insert(rating::ActiveModel {
        project_id: Set(project_id.to_owned()),
        user_id: Set(actor.user_id.clone()),
        partner_id: Set(view.project.partner_id.clone()),
        score: Set(score),
        comment: Set(comment),
        created_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(deleted.rows_affected == 0)
}

/// A payment of a project to its partner.
#[derive(Debug, Clone)]
pub struct Payment {
    pub points: i64,
    pub memo: String,
    /// The ledger's idempotency key (derived from the request's `Idempotency-Key`).
    pub ledger_key: String,
    pub rule: ExpiryRule,
}

/// A running project's payment from its community's budget to the partner, in points,
/// through the ledger (exactly once per ledger key): the transfer and the budget's balance
/// afterwards.
pub async fn pay(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    project_id: &str,
    payment: Payment,
    now: DateTime<Utc>,
) -> Result<(String, i64), PartnerError> {
    let points = payment.points;
    let mut errors = ValidationErrors::new();
    if !(1..=10_000_000).contains(&points) {
        errors.add("points", "must be between 1 and 10000000");
    }
    let memo = text_field(&mut errors, "memo", &payment.memo, 0, 200);
    errors.into_result()?;
    let view = find(conn, actor, project_id).await?;
    let status = status_of(&view.project);
    if status != ProjectStatus::Running {
        return Err(PartnerError::InvalidTransition {
            action: "pay for",
            from: status.as_str().to_owned(),
        });
    }
    let budget = AccountRef::org_budget(&view.project.community_id);
    let posted = transfer(
        conn,
        TransferRequest {
            idempotency_key: payment.ledger_key,
            from: budget.clone(),
            to: AccountRef::merchant(&view.project.partner_id),
            amount: points,
            code: TransferCode::ProjectPayment,
            memo,
            reference: Some(("project".to_owned(), project_id.to_owned())),
        },
        payment.rule,
        now,
    )
    .await?;
    let balance = match posted.balances_after {
        Some((debit, _)) => debit,
        None => {
            points_ledger::service::accounts::balance_of(conn, &budget)
                .await?
                .balance
        }
    };
    Ok((posted.transfer.id, balance))
}

/// Residents' mean rating of each partner's projects, for the directory and matching.
pub async fn partner_ratings(
    conn: &impl ConnectionTrait,
    partner_ids: &[String],
) -> Result<std::collections::HashMap<String, f64>, PartnerError> {
    let rows = rating::Entity::find()
        .filter(rating::Column::PartnerId.is_in(partner_ids.to_vec()))
        .all(conn)
        .await?;
    let mut sums: std::collections::HashMap<String, (i64, i64)> = Default::default();
    for r in rows {
        let entry = sums.entry(r.partner_id).or_default();
        entry.0 += r.score;
        entry.1 += 1;
    }
    Ok(sums
        .into_iter()
        .map(|(id, (sum, n))| (id, sum as f64 / n as f64))
        .collect())
}

/// What the directory and matching show of each partner's projects: the mechanisms it
/// cooperates under (agreed, running or closed projects), residents' mean rating, and the
/// mean achievement of its evaluations.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    pub mechanisms: Vec<String>,
    pub rating: Option<f64>,
    pub achievement: Option<f64>,
}

pub async fn standings(
    conn: &impl ConnectionTrait,
    partner_ids: &[String],
) -> Result<std::collections::HashMap<String, Standing>, PartnerError> {
    let mut out: std::collections::HashMap<String, Standing> = Default::default();
    if partner_ids.is_empty() {
        return Ok(out);
    }
    let rows = project::Entity::find()
        .filter(project::Column::PartnerId.is_in(partner_ids.to_vec()))
        .filter(project::Column::Status.is_in(["agreed", "running", "closed"]))
        .all(conn)
        .await?;
    let mut partner_of: std::collections::HashMap<String, String> = Default::default();
    for p in &rows {
        let standing = out.entry(p.partner_id.clone()).or_default();
        if !standing.mechanisms.contains(&p.mechanism) {
            standing.mechanisms.push(p.mechanism.clone());
        }
        partner_of.insert(p.id.clone(), p.partner_id.clone());
    }
    let evaluations = evaluation::Entity::find()
        .filter(evaluation::Column::ProjectId.is_in(partner_of.keys().cloned()))
        .all(conn)
        .await?;
    let mut sums: std::collections::HashMap<String, (f64, f64)> = Default::default();
    for e in evaluations {
        if let Some(partner) = partner_of.get(&e.project_id) {
            let entry = sums.entry(partner.clone()).or_default();
            entry.0 += e.achievement;
            entry.1 += 1.0;
        }
    }
    for (partner, (sum, n)) in sums {
        out.entry(partner).or_default().achievement = Some(sum / n);
    }
    for (partner, rating) in partner_ratings(conn, partner_ids).await? {
        out.entry(partner).or_default().rating = Some(rating);
    }
    for standing in out.values_mut() {
        standing.mechanisms.sort();
    }
    Ok(out)
}

/// A partner's running projects, for its public profile.
pub async fn running_of_partner(
    conn: &impl ConnectionTrait,
    partner_id: &str,
) -> Result<Vec<project::Model>, PartnerError> {
    Ok(project::Entity::find()
        .filter(project::Column::PartnerId.eq(partner_id))
        .filter(project::Column::Status.eq(ProjectStatus::Running.as_str()))
        .order_by_desc(project::Column::Id)
        .all(conn)
        .await?)
}

/// The latest evaluation of any of the partner's projects.
pub async fn latest_evaluation_of_partner(
    conn: &impl ConnectionTrait,
    partner_id: &str,
) -> Result<Option<EvaluationView>, PartnerError> {
    let project_ids: Vec<String> = project::Entity::find()
        .filter(project::Column::PartnerId.eq(partner_id))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let Some(latest) = evaluation::Entity::find()
        .filter(evaluation::Column::ProjectId.is_in(project_ids))
        .order_by_desc(evaluation::Column::Id)
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    let results = evaluation_result::Entity::find()
        .filter(evaluation_result::Column::EvaluationId.eq(latest.id.as_str()))
        .all(conn)
        .await?;
    Ok(Some(EvaluationView {
        evaluation: latest,
        results,
    }))
}
