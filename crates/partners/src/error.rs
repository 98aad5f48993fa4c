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
    #[error("identity: {0}")]
    Identity(#[from] identity::IdentityError),
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
            PartnerError::Identity(e) => e.into(),
            PartnerError::Db(e) => e.into(),
        }
    }
}
