use platform::ValidationErrors;
use sea_orm::DbErr;
use wechat::WechatError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Wechat(#[from] WechatError),
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("the access token is invalid")]
    TokenInvalid,
    #[error("the access token has expired")]
    TokenExpired,
    #[error("the access token has been revoked")]
    TokenRevoked,
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("the refresh token is invalid, expired or revoked")]
    RefreshTokenInvalid,
    #[error("the refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Validation(ValidationErrors),
    #[error("the username is already taken")]
    UsernameTaken,
    #[error("database: {0}")]
    Db(#[from] DbErr),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<ValidationErrors> for IdentityError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(errors)
    }
}

impl From<IdentityError> for platform::Problem {
    fn from(err: IdentityError) -> Self {
        use platform::{Code, Problem};
        match err {
            IdentityError::Wechat(e) => e.into(),
            IdentityError::InvalidCredentials => {
                Problem::new(Code::InvalidCredentials, "Wrong username or password.")
            }
            IdentityError::TokenInvalid => {
                Problem::new(Code::TokenInvalid, "The access token is invalid.")
            }
            IdentityError::TokenExpired => Problem::new(
                Code::TokenExpired,
                "The access token has expired; use the refresh token.",
            ),
            IdentityError::TokenRevoked => {
                Problem::new(Code::TokenRevoked, "This session has ended; log in again.")
            }
            IdentityError::AccountDisabled => Problem::new(
                Code::AccountDisabled,
                "This staff account has been disabled; ask your administrator.",
            ),
            IdentityError::RefreshTokenInvalid => Problem::new(
                Code::RefreshTokenInvalid,
                "The refresh token is invalid, expired or revoked; log in again.",
            ),
            IdentityError::RefreshTokenReused => Problem::new(
                Code::RefreshTokenReused,
                "This refresh token was already used; the session has been ended for safety. Log in again.",
            ),
            IdentityError::Forbidden(why) => Problem::forbidden(why),
            IdentityError::NotFound(what) => Problem::not_found(what),
            IdentityError::Validation(errors) => Problem::validation(errors),
            IdentityError::UsernameTaken => {
                Problem::new(Code::UsernameTaken, "That username is already taken.")
            }
            IdentityError::Db(e) => e.into(),
            IdentityError::Internal(cause) => Problem::internal(cause),
        }
    }
}
