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
