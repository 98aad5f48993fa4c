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
