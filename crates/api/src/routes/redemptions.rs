//! Redemption (核销) over HTTP: reserve, show a code, preview, verify, cancel, lists, figures.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::idempotency::IdempotencyKey;
use crate::metrics::business::PointsChannel;
use crate::rate_limit::FailureAttempt;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use identity::Actor;
use merchant::entity::redemption as redemption_row;
use merchant::service::redemptions::{self, RedemptionSettings};
use platform::paging::{encode_cursor, page_limit};
use platform::Code;
use platform::ValidationErrors;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/offers/{id}/redemptions").route(web::post().to(reserve)))
        .service(web::resource("/redemptions/{id}/code").route(web::post().to(issue_code)))
        .service(web::resource("/redemptions/{id}/cancel").route(web::post().to(cancel)))
        .service(web::resource("/me/redemptions").route(web::get().to(mine)))
        .service(
            web::resource("/merchants/{id}/redemptions/preview").route(web::post().to(preview)),
        )
        .service(web::resource("/merchants/{id}/redemptions/verify").route(web::post().to(verify)))
        .service(web::resource("/merchants/{id}/redemptions").route(web::get().to(of_merchant)))
        .service(web::resource("/merchants/{id}/stats").route(web::get().to(stats)));
}

fn settings(state: &AppState) -> RedemptionSettings {
    RedemptionSettings {
        reservation_validity: Duration::days(state.settings.merchant.reservation_days),
        code_ttl: Duration::seconds(state.settings.merchant.code_ttl_seconds),
        expiry_rule: state.expiry_rule(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionResponse {
    pub id: String,
    /// `reserved`, `redeemed`, `cancelled` or `expired`.
    pub status: String,
    pub points: i64,
    pub offer_id: String,
    pub offer_title: String,
    pub merchant_id: String,
    pub cash_value_fen: i64,
    /// The reservation lapses then unless redeemed.
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub redeemed_at: Option<DateTime<Utc>>,
}

impl From<redemption_row::Model> for RedemptionResponse {
    fn from(r: redemption_row::Model) -> Self {
        Self {
            id: r.id,
            status: r.status.as_str().to_owned(),
            points: r.points,
            offer_id: r.offer_id,
            offer_title: r.offer_title,
            merchant_id: r.merchant_id,
            cash_value_fen: r.cash_value_fen,
            expires_at: r.expires_at,
            created_at: r.created_at,
            redeemed_at: r.redeemed_at,
        }
    }
}

/// Reserve an offer: points held, stock taken.
#[utoipa::path(post, path = "/api/v1/offers/{id}/redemptions", tag = "redemptions", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first response")),
    responses((status = 201, body = RedemptionResponse),
        (status = 409, description = "`insufficient_points`, `out_of_stock`, `per_user_limit_reached`; `offer_kind_mismatch`: a home service is ordered, not reserved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`offer_unavailable`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn reserve(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (actor, offer_id) = (user.0, path.into_inner());
    let (settings, now) = (settings(&state), state.clock.now());
    // In the offer's lane, not the resident's community's: reservations of one offer meet
    // on its stock row, and a popular shop's are better in one batch than racing between
    // lanes; one community's residents reserving at many shops spread over the lanes.
    let lane = offer_id.clone();
    state
        .unit(&actor, key, &("reserve", offer_id.as_str()))
        .routed_to(&lane)
        .respond(StatusCode::CREATED, move |conn| {
            Box::pin(async move {
                redemptions::reserve(conn, &actor, &offer_id, &settings, now)
                    .await
                    .map(RedemptionResponse::from)
            })
        })
        .await
}

#[derive(Serialize, ToSchema)]
pub struct CodeResponse {
    /// The QR payload (128 random bits); valid once, until `expires_at`.
    pub code: String,
    /// The same code for manual entry: 8 digits.
    pub short_code: String,
    pub expires_at: DateTime<Utc>,
}

/// A fresh one-time code for a reservation; the previous one stops working.
#[utoipa::path(post, path = "/api/v1/redemptions/{id}/code", tag = "redemptions", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CodeResponse),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn issue_code(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let issued = redemptions::issue_code(
        &state.db,
        &user.0,
        &path,
        &settings(&state),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(CodeResponse {
        code: issued.code,
        short_code: issued.short_code,
        expires_at: issued.expires_at,
    }))
}

/// Cancel a reservation: points released, stock restored.
#[utoipa::path(post, path = "/api/v1/redemptions/{id}/cancel", tag = "redemptions", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = RedemptionResponse),
        (status = 409, description = "`invalid_transition`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn cancel(
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
                redemptions::cancel(conn, &actor, &id, now)
                    .await
                    .map(RedemptionResponse::from)
            })
        })
        .await
}

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RedemptionPage {
    pub items: Vec<RedemptionResponse>,
    pub next_cursor: Option<String>,
}

fn page(rows: Vec<redemption_row::Model>, next: Option<String>) -> HttpResponse {
    HttpResponse::Ok().json(RedemptionPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next.map(|id| encode_cursor(&id)),
    })
}

/// The resident's own reservations and redemptions, newest first.
#[utoipa::path(get, path = "/api/v1/me/redemptions", tag = "redemptions", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = RedemptionPage)))]
pub async fn mine(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let before = crate::extract::cursor_position(query.cursor.as_deref())?;
    let (rows, next) = redemptions::list_own(
        &state.reads,
        &user.0,
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    Ok(page(rows, next))
}

/// A merchant's redemptions, newest first; its staff only.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/redemptions", tag = "redemptions", security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses((status = 200, body = RedemptionPage), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn of_merchant(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let before = crate::extract::cursor_position(query.cursor.as_deref())?;
    let (rows, next) = redemptions::list_of_merchant(
        &state.reads,
        &user.0,
        &path,
        page_limit(query.limit),
        before.as_deref(),
    )
    .await?;
    Ok(page(rows, next))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The scanned QR payload, or the 8-digit code typed in.
    #[schema(min_length = 1, max_length = 100)]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResponse {
    pub redemption_id: String,
    /// `reserved` for a preview, `redeemed` after verify.
    pub status: String,
    pub points: i64,
    pub offer_title: String,
    pub cash_value_fen: i64,
}

