use platform::ValidationErrors;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum CareError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the worker is verified already")]
    AlreadyVerified,
    #[error("a sealed field could not be opened")]
    Unreadable,
    #[error("the worker is not verified")]
    WorkerUnverified,
    #[error("the offer is not a home service")]
    NotAHomeService,
    #[error("the community's budget cannot pay")]
    BudgetExhausted,
    #[error("cannot {action} an order that is {from}")]
    InvalidTransition {
        action: &'static str,
        from: &'static str,
    },
    #[error("merchant: {0}")]
    Merchant(merchant::MerchantError),
    #[error("ledger: {0}")]
    Ledger(points_ledger::LedgerError),
    #[error("identity: {0}")]
    Identity(#[from] identity::IdentityError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<ValidationErrors> for CareError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<merchant::MerchantError> for CareError {
    fn from(err: merchant::MerchantError) -> Self {
        match err {
            merchant::MerchantError::Db(e) => Self::Db(e),
            other => Self::Merchant(other),
        }
    }
}

impl From<points_ledger::LedgerError> for CareError {
    fn from(err: points_ledger::LedgerError) -> Self {
        match err {
            points_ledger::LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

impl From<CareError> for platform::Problem {
    fn from(err: CareError) -> Self {
        use platform::{Code, Problem};
        match err {
            CareError::Validation(errors) => Problem::validation(errors),
            CareError::NotFound(what) => Problem::not_found(what),
            CareError::Forbidden(why) => Problem::forbidden(why),
            CareError::AlreadyVerified => {
                Problem::invalid_transition("The worker is verified already.")
            }
            // A wrong key in configuration: the operator's problem, never the caller's.
            CareError::Unreadable => Problem::internal("a care record could not be decrypted"),
            CareError::WorkerUnverified => Problem::new(
                Code::WorkerUnverified,
                "Only workers verified by community staff are dispatched.",
            ),
            CareError::NotAHomeService => Problem::new(
                Code::OfferKindMismatch,
                "This offer is not a home service: reserve it instead of ordering it.",
            ),
            CareError::BudgetExhausted => Problem::new(
                Code::BudgetExhausted,
                "The community's public-benefit budget cannot pay for this order.",
            ),
            CareError::InvalidTransition { action, from } => {
                Problem::invalid_transition(format!("Cannot {action} the order: it is {from}."))
            }
            CareError::Merchant(e) => e.into(),
            CareError::Ledger(e) => e.into(),
            CareError::Identity(e) => e.into(),
            CareError::Db(e) => e.into(),
        }
    }
}
