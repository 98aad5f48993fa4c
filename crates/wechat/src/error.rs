/// What can go wrong talking to WeChat, with the error codes Linli treats specially.
#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    /// 40029 (invalid code), 40163 (code already used), or a fake-mode code not `dev-...`.
    #[error("the WeChat code is invalid or already used")]
    InvalidCode,
    /// 45011: the user hit WeChat's frequency limit.
    #[error("WeChat rate limit reached")]
    RateLimited,
    /// 40226: WeChat has blocked this user as high-risk.
    #[error("WeChat blocked this user")]
    UserBlocked,
    /// -1: WeChat says it is busy; worth retrying later.
    #[error("WeChat is busy")]
    Busy,
    /// Any other error code.
    #[error("WeChat error {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    /// The request's URL is stripped: jscode2session carries the app secret and the
    /// resident's `js_code` in its query, subscribe messages the access token.
    #[error("cannot reach WeChat: {0}")]
    Transport(reqwest::Error),
    #[error("unexpected reply from WeChat: {0}")]
    BadReply(String),
}

impl From<reqwest::Error> for WechatError {
    fn from(err: reqwest::Error) -> Self {
        Self::Transport(err.without_url())
    }
}

impl WechatError {
    /// Maps a non-zero `errcode` from any WeChat endpoint.
    pub fn from_code(errcode: i64, errmsg: String) -> Self {
        match errcode {
            40029 | 40163 => Self::InvalidCode,
            45011 => Self::RateLimited,
            40226 => Self::UserBlocked,
            -1 => Self::Busy,
            _ => Self::Api { errcode, errmsg },
        }
    }

    /// WeChat's `errcode` as text, or `network` / `bad_reply` when WeChat gave none: a
    /// short, bounded label for counting failures by cause.
    pub fn code(&self) -> String {
        match self {
            Self::InvalidCode => "40029".to_owned(),
            Self::RateLimited => "45011".to_owned(),
            Self::UserBlocked => "40226".to_owned(),
            Self::Busy => "-1".to_owned(),
            Self::Api { errcode, .. } => errcode.to_string(),
            Self::Transport(_) => "network".to_owned(),
            Self::BadReply(_) => "bad_reply".to_owned(),
        }
    }

    /// 43101: the user has not allowed (or has used up) this subscribe message.
    pub fn is_no_subscription_quota(&self) -> bool {
        matches!(self, Self::Api { errcode: 43101, .. })
    }

    /// Worth retrying later: WeChat busy, or it could not be reached.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Busy | Self::Transport(_) | Self::RateLimited)
    }

    /// The access token was rejected (40001 invalid, 42001 expired): refresh and retry once.
    pub(crate) fn is_stale_token(&self) -> bool {
        matches!(
            self,
            Self::Api {
                errcode: 40001 | 42001,
                ..
            }
        )
    }
}

impl From<WechatError> for platform::Problem {
    fn from(err: WechatError) -> Self {
        use platform::{Code, Problem};
        match err {
            WechatError::InvalidCode => Problem::new(
                Code::WechatCodeInvalid,
                "The WeChat login code is invalid or was already used; call wx.login() again.",
            ),
            WechatError::RateLimited => Problem::new(
                Code::WechatRateLimited,
                "WeChat is limiting requests for this user; try again in a minute.",
            )
            .retry_after(60),
            WechatError::UserBlocked => Problem::new(
                Code::WechatUserBlocked,
                "WeChat has blocked this account as high-risk.",
            ),
            WechatError::Busy => Problem::new(
                Code::WechatBusy,
                "WeChat is busy; please retry in a few seconds.",
            )
            .with_cause("WeChat errcode -1")
            .retry_after(3),
            other => Problem::new(
                Code::WechatUnavailable,
                "WeChat could not be reached or answered unexpectedly; please retry.",
            )
            .with_cause(other),
        }
    }
}
