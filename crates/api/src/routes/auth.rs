//! Logins, token refresh and logout.

use crate::error::ApiError;
use crate::extract::{client_ip, AuthUser, JsonBody};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use identity::service::LoginResult;
use identity::IdentityError;
use platform::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/wechat-login").route(web::post().to(wechat_login)))
        .service(web::resource("/auth/staff-login").route(web::post().to(staff_login)))
        .service(web::resource("/auth/refresh").route(web::post().to(refresh)))
        .service(web::resource("/auth/logout").route(web::post().to(logout)));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WechatLoginRequest {
    /// The code from `wx.login()`. In fake mode: `dev-<name>`.
    #[schema(example = "dev-alice", min_length = 1, max_length = 256)]
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffLoginRequest {
    #[schema(example = "street", min_length = 1, max_length = 64)]
    pub username: String,
    #[schema(example = "linli-demo", min_length = 1, max_length = 256)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 256)]
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginUser {
    pub id: String,
    /// Any of `resident`, `merchant_staff`, `community_staff`, `street_staff`, `district_admin`.
    pub roles: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub user: LoginUser,
}

impl From<LoginResult> for LoginResponse {
    fn from(login: LoginResult) -> Self {
        Self {
            access_token: login.tokens.access_token,
            refresh_token: login.tokens.refresh_token,
            token_type: "Bearer",
            expires_in: login.tokens.expires_in,
            user: LoginUser {
                id: login.user_id,
                roles: login.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            },
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);

fn require_text(field: &str, value: &str, max_len: usize) -> Result<(), ApiError> {
    // Characters, not bytes, as the spec's maxLength counts them.
    if value.trim().is_empty() || value.chars().count() > max_len {
        return Err(
            ValidationErrors::single(field, format!("must be 1 to {max_len} characters")).into(),
        );
    }
    Ok(())
}

async fn limit_login_by_ip(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let ip = client_ip(req, &state.settings.server);
    state
        .rate_limiter
        .hit(
            &format!("login:ip:{ip}"),
            state.settings.rate_limit.login_per_ip_per_minute,
            MINUTE,
        )
        .await
}

/// Log in a resident with a `wx.login()` code; the account is created on first login.
#[utoipa::path(post, path = "/api/v1/auth/wechat-login", tag = "auth",
    request_body = WechatLoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "`wechat_code_invalid`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`wechat_user_blocked`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`, `wechat_rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 502, description = "`wechat_unavailable`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`wechat_busy`", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn wechat_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<WechatLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_login_by_ip(&state, &req).await?;
    require_text("code", &body.0.code, 256)?;
    let login = state.auth.wechat_login(body.0.code.trim()).await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(login)))
}

/// Log in a staff member with username and password.
#[utoipa::path(post, path = "/api/v1/auth/staff-login", tag = "auth",
    request_body = StaffLoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "`invalid_credentials`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn staff_login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<StaffLoginRequest>,
) -> Result<HttpResponse, ApiError> {
    limit_login_by_ip(&state, &req).await?;
    let StaffLoginRequest { username, password } = body.0;
    require_text("username", &username, 64)?;
    require_text("password", &password, 256)?;
    let username = username.trim().to_lowercase();
    let client = client_ip(&req, &state.settings.server);
    let login = staff_login_guarded(&state, &username, &password, &client).await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(login)))
}

/// Limits password guessing without handing anyone a way to lock an account out: failed
/// logins are counted per (username, client address), with a slower ceiling per username
/// across all clients, before the password is checked (see `FailureAttempt`); successes are
/// not counted, and a success clears the caller's count.
async fn staff_login_guarded(
    state: &AppState,
    username: &str,
    password: &str,
    client: &str,
) -> Result<LoginResult, ApiError> {
    let limits = &state.settings.rate_limit;
    let client_key = format!("login:fail:{username}:{client}");
    let attempt = state
        .rate_limiter
        .attempt(vec![
            (
                client_key.clone(),
                limits.staff_login_per_username_per_15min,
                FIFTEEN_MINUTES,
            ),
            (
                format!("login:fail:{username}"),
                limits.staff_login_failures_per_username_per_hour,
                HOUR,
            ),
        ])
        .await?;
    let outcome = state.auth.staff_login(username, password).await;
    match &outcome {
        Err(IdentityError::InvalidCredentials) => attempt.failed(),
        Ok(_) => {
            attempt.not_a_failure().await;
            state.rate_limiter.reset(&client_key).await;
        }
        Err(_) => attempt.not_a_failure().await,
    }
    Ok(outcome?)
}

const HOUR: Duration = Duration::from_secs(60 * 60);

/// Exchange a refresh token for a new pair. The old refresh token stops working; using it
/// again ends the whole session (`refresh_token_reused`).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 401, description = "`refresh_token_invalid`, `refresh_token_reused`", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    require_text("refresh_token", &body.0.refresh_token, 256)?;
    let login = state.auth.refresh(body.0.refresh_token.trim()).await?;
    Ok(HttpResponse::Ok().json(LoginResponse::from(login)))
}

/// End this session: the access token and its refresh token stop working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, ApiError> {
    state.auth.logout(&user.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
