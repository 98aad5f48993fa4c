//! What went wrong, as every context reports it: a stable [`Code`] from one list, the
//! [`Kind`] of failure it is, a sentence for people and, for field errors, which fields.
//!
//! Each context turns its own error enum into a [`Problem`] (`impl From<XError> for
//! Problem`), choosing the code; `api` turns the kind into an HTTP status in one place. A
//! client switches on the code, so a code is never renamed and always carries one status;
//! `api`'s tests check that every code below is documented in the OpenAPI document with it.

use crate::validation::{FieldError, ValidationErrors};
use sea_orm::DbErr;

/// The kinds of failure; each is one HTTP status (`api::error::status_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The request could not be read (400).
    Malformed,
    /// No valid credentials (401).
    Unauthenticated,
    /// The caller's role or scope does not reach (403).
    Forbidden,
    /// No such object, or not one the caller may see (404).
    NotFound,
    /// Not allowed on this resource (405).
    MethodNotAllowed,
    /// The state of things forbids it now: a transition, a balance, a slot (409).
    Conflict,
    /// It existed and is gone for good (410).
    Gone,
    /// The body is too large (413).
    TooLarge,
    /// Not JSON (415).
    UnsupportedMediaType,
    /// Readable but invalid: fields, rules on values, a reused key (422).
    Invalid,
    /// Too many requests (429).
    RateLimited,
    /// Our fault (500); the cause is logged, never shown.
    Internal,
    /// A service we call answered badly (502).
    Upstream,
    /// Try again shortly (503).
    Unavailable,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal => $kind:ident,)*) => {
        /// Every problem code the API answers with, and its kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// The whole list, for the documentation test.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The snake_case name clients switch on.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            pub const fn kind(self) -> Kind {
                match self {
                    $(Code::$variant => Kind::$kind,)*
                }
            }
        }
    };
}

codes! {
    // The boundary: requests that cannot be read.
    BadRequest = "bad_request" => Malformed,
    MalformedJson = "malformed_json" => Malformed,
    InvalidBody = "invalid_body" => Malformed,
    InvalidPath = "invalid_path" => Malformed,
    InvalidQuery = "invalid_query" => Malformed,
    PayloadTooLarge = "payload_too_large" => TooLarge,
    UnsupportedMediaType = "unsupported_media_type" => UnsupportedMediaType,
    MethodNotAllowed = "method_not_allowed" => MethodNotAllowed,
    ValidationFailed = "validation_failed" => Invalid,
    IdempotencyKeyReused = "idempotency_key_reused" => Invalid,
    RateLimited = "rate_limited" => RateLimited,

    // Identity: who is calling.
    TokenMissing = "token_missing" => Unauthenticated,
    TokenInvalid = "token_invalid" => Unauthenticated,
    TokenExpired = "token_expired" => Unauthenticated,
    TokenRevoked = "token_revoked" => Unauthenticated,
    AccountDisabled = "account_disabled" => Unauthenticated,
    RefreshTokenInvalid = "refresh_token_invalid" => Unauthenticated,
    RefreshTokenReused = "refresh_token_reused" => Unauthenticated,
    InvalidCredentials = "invalid_credentials" => Unauthenticated,
    UsernameTaken = "username_taken" => Conflict,
    Forbidden = "forbidden" => Forbidden,
    NotFound = "not_found" => NotFound,

    // WeChat.
    WechatCodeInvalid = "wechat_code_invalid" => Unauthenticated,
    /// The code of `getPhoneNumber` is invalid or used (the login code is another).
    PhoneCodeInvalid = "phone_code_invalid" => Invalid,
    WechatRateLimited = "wechat_rate_limited" => RateLimited,
    WechatUserBlocked = "wechat_user_blocked" => Forbidden,
    WechatBusy = "wechat_busy" => Unavailable,
    WechatUnavailable = "wechat_unavailable" => Upstream,

    // Shared by the contexts.
    /// The object is in a state where this action does not apply.
    InvalidTransition = "invalid_transition" => Conflict,
    /// Someone else changed the object meanwhile; reload and retry.
    Conflict = "conflict" => Conflict,
    InsufficientPoints = "insufficient_points" => Conflict,
    InsufficientTimeCredits = "insufficient_time_credits" => Conflict,
    BudgetExhausted = "budget_exhausted" => Conflict,
    ResidentOutOfScope = "resident_out_of_scope" => Invalid,

    // Merchants and redemptions.
    OutOfStock = "out_of_stock" => Conflict,
    PerUserLimitReached = "per_user_limit_reached" => Conflict,
    OfferUnavailable = "offer_unavailable" => Gone,
    /// A home service reserved like a service, or a service ordered like a home service.
    OfferKindMismatch = "offer_kind_mismatch" => Conflict,
    CodeInvalid = "code_invalid" => NotFound,

    // Demands.
    DemandChanged = "demand_changed" => Conflict,
    CategoryExists = "category_exists" => Conflict,

    // Partners.
    /// Agreeing on a project before the partner's owner accepted it.
    PartnerAcceptanceRequired = "partner_acceptance_required" => Conflict,
    /// A second evaluation of a project for the same period.
    EvaluationExists = "evaluation_exists" => Conflict,
    /// The space is taken (an approved booking overlaps) for that time.
    SpaceUnavailable = "space_unavailable" => Conflict,

    // Care and home services.
    /// Dispatching a worker that community staff have not verified.
    WorkerUnverified = "worker_unverified" => Conflict,

    // Time bank.
    ActivityFull = "activity_full" => Conflict,
    ActivityStarted = "activity_started" => Conflict,
    ActivityNotEnded = "activity_not_ended" => Conflict,
    ActivityCancelled = "activity_cancelled" => Conflict,
    CommunityConfirmationRequired = "community_confirmation_required" => Forbidden,
    CheckInClosed = "check_in_closed" => Conflict,
    CheckCodeInvalid = "check_code_invalid" => Invalid,
    NotSignedUp = "not_signed_up" => Conflict,
    AlreadyCheckedIn = "already_checked_in" => Conflict,
    NotCheckedIn = "not_checked_in" => Conflict,
    AlreadyCheckedOut = "already_checked_out" => Conflict,

    // Parking.
    OutsideOpenHours = "outside_open_hours" => Invalid,
    InvalidPlate = "invalid_plate" => Invalid,
    NoSlotAvailable = "no_slot_available" => Conflict,
    UnpaidOverstay = "unpaid_overstay" => Conflict,
    OutsideCheckInWindow = "outside_check_in_window" => Conflict,
    GateSignatureInvalid = "gate_signature_invalid" => Unauthenticated,
    GateEventStale = "gate_event_stale" => Unauthenticated,

    // Operations.
    NotReady = "not_ready" => Unavailable,
    DatabaseUnavailable = "database_unavailable" => Unavailable,
    InternalError = "internal_error" => Internal,
}

