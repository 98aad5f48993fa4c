//! Staff accounts.

use crate::error::ApiError;
use crate::extract::{AuthUser, JsonBody};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use identity::service::staff::{self, NewStaff};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/staff").route(web::post().to(create)))
        .service(web::resource("/admin/staff/{user_id}/disable").route(web::post().to(disable)))
        .service(web::resource("/admin/staff/{user_id}/enable").route(web::post().to(enable)));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    #[schema(
        example = "wang.li",
        min_length = 3,
        max_length = 32,
        pattern = "^[A-Za-z0-9._-]+$"
    )]
    pub username: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// `community_staff`, `street_staff` or `district_admin`; not above the caller's own.
    #[schema(example = "community_staff")]
    pub role: String,
    /// A community, street or district matching the role, inside the caller's scope.
    pub org_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct StaffResponse {
    /// The staff member's user id.
    pub id: String,
    pub username: String,
    pub role: String,
    pub org_id: String,
}

/// Create a staff account within the caller's scope.
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "orgs", security(("bearer" = [])),
    request_body = CreateStaffRequest,
    responses((status = 201, body = StaffResponse),
        (status = 403, description = "`forbidden`: org outside your scope or role above yours", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`username_taken`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: JsonBody<CreateStaffRequest>,
) -> Result<HttpResponse, ApiError> {
    let CreateStaffRequest {
        username,
        password,
        role,
        org_id,
    } = body.0;
    let new = NewStaff::parse(&username, &password, &role, &org_id)?;
    let created = staff::create_staff(&state.db, &user.0, new, state.clock.now()).await?;
    Ok(HttpResponse::Created().json(StaffResponse {
        id: created.user_id,
        username: created.username,
        role: created.role.as_str().to_owned(),
        org_id: created.org_id,
    }))
}

/// Disable a staff account in the caller's scope (a role not above the caller's over each of
/// its orgs): its sessions end at once on every instance, and it can neither log in, refresh
/// nor use a token it already holds until re-enabled. Audited.
#[utoipa::path(post, path = "/api/v1/admin/staff/{user_id}/disable", tag = "orgs", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The staff member's user id")),
    responses((status = 204, description = "Disabled; every session ended"),
        (status = 403, description = "`forbidden`: not staff, or your own account", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such staff account in your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn disable(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .auth
        .disable_staff(&user.0, &path.into_inner())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Re-enable a disabled staff account in the caller's scope (it logs in again). Audited.
#[utoipa::path(post, path = "/api/v1/admin/staff/{user_id}/enable", tag = "orgs", security(("bearer" = [])),
    params(("user_id" = String, Path, description = "The staff member's user id")),
    responses((status = 204, description = "Enabled"),
        (status = 403, description = "`forbidden`: not staff, or your own account", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no such staff account in your scope", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn enable(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state.auth.enable_staff(&user.0, &path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
