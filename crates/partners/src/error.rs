use platform::ValidationErrors;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("cannot {action} it: it is {from}")]
    InvalidTransition { action: &'static str, from: String },
    #[error("the partner has not accepted the project yet")]
    AwaitingPartner,
    #[error("the project was already evaluated for {0}")]
    EvaluationExists(String),
    #[error("the budget lacks {needed} points ({available} available)")]
    BudgetExhausted { needed: i64, available: i64 },
    #[error("an approved booking of the space overlaps")]
    SpaceUnavailable,
    #[error("outside the space's opening hours")]
    OutsideOpenHours,
    #[error("insufficient points: needed {needed}, available {available}")]
    InsufficientPoints { needed: i64, available: i64 },
    #[error("ledger: {0}")]
    Ledger(points_ledger::LedgerError),
    #[error("identity: {0}")]
    Identity(#[from] identity::IdentityError),
    #[error("merchant: {0}")]
    Merchant(#[from] ::merchant::MerchantError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<ValidationErrors> for PartnerError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<PartnerError> for platform::Problem {
    fn from(err: PartnerError) -> Self {
        use platform::Problem;
        match err {
            PartnerError::Validation(errors) => Problem::validation(errors),
            PartnerError::NotFound(what) => Problem::not_found(what),
            PartnerError::Forbidden(why) => Problem::forbidden(why),
            PartnerError::InvalidTransition { action, from } => {
                Problem::invalid_transition(format!("Cannot {action} it: it is {from}."))
            }
            PartnerError::AwaitingPartner => Problem::new(
                platform::Code::PartnerAcceptanceRequired,
                "The partner's owner must accept the project before it is agreed.",
            ),
            PartnerError::EvaluationExists(period) => Problem::new(
                platform::Code::EvaluationExists,
                format!("The project already has an evaluation for {period}."),
            ),
            PartnerError::BudgetExhausted { needed, available } => Problem::new(
                platform::Code::BudgetExhausted,
                format!("The budget needs {needed} points; {available} available."),
            ),
            PartnerError::SpaceUnavailable => Problem::new(
                platform::Code::SpaceUnavailable,
                "The space is already booked for part of that time.",
            ),
            PartnerError::OutsideOpenHours => Problem::new(
                platform::Code::OutsideOpenHours,
                "The space is not open for the whole of that time.",
            ),
            PartnerError::InsufficientPoints { needed, available } => Problem::new(
                platform::Code::InsufficientPoints,
                format!("Needs {needed} points; {available} available."),
            ),
            PartnerError::Ledger(e) => e.into(),
            PartnerError::Identity(e) => e.into(),
            PartnerError::Merchant(e) => e.into(),
            PartnerError::Db(e) => e.into(),
        }
    }
}

impl From<points_ledger::LedgerError> for PartnerError {
    fn from(err: points_ledger::LedgerError) -> Self {
        match err {
            points_ledger::LedgerError::Insufficient {
                needed, available, ..
            } => Self::BudgetExhausted { needed, available },
            points_ledger::LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}
