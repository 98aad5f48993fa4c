//! Care for special groups (五色图): recipients, visits, the care map, the resident's own
//! record and consent, and the access log. Every answer masks phone and ID numbers.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::routes::dashboard::ColourCount;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use care::entity::{access, visit};
use care::service::recipients::{self, NewRecipient, RecipientFilter, Shown};
use care::service::{access as care_access, map, visits, workers};
use care::words::Colour;
use chrono::{DateTime, Utc};
use identity::service::orgs;
use platform::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/staff/care-recipients")
            .route(web::post().to(register))
            .route(web::get().to(list)),
    )
    .service(web::resource("/staff/care-recipients/{id}").route(web::get().to(read)))
    .service(web::resource("/staff/care-recipients/{id}/visits").route(web::post().to(visit)))
    .service(web::resource("/staff/care-map").route(web::get().to(care_map)))
    .service(web::resource("/me/care-record").route(web::get().to(mine)))
    .service(web::resource("/me/care-record/withdraw").route(web::post().to(withdraw)))
    .service(web::resource("/admin/care-audit").route(web::get().to(audit)))
    .service(
        web::resource("/partners/{id}/workers")
            .route(web::post().to(register_worker))
            .route(web::get().to(workers_of)),
    )
    .service(web::resource("/staff/workers/{id}/verify").route(web::post().to(verify_worker)));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CareRecipientRequest {
    /// The resident's account, when they have one (they then see their own record).
    pub user_id: Option<String>,
    #[schema(example = "张秀英", min_length = 1, max_length = 50)]
    pub name: String,
    /// Mainland mobile; stored encrypted, shown masked.
    pub phone: Option<String>,
    /// Resident ID number (18 characters); stored encrypted, shown masked.
    pub id_number: Option<String>,
    pub compound_id: String,
    /// `living_alone_elderly`, `disabled`, `disabled_elderly`, `hardship`,
    /// `left_behind_child`, `other`.
    pub groups: Vec<String>,
    /// `red` (most urgent), `orange`, `yellow`, `blue` or `green`.
    pub colour: String,
    #[serde(default)]
    pub needs: Vec<String>,
    /// Default by colour: red 7, orange 14, yellow 30, blue 60, green 90.
    pub visit_every_days: Option<i64>,
    /// The resident's consent; required.
    pub consent: bool,
}

#[derive(Serialize, ToSchema)]
pub struct VisitResponse {
    pub id: String,
    pub at: DateTime<Utc>,
    pub note: String,
    pub outcome: String,
    pub staff_id: String,
}

