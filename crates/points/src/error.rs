use platform::{Code, FieldError, Problem, ValidationErrors};
use points_ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum PointsError {
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("no such {0}")]
    NotFound(&'static str),
    /// A budget pays residents of its own org's subtree, or who attended its activities.
    #[error("the budget does not pay this resident")]
    ResidentOutOfScope,
    #[error("the budget cannot cover it: needed {needed}, available {available}")]
    BudgetExhausted { needed: i64, available: i64 },
    #[error("ledger: {0}")]
    Ledger(LedgerError),
    #[error("identity: {0}")]
    Identity(#[from] identity::IdentityError),
    #[error("time bank: {0}")]
    Timebank(#[from] timebank::TimebankError),
}

impl From<ValidationErrors> for PointsError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<LedgerError> for PointsError {
    fn from(err: LedgerError) -> Self {
        Self::Ledger(err)
    }
}

impl From<sea_orm::DbErr> for PointsError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Ledger(LedgerError::Db(err))
    }
}

impl PointsError {
    /// A transfer out of a budget that ran short: the budget is exhausted (not the
    /// `insufficient_points` of a wallet).
    pub(crate) fn from_budget(err: LedgerError) -> Self {
        match err {
            LedgerError::Insufficient {
                needed, available, ..
            } => Self::BudgetExhausted { needed, available },
            other => Self::Ledger(other),
        }
    }
}

impl From<PointsError> for Problem {
    fn from(err: PointsError) -> Self {
        match err {
            PointsError::Validation(errors) => Problem::validation(errors),
            PointsError::Forbidden(why) => Problem::forbidden(why),
            PointsError::NotFound(what) => Problem::not_found(what),
            PointsError::ResidentOutOfScope => Problem::new(
                Code::ResidentOutOfScope,
                "This budget pays residents of its own community or street, or who attended its activities.",
            )
            .with_errors(vec![FieldError {
                field: "user_id".to_owned(),
                message: "is not a resident of the budget's org and attended none of its activities"
                    .to_owned(),
            }]),
            PointsError::BudgetExhausted { needed, available } => Problem::new(
                Code::BudgetExhausted,
                format!("Needed {needed}, only {available} available."),
            ),
            PointsError::Ledger(e) => e.into(),
            PointsError::Identity(e) => e.into(),
            PointsError::Timebank(e) => e.into(),
        }
    }
}
