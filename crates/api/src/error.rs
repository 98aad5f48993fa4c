//! One error type for every handler, rendered as RFC 9457 `application/problem+json` with a
//! stable `code` that clients switch on. Causes of 5xx errors are logged, never returned.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use identity::IdentityError;
use platform::{FieldError, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;
use wechat::WechatError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// The problem document as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:linli:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case identifier, e.g. `insufficient_points`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<ProblemFieldError>)]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemFieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_seconds: Option<u64>,
    /// Logged in full for 5xx, never shown.
    cause: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_seconds: None,
            cause: None,
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side. It has been logged; please try again later.",
            )
        }
    }

    pub fn unavailable(
        code: &'static str,
        detail: &str,
        cause: impl std::fmt::Display,
        retry_after: u64,
    ) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail).retry_after(retry_after)
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        Self {
            errors: errors.0,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Some fields are invalid; see errors.",
            )
        }
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many requests; try again in {retry_after_seconds} s."),
        )
        .retry_after(retry_after_seconds)
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds.max(1));
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// A problem for a status produced outside our handlers (unknown route, wrong method).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status.as_u16() {
            404 => ("not_found", "No such resource."),
            405 => ("method_not_allowed", "This method is not allowed here."),
            413 => (
                "payload_too_large",
                "The request body is larger than 1 MiB.",
            ),
            415 => (
                "unsupported_media_type",
                "Send JSON with Content-Type: application/json.",
            ),
            400 => ("bad_request", "The request could not be understood."),
            401 => ("unauthorized", "Authentication is required."),
            403 => ("forbidden", "You are not allowed to do this."),
            429 => ("rate_limited", "Too many requests."),
            s if s >= 500 => ("internal_error", "Something went wrong on our side."),
            _ => ("error", "The request failed."),
        };
        Self::new(status, code, detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            tracing::error!(
                status = self.status.as_u16(),
                code = self.code,
                cause = self.cause.as_deref().unwrap_or("-"),
                "request failed"
            );
        }
        let body = Problem {
            problem_type: format!("urn:linli:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
        };
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(seconds) = self.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"linli\""));
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::ConnectionAcquire(_) => Self::unavailable(
                "database_unavailable",
                "The database is busy or unreachable; please retry shortly.",
                err,
                2,
            ),
            other => Self::internal(other),
        }
    }
}

impl From<WechatError> for ApiError {
    fn from(err: WechatError) -> Self {
        match err {
            WechatError::InvalidCode => Self::unauthorized(
                "wechat_code_invalid",
                "The WeChat login code is invalid or was already used; call wx.login() again.",
            ),
            WechatError::RateLimited => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "wechat_rate_limited",
                "WeChat is limiting requests for this user; try again in a minute.",
            )
            .retry_after(60),
            WechatError::UserBlocked => Self::new(
                StatusCode::FORBIDDEN,
                "wechat_user_blocked",
                "WeChat has blocked this account as high-risk.",
            ),
            WechatError::Busy => Self {
                cause: Some("WeChat errcode -1".into()),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "wechat_busy",
                    "WeChat is busy; please retry in a few seconds.",
                )
                .retry_after(3)
            },
            other => Self {
                cause: Some(other.to_string()),
                ..Self::new(
                    StatusCode::BAD_GATEWAY,
                    "wechat_unavailable",
                    "WeChat could not be reached or answered unexpectedly; please retry.",
                )
            },
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::Wechat(e) => e.into(),
            IdentityError::InvalidCredentials => {
                Self::unauthorized("invalid_credentials", "Wrong username or password.")
            }
            IdentityError::TokenInvalid => Self::unauthorized("token_invalid", "The access token is invalid."),
            IdentityError::TokenExpired => Self::unauthorized(
                "token_expired",
                "The access token has expired; use the refresh token.",
            ),
            IdentityError::TokenRevoked => {
                Self::unauthorized("token_revoked", "This session has ended; log in again.")
            }
            IdentityError::AccountDisabled => Self::unauthorized(
                "account_disabled",
                "This staff account has been disabled; ask your administrator.",
            ),
            IdentityError::RefreshTokenInvalid => Self::unauthorized(
                "refresh_token_invalid",
                "The refresh token is invalid, expired or revoked; log in again.",
            ),
            IdentityError::RefreshTokenReused => Self::unauthorized(
                "refresh_token_reused",
                "This refresh token was already used; the session has been ended for safety. Log in again.",
            ),
            IdentityError::Forbidden(why) => Self::forbidden(why),
            IdentityError::NotFound(what) => Self::not_found(format!("No such {what}.")),
            IdentityError::Validation(errors) => Self::validation(errors),
            IdentityError::UsernameTaken => Self::new(
                StatusCode::CONFLICT,
                "username_taken",
                "That username is already taken.",
            ),
            IdentityError::Db(e) => e.into(),
            IdentityError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::validation(errors)
    }
}
