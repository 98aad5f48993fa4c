//! Resident demands (诉求): filing, the staff workflow, ratings, categories and metrics.

use crate::error::ApiError;
use crate::extract::{cursor_position, AuthUser, JsonBody, OptionalJsonBody};
use crate::idempotency::IdempotencyKey;
use crate::metrics::business::Closure;
use crate::public_reads::{self, Family};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use demands::entity::{category, demand, demand_event};
use demands::rules::Location;
use demands::service::actions::{self, Command};
use demands::service::categories::{self, CategoryPatch};
use demands::service::demands::{self as filing, is_overdue, photos_of, StaffFilter, SubmitInput};
use demands::service::metrics;
use demands::{ActorKind, DemandState};
use platform::paging::{encode_cursor, page_limit};
use platform::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/demand-categories").route(web::get().to(list_categories)))
        .service(web::resource("/admin/demand-categories").route(web::post().to(create_category)))
        .service(
            web::resource("/admin/demand-categories/{id}").route(web::patch().to(update_category)),
        )
        .service(web::resource("/demands").route(web::post().to(submit)))
        .service(web::resource("/me/demands").route(web::get().to(mine)))
        .service(web::resource("/demands/{id}").route(web::get().to(detail)))
        .service(web::resource("/demands/{id}/comment").route(web::post().to(resident_comment)))
        .service(web::resource("/demands/{id}/rate").route(web::post().to(rate)))
        .service(web::resource("/demands/{id}/reopen").route(web::post().to(reopen)))
        .service(web::resource("/demands/{id}/withdraw").route(web::post().to(withdraw)))
        .service(web::resource("/staff/demands").route(web::get().to(list_for_staff)))
        .service(web::resource("/staff/demands/{id}/accept").route(web::post().to(accept)))
        .service(web::resource("/staff/demands/{id}/assign").route(web::post().to(assign)))
        .service(web::resource("/staff/demands/{id}/start").route(web::post().to(start)))
        .service(web::resource("/staff/demands/{id}/transfer").route(web::post().to(transfer)))
        .service(web::resource("/staff/demands/{id}/resolve").route(web::post().to(resolve)))
        .service(web::resource("/staff/demands/{id}/reject").route(web::post().to(reject)))
        .service(web::resource("/staff/demands/{id}/comment").route(web::post().to(staff_comment)))
        .service(web::resource("/staff/metrics/demands").route(web::get().to(demand_metrics)));
}

// ---------------------------------------------------------------------------------------
// Categories

#[derive(Serialize, ToSchema)]
pub struct CategoryResponse {
    pub id: String,
    #[schema(example = "环境卫生")]
    pub name: String,
    /// Hours from submission to resolution before a demand is overdue.
    pub sla_hours: i32,
    pub active: bool,
}

impl From<category::Model> for CategoryResponse {
    fn from(c: category::Model) -> Self {
        Self {
            id: c.id,
            name: c.name,
            sla_hours: c.sla_hours,
            active: c.active,
        }
    }
}

/// Active demand categories with their SLA hours (public).
#[utoipa::path(get, path = "/api/v1/demand-categories", tag = "demands",
    responses((status = 304, description = "Not Modified: the `If-None-Match` ETag is current"), (status = 200, body = Vec<CategoryResponse>)))]
