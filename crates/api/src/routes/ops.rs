//! Liveness, readiness, metrics and the OpenAPI document.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use platform::Code;
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/api-docs/openapi.json", web::get().to(openapi_json));
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    status: &'static str,
    database: &'static str,
    /// `redis` or `in_process`.
    cache: &'static str,
}

/// 200 when the database (and Redis, when configured) answer; 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Readiness),
    (status = 503, description = "`not_ready`: the database or cache cannot be reached", body = crate::error::Problem, content_type = "application/problem+json"),
))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    platform::db::ping(&state.db).await.map_err(|e| {
        ApiError::unavailable(Code::NotReady, "The database does not answer.", e, 5)
    })?;
    state
        .cache
        .ping()
        .await
        .map_err(|e| ApiError::unavailable(Code::NotReady, "Redis does not answer.", e, 5))?;
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        database: "ok",
        cache: if state.cache.is_redis() {
            "redis"
        } else {
            "in_process"
        },
    }))
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(
            state
                .metrics
                .render(&state.db, &state.cache, &state.committer),
        )
}

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(crate::openapi::spec_json())
}