impl From<visit::Model> for VisitResponse {
    fn from(v: visit::Model) -> Self {
        Self {
            id: v.id,
            at: v.at,
            note: v.note,
            outcome: v.outcome,
            staff_id: v.staff_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CareRecipientResponse {
    pub id: String,
    pub community_id: String,
    pub compound_id: String,
    pub user_id: Option<String>,
    pub name: String,
    /// e.g. `138****1111`.
    pub phone_masked: Option<String>,
    /// e.g. `140***********1234`.
    pub id_number_masked: Option<String>,
    pub groups: Vec<String>,
    pub colour: String,
    pub needs: Vec<String>,
    pub visit_every_days: i64,
    pub last_visit_at: Option<DateTime<Utc>>,
    pub visit_due_at: DateTime<Utc>,
    pub consent_at: DateTime<Utc>,
    /// Latest first (the detail answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visits: Option<Vec<VisitResponse>>,
}

impl From<Shown> for CareRecipientResponse {
    fn from(s: Shown) -> Self {
        let r = s.record;
        Self {
            id: r.id,
            community_id: r.community_id,
            compound_id: r.compound_id,
            user_id: r.user_id,
            name: r.name,
            phone_masked: s.phone_masked,
            id_number_masked: s.id_number_masked,
            groups: s.groups,
            colour: r.colour,
            needs: s.needs,
            visit_every_days: r.visit_every_days,
            last_visit_at: r.last_visit_at,
            visit_due_at: s.visit_due_at,
            consent_at: r.consent_at,
            visits: None,
        }
    }
}

/// Register a resident for care, with their consent (staff of their community).
#[utoipa::path(post, path = "/api/v1/staff/care-recipients", tag = "care", security(("bearer" = [])),
    request_body = CareRecipientRequest,
    responses((status = 201, body = CareRecipientResponse),
        (status = 403, description = "`forbidden`: street staff read care records but do not keep them", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the compound is outside your community", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: consent missing, a bad phone or ID number, ...", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn register(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<CareRecipientRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now, sealer) = (user.0, body.0, state.clock.now(), state.care_sealer.clone());
    let input = NewRecipient {
        user_id: b.user_id,
        name: b.name,
        phone: b.phone,
        id_number: b.id_number,
        compound_id: b.compound_id,
        groups: b.groups,
        colour: b.colour,
        needs: b.needs,
        visit_every_days: b.visit_every_days,
        consent: b.consent,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                recipients::register(conn, &sealer, &actor, input, now)
                    .await
                    .map(CareRecipientResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct CareListQuery {
    pub org_id: Option<String>,
    pub colour: Option<String>,
    pub group: Option<String>,
    /// Only those whose visit is due.
    #[serde(default)]
    pub visit_overdue: bool,
}

/// Care recipients under your community or street, most urgent first, masked. Each record
/// listed is logged.
#[utoipa::path(get, path = "/api/v1/staff/care-recipients", tag = "care", security(("bearer" = [])),
    params(CareListQuery),
    responses((status = 200, body = [CareRecipientResponse]),
        (status = 403, description = "`forbidden`: not community or street staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<CareListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let colour = match q.colour.as_deref() {
        None => None,
        Some(c) => Some(Colour::parse(c).ok_or_else(|| {
            ValidationErrors::single("colour", "must be red, orange, yellow, blue or green")
        })?),
    };
    let filter = RecipientFilter {
        org_id: q.org_id,
        colour,
        group: q.group,
        visit_overdue: q.visit_overdue,
    };
    let (actor, now, sealer) = (user.0, state.clock.now(), state.care_sealer.clone());
    // Reading is logged: it runs as a unit of work like a write.
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                let shown = recipients::list(conn, &sealer, &actor, &filter, now).await?;
                Ok::<_, care::CareError>(
                    shown
                        .into_iter()
                        .map(CareRecipientResponse::from)
                        .collect::<Vec<_>>(),
                )
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct PurposeQuery {
    /// Why you read this record (kept in the access log); required.
    pub purpose: Option<String>,
}

/// One care record with its visits, read for a stated purpose (logged).
#[utoipa::path(get, path = "/api/v1/staff/care-recipients/{id}", tag = "care", security(("bearer" = [])),
    params(("id" = String, Path), PurposeQuery),
    responses((status = 200, body = CareRecipientResponse),
        (status = 404, description = "`not_found`: no such record in your community or street", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: no purpose", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn read(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now, sealer) = (
        user.0,
        path.into_inner(),
        state.clock.now(),
        state.care_sealer.clone(),
    );
    let why = query.into_inner().purpose.unwrap_or_default();
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                let (shown, visits) =
                    recipients::read(conn, &sealer, &actor, &id, &why, now).await?;
                let mut answer = CareRecipientResponse::from(shown);
                answer.visits = Some(visits.into_iter().map(Into::into).collect());
                Ok::<_, care::CareError>(answer)
            })
        })
        .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitRequest {
    pub at: DateTime<Utc>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
    /// `well`, `needs_help`, `referred` or `not_home`.
    pub outcome: String,
}

/// Log a visit (staff of the recipient's community).
#[utoipa::path(post, path = "/api/v1/staff/care-recipients/{id}/visits", tag = "care", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = VisitRequest,
    responses((status = 201, body = VisitResponse),
        (status = 403, description = "`forbidden`: street staff do not log visits", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn visit(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<VisitRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                visits::log_visit(conn, &actor, &id, b.at, &b.note, &b.outcome, now)
                    .await
                    .map(VisitResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct CareMapQuery {
    pub org_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CompoundCare {
    pub compound_id: String,
    pub compound_name: String,
    pub total: i64,
    pub by_colour: Vec<ColourCount>,
    pub by_group: std::collections::BTreeMap<String, i64>,
    pub visits_overdue: i64,
}

/// Counts by colour and group per compound (no personal data), for staff in scope.
#[utoipa::path(get, path = "/api/v1/staff/care-map", tag = "care", security(("bearer" = [])),
    params(CareMapQuery),
    responses((status = 200, body = [CompoundCare]),
        (status = 403, description = "`forbidden`: not staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn care_map(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<CareMapQuery>,
) -> Result<HttpResponse, ApiError> {
    let org = demands::service::metrics::scope_org(&state.reads, &user.0, query.org_id.as_deref())
        .await?;
    let counts = map::counts_under(&state.reads, &org.path, state.clock.now()).await?;
    let mut answer = Vec::with_capacity(counts.len());
    for c in counts {
        let name = orgs::find(&state.reads, &c.compound_id)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        answer.push(CompoundCare {
            by_colour: Colour::ALL
                .iter()
                .zip(c.by_colour)
                .map(|(colour, count)| ColourCount {
                    colour: colour.as_str().to_owned(),
                    count,
                })
                .collect(),
            compound_id: c.compound_id,
            compound_name: name,
            total: c.total,
            by_group: c.by_group,
            visits_overdue: c.visits_overdue,
        });
    }
    Ok(HttpResponse::Ok().json(answer))
}

/// Your own care record, when your community keeps one.
#[utoipa::path(get, path = "/api/v1/me/care-record", tag = "care", security(("bearer" = [])),
    responses((status = 200, body = CareRecipientResponse),
        (status = 404, description = "`not_found`: no record of you", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn mine(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let (actor, now, sealer) = (user.0, state.clock.now(), state.care_sealer.clone());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                recipients::mine(conn, &sealer, &actor, now)
                    .await
                    .map(CareRecipientResponse::from)
            })
        })
        .await
}

#[derive(Serialize, ToSchema)]
pub struct WithdrawnResponse {
    pub recipient_id: String,
    pub erased: bool,
}

/// Withdraw your consent: your care record and its visits are erased (the access log,
/// which holds no personal data, stays).
#[utoipa::path(post, path = "/api/v1/me/care-record/withdraw", tag = "care", security(("bearer" = [])),
    responses((status = 200, body = WithdrawnResponse),
        (status = 404, description = "`not_found`: no record of you", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let (actor, now) = (user.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                let recipient_id = recipients::withdraw(conn, &actor, now).await?;
                Ok::<_, care::CareError>(WithdrawnResponse {
                    recipient_id,
                    erased: true,
                })
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    pub recipient_id: Option<String>,
    /// At most 1000 (default 100).
    pub limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct CareAccessEntry {
    pub recipient_id: String,
    pub actor_id: String,
    /// `register`, `list`, `read`, `visit` or `withdraw`.
    pub action: String,
    pub purpose: String,
    pub at: DateTime<Utc>,
}

impl From<access::Model> for CareAccessEntry {
    fn from(a: access::Model) -> Self {
        Self {
            recipient_id: a.recipient_id,
            actor_id: a.actor_id,
            action: a.action,
            purpose: a.purpose,
            at: a.at,
        }
    }
}

/// The care access log, newest first (district admin).
#[utoipa::path(get, path = "/api/v1/admin/care-audit", tag = "care", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = [CareAccessEntry]),
        (status = 403, description = "`forbidden`: not the district admin", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn audit(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let rows =
        care_access::audit(&state.reads, &user.0, query.recipient_id.as_deref(), limit).await?;
    let answer: Vec<CareAccessEntry> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerRequest {
    #[schema(example = "李阿姨", min_length = 1, max_length = 50)]
    pub name: String,
    /// Mainland mobile; stored encrypted, shown masked.
    pub phone: String,
    #[schema(example = "家政服务员三级", min_length = 1, max_length = 40)]
    pub certificate_no: String,
    #[serde(default)]
    pub skills: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkerResponse {
    pub id: String,
    pub partner_id: String,
    pub name: String,
    pub phone_masked: String,
    pub certificate_no: String,
    pub skills: Vec<String>,
    /// Null until community staff verify the worker; only verified workers are dispatched.
    pub verified_at: Option<DateTime<Utc>>,
}

impl From<workers::ShownWorker> for WorkerResponse {
    fn from(s: workers::ShownWorker) -> Self {
        Self {
            id: s.worker.id,
            partner_id: s.worker.partner_id,
            name: s.worker.name,
            phone_masked: s.phone_masked,
            certificate_no: s.worker.certificate_no,
            skills: s.skills,
            verified_at: s.worker.verified_at,
        }
    }
}

/// A home-service partner's staff register a worker (unverified until community staff check).
#[utoipa::path(post, path = "/api/v1/partners/{id}/workers", tag = "care", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = WorkerRequest,
    responses((status = 201, body = WorkerResponse),
        (status = 403, description = "`forbidden`: not this active partner's staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn register_worker(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<WorkerRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now, sealer) = (
        user.0,
        path.into_inner(),
        body.0,
        state.clock.now(),
        state.care_sealer.clone(),
    );
    let input = workers::NewWorker {
        name: b.name,
        phone: b.phone,
        certificate_no: b.certificate_no,
        skills: b.skills,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                workers::register(conn, &sealer, &actor, &id, input, now)
                    .await
                    .map(WorkerResponse::from)
            })
        })
        .await
}

/// A partner's workers (its own staff).
#[utoipa::path(get, path = "/api/v1/partners/{id}/workers", tag = "care", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = [WorkerResponse]),
        (status = 403, description = "`forbidden`: not this active partner's staff", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn workers_of(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = workers::of_partner(&state.reads, &state.care_sealer, &user.0, &path).await?;
    let answer: Vec<WorkerResponse> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(answer))
}

/// Verify a worker of a partner in your community or street (平台派驻认证人员), once.
#[utoipa::path(post, path = "/api/v1/staff/workers/{id}/verify", tag = "care", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = WorkerResponse),
        (status = 404, description = "`not_found`: no such worker in your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: verified already", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn verify_worker(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now, sealer) = (
        user.0,
        path.into_inner(),
        state.clock.now(),
        state.care_sealer.clone(),
    );
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                workers::verify(conn, &sealer, &actor, &id, now)
                    .await
                    .map(WorkerResponse::from)
            })
        })
        .await
}
