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

impl From<CareError> for platform::Problem {
    fn from(err: CareError) -> Self {
        use platform::Problem;
        match err {
            CareError::Validation(errors) => Problem::validation(errors),
            CareError::NotFound(what) => Problem::not_found(what),
            CareError::Forbidden(why) => Problem::forbidden(why),
            CareError::AlreadyVerified => {
                Problem::invalid_transition("The worker is verified already.")
            }
            // A wrong key in configuration: the operator's problem, never the caller's.
            CareError::Unreadable => Problem::internal("a care record could not be decrypted"),
            CareError::Identity(e) => e.into(),
            CareError::Db(e) => e.into(),
        }
    }
}
