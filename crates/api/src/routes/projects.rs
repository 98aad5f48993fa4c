//! Partner projects: proposal, the partner's acceptance, agree/start/close, evaluations,
//! residents' ratings and payments from the community's budget.

use crate::error::ApiError;
use crate::extract::{cursor_position, AuthUser, JsonBody};
use crate::idempotency::IdempotencyKey;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use partners::entity::project as project_row;
use partners::project_state::{achievement, ProjectAction, ProjectStatus};
use partners::service::projects::{
    self, EvaluationView, NewProject, Payment, ProjectFilter, ProjectView,
};
use platform::paging::{encode_cursor, page_limit};
use platform::ValidationErrors;
use points::use_cases::Posting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/staff/projects")
            .route(web::post().to(propose))
            .route(web::get().to(list)),
    )
    .service(web::resource("/staff/projects/{id}").route(web::get().to(detail)))
    .service(web::resource("/staff/projects/{id}/evaluations").route(web::post().to(evaluate)))
    .service(web::resource("/staff/projects/{id}/payments").route(web::post().to(pay)))
    .service(web::resource("/staff/projects/{id}/{action}").route(web::post().to(act)))
    .service(
        web::resource("/partners/{id}/projects/{project_id}/accept").route(web::post().to(accept)),
    )
    .service(web::resource("/projects/{id}/ratings").route(web::post().to(rate)));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalRequest {
    #[schema(example = "助餐服务人次")]
    pub metric: String,
    pub target: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectRequest {
    pub partner_id: String,
    pub community_id: String,
    /// Open or matched needs of the community it serves.
    #[serde(default)]
    pub need_ids: Vec<String>,
    /// `elderly_care`, `childcare`, `convenience`, `space_operation`, `employment` or `other`.
    pub kind: String,
    /// `service_purchase`, `space_sharing`, `time_bank_points`, `resource_exchange` or
    /// `public_benefit`.
    pub mechanism: String,
    #[schema(example = "长者助餐点", min_length = 1, max_length = 100)]
    pub title: String,
    /// 1–20 goals, each a different metric with a positive target.
    pub goals: Vec<GoalRequest>,
    #[schema(value_type = String, format = Date, example = "2026-12-01")]
    pub starts_on: NaiveDate,
    #[schema(value_type = String, format = Date, example = "2027-11-30")]
    pub ends_on: NaiveDate,
    pub budget_fen: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct GoalResponse {
    pub metric: String,
    pub target: i64,
}

#[derive(Serialize, ToSchema)]
pub struct GoalResult {
    pub metric: String,
    pub target: i64,
    pub achieved: i64,
    /// 社会目标达成度: achieved over target (may exceed 1).
    pub achievement: f64,
}

#[derive(Serialize, ToSchema)]
pub struct EvaluationResponse {
    pub id: String,
    pub project_id: String,
    pub period: String,
    pub notes: String,
    pub results: Vec<GoalResult>,
    /// Mean achievement of the goals, each capped at 1.
    pub achievement: f64,
    pub created_at: DateTime<Utc>,
}

impl From<EvaluationView> for EvaluationResponse {
    fn from(v: EvaluationView) -> Self {
        Self {
            results: v
                .results
                .into_iter()
                .map(|r| GoalResult {
                    achievement: achievement(r.target, r.achieved),
                    metric: r.metric,
                    target: r.target,
                    achieved: r.achieved,
                })
                .collect(),
            id: v.evaluation.id,
            project_id: v.evaluation.project_id,
            period: v.evaluation.period,
            notes: v.evaluation.notes,
            achievement: v.evaluation.achievement,
            created_at: v.evaluation.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProjectResponse {
    pub id: String,
    pub partner_id: String,
    pub community_id: String,
    pub kind: String,
    pub mechanism: String,
    pub title: String,
    #[schema(value_type = String, format = Date)]
    pub starts_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub ends_on: NaiveDate,
    pub budget_fen: Option<i64>,
    /// `proposed`, `agreed`, `running`, `closed` or `terminated`.
    pub status: String,
    /// When the partner's owner accepted it (null until then).
    pub accepted_at: Option<DateTime<Utc>>,
    pub terminated_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Goals and served needs (detail and change answers; absent in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goals: Option<Vec<GoalResponse>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub need_ids: Option<Vec<String>>,
    /// Its evaluations, oldest first (detail answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluations: Option<Vec<EvaluationResponse>>,
}

impl From<project_row::Model> for ProjectResponse {
    fn from(p: project_row::Model) -> Self {
        Self {
            id: p.id,
            partner_id: p.partner_id,
            community_id: p.community_id,
            kind: p.kind,
            mechanism: p.mechanism,
            title: p.title,
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            budget_fen: p.budget_fen,
            status: p.status,
            accepted_at: p.accepted_at,
            terminated_reason: p.terminated_reason,
            created_at: p.created_at,
            updated_at: p.updated_at,
            goals: None,
            need_ids: None,
            evaluations: None,
        }
    }
}

impl From<ProjectView> for ProjectResponse {
    fn from(v: ProjectView) -> Self {
        let mut answer = Self::from(v.project);
        answer.goals = Some(
            v.goals
                .into_iter()
                .map(|g| GoalResponse {
                    metric: g.metric,
                    target: g.target,
                })
                .collect(),
        );
        answer.need_ids = Some(v.need_ids);
        answer
    }
}

/// Propose a partner project in a community of your scope (staff).
#[utoipa::path(post, path = "/api/v1/staff/projects", tag = "partners", security(("bearer" = [])),
    request_body = ProjectRequest,
    responses((status = 201, body = ProjectResponse),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the community is outside your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn propose(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<ProjectRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let input = NewProject {
        partner_id: b.partner_id,
        community_id: b.community_id,
        need_ids: b.need_ids,
        kind: b.kind,
        mechanism: b.mechanism,
        title: b.title,
        goals: b.goals.into_iter().map(|g| (g.metric, g.target)).collect(),
        starts_on: b.starts_on,
        ends_on: b.ends_on,
        budget_fen: b.budget_fen,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                projects::propose(conn, &actor, input, now)
                    .await
                    .map(ProjectResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct ProjectQuery {
    pub org_id: Option<String>,
    /// `proposed`, `agreed`, `running`, `closed` or `terminated`.
    pub status: Option<String>,
    pub partner_id: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectPage {
    pub items: Vec<ProjectResponse>,
    pub next_cursor: Option<String>,
}

/// Projects under your org (staff), newest first.
#[utoipa::path(get, path = "/api/v1/staff/projects", tag = "partners", security(("bearer" = [])),
    params(ProjectQuery),
    responses((status = 200, body = ProjectPage),
        (status = 403, description = "`forbidden`: not staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(ProjectStatus::parse(s).ok_or_else(|| {
            ValidationErrors::single(
                "status",
                "must be proposed, agreed, running, closed or terminated",
            )
        })?),
    };
    let filter = ProjectFilter {
        org_id: q.org_id,
        status,
        partner_id: q.partner_id,
    };
    let before = cursor_position(q.cursor.as_deref())?;
    let limit = page_limit(q.limit);
    let (rows, next) =
        projects::list(&state.reads, &user.0, &filter, limit, before.as_deref()).await?;
    Ok(HttpResponse::Ok().json(ProjectPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

/// One project with its goals, needs and evaluations (staff in scope).
#[utoipa::path(get, path = "/api/v1/staff/projects/{id}", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ProjectResponse),
        (status = 404, description = "`not_found`: no such project in your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn detail(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = projects::find(&state.reads, &user.0, &path).await?;
    let evaluations = projects::evaluations(&state.reads, &view.project.id).await?;
    let mut answer = ProjectResponse::from(view);
    answer.evaluations = Some(evaluations.into_iter().map(Into::into).collect());
    Ok(HttpResponse::Ok().json(answer))
}

/// Agree (after the partner accepted), start or close a project (staff). Agreeing marks
/// its open needs matched; closing marks them met.
#[utoipa::path(post, path = "/api/v1/staff/projects/{id}/{action}", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "agree | start | close")),
    responses((status = 200, body = ProjectResponse),
        (status = 404, description = "`not_found`: no such project in your scope, or no such action", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`; `partner_acceptance_required`: the partner's owner has not accepted it", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn act(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (project_id, action) = path.into_inner();
    let action = match ProjectAction::parse(&action) {
        Some(a) if a != ProjectAction::Terminate => a,
        _ => return Err(platform::Problem::not_found("action").into()),
    };
    let (actor, now) = (user.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                projects::act(conn, &actor, &project_id, action, now)
                    .await
                    .map(ProjectResponse::from)
            })
        })
        .await
}

/// The partner's owner accepts a proposed project.
#[utoipa::path(post, path = "/api/v1/partners/{id}/projects/{project_id}/accept", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path), ("project_id" = String, Path)),
    responses((status = 200, body = ProjectResponse),
        (status = 404, description = "`not_found`: no such project of a partner you own", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not proposed, or accepted already", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn accept(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let ((partner_id, project_id), actor, now) = (path.into_inner(), user.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                projects::accept(conn, &actor, &partner_id, &project_id, now)
                    .await
                    .map(ProjectResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultRequest {
    pub metric: String,
    pub achieved: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRequest {
    #[schema(example = "2026-Q4", min_length = 1, max_length = 20)]
    pub period: String,
    /// What every goal achieved in the period.
    pub results: Vec<ResultRequest>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub notes: String,
}

/// Evaluate a running or closed project for a period (staff): the achievement per goal.
#[utoipa::path(post, path = "/api/v1/staff/projects/{id}/evaluations", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = EvaluationRequest,
    responses((status = 201, body = EvaluationResponse),
        (status = 404, description = "`not_found`: no such project in your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not running or closed; `evaluation_exists`: that period is evaluated", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a goal without a result, or a result for no goal", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn evaluate(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<EvaluationRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    let results: Vec<(String, i64)> = b
        .results
        .into_iter()
        .map(|r| (r.metric, r.achieved))
        .collect();
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                projects::evaluate(conn, &actor, &id, &b.period, &results, &b.notes, now)
                    .await
                    .map(EvaluationResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectRatingRequest {
    /// 1–5.
    pub score: i64,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub comment: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectRatingResponse {
    pub project_id: String,
    pub score: i64,
    /// False when it replaced the resident's earlier rating.
    pub first: bool,
}

/// A resident of the project's community rates a running or closed project; rating again
/// replaces the earlier rating.
#[utoipa::path(post, path = "/api/v1/projects/{id}/ratings", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ProjectRatingRequest,
    responses((status = 200, body = ProjectRatingResponse),
        (status = 403, description = "`forbidden`: not a resident of its community", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not running or closed", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn rate(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<ProjectRatingRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                let first = projects::rate(conn, &actor, &id, b.score, &b.comment, now).await?;
                Ok::<_, partners::PartnerError>(ProjectRatingResponse {
                    project_id: id,
                    score: b.score,
                    first,
                })
            })
        })
        .await
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPaymentRequest {
    /// Points from the community's budget to the partner.
    pub points: i64,
    #[serde(default)]
    #[schema(example = "11月助餐服务", max_length = 200)]
    pub memo: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectPaymentResponse {
    pub project_id: String,
    pub transfer_id: String,
    pub points: i64,
    /// The community budget's balance afterwards.
    pub budget_balance: i64,
}

/// Pay a running project's partner from its community's budget, in points (staff).
#[utoipa::path(post, path = "/api/v1/staff/projects/{id}/payments", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first response")),
    request_body = ProjectPaymentRequest,
    responses((status = 201, body = ProjectPaymentResponse),
        (status = 404, description = "`not_found`: no such project in your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not running; `budget_exhausted`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn pay(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: JsonBody<ProjectPaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    let unit = state.unit(&actor, key.clone(), &("project_payment", &id, &b));
    let ledger_key = Posting::new(
        &actor,
        "project_payment",
        key.0.as_deref(),
        now,
        state.expiry_rule(),
    )
    .ledger_key;
    let payment = Payment {
        points: b.points,
        memo: b.memo,
        ledger_key,
        rule: state.expiry_rule(),
    };
    unit.respond(StatusCode::CREATED, move |conn| {
        Box::pin(async move {
            let (transfer_id, budget_balance) =
                projects::pay(conn, &actor, &id, payment.clone(), now).await?;
            Ok::<_, partners::PartnerError>(ProjectPaymentResponse {
                project_id: id,
                transfer_id,
                points: payment.points,
                budget_balance,
            })
        })
    })
    .await
}
