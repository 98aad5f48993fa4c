use platform::ValidationErrors;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum MerchantError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("cannot {action} a merchant that is {from}")]
    InvalidTransition {
        action: &'static str,
        from: &'static str,
    },
    #[error("insufficient points: needed {needed}, available {available}")]
    InsufficientPoints { needed: i64, available: i64 },
    #[error("the offer is out of stock")]
    OutOfStock,
    #[error("the per-resident limit of this offer is reached")]
    PerUserLimitReached,
    #[error("the offer is not available")]
    OfferUnavailable,
    #[error("a home service is ordered, not reserved")]
    HomeServiceOrderedNotReserved,
    #[error("the code is invalid, used or expired")]
    CodeInvalid,
    #[error("ledger: {0}")]
    Ledger(points_ledger::LedgerError),
    #[error("identity: {0}")]
    Identity(#[from] identity::IdentityError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<ValidationErrors> for MerchantError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<points_ledger::LedgerError> for MerchantError {
    fn from(err: points_ledger::LedgerError) -> Self {
        match err {
            points_ledger::LedgerError::Insufficient {
                needed, available, ..
            } => Self::InsufficientPoints { needed, available },
            points_ledger::LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

impl From<MerchantError> for platform::Problem {
    fn from(err: MerchantError) -> Self {
        use platform::{Code, Problem};
        match err {
            MerchantError::Validation(errors) => Problem::validation(errors),
            MerchantError::NotFound(what) => Problem::not_found(what),
            MerchantError::Forbidden(why) => Problem::forbidden(why),
            MerchantError::InvalidTransition { action, from } => {
                Problem::invalid_transition(format!("Cannot {action} it: it is {from}."))
            }
            MerchantError::InsufficientPoints { needed, available } => Problem::new(
                Code::InsufficientPoints,
                format!("Needs {needed} points; {available} available."),
            ),
            MerchantError::OutOfStock => Problem::new(Code::OutOfStock, "This offer is sold out."),
            MerchantError::PerUserLimitReached => Problem::new(
                Code::PerUserLimitReached,
                "You have reached this offer's limit per resident.",
            ),
            MerchantError::OfferUnavailable => Problem::new(
                Code::OfferUnavailable,
                "This offer is no longer available.",
            ),
            MerchantError::HomeServiceOrderedNotReserved => Problem::new(
                Code::OfferKindMismatch,
                "This is a home service: order it (POST /api/v1/home-services/orders) instead of reserving it.",
            ),
            MerchantError::CodeInvalid => Problem::new(
                Code::CodeInvalid,
                "This code is not valid here: unknown, already used, expired, or for another merchant.",
            ),
            MerchantError::Ledger(e) => e.into(),
            MerchantError::Identity(e) => e.into(),
            MerchantError::Db(e) => e.into(),
        }
    }
}
