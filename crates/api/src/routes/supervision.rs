//! Partner supervision: disclosures and the periods a street requires them for, the exit
//! path, and what the community grants partners back (双向赋能).

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use partners::entity::{disclosure, disclosure_requirement, empowerment};
use partners::service::disclosures::{self, Missing, NewDisclosure};
use partners::service::empowerment as grants;
use partners::service::exits::{self, Exited};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/partners/{id}/disclosures")
            .route(web::post().to(publish))
            .route(web::get().to(disclosures_of)),
    )
    .service(web::resource("/staff/disclosure-requirements").route(web::post().to(require)))
    .service(web::resource("/staff/disclosures/missing").route(web::get().to(missing)))
    .service(web::resource("/staff/partners/{id}/exit").route(web::post().to(exit)))
    .service(
        web::resource("/staff/partners/{id}/empowerment")
            .route(web::post().to(grant))
            .route(web::get().to(granted)),
    );
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRequest {
    /// `finance` or `major_matter`.
    pub kind: String,
    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`.
    #[schema(example = "2026-Q4")]
    pub period: String,
    #[schema(example = "2026年第四季度收支公开", min_length = 1, max_length = 100)]
    pub title: String,
    #[schema(min_length = 1, max_length = 10000)]
    pub body: String,
    pub amount_fen: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DisclosureResponse {
    pub id: String,
    pub partner_id: String,
    pub kind: String,
    pub period: String,
    pub title: String,
    pub body: String,
    pub amount_fen: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<disclosure::Model> for DisclosureResponse {
    fn from(d: disclosure::Model) -> Self {
        Self {
            id: d.id,
            partner_id: d.partner_id,
            kind: d.kind,
            period: d.period,
            title: d.title,
            body: d.body,
            amount_fen: d.amount_fen,
            created_at: d.created_at,
        }
    }
}

/// The partner's staff publish a disclosure (its finances or a major matter).
#[utoipa::path(post, path = "/api/v1/partners/{id}/disclosures", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = DisclosureRequest,
    responses((status = 201, body = DisclosureResponse),
        (status = 403, description = "`forbidden`: not this partner's staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: the partner is not active", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn publish(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<DisclosureRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, partner_id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    let input = NewDisclosure {
        kind: b.kind,
        period: b.period,
        title: b.title,
        body: b.body,
        amount_fen: b.amount_fen,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                disclosures::publish(conn, &actor, &partner_id, input, now)
                    .await
                    .map(DisclosureResponse::from)
            })
        })
        .await
}

/// An active partner's disclosures, newest first (public).
#[utoipa::path(get, path = "/api/v1/partners/{id}/disclosures", tag = "partners",
    params(("id" = String, Path)),
    responses((status = 200, body = [DisclosureResponse]),
        (status = 404, description = "`not_found`: no such active partner", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn disclosures_of(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = disclosures::of_partner(&state.reads, &path).await?;
    let answer: Vec<DisclosureResponse> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementRequest {
    /// A street (or the district) in your scope.
    pub org_id: String,
    /// `finance` or `major_matter`.
    pub kind: String,
    #[schema(example = "2026-Q4")]
    pub period: String,
}

#[derive(Serialize, ToSchema)]
pub struct RequirementResponse {
    pub id: String,
    pub org_id: String,
    pub kind: String,
    pub period: String,
    pub created_at: DateTime<Utc>,
}

impl From<disclosure_requirement::Model> for RequirementResponse {
    fn from(r: disclosure_requirement::Model) -> Self {
        Self {
            id: r.id,
            org_id: r.org_id,
            kind: r.kind,
            period: r.period,
            created_at: r.created_at,
        }
    }
}

/// Require every active partner under a street (or the district) to disclose `kind` for
/// `period`; requiring it again answers the same requirement.
#[utoipa::path(post, path = "/api/v1/staff/disclosure-requirements", tag = "partners", security(("bearer" = [])),
    request_body = RequirementRequest,
    responses((status = 200, body = RequirementResponse),
        (status = 403, description = "`forbidden`: not staff of that street or the district", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn require(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<RequirementRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                disclosures::require(conn, &actor, &b.org_id, &b.kind, &b.period, now)
                    .await
                    .map(RequirementResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct MissingQuery {
    pub org_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MissingDisclosure {
    pub partner_id: String,
    pub partner_name: String,
    pub community_id: String,
    pub kind: String,
    pub period: String,
}

impl From<Missing> for MissingDisclosure {
    fn from(m: Missing) -> Self {
        Self {
            partner_id: m.partner_id,
            partner_name: m.partner_name,
            community_id: m.community_id,
            kind: m.kind,
            period: m.period,
        }
    }
}

/// Required disclosures that active partners under your org have not made (staff).
#[utoipa::path(get, path = "/api/v1/staff/disclosures/missing", tag = "partners", security(("bearer" = [])),
    params(MissingQuery),
    responses((status = 200, body = [MissingDisclosure]),
        (status = 403, description = "`forbidden`: not staff, or the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn missing(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<MissingQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = disclosures::missing(&state.reads, &user.0, query.org_id.as_deref()).await?;
    let answer: Vec<MissingDisclosure> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExitRequest {
    /// `violation`, `harm_to_public_interest`, `inactive` or `own_request`.
    pub reason: String,
    /// What the decision rests on (kept in the audit trail).
    #[schema(example = "违规收费，经街道核实", min_length = 1, max_length = 400)]
    pub basis: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExitResponse {
    pub partner_id: String,
    pub status: String,
    pub reason: String,
    pub offers_unpublished: u64,
    /// Live reservations voided, their points returned to the residents.
    pub reservations_voided: u64,
    pub projects_terminated: u64,
    pub resources_withdrawn: u64,
}

impl From<Exited> for ExitResponse {
    fn from(e: Exited) -> Self {
        Self {
            partner_id: e.partner_id,
            status: "closed".to_owned(),
            reason: e.reason,
            offers_unpublished: e.offers_unpublished,
            reservations_voided: e.reservations_voided,
            projects_terminated: e.projects_terminated,
            resources_withdrawn: e.resources_withdrawn,
        }
    }
}

/// A partner leaves (退出): closed, offers unpublished, live reservations voided with points
/// back, resources withdrawn, unfinished projects terminated, all in one transaction and
/// audited (staff in scope).
#[utoipa::path(post, path = "/api/v1/staff/partners/{id}/exit", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ExitRequest,
    responses((status = 200, body = ExitResponse),
        (status = 403, description = "`forbidden`: you work for or applied for this partner", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such partner in your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: it has left already, or never joined", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn exit(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<ExitRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                exits::exit(conn, &actor, &id, &b.reason, &b.basis, now)
                    .await
                    .map(ExitResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmpowermentRequest {
    /// `publicity`, `policy_priority`, `free_venue`, `incubation`, `skills_platform` or
    /// `honour`.
    pub kind: String,
    #[schema(
        example = "免费使用社区活动室（每周二）",
        min_length = 1,
        max_length = 500
    )]
    pub detail: String,
    #[schema(value_type = String, format = Date, example = "2026-12-01")]
    pub granted_on: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct EmpowermentResponse {
    pub id: String,
    pub partner_id: String,
    pub kind: String,
    pub detail: String,
    #[schema(value_type = String, format = Date)]
    pub granted_on: NaiveDate,
    pub granted_by: String,
}

impl From<empowerment::Model> for EmpowermentResponse {
    fn from(e: empowerment::Model) -> Self {
        Self {
            id: e.id,
            partner_id: e.partner_id,
            kind: e.kind,
            detail: e.detail,
            granted_on: e.granted_on,
            granted_by: e.granted_by,
        }
    }
}

/// Record what the community grants a partner in return (staff in scope).
#[utoipa::path(post, path = "/api/v1/staff/partners/{id}/empowerment", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = EmpowermentRequest,
    responses((status = 201, body = EmpowermentResponse),
        (status = 404, description = "`not_found`: no such partner in your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn grant(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<EmpowermentRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                grants::grant(conn, &actor, &id, &b.kind, &b.detail, b.granted_on, now)
                    .await
                    .map(EmpowermentResponse::from)
            })
        })
        .await
}

/// What the community has granted a partner, newest first (staff in scope).
#[utoipa::path(get, path = "/api/v1/staff/partners/{id}/empowerment", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = [EmpowermentResponse]),
        (status = 404, description = "`not_found`: no such partner in your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn granted(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let rows = grants::list(&state.reads, &user.0, &path).await?;
    let answer: Vec<EmpowermentResponse> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(answer))
}
