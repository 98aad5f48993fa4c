//! Community partners (社区合伙人): the public directory, the three lists (resources by
//! partners, needs and problems by staff) and the matching of needs to resources.

use crate::error::ApiError;
use crate::extract::{cursor_position, AuthUser, JsonBody};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use merchant::entity::merchant as partner_row;
use merchant::PartnerKind;
use partners::entity::{list_event, need as need_row, problem as problem_row, resource};
use partners::lists::{NeedCategory, NeedStatus, ResourceType};
use partners::service::needs::{NeedAction, NeedFilter, NewNeed};
use partners::service::problems::NewProblem;
use partners::service::projects::{self, Standing};
use partners::service::resources::{categories_of, NewResource, ResourceFilter};
use partners::service::{directory, history, matches, needs, problems, resources};
use platform::paging::{encode_cursor, page_limit};
use platform::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/partners").route(web::get().to(directory_list)))
        .service(web::resource("/partners/{id}").route(web::get().to(profile)))
        .service(web::resource("/partners/{id}/resources").route(web::post().to(offer_resource)))
        .service(web::resource("/staff/resources").route(web::get().to(list_resources)))
        .service(
            web::resource("/staff/needs")
                .route(web::post().to(raise_need))
                .route(web::get().to(list_needs)),
        )
        .service(web::resource("/staff/needs/{id}").route(web::get().to(need_detail)))
        .service(web::resource("/staff/needs/{id}/matches").route(web::get().to(need_matches)))
        .service(web::resource("/staff/needs/{id}/{action}").route(web::post().to(move_need)))
        .service(
            web::resource("/staff/problems")
                .route(web::post().to(record_problem))
                .route(web::get().to(list_problems)),
        )
        .service(web::resource("/staff/problems/{id}").route(web::get().to(problem_detail)))
        .service(
            web::resource("/staff/problems/{id}/resolve").route(web::post().to(resolve_problem)),
        );
}

fn parse_word<T>(
    field: &str,
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    choices: fn() -> String,
) -> Result<Option<T>, ApiError> {
    match value {
        None => Ok(None),
        Some(text) => parse(text)
            .map(Some)
            .ok_or_else(|| ValidationErrors::single(field, choices()).into()),
    }
}

// ---------------------------------------------------------------------------------------
// The directory

#[derive(Deserialize, IntoParams)]
pub struct DirectoryQuery {
    /// `enterprise`, `social_org`, `capable_resident`, `public_unit`, `charity_team` or
    /// `volunteer_team`.
    pub kind: Option<String>,
    pub community_id: Option<String>,
    /// Part of the partner's name.
    pub q: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// What anyone may see of a partner: no licence number, no contact phone, no applicant.
#[derive(Serialize, ToSchema)]
pub struct PartnerCard {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// `group` (团体型) or `independent` (独立型).
    pub form: String,
    pub category: String,
    pub community_id: String,
    /// The cooperation mechanisms of its projects (empty until it runs one).
    pub mechanisms: Vec<String>,
    /// Residents' mean rating of its projects (null until rated).
    pub rating: Option<f64>,
}

impl PartnerCard {
    fn new(p: partner_row::Model, standing: Option<&Standing>) -> Self {
        Self {
            id: p.id,
            name: p.name,
            kind: p.kind,
            form: p.partner_type,
            category: p.category,
            community_id: p.community_id,
            mechanisms: standing.map(|s| s.mechanisms.clone()).unwrap_or_default(),
            rating: standing.and_then(|s| s.rating),
        }
    }
}

/// Cards for a page of partners, with their projects' standing.
async fn cards(
    state: &AppState,
    rows: Vec<partner_row::Model>,
) -> Result<Vec<PartnerCard>, ApiError> {
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let standings = projects::standings(&state.reads, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let standing = standings.get(&p.id);
            PartnerCard::new(p, standing)
        })
        .collect())
}

#[derive(Serialize, ToSchema)]
pub struct PartnerPage {
    pub items: Vec<PartnerCard>,
    pub next_cursor: Option<String>,
}

