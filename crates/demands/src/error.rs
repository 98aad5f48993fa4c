use crate::state_machine::{Action, DemandState, Rejection};
use platform::ValidationErrors;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum DemandError {
    #[error("{0}")]
    Validation(ValidationErrors),
    /// Unknown, or not the caller's to see: the two read the same, so nothing leaks.
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("cannot {} a demand that is {}", action.as_str(), from.as_str())]
    InvalidTransition { action: Action, from: DemandState },
    #[error("the demand was resolved more than 7 days ago and can no longer be reopened")]
    ReopenWindowClosed,
    #[error("the demand changed while this request was handled; reload it")]
    Changed,
    #[error("a category with this name exists")]
    DuplicateCategory,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<ValidationErrors> for DemandError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<Rejection> for DemandError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::InvalidTransition { from, action } => {
                Self::InvalidTransition { action, from }
            }
            Rejection::NotAllowed { .. } => {
                Self::Forbidden("This role may not take this action on a demand.")
            }
            Rejection::ReopenWindowClosed => Self::ReopenWindowClosed,
            // Only jobs auto-close, and they select due demands; treat a race as "not yet".
            Rejection::RatingWindowOpen => Self::Changed,
        }
    }
}

impl From<DemandError> for platform::Problem {
    fn from(err: DemandError) -> Self {
        use platform::{Code, Problem};
        match err {
            DemandError::Validation(errors) => Problem::validation(errors),
            DemandError::NotFound(what) => Problem::not_found(what),
            DemandError::Forbidden(why) => Problem::forbidden(why),
            DemandError::InvalidTransition { action, from } => Problem::invalid_transition(format!(
                "Cannot {} this demand: it is {}.",
                action.as_str(),
                from.as_str()
            )),
            DemandError::ReopenWindowClosed => Problem::invalid_transition(
                "This demand was resolved more than 7 days ago and can no longer be reopened; please file a new one.",
            ),
            DemandError::Changed => Problem::new(
                Code::DemandChanged,
                "The demand changed while this request was handled; reload it and try again.",
            ),
            DemandError::DuplicateCategory => Problem::new(
                Code::CategoryExists,
                "A demand category with this name exists.",
            ),
            DemandError::Db(e) => e.into(),
        }
    }
}