impl From<redemption_row::Model> for VerifyResponse {
    fn from(r: redemption_row::Model) -> Self {
        Self {
            redemption_id: r.id,
            status: r.status.as_str().to_owned(),
            points: r.points,
            offer_title: r.offer_title,
            cash_value_fen: r.cash_value_fen,
        }
    }
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

/// Failed code checks are limited, against guessing: per caller always, and per merchant
/// only for the merchant's own staff, so outsiders sending bogus codes lock out nobody but
/// themselves. The attempt is counted before the check (see `FailureAttempt`).
async fn start_guess(
    state: &AppState,
    actor: &Actor,
    merchant_id: &str,
) -> Result<FailureAttempt, ApiError> {
    let limits = &state.settings.merchant;
    let mut windows = vec![(
        format!("verify-fail:user:{}", actor.user_id),
        limits.verify_failures_per_staff_per_minute,
        MINUTE,
    )];
    if actor.merchant_ids().iter().any(|m| m == merchant_id) {
        windows.push((
            format!("verify-fail:merchant:{merchant_id}"),
            limits.verify_failures_per_merchant_per_minute,
            MINUTE,
        ));
    }
    state.rate_limiter.attempt(windows).await
}

/// Only a wrong code stays counted.
async fn settle_guess<T, E: Into<ApiError>>(
    attempt: FailureAttempt,
    outcome: Result<T, E>,
) -> Result<T, ApiError> {
    let outcome = outcome.map_err(Into::into);
    match &outcome {
        Err(e) if e.code() == Code::CodeInvalid.as_str() => attempt.failed(),
        _ => attempt.not_a_failure().await,
    }
    outcome
}

fn check_code(code: &str) -> Result<(), ApiError> {
    if code.trim().is_empty() || code.chars().count() > 100 {
        return Err(ValidationErrors::single("code", "must be 1 to 100 characters").into());
    }
    Ok(())
}

/// What a code would redeem; consumes nothing.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/redemptions/preview", tag = "redemptions", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CodeRequest,
    responses((status = 200, body = VerifyResponse),
        (status = 404, description = "`code_invalid`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many failed codes", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn preview(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    check_code(&body.0.code)?;
    let attempt = start_guess(&state, &user.0, &path).await?;
    let found =
        redemptions::preview(&state.db, &user.0, &path, &body.0.code, state.clock.now()).await;
    let found = settle_guess(attempt, found).await?;
    Ok(HttpResponse::Ok().json(VerifyResponse::from(found)))
}

/// Redeem a code: exactly once, by staff of the offer's merchant.
#[utoipa::path(post, path = "/api/v1/merchants/{id}/redemptions/verify", tag = "redemptions", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = CodeRequest,
    responses((status = 200, body = VerifyResponse),
        (status = 404, description = "`code_invalid`: unknown, used, expired, or another merchant's", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many failed codes", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn verify(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: JsonBody<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    check_code(&body.0.code)?;
    let attempt = start_guess(&state, &user.0, &path).await?;
    let (actor, merchant_id, code) = (user.0, path.into_inner(), body.0.code);
    let (settings, now) = (settings(&state), state.clock.now());
    let unit = state.unkeyed_unit().routed_by(&actor);
    let at_merchant = merchant_id.clone();
    let redeemed = unit
        .run(StatusCode::OK, move |conn| {
            Box::pin(async move {
                redemptions::verify(conn, &actor, &merchant_id, &code, &settings, now)
                    .await
                    .map(VerifyResponse::from)
            })
        })
        .await;
    // Counted only once the unit is over: the limiter lives in the cache, never called
    // inside a transaction.
    let redeemed = settle_guess(attempt, redeemed).await?;
    if let Some(verified) = redeemed.value() {
        (state.metrics.business).points_redeemed(PointsChannel::Merchant, verified.points);
        tracing::info!(
            redemption_id = verified.redemption_id,
            merchant_id = at_merchant,
            "redemption verified"
        );
    }
    Ok(crate::unit_of_work::answer(redeemed.answer()))
}

#[derive(Deserialize, IntoParams)]
pub struct StatsQuery {
    /// Start, inclusive (default: 30 days ago).
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive (default: now).
    pub to: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    pub merchant_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub redemptions: i64,
    pub points_received: i64,
    /// Sum of the cash value of what was redeemed, in fen.
    pub service_value_fen: i64,
}

/// A merchant's figures over a period; its staff, or government staff over its community.
#[utoipa::path(get, path = "/api/v1/merchants/{id}/stats", tag = "redemptions", security(("bearer" = [])),
    params(("id" = String, Path), StatsQuery),
    responses((status = 200, body = StatsResponse), (status = 403, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn stats(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    let to = query.to.unwrap_or(state.clock.now());
    let from = query.from.unwrap_or(to - Duration::days(30));
    let figures = redemptions::stats_for(&state.reads, &user.0, &path, from, to).await?;
    Ok(HttpResponse::Ok().json(StatsResponse {
        merchant_id: path.into_inner(),
        from,
        to,
        redemptions: figures.redemptions,
        points_received: figures.points_received,
        service_value_fen: figures.service_value_fen,
    }))
}
