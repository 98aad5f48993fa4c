//! Home services (家政) over HTTP: orders by residents (or by community staff for a care
//! recipient), dispatch to a verified worker by the partner, completion, confirmation
//! (the held payment posted to the partner), cancellation (released) and rating.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::idempotency::IdempotencyKey;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use care::entity::order;
use care::order_state::OrderStatus;
use care::service::{order_moves, orders};
use chrono::{DateTime, Utc};
use platform::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/home-services/orders")
            .route(web::post().to(place))
            .route(web::get().to(mine)),
    )
    .service(web::resource("/home-services/orders/{id}").route(web::get().to(detail)))
    .service(web::resource("/home-services/orders/{id}/complete").route(web::post().to(complete)))
    .service(web::resource("/home-services/orders/{id}/confirm").route(web::post().to(confirm)))
    .service(web::resource("/home-services/orders/{id}/cancel").route(web::post().to(cancel)))
    .service(web::resource("/home-services/orders/{id}/rate").route(web::post().to(rate)))
    .service(web::resource("/partners/{id}/home-services/orders").route(web::get().to(of_partner)))
    .service(
        web::resource("/partners/{id}/home-services/orders/{order_id}/dispatch")
            .route(web::post().to(dispatch)),
    );
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HomeServiceOrderRequest {
    /// A published offer of `kind: "home_service"`.
    pub offer_id: String,
    /// Community staff ordering for a care recipient of their community: paid from the
    /// community's public-benefit budget (公益), in points.
    pub for_care_recipient_id: Option<String>,
    /// When the service is wanted (within 90 days).
    pub at: DateTime<Utc>,
    /// Where to come (building, floor, door; at most 200 characters).
    #[serde(default)]
    #[schema(example = "3号楼2单元501", max_length = 200)]
    pub address_note: String,
    /// A resident's own order: `points` (default) or `time_credits` (when the offer has a
    /// `time_credits_price`).
    #[schema(example = "points")]
    pub pay_with: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HomeServiceOrderResponse {
    pub id: String,
    pub offer_id: String,
    pub partner_id: String,
    pub offer_title: String,
    /// The resident served, when they have an account.
    pub user_id: Option<String>,
    pub ordered_by: String,
    pub care_recipient_id: Option<String>,
    /// `points` or `time_credits` (minutes).
    pub asset: String,
    pub price: i64,
    /// `resident` (their wallet) or `community` (its public-benefit budget).
    pub paid_by: String,
    pub at: DateTime<Utc>,
    pub address_note: String,
    /// `requested`, `dispatched`, `completed`, `confirmed` or `cancelled`.
    pub status: String,
    pub worker_id: Option<String>,
    pub dispatched_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub rating: Option<i32>,
    pub rating_comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<order::Model> for HomeServiceOrderResponse {
    fn from(o: order::Model) -> Self {
        Self {
            id: o.id,
            offer_id: o.offer_id,
            partner_id: o.partner_id,
            offer_title: o.offer_title,
            user_id: o.user_id,
            ordered_by: o.ordered_by,
            care_recipient_id: o.care_recipient_id,
            asset: o.asset,
            price: o.price,
            paid_by: o.paid_by,
            at: o.at,
            address_note: o.address_note,
            status: o.status.as_str().to_owned(),
            worker_id: o.worker_id,
            dispatched_at: o.dispatched_at,
            completed_at: o.completed_at,
            confirmed_at: o.confirmed_at,
            cancelled_at: o.cancelled_at,
            cancel_reason: o.cancel_reason,
            rating: o.rating,
            rating_comment: o.rating_comment,
            created_at: o.created_at,
        }
    }
}

fn rendered(row: order::Model) -> HomeServiceOrderResponse {
    row.into()
}

/// Order a home service; the price is held until you confirm the work (or cancel).
#[utoipa::path(post, path = "/api/v1/home-services/orders", tag = "home_services", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first response")),
    request_body = HomeServiceOrderRequest,
    responses((status = 201, body = HomeServiceOrderResponse),
        (status = 403, description = "`forbidden`: street staff do not order for care recipients", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such offer in the catalog, or care recipient in your community", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_points`, `insufficient_time_credits`, `budget_exhausted`, `out_of_stock`; `offer_kind_mismatch`: not a home service", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `idempotency_key_reused`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn place(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    body: JsonBody<HomeServiceOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, b, now) = (user.0, body.0, state.clock.now());
    let unit = state.unit(&actor, key, &("home_service_order", &b));
    let input = orders::NewOrder {
        offer_id: b.offer_id,
        for_care_recipient_id: b.for_care_recipient_id,
        at: b.at,
        address_note: b.address_note,
        pay_with: b.pay_with,
    };
    unit.respond(StatusCode::CREATED, move |conn| {
        Box::pin(async move { orders::place(conn, &actor, input, now).await.map(rendered) })
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct OrderListQuery {
    /// At most this many, newest first (default 50, at most 200).
    pub limit: Option<u64>,
    /// Partner lists only: one status.
    pub status: Option<String>,
}

fn list_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(50).clamp(1, 200)
}

/// The orders you placed or are served by, newest first.
#[utoipa::path(get, path = "/api/v1/home-services/orders", tag = "home_services", security(("bearer" = [])),
    params(OrderListQuery),
    responses((status = 200, body = [HomeServiceOrderResponse])))]
pub async fn mine(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<OrderListQuery>,
) -> Result<HttpResponse, ApiError> {
    let rows = orders::mine(&state.reads, &user.0, list_limit(query.limit)).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(rendered).collect::<Vec<_>>()))
}

/// One order: for its orderer, the resident served, the partner's staff, and the street
/// above a care recipient's community.
#[utoipa::path(get, path = "/api/v1/home-services/orders/{id}", tag = "home_services", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = HomeServiceOrderResponse),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn detail(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = orders::find(&state.reads, &user.0, &path).await?;
    Ok(HttpResponse::Ok().json(rendered(row)))
}