/// One failure, ready to be rendered: the code, a sentence for people, the invalid fields,
/// when to retry, and (for our own faults) the cause for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after_seconds: Option<u64>,
    /// Logged in full, never shown to the client.
    pub cause: Option<String>,
    /// The database refused this work only to let a concurrent transaction through (a
    /// deadlock victim, a serialisation failure, a lock wait that timed out): nothing of it
    /// was kept, and running the same work again may succeed. The group-commit writer does
    /// that itself before answering.
    pub lost_race: bool,
}

/// For logs: the code, the sentence and, for our own faults, the cause.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)?;
        match &self.cause {
            Some(cause) => write!(f, " (cause: {cause})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Problem {}

impl Problem {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_seconds: None,
            cause: None,
            lost_race: false,
        }
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, why)
    }

    /// `what` is the kind of object, e.g. "merchant".
    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("No such {what}."))
    }

    pub fn invalid_transition(detail: impl Into<String>) -> Self {
        Self::new(Code::InvalidTransition, detail)
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        Self {
            errors: errors.0,
            ..Self::new(
                Code::ValidationFailed,
                "Some fields are invalid; see errors.",
            )
        }
    }

    pub fn idempotency_key_reused() -> Self {
        Self::new(
            Code::IdempotencyKeyReused,
            "This Idempotency-Key was already used with a different request.",
        )
    }

    /// Our own fault: a generic sentence for the client, the cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self {
            cause: Some(cause.to_string()),
            ..Self::new(
                Code::InternalError,
                "Something went wrong on our side. It has been logged; please try again later.",
            )
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_seconds = Some(seconds.max(1));
        self
    }

    pub fn kind(&self) -> Kind {
        self.code.kind()
    }
}

impl From<ValidationErrors> for Problem {
    fn from(errors: ValidationErrors) -> Self {
        Self::validation(errors)
    }
}

impl From<DbErr> for Problem {
    fn from(err: DbErr) -> Self {
        match err {
            other if crate::db::is_statement_timeout(&other) => Self::new(
                Code::DatabaseUnavailable,
                "The database is too slow to answer now; please retry shortly.",
            )
            .with_cause(other)
            .retry_after(2),
            other if crate::db::is_connection_lost(&other) => Self::new(
                Code::DatabaseUnavailable,
                "The database is busy or unreachable; please retry shortly.",
            )
            .with_cause(other)
            .retry_after(2),
            // A race the use case did not foresee lost to a concurrent request: the client
            // can reload and retry; it is not our failure.
            other
                if crate::db::violation(&other).is_some_and(|v| {
                    matches!(
                        v.kind,
                        crate::db::ViolationKind::Unique | crate::db::ViolationKind::Exclusion
                    )
                }) =>
            {
                Self::new(
                    Code::Conflict,
                    "A concurrent request changed this first; reload and try again.",
                )
                .with_cause(other)
            }
            // PostgreSQL chose this transaction to break a deadlock (or a serialisation
            // failure, or its lock wait timed out): nothing of it was kept, and the same
            // request can simply be sent again.
            other if crate::db::is_transient(&other) => Self {
                lost_race: true,
                ..Self::new(
                    Code::Conflict,
                    "A concurrent request held what this one needed; please retry.",
                )
                .with_cause(other)
                .retry_after(1)
            },
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_names() {
        let mut seen = HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} is listed twice");
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name} is not snake_case"
            );
        }
    }

    #[test]
    fn a_lost_connection_is_unavailable_and_other_database_errors_are_ours() {
        let busy = Problem::from(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout));
        assert_eq!(busy.code, Code::DatabaseUnavailable);
        assert_eq!(busy.retry_after_seconds, Some(2));
        let lost = Problem::from(DbErr::Conn(sea_orm::RuntimeErr::Internal(
            "connection reset".into(),
        )));
        assert_eq!(lost.code, Code::DatabaseUnavailable);
        let broken = Problem::from(DbErr::Custom("boom".into()));
        assert_eq!(broken.code, Code::InternalError);
        assert_eq!(broken.cause.as_deref(), Some("Custom Error: boom"));
        assert!(!broken.detail.contains("boom"));
    }
}
