//! One error type for every handler, rendered as RFC 9457 `application/problem+json` with a
//! stable `code` that clients switch on. Causes of 5xx errors are logged, never returned.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use platform::problem::{Code, Kind};
use platform::{FieldError, ValidationErrors};
use serde::Serialize;
use utoipa::ToSchema;

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
    #[schema(schema_with = problem_codes)]
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<ProblemFieldError>)]
    pub errors: Vec<FieldError>,
}

/// Every `code` a problem may carry, so that typed clients can switch over them.
fn problem_codes() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Stable snake_case identifier, e.g. `insufficient_points`; new codes may be added.",
        ))
        .enum_values(Some(platform::Code::ALL.iter().map(|c| c.as_str())))
        .build()
}

/// One invalid field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemFieldError {
    pub field: String,
    pub message: String,
}

/// A failed request: a [`platform::Problem`] on its way to the client. Every context's error
/// converts into one (`?` works on their results in handlers); [`status_of`] is the one
/// place where a kind of failure becomes an HTTP status.
#[derive(Debug)]
pub struct ApiError(platform::Problem);

/// The HTTP status of each kind of failure.
pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::Malformed => StatusCode::BAD_REQUEST,
        Kind::Unauthenticated => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Gone => StatusCode::GONE,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        Kind::Upstream => StatusCode::BAD_GATEWAY,
        Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.0)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self(platform::Problem::new(code, detail))
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self(platform::Problem::internal(cause))
    }

    pub fn unavailable(
        code: Code,
        detail: &str,
        cause: impl std::fmt::Display,
        retry_after: u64,
    ) -> Self {
        Self(
            platform::Problem::new(code, detail)
                .with_cause(cause)
                .retry_after(retry_after),
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(Code::NotFound, detail)
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        Self(platform::Problem::validation(errors))
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Self::new(
            Code::RateLimited,
            format!("Too many requests; try again in {retry_after_seconds} s."),
        )
        .retry_after(retry_after_seconds)
    }

    pub fn with_errors(self, errors: Vec<FieldError>) -> Self {
        Self(self.0.with_errors(errors))
    }

    pub fn retry_after(self, seconds: u64) -> Self {
        Self(self.0.retry_after(seconds))
    }

    pub fn status(&self) -> StatusCode {
        status_of(self.0.kind())
    }

    pub fn code(&self) -> &'static str {
        self.0.code.as_str()
    }

    pub fn errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    /// A problem for a status produced outside our handlers (unknown route, wrong method).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status.as_u16() {
            404 => (Code::NotFound, "No such resource."),
            405 => (Code::MethodNotAllowed, "This method is not allowed here."),
            413 => (
                Code::PayloadTooLarge,
                "The request body is larger than 1 MiB.",
            ),
            415 => (
                Code::UnsupportedMediaType,
                "Send JSON with Content-Type: application/json.",
            ),
            401 => (Code::TokenMissing, "Authentication is required."),
            403 => (Code::Forbidden, "You are not allowed to do this."),
            429 => (Code::RateLimited, "Too many requests."),
            s if s >= 500 => (Code::InternalError, "Something went wrong on our side."),
            _ => (Code::BadRequest, "The request could not be understood."),
        };
        Self::new(code, detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        let problem = &self.0;
        if status.is_server_error() {
            tracing::error!(
                status = status.as_u16(),
                code = problem.code.as_str(),
                cause = problem.cause.as_deref().unwrap_or("-"),
                "request failed"
            );
        }
        let body = Problem {
            problem_type: format!("urn:linli:problem:{}", problem.code.as_str()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: problem.detail.clone(),
            code: problem.code.as_str().to_owned(),
            errors: problem.errors.clone(),
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(seconds) = problem.retry_after_seconds {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"linli\""));
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

impl From<platform::Problem> for ApiError {
    fn from(problem: platform::Problem) -> Self {
        Self(problem)
    }
}

/// Every context's error reaches the client through its `Problem`.
macro_rules! through_problem {
    ($($error:ty),* $(,)?) => {
        $(impl From<$error> for ApiError {
            fn from(err: $error) -> Self {
                Self(platform::Problem::from(err))
            }
        })*
    };
}

through_problem!(
    sea_orm::DbErr,
    ValidationErrors,
    wechat::WechatError,
    identity::IdentityError,
    points_ledger::LedgerError,
    merchant::MerchantError,
    demands::DemandError,
    timebank::TimebankError,
    parking::ParkingError,
    partners::PartnerError,
    care::CareError,
    points::PointsError,
);

impl From<ApiError> for platform::Problem {
    fn from(err: ApiError) -> Self {
        err.0
    }
}