/// A partner's home-service orders, newest first (its staff).
#[utoipa::path(get, path = "/api/v1/partners/{id}/home-services/orders", tag = "home_services", security(("bearer" = [])),
    params(("id" = String, Path), OrderListQuery),
    responses((status = 200, body = [HomeServiceOrderResponse]),
        (status = 403, description = "`forbidden`: not the partner's staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: an unknown status", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn of_partner(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<OrderListQuery>,
) -> Result<HttpResponse, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(
            OrderStatus::ALL
                .into_iter()
                .find(|x| x.as_str() == s)
                .ok_or_else(|| ValidationErrors::single("status", "is not an order status"))?,
        ),
    };
    let limit = list_limit(query.limit);
    let rows = orders::of_partner(&state.reads, &user.0, &path, status, limit).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(rendered).collect::<Vec<_>>()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    /// One of the partner's workers, verified by community staff.
    pub worker_id: String,
}

/// Send a verified worker (the partner's staff); again to change the worker.
#[utoipa::path(post, path = "/api/v1/partners/{id}/home-services/orders/{order_id}/dispatch", tag = "home_services", security(("bearer" = [])),
    params(("id" = String, Path), ("order_id" = String, Path)), request_body = DispatchRequest,
    responses((status = 200, body = HomeServiceOrderResponse),
        (status = 403, description = "`forbidden`: not the partner's staff", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such order or worker of this partner", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`worker_unverified`; `invalid_transition`: completed, confirmed or cancelled", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn dispatch(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    body: JsonBody<DispatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, (partner_id, order_id), now) = (user.0, path.into_inner(), state.clock.now());
    let worker_id = body.0.worker_id;
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                order_moves::dispatch(conn, &actor, &partner_id, &order_id, &worker_id, now)
                    .await
                    .map(rendered)
            })
        })
        .await
}

/// The work is done (the partner's staff); the orderer is asked to confirm.
#[utoipa::path(post, path = "/api/v1/home-services/orders/{id}/complete", tag = "home_services", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = HomeServiceOrderResponse),
        (status = 403, description = "`forbidden`: the orderer does not complete", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not dispatched", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn complete(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now) = (user.0, path.into_inner(), state.clock.now());
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                order_moves::complete(conn, &actor, &id, now)
                    .await
                    .map(rendered)
            })
        })
        .await
}

/// Confirm the work (the orderer): the held payment goes to the partner, once.
#[utoipa::path(post, path = "/api/v1/home-services/orders/{id}/confirm", tag = "home_services", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses((status = 200, body = HomeServiceOrderResponse),
        (status = 403, description = "`forbidden`: the partner does not confirm", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not completed, or confirmed already", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn confirm(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now, rule) = (
        user.0,
        path.into_inner(),
        state.clock.now(),
        state.expiry_rule(),
    );
    let unit = state.unit(&actor, key, &("home_service_confirm", &id));
    unit.respond(StatusCode::OK, move |conn| {
        Box::pin(async move {
            order_moves::confirm(conn, &actor, &id, rule, now)
                .await
                .map(rendered)
        })
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelOrderRequest {
    #[serde(default)]
    #[schema(max_length = 200)]
    pub reason: String,
}

/// Cancel before the work is done (either party): the held payment is released.
#[utoipa::path(post, path = "/api/v1/home-services/orders/{id}/cancel", tag = "home_services", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CancelOrderRequest,
    responses((status = 200, body = HomeServiceOrderResponse),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: completed, confirmed or cancelled", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<CancelOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now, reason) = (user.0, path.into_inner(), state.clock.now(), body.0.reason);
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                order_moves::cancel(conn, &actor, &id, &reason, now)
                    .await
                    .map(rendered)
            })
        })
        .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateOrderRequest {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i32,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub comment: String,
}

/// Rate a confirmed order, once (the orderer).
#[utoipa::path(post, path = "/api/v1/home-services/orders/{id}/rate", tag = "home_services", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RateOrderRequest,
    responses((status = 200, body = HomeServiceOrderResponse),
        (status = 403, description = "`forbidden`: the partner does not rate", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`: not confirmed, or rated already", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn rate(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<RateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let (actor, id, now, b) = (user.0, path.into_inner(), state.clock.now(), body.0);
    state
        .unkeyed_unit()
        .routed_by(&actor)
        .respond(StatusCode::OK, move |conn| {
            Box::pin(async move {
                order_moves::rate(conn, &actor, &id, b.rating, &b.comment, now)
                    .await
                    .map(rendered)
            })
        })
        .await
}