/// The public directory of active partners of every kind.
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners", params(DirectoryQuery),
    responses((status = 200, body = PartnerPage),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn directory_list(
    state: web::Data<AppState>,
    query: web::Query<DirectoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = directory::DirectoryFilter {
        kind: parse_word(
            "kind",
            q.kind.as_deref(),
            PartnerKind::parse,
            PartnerKind::choices,
        )?,
        community_id: q.community_id,
        q: q.q,
    };
    let before = cursor_position(q.cursor.as_deref())?;
    let (rows, next) = directory::list(
        &state.reads,
        &filter,
        page_limit(q.limit),
        before.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(PartnerPage {
        items: cards(&state, rows).await?,
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PartnerProfile {
    #[serde(flatten)]
    pub card: PartnerCard,
    pub description: String,
    pub address: String,
    /// Its available resources (资源清单).
    pub resources: Vec<ResourceResponse>,
    /// Its running projects.
    pub projects: Vec<crate::routes::projects::ProjectResponse>,
    /// The latest evaluation of any of its projects (null before the first).
    pub latest_evaluation: Option<crate::routes::projects::EvaluationResponse>,
}

/// An active partner's public profile.
#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners", params(("id" = String, Path)),
    responses((status = 200, body = PartnerProfile),
        (status = 404, description = "`not_found`: no such active partner", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn profile(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let partner = directory::profile(&state.reads, &path).await?;
    let resources = resources::of_partner(&state.reads, &partner.id).await?;
    let running = projects::running_of_partner(&state.reads, &partner.id).await?;
    let latest = projects::latest_evaluation_of_partner(&state.reads, &partner.id).await?;
    let (description, address) = (partner.description.clone(), partner.address.clone());
    Ok(HttpResponse::Ok().json(PartnerProfile {
        description,
        address,
        card: cards(&state, vec![partner]).await?.remove(0),
        resources: resources.into_iter().map(Into::into).collect(),
        projects: running.into_iter().map(Into::into).collect(),
        latest_evaluation: latest.map(Into::into),
    }))
}

// ---------------------------------------------------------------------------------------
// Resources (资源清单)

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    /// `venue`, `service`, `skill`, `goods`, `funding` or `volunteer_time`.
    #[serde(rename = "type")]
    pub resource_type: String,
    #[schema(example = "助老上门理发", min_length = 1, max_length = 100)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// The need categories it serves (`elderly_care`, `childcare`, ...); matching ranks a
    /// named category above a resource type that usually serves it.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Households (or people) it can serve at once, 1–100000.
    pub capacity: i64,
    #[serde(default)]
    #[schema(example = "每周二、周四上午", max_length = 200)]
    pub availability: String,
}

#[derive(Serialize, ToSchema)]
pub struct ResourceResponse {
    pub id: String,
    pub partner_id: String,
    pub community_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub title: String,
    pub description: String,
    pub categories: Vec<String>,
    pub capacity: i64,
    pub capacity_used: i64,
    pub availability: String,
    /// `available` or `withdrawn`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl From<resource::Model> for ResourceResponse {
    fn from(r: resource::Model) -> Self {
        Self {
            categories: categories_of(&r)
                .into_iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
            id: r.id,
            partner_id: r.partner_id,
            community_id: r.community_id,
            resource_type: r.resource_type,
            title: r.title,
            description: r.description,
            capacity: r.capacity,
            capacity_used: r.capacity_used,
            availability: r.availability,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

/// A partner's staff adds a resource to the community's 资源清单.
#[utoipa::path(post, path = "/api/v1/partners/{id}/resources", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ResourceRequest,
    responses((status = 201, body = ResourceResponse),
        (status = 403, description = "`forbidden`: not this partner's staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the partner is not active", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn offer_resource(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<ResourceRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, partner_id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    let input = NewResource {
        resource_type: b.resource_type,
        title: b.title,
        description: b.description,
        categories: b.categories,
        capacity: b.capacity,
        availability: b.availability,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                resources::offer(conn, &actor, &partner_id, input, now)
                    .await
                    .map(ResourceResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct ResourceQuery {
    /// An org in your scope (default: all of it).
    pub org_id: Option<String>,
    /// `venue`, `service`, `skill`, `goods`, `funding` or `volunteer_time`.
    #[serde(rename = "type")]
    pub resource_type: Option<String>,
    /// Part of the title.
    pub q: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ResourcePage {
    pub items: Vec<ResourceResponse>,
    pub next_cursor: Option<String>,
}

/// Partners' resources under your org (staff).
#[utoipa::path(get, path = "/api/v1/staff/resources", tag = "partners", security(("bearer" = [])),
    params(ResourceQuery),
    responses((status = 200, body = ResourcePage),
        (status = 403, description = "`forbidden`: not staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_resources(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ResourceQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = ResourceFilter {
        org_id: q.org_id,
        resource_type: parse_word(
            "type",
            q.resource_type.as_deref(),
            ResourceType::parse,
            ResourceType::choices,
        )?,
        q: q.q,
    };
    let before = cursor_position(q.cursor.as_deref())?;
    let limit = page_limit(q.limit);
    let (rows, next) =
        resources::list(&state.reads, &user.0, &filter, limit, before.as_deref()).await?;
    Ok(HttpResponse::Ok().json(ResourcePage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

// ---------------------------------------------------------------------------------------
// Needs (需求清单)

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedRequest {
    pub community_id: String,
    /// `elderly_care`, `childcare`, `convenience`, `public_space`, `mediation`,
    /// `employment`, `health`, `culture` or `other`.
    pub category: String,
    #[schema(example = "独居老人助餐", min_length = 1, max_length = 100)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// Households in need, when known.
    pub households: Option<i64>,
    /// `visit`, `demand` or `survey`.
    pub source: String,
    /// The demands (诉求) of this community it was raised from; required when the source is
    /// `demand`.
    #[serde(default)]
    pub demand_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_id: String,
    pub note: String,
    pub at: DateTime<Utc>,
}

impl From<list_event::Model> for HistoryEntry {
    fn from(e: list_event::Model) -> Self {
        Self {
            action: e.action,
            from_status: e.from_status,
            to_status: e.to_status,
            actor_id: e.actor_id,
            note: e.note,
            at: e.at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NeedResponse {
    pub id: String,
    pub community_id: String,
    pub category: String,
    pub title: String,
    pub description: String,
    pub households: Option<i64>,
    pub source: String,
    /// `open`, `matched`, `met` or `dropped`.
    pub status: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The demands it was raised from (detail and creation answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demand_ids: Option<Vec<String>>,
    /// Every change, oldest first (detail answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
}

impl From<need_row::Model> for NeedResponse {
    fn from(n: need_row::Model) -> Self {
        Self {
            id: n.id,
            community_id: n.community_id,
            category: n.category,
            title: n.title,
            description: n.description,
            households: n.households,
            source: n.source,
            status: n.status,
            created_by: n.created_by,
            created_at: n.created_at,
            updated_at: n.updated_at,
            demand_ids: None,
            history: None,
        }
    }
}

/// Raise a need of a community in your scope (staff).
#[utoipa::path(post, path = "/api/v1/staff/needs", tag = "partners", security(("bearer" = [])),
    request_body = NeedRequest,
    responses((status = 201, body = NeedResponse),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the community is outside your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn raise_need(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<NeedRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let input = NewNeed {
        community_id: b.community_id,
        category: b.category,
        title: b.title,
        description: b.description,
        households: b.households,
        source: b.source,
        demand_ids: b.demand_ids,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                let (row, demand_ids) = needs::raise(conn, &actor, input, now).await?;
                let mut answer = NeedResponse::from(row);
                answer.demand_ids = Some(demand_ids);
                Ok::<_, partners::PartnerError>(answer)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct NeedQuery {
    pub org_id: Option<String>,
    pub category: Option<String>,
    /// `open`, `matched`, `met` or `dropped`.
    pub status: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NeedPage {
    pub items: Vec<NeedResponse>,
    pub next_cursor: Option<String>,
}

/// Needs under your org (staff), newest first.
#[utoipa::path(get, path = "/api/v1/staff/needs", tag = "partners", security(("bearer" = [])),
    params(NeedQuery),
    responses((status = 200, body = NeedPage),
        (status = 403, description = "`forbidden`: not staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_needs(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<NeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = NeedFilter {
        org_id: q.org_id,
        category: parse_word(
            "category",
            q.category.as_deref(),
            NeedCategory::parse,
            NeedCategory::choices,
        )?,
        status: parse_word(
            "status",
            q.status.as_deref(),
            NeedStatus::parse,
            NeedStatus::choices,
        )?,
    };
    let before = cursor_position(q.cursor.as_deref())?;
    let limit = page_limit(q.limit);
    let (rows, next) =
        needs::list(&state.reads, &user.0, &filter, limit, before.as_deref()).await?;
    Ok(HttpResponse::Ok().json(NeedPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

/// One need with the demands it came from and its history.
#[utoipa::path(get, path = "/api/v1/staff/needs/{id}", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = NeedResponse),
        (status = 404, description = "`not_found`: no such need in your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn need_detail(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (row, demand_ids) = needs::find(&state.reads, &user.0, &path).await?;
    let events = history::of(&state.reads, &row.id).await?;
    let mut answer = NeedResponse::from(row);
    answer.demand_ids = Some(demand_ids);
    answer.history = Some(events.into_iter().map(Into::into).collect());
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// Why (kept in the history).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// Drop a need that is no longer wanted, or reopen a dropped one (staff).
#[utoipa::path(post, path = "/api/v1/staff/needs/{id}/{action}", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "drop | reopen")),
    request_body = NoteRequest,
    responses((status = 200, body = NeedResponse),
        (status = 404, description = "`not_found`: no such need in your scope, or no such action", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn move_need(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: Option<JsonBody<NoteRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (need_id, action) = path.into_inner();
    let action = match action.as_str() {
        "drop" => NeedAction::Drop,
        "reopen" => NeedAction::Reopen,
        _ => return Err(platform::Problem::not_found("action").into()),
    };
    let note = body.map(|b| b.0.note).unwrap_or_default();
    let (actor, now) = (user.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                needs::change_status(conn, &actor, &need_id, action, &note, now)
                    .await
                    .map(NeedResponse::from)
            })
        })
        .await
}

#[derive(Serialize, ToSchema)]
pub struct MatchReason {
    /// `category`, `distance`, `capacity`, `rating` or `evaluation`.
    pub factor: String,
    pub points: u32,
    pub detail: String,
}

#[derive(Serialize, ToSchema)]
pub struct MatchResponse {
    pub resource: ResourceResponse,
    pub partner: PartnerCard,
    /// Out of 100.
    pub score: u32,
    pub reasons: Vec<MatchReason>,
}

/// The resources that could serve a need, best first, with the reasons for each score.
#[utoipa::path(get, path = "/api/v1/staff/needs/{id}/matches", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = [MatchResponse]),
        (status = 404, description = "`not_found`: no such need in your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn need_matches(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let found = matches::for_need(&state.reads, &user.0, &path).await?;
    let answer: Vec<MatchResponse> = found
        .into_iter()
        .map(|m| MatchResponse {
            resource: m.resource.into(),
            partner: PartnerCard::new(m.partner, None),
            score: m.score.total,
            reasons: m
                .score
                .reasons
                .into_iter()
                .map(|r| MatchReason {
                    factor: r.factor.to_owned(),
                    points: r.points,
                    detail: r.detail,
                })
                .collect(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(answer))
}

// ---------------------------------------------------------------------------------------
// Problems (问题清单)

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProblemRequest {
    pub community_id: String,
    #[schema(example = "楼道堆物", min_length = 1, max_length = 100)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProblemResponse {
    pub id: String,
    pub community_id: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    /// `open` or `resolved`.
    pub status: String,
    pub resolution: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Every change, oldest first (detail answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
}

impl From<problem_row::Model> for ProblemResponse {
    fn from(p: problem_row::Model) -> Self {
        Self {
            id: p.id,
            community_id: p.community_id,
            title: p.title,
            description: p.description,
            severity: p.severity,
            status: p.status,
            resolution: p.resolution,
            created_by: p.created_by,
            created_at: p.created_at,
            resolved_at: p.resolved_at,
            history: None,
        }
    }
}

/// Record a problem of a community in your scope (staff).
#[utoipa::path(post, path = "/api/v1/staff/problems", tag = "partners", security(("bearer" = [])),
    request_body = ProblemRequest,
    responses((status = 201, body = ProblemResponse),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the community is outside your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn record_problem(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<ProblemRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let input = NewProblem {
        community_id: b.community_id,
        title: b.title,
        description: b.description,
        severity: b.severity,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                problems::record(conn, &actor, input, now)
                    .await
                    .map(ProblemResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct ProblemQuery {
    pub org_id: Option<String>,
    /// `open` or `resolved`.
    pub status: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProblemPage {
    pub items: Vec<ProblemResponse>,
    pub next_cursor: Option<String>,
}

/// Problems under your org (staff), newest first.
#[utoipa::path(get, path = "/api/v1/staff/problems", tag = "partners", security(("bearer" = [])),
    params(ProblemQuery),
    responses((status = 200, body = ProblemPage),
        (status = 403, description = "`forbidden`: not staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_problems(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ProblemQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let before = cursor_position(q.cursor.as_deref())?;
    let (rows, next) = problems::list(
        &state.reads,
        &user.0,
        q.org_id.as_deref(),
        q.status.as_deref(),
        page_limit(q.limit),
        before.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(ProblemPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    }))
}

/// One problem with its history (staff in scope).
#[utoipa::path(get, path = "/api/v1/staff/problems/{id}", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = ProblemResponse),
        (status = 404, description = "`not_found`: no such problem in your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn problem_detail(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = problems::find(&state.reads, &user.0, &path).await?;
    let events = history::of(&state.reads, &row.id).await?;
    let mut answer = ProblemResponse::from(row);
    answer.history = Some(events.into_iter().map(Into::into).collect());
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionRequest {
    #[schema(min_length = 1, max_length = 2000)]
    pub resolution: String,
}

/// Resolve an open problem, recording what was done (staff).
#[utoipa::path(post, path = "/api/v1/staff/problems/{id}/resolve", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ResolutionRequest,
    responses((status = 200, body = ProblemResponse),
        (status = 404, description = "`not_found`: no such problem in your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: already resolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn resolve_problem(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<ResolutionRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, resolution, now) = (
        user.0,
        path.into_inner(),
        body.0.resolution,
        state.clock.now(),
    );
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                problems::resolve(conn, &actor, &id, &resolution, now)
                    .await
                    .map(ProblemResponse::from)
            })
        })
        .await
}