pub async fn list_categories(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    public_reads::answer(&state, &request, Family::Categories, async {
        let rows = categories::list(&state.reads, false).await?;
        Ok(rows
            .into_iter()
            .map(CategoryResponse::from)
            .collect::<Vec<_>>())
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    #[schema(example = "噪音扰民", min_length = 1, max_length = 30)]
    pub name: String,
    /// 1 to 720.
    #[schema(example = 24, minimum = 1, maximum = 720)]
    pub sla_hours: i64,
}

/// Add a demand category (district admin).
#[utoipa::path(post, path = "/api/v1/admin/demand-categories", tag = "demands", security(("bearer" = [])),
    request_body = CategoryRequest,
    responses((status = 201, body = CategoryResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`category_exists`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create_category(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<CategoryRequest>,
) -> Result<HttpResponse, ApiError> {
    let created = categories::create(
        &state.db,
        Some(&user.0),
        &body.0.name,
        body.0.sla_hours,
        state.clock.now(),
    )
    .await?;
    public_reads::forget(&state, Family::Categories).await;
    Ok(HttpResponse::Created().json(CategoryResponse::from(created)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatchRequest {
    pub name: Option<String>,
    /// Applies to demands filed from now on.
    pub sla_hours: Option<i64>,
    /// Inactive categories take no new demands.
    pub active: Option<bool>,
}

/// Edit a demand category (district admin).
#[utoipa::path(patch, path = "/api/v1/admin/demand-categories/{id}", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CategoryPatchRequest,
    responses((status = 200, body = CategoryResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`category_exists`: another category has that name", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn update_category(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<CategoryPatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let updated = categories::update(
        &state.db,
        &user.0,
        &path,
        CategoryPatch {
            name: b.name,
            sla_hours: b.sla_hours,
            active: b.active,
        },
        state.clock.now(),
    )
    .await?;
    public_reads::forget(&state, Family::Categories).await;
    Ok(HttpResponse::Ok().json(CategoryResponse::from(updated)))
}

// ---------------------------------------------------------------------------------------
// Demands

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct LocationBody {
    #[schema(example = 40.0768)]
    pub lat: f64,
    #[schema(example = 113.3001)]
    pub lng: f64,
    #[serde(default)]
    #[schema(example = "平城区新华街12号")]
    pub address: String,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    pub category_id: String,
    #[schema(example = "楼道灯坏了", min_length = 1, max_length = 100)]
    pub title: String,
    #[schema(
        example = "3号楼2单元楼道灯已坏一周，晚上老人上下楼不便。",
        min_length = 1,
        max_length = 2000
    )]
    pub description: String,
    pub community_id: String,
    #[serde(default)]
    pub location: Option<LocationBody>,
    /// https URLs of photos the mini-program uploaded (at most 9).
    #[serde(default)]
    #[schema(max_items = 9)]
    pub photos: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RatingResponse {
    pub satisfied: bool,
    pub score: i32,
    pub comment: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct DemandResponse {
    pub id: String,
    pub resident_id: String,
    pub category_id: String,
    pub title: String,
    pub description: String,
    /// The community the demand is in.
    pub community_id: String,
    /// The org handling it: the community, or the street after a transfer up.
    pub org_id: String,
    pub handler_id: Option<String>,
    /// `submitted`, `accepted`, `in_progress`, `resolved`, `closed`, `rejected`, `withdrawn`.
    pub status: String,
    pub location: Option<LocationBody>,
    pub photos: Vec<String>,
    pub resolution: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// `submitted_at + category.sla_hours`; a transfer does not move it.
    pub due_at: DateTime<Utc>,
    /// Open and past `due_at`.
    pub overdue: bool,
    /// Reported to the street's staff for being overdue.
    pub escalated: bool,
    pub accepted_at: Option<DateTime<Utc>>,
    pub first_resolved_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Submission to first resolution, in hours.
    pub handling_hours: Option<f64>,
    /// First resolved by `due_at`.
    pub resolved_on_time: Option<bool>,
    /// The latest rating.
    pub rating: Option<RatingResponse>,
    pub updated_at: DateTime<Utc>,
}

impl DemandResponse {
    fn new(d: demand::Model, now: DateTime<Utc>) -> Self {
        let overdue = is_overdue(&d, now);
        let location = match (d.location_lat, d.location_lng) {
            (Some(lat), Some(lng)) => Some(LocationBody {
                lat,
                lng,
                address: d.location_address.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        let rating = match (d.rating_satisfied, d.rating_score) {
            (Some(satisfied), Some(score)) => Some(RatingResponse {
                satisfied,
                score,
                comment: d.rating_comment.clone(),
                rated_at: d.rated_at,
            }),
            _ => None,
        };
        Self {
            photos: photos_of(&d.photos),
            handling_hours: d.handling_seconds.map(|s| s as f64 / 3600.0),
            escalated: d.escalated_at.is_some(),
            overdue,
            location,
            rating,
            id: d.id,
            resident_id: d.resident_id,
            category_id: d.category_id,
            title: d.title,
            description: d.description,
            community_id: d.community_id,
            org_id: d.org_id,
            handler_id: d.handler_id,
            status: d.status,
            resolution: d.resolution,
            submitted_at: d.submitted_at,
            due_at: d.due_at,
            accepted_at: d.accepted_at,
            first_resolved_at: d.first_resolved_at,
            resolved_at: d.resolved_at,
            closed_at: d.closed_at,
            resolved_on_time: d.resolved_on_time,
            updated_at: d.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventResponse {
    pub id: String,
    /// `submit`, `accept`, `assign`, `start`, `transfer`, `resolve`, `reject`, `comment`,
    /// `rate`, `reopen`, `withdraw`, `auto_close`, `escalate`.
    pub action: String,
    pub from: Option<String>,
    pub to: String,
    /// `null` for the system's own jobs.
    pub actor_id: Option<String>,
    pub note: String,
    pub photos: Vec<String>,
    /// Staff only; residents never see internal events.
    pub internal: bool,
    pub at: DateTime<Utc>,
}

impl From<demand_event::Model> for EventResponse {
    fn from(e: demand_event::Model) -> Self {
        Self {
            photos: photos_of(&e.photos),
            id: e.id,
            action: e.action,
            from: e.from_status,
            to: e.to_status,
            actor_id: e.actor_id,
            note: e.note,
            internal: e.internal,
            at: e.at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DemandDetail {
    #[serde(flatten)]
    pub demand: DemandResponse,
    /// Oldest first.
    pub events: Vec<EventResponse>,
}

#[derive(Serialize, ToSchema)]
pub struct DemandPage {
    pub items: Vec<DemandResponse>,
    pub next_cursor: Option<String>,
}

/// File a demand. `due_at` follows from the category's SLA. Accepts `Idempotency-Key`, so a
/// retried submission files one demand.
#[utoipa::path(post, path = "/api/v1/demands", tag = "demands", security(("bearer" = [])),
    request_body = SubmitRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = DemandResponse),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn submit(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<SubmitRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let unit = state.unit(&actor, key, &("demand", &b));
    let input = SubmitInput {
        category_id: b.category_id,
        title: b.title,
        description: b.description,
        community_id: b.community_id,
        location: b.location.map(|l| Location {
            lat: l.lat,
            lng: l.lng,
            address: l.address,
        }),
        photos: b.photos,
    };
    let submitted = unit
        .run(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                filing::submit(conn, &actor, input, now)
                    .await
                    .map(|created| DemandResponse::new(created, now))
            })
        })
        .await?;
    if submitted.value().is_some() {
        state.metrics.business.demand_submitted();
    }
    Ok(crate::unit_of_work::answer(submitted.answer()))
}

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// The caller's own demands, newest first.
#[utoipa::path(get, path = "/api/v1/me/demands", tag = "demands", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = DemandPage)))]
pub async fn mine(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let before = cursor_position(query.cursor.as_deref())?;
    let (rows, next) = filing::list_own(
        &state.reads,
        &user.0,
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    Ok(page(rows, next, state.clock.now()))
}

fn page(rows: Vec<demand::Model>, next: Option<String>, now: DateTime<Utc>) -> HttpResponse {
    HttpResponse::Ok().json(DemandPage {
        items: rows
            .into_iter()
            .map(|d| DemandResponse::new(d, now))
            .collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    })
}

/// One demand with its events: the resident who filed it sees the public events; staff in
/// scope also see internal ones. Anyone else gets 404.
#[utoipa::path(get, path = "/api/v1/demands/{id}", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DemandDetail),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn detail(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (demand, _view, events) = filing::find_for(&state.reads, &user.0, &path).await?;
    Ok(HttpResponse::Ok().json(DemandDetail {
        demand: DemandResponse::new(demand, state.clock.now()),
        events: events.into_iter().map(EventResponse::from).collect(),
    }))
}

/// Runs one action in a transaction and answers with the demand after it.
async fn run(
    state: &AppState,
    user: &AuthUser,
    kind: ActorKind,
    id: &str,
    command: Command,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now) = (user.0.clone(), id.to_owned(), state.clock.now());
    let closes = matches!(command, Command::Rate { .. });
    let acted = state
        .unkeyed_unit()
        .routed_by(&actor)
        .run(StatusCode::OK, move |conn| {
            Box::pin(async move {
                actions::act(conn, &actor, kind, &id, command, now)
                    .await
                    .map(|after| DemandResponse::new(after, now))
            })
        })
        .await?;
    if closes && acted.value().is_some() {
        (state.metrics.business).demands_closed(Closure::Rated, 1);
    }
    Ok(crate::unit_of_work::answer(acted.answer()))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// Staff of the owning org who will handle it (default: the caller).
    pub handler_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    pub handler_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Another community, or the street.
    pub org_id: String,
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    #[schema(example = "已更换楼道灯。")]
    pub resolution: String,
    #[serde(default)]
    pub photos: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    pub reason: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OptionalReasonRequest {
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCommentRequest {
    pub text: String,
    #[serde(default)]
    pub photos: Vec<String>,
    /// Staff-only note, hidden from the resident (default false: the resident sees it).
    #[serde(default)]
    pub internal: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    pub text: String,
    #[serde(default)]
    pub photos: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    pub satisfied: bool,
    /// 1 to 5.
    pub score: i64,
    pub comment: Option<String>,
}

/// Accept a submitted demand (staff of the owning org); the handler defaults to the caller.
#[utoipa::path(post, path = "/api/v1/staff/demands/{id}/accept", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body(content = Option<AcceptRequest>),
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn accept(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: OptionalJsonBody<AcceptRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = Command::Accept {
        handler_id: body.0.handler_id,
    };
    run(&state, &user, ActorKind::Staff, &path, command).await
}

/// Give an open demand to a handler (staff of the owning org).
#[utoipa::path(post, path = "/api/v1/staff/demands/{id}/assign", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = AssignRequest,
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn assign(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = Command::Assign {
        handler_id: body.0.handler_id,
    };
    run(&state, &user, ActorKind::Staff, &path, command).await
}

/// Start work on an accepted demand.
#[utoipa::path(post, path = "/api/v1/staff/demands/{id}/start", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn start(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    _body: OptionalJsonBody<OptionalReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    run(&state, &user, ActorKind::Staff, &path, Command::Start).await
}

/// Hand an open demand to another community of the street, or up to the street. It starts
/// again as `submitted` there; `due_at` stays.
#[utoipa::path(post, path = "/api/v1/staff/demands/{id}/transfer", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = TransferRequest,
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn transfer(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<TransferRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let command = Command::Transfer {
        org_id: b.org_id,
        reason: b.reason,
    };
    run(&state, &user, ActorKind::Staff, &path, command).await
}

/// Resolve an accepted or in-progress demand; the resident is asked to rate it.
#[utoipa::path(post, path = "/api/v1/staff/demands/{id}/resolve", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ResolveRequest,
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn resolve(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<ResolveRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let command = Command::Resolve {
        resolution: b.resolution,
        photos: b.photos,
    };
    run(&state, &user, ActorKind::Staff, &path, command).await
}

/// Reject a submitted or accepted demand as invalid, with a reason.
#[utoipa::path(post, path = "/api/v1/staff/demands/{id}/reject", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReasonRequest,
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn reject(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = Command::Reject {
        reason: body.0.reason,
    };
    run(&state, &user, ActorKind::Staff, &path, command).await
}

/// A staff comment; `internal: true` hides it from the resident.
#[utoipa::path(post, path = "/api/v1/staff/demands/{id}/comment", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = StaffCommentRequest,
    responses((status = 200, body = DemandResponse)))]
pub async fn staff_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<StaffCommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let command = Command::Comment {
        text: b.text,
        photos: b.photos,
        internal: b.internal,
    };
    run(&state, &user, ActorKind::Staff, &path, command).await
}

/// The resident's comment on their own demand.
#[utoipa::path(post, path = "/api/v1/demands/{id}/comment", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CommentRequest,
    responses((status = 200, body = DemandResponse)))]
pub async fn resident_comment(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<CommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let command = Command::Comment {
        text: b.text,
        photos: b.photos,
        internal: false,
    };
    run(&state, &user, ActorKind::Resident, &path, command).await
}

/// Rate a resolved demand (the resident who filed it) → `closed`.
#[utoipa::path(post, path = "/api/v1/demands/{id}/rate", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RateRequest,
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn rate(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<RateRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let command = Command::Rate {
        satisfied: b.satisfied,
        score: b.score,
        comment: b.comment,
    };
    run(&state, &user, ActorKind::Resident, &path, command).await
}

/// Reopen a resolved or closed demand within 7 days of its resolution → `in_progress`.
#[utoipa::path(post, path = "/api/v1/demands/{id}/reopen", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ReasonRequest,
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed` (also after the 7 days)", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn reopen(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = Command::Reopen {
        reason: body.0.reason,
    };
    run(&state, &user, ActorKind::Resident, &path, command).await
}

/// Withdraw an open demand (the resident who filed it); the reason may be left out.
#[utoipa::path(post, path = "/api/v1/demands/{id}/withdraw", tag = "demands", security(("bearer" = [])),
    params(("id" = String, Path)), request_body(content = Option<OptionalReasonRequest>),
    responses((status = 200, body = DemandResponse),
        (status = 409, description = "`invalid_transition`, `demand_changed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: OptionalJsonBody<OptionalReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let command = Command::Withdraw {
        reason: body.0.reason,
    };
    run(&state, &user, ActorKind::Resident, &path, command).await
}

#[derive(Deserialize, IntoParams)]
pub struct StaffDemandQuery {
    /// One status.
    pub status: Option<String>,
    /// `true`: open and past `due_at`; `false`: everything else.
    pub overdue: Option<bool>,
    /// `true`: reported to the street for being overdue.
    pub escalated: Option<bool>,
    pub category_id: Option<String>,
    /// An org in the caller's subtree (default: all of it).
    pub org_id: Option<String>,
    pub handler_id: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// Demands in the caller's orgs, newest first.
#[utoipa::path(get, path = "/api/v1/staff/demands", tag = "demands", security(("bearer" = [])), params(StaffDemandQuery),
    responses((status = 200, body = DemandPage),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_for_staff(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<StaffDemandQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(DemandState::parse(s).ok_or_else(|| {
            ApiError::validation(ValidationErrors::single(
                "status",
                "must be submitted, accepted, in_progress, resolved, closed, rejected or withdrawn",
            ))
        })?),
    };
    let before = cursor_position(q.cursor.as_deref())?;
    let now = state.clock.now();
    let filter = StaffFilter {
        status,
        overdue: q.overdue,
        escalated: q.escalated,
        category_id: q.category_id,
        org_id: q.org_id,
        handler_id: q.handler_id,
    };
    let (rows, next) = filing::list_for_staff(
        &state.reads,
        &user.0,
        filter,
        now,
        page_limit(q.limit),
        before.as_deref(),
    )
    .await?;
    Ok(page(rows, next, now))
}

#[derive(Deserialize, IntoParams)]
pub struct MetricsQuery {
    /// District, street or community in the caller's scope (default: the caller's org).
    pub org_id: Option<String>,
    /// Submitted at or after (default: 30 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// Submitted before (default: now).
    pub to: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct FiguresResponse {
    /// Demands submitted in the period, rejected and withdrawn ones left out.
    pub total: i64,
    pub closed: i64,
    /// `closed / total`; null without demands.
    pub closure_rate: Option<f64>,
    pub resolved: i64,
    pub resolved_on_time: i64,
    /// Resolved by `due_at` / resolved.
    pub on_time_rate: Option<f64>,
    /// Submission to first resolution, over resolved demands.
    pub avg_handling_hours: Option<f64>,
    pub median_handling_hours: Option<f64>,
    pub p90_handling_hours: Option<f64>,
    pub rated: i64,
    pub satisfied: i64,
    /// `satisfied / rated`, each demand with its latest rating.
    pub satisfaction_rate: Option<f64>,
    /// Open and past `due_at` now.
    pub overdue_open: i64,
}

impl From<metrics::Figures> for FiguresResponse {
    fn from(f: metrics::Figures) -> Self {
        Self {
            total: f.total,
            closed: f.closed,
            closure_rate: f.closure_rate,
            resolved: f.resolved,
            resolved_on_time: f.resolved_on_time,
            on_time_rate: f.on_time_rate,
            avg_handling_hours: f.avg_handling_hours,
            median_handling_hours: f.median_handling_hours,
            p90_handling_hours: f.p90_handling_hours,
            rated: f.rated,
            satisfied: f.satisfied,
            satisfaction_rate: f.satisfaction_rate,
            overdue_open: f.overdue_open,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct GroupFigures {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: FiguresResponse,
}

#[derive(Serialize, ToSchema)]
pub struct MetricsResponse {
    pub org_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(flatten)]
    pub figures: FiguresResponse,
    pub by_category: Vec<GroupFigures>,
    pub by_community: Vec<GroupFigures>,
    /// The share of resolved demands the median and p90 come from: 1 when they are exact
    /// (up to 50,000 resolved demands in the period), less when they are estimated from a
    /// fixed uniform sample of about 50,000 (a district over a year).
    pub percentile_sample_rate: f64,
}

impl From<metrics::DemandMetrics> for MetricsResponse {
    fn from(m: metrics::DemandMetrics) -> Self {
        let groups = |groups: Vec<metrics::Group>| {
            groups
                .into_iter()
                .map(|g| GroupFigures {
                    id: g.id,
                    name: g.name,
                    figures: g.figures.into(),
                })
                .collect()
        };
        Self {
            org_id: m.org_id,
            from: m.from,
            to: m.to,
            figures: m.figures.into(),
            by_category: groups(m.by_category),
            by_community: groups(m.by_community),
            percentile_sample_rate: m.percentile_sample_rate,
        }
    }
}

/// Closure, on-time, handling-hours and satisfaction figures over demands submitted in
/// `[from, to)` under an org, overall, by category and by community.
#[utoipa::path(get, path = "/api/v1/staff/metrics/demands", tag = "demands", security(("bearer" = [])), params(MetricsQuery),
    responses((status = 200, body = MetricsResponse),
        (status = 403, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn demand_metrics(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<MetricsQuery>,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let to = query.to.unwrap_or(now);
    let from = query.from.unwrap_or(to - Duration::days(30));
    let org = metrics::scope_org(&state.reads, &user.0, query.org_id.as_deref()).await?;
    let figures = metrics::compute(&state.reads, &org, from, to, now).await?;
    Ok(HttpResponse::Ok().json(MetricsResponse::from(figures)))
}
