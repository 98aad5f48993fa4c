//! Community spaces (空间换服务) and their bookings.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::idempotency::IdempotencyKey;
use crate::routes::parking::WindowBody;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use identity::service::orgs;
use partners::entity::{space, space_booking};
use partners::service::spaces::{self, Decision, NewBooking, NewSpace};
use points::use_cases::Posting;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/spaces").route(web::post().to(create)))
        .service(web::resource("/spaces").route(web::get().to(list)))
        .service(web::resource("/spaces/{id}/bookings").route(web::post().to(book)))
        .service(web::resource("/me/space-bookings").route(web::get().to(mine)))
        .service(
            web::resource("/staff/spaces/bookings/{id}/{action}").route(web::post().to(decide)),
        );
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceRequest {
    /// The community (or compound, or street) the space belongs to.
    pub org_id: String,
    #[schema(
        example = "新华社区党群服务中心活动室",
        min_length = 1,
        max_length = 100
    )]
    pub name: String,
    pub area_m2: i64,
    /// What it serves, e.g. `["老年活动", "儿童托管"]`.
    #[serde(default)]
    pub scenes: Vec<String>,
    pub open_hours: Vec<WindowBody>,
    /// People at once.
    pub capacity: i64,
    /// An active partner operating it; its staff may approve bookings too.
    pub operator_partner_id: Option<String>,
    /// Points charged per started hour (default 0: free).
    #[serde(default)]
    pub points_per_hour: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SpaceResponse {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub area_m2: i64,
    pub scenes: Vec<String>,
    pub open_hours: Vec<WindowBody>,
    pub capacity: i64,
    pub operator_partner_id: Option<String>,
    pub points_per_hour: i64,
}

impl From<space::Model> for SpaceResponse {
    fn from(s: space::Model) -> Self {
        Self {
            scenes: spaces::scenes_of(&s),
            open_hours: spaces::windows_of(&s).into_iter().map(Into::into).collect(),
            id: s.id,
            org_id: s.org_id,
            name: s.name,
            area_m2: s.area_m2,
            capacity: s.capacity,
            operator_partner_id: s.operator_partner_id,
            points_per_hour: s.points_per_hour,
        }
    }
}

/// Set up a community space (staff of the org).
#[utoipa::path(post, path = "/api/v1/admin/spaces", tag = "partners", security(("bearer" = [])),
    request_body = SpaceRequest,
    responses((status = 201, body = SpaceResponse),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: the org is outside your scope", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<SpaceRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let input = NewSpace {
        org_id: b.org_id,
        name: b.name,
        area_m2: b.area_m2,
        scenes: b.scenes,
        open_hours: b.open_hours.into_iter().map(Into::into).collect(),
        capacity: b.capacity,
        operator_partner_id: b.operator_partner_id,
        points_per_hour: b.points_per_hour,
    };
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                spaces::create(conn, &actor, input, now)
                    .await
                    .map(SpaceResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct SpaceQuery {
    /// Spaces under this org (default: all).
    pub org_id: Option<String>,
}

/// Community spaces, by name (public).
#[utoipa::path(get, path = "/api/v1/spaces", tag = "partners", params(SpaceQuery),
    responses((status = 200, body = [SpaceResponse]),
        (status = 422, description = "`validation_failed`: no such org", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    state: web::Data<AppState>,
    query: web::Query<SpaceQuery>,
) -> Result<HttpResponse, ApiError> {
    let path = orgs::filter_path(&state.reads, query.org_id.as_deref()).await?;
    let rows = spaces::list(&state.reads, path.as_deref()).await?;
    let answer: Vec<SpaceResponse> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceBookingRequest {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[schema(example = "老年合唱团排练", min_length = 1, max_length = 200)]
    pub purpose: String,
    pub attendees: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SpaceBookingResponse {
    pub id: String,
    pub space_id: String,
    pub user_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub purpose: String,
    pub attendees: i64,
    /// `pending`, `approved`, `rejected` or `cancelled`.
    pub status: String,
    /// Points held (posted on approval, released on rejection).
    pub points: i64,
    pub reason: Option<String>,
}

impl From<space_booking::Model> for SpaceBookingResponse {
    fn from(b: space_booking::Model) -> Self {
        Self {
            id: b.id,
            space_id: b.space_id,
            user_id: b.user_id,
            starts_at: b.starts_at,
            ends_at: b.ends_at,
            purpose: b.purpose,
            attendees: b.attendees,
            status: b.status,
            points: b.points,
            reason: b.reason,
        }
    }
}

/// Ask for a space: `pending` until staff (or its operating partner) decide; when it
/// charges points, the price is held on your points meanwhile.
#[utoipa::path(post, path = "/api/v1/spaces/{id}/bookings", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first response")),
    request_body = SpaceBookingRequest,
    responses((status = 201, body = SpaceBookingResponse),
        (status = 404, description = "`not_found`: no such space", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`space_unavailable`: an approved booking overlaps; `insufficient_points`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `outside_open_hours`, `idempotency_key_reused`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn book(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    key: IdempotencyKey,
    body: JsonBody<SpaceBookingRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, b, now) = (user.0, path.into_inner(), body.0, state.clock.now());
    let unit = state.unit(&actor, key.clone(), &("space_booking", &id, &b));
    let ledger_key = Posting::new(
        &actor,
        "space_booking",
        key.0.as_deref(),
        now,
        state.expiry_rule(),
    )
    .ledger_key;
    let input = NewBooking {
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        purpose: b.purpose,
        attendees: b.attendees,
        ledger_key,
    };
    unit.respond(StatusCode::CREATED, move |conn| {
        Box::pin(async move {
            spaces::book(conn, &actor, &id, input, now)
                .await
                .map(SpaceBookingResponse::from)
        })
    })
    .await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BookingDecisionRequest {
    /// Required to reject.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: String,
}

/// Approve or reject a pending booking (staff of the space's org, or of its operating
/// partner). Two approved bookings of one space never overlap.
#[utoipa::path(post, path = "/api/v1/staff/spaces/bookings/{id}/{action}", tag = "partners", security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "approve | reject")),
    request_body = BookingDecisionRequest,
    responses((status = 200, body = SpaceBookingResponse),
        (status = 404, description = "`not_found`: no such booking you may decide, or no such action", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: decided already; `space_unavailable`: an approved booking overlaps", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: a rejection needs a reason", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn decide(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: Option<JsonBody<BookingDecisionRequest>>,
) -> Result<HttpResponse, ApiError> {
    let (id, action) = path.into_inner();
    let approve = match action.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(platform::Problem::not_found("action").into()),
    };
    let reason = body.map(|b| b.0.reason).unwrap_or_default();
    let (actor, now, rule) = (user.0, state.clock.now(), state.expiry_rule());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                let decision = Decision {
                    approve,
                    reason: &reason,
                };
                spaces::decide(conn, &actor, &id, decision, rule, now)
                    .await
                    .map(SpaceBookingResponse::from)
            })
        })
        .await
}

/// Your space bookings, newest first (the latest 100).
#[utoipa::path(get, path = "/api/v1/me/space-bookings", tag = "partners", security(("bearer" = [])),
    responses((status = 200, body = [SpaceBookingResponse])))]
pub async fn mine(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    let rows = spaces::mine(&state.reads, &user.0).await?;
    let answer: Vec<SpaceBookingResponse> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(answer))
}
