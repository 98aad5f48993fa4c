//! WeChat mini-program server API, as Linli uses it: `jscode2session` for login, the stable
//! access token, `getuserphonenumber` and subscribe messages. `Live` talks HTTP (reqwest) to `wechat.base_url`;
//! `Fake` is for development and tests and accepts `dev-<name>` codes.
//!
//! The `session_key` WeChat returns stays inside this crate's callers on the server: it is
//! never serialised into a response.

mod error;
mod live;

pub use error::WechatError;
pub use live::LiveClient;

use platform::config::{WechatMode, WechatSettings};

/// Who a login code belongs to.
#[derive(Clone)]
pub struct WechatSession {
    pub openid: String,
    pub unionid: Option<String>,
    /// Needed only to decrypt legacy encrypted data; kept server-side.
    pub session_key: String,
}

impl std::fmt::Debug for WechatSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatSession")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .field("session_key", &"[redacted]")
            .finish()
    }
}

/// A phone number as WeChat reports it from `getPhoneNumber`.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// Without country code, e.g. `13800000000`.
    pub pure_number: String,
    pub country_code: String,
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneNumber([redacted])")
    }
}

/// A subscribe message ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingMessage<'a> {
    pub openid: &'a str,
    pub template_id: &'a str,
    pub page: &'a str,
    /// The template's `{key: {value}}` object.
    pub data: &'a serde_json::Value,
    /// `formal`, `trial` or `developer`: which build of the mini-program the message opens.
    pub miniprogram_state: &'a str,
}

#[derive(Clone)]
pub enum WechatClient {
    Live(LiveClient),
    Fake,
}

impl WechatClient {
    pub fn from_settings(settings: &WechatSettings) -> Result<Self, WechatError> {
        match settings.mode {
            WechatMode::Live => Ok(Self::Live(LiveClient::new(settings)?)),
            WechatMode::Fake => Ok(Self::Fake),
        }
    }

    /// Exchanges a `wx.login()` code for the user's openid.
    pub async fn code_to_session(&self, code: &str) -> Result<WechatSession, WechatError> {
        match self {
            Self::Live(client) => client.code_to_session(code).await,
            Self::Fake => fake_session(code),
        }
    }

    /// Sends a subscribe message. Fake mode sends nothing and reports success.
    pub async fn send_subscribe_message(
        &self,
        message: &OutgoingMessage<'_>,
    ) -> Result<(), WechatError> {
        match self {
            Self::Live(client) => client.send_subscribe_message(message).await,
            Self::Fake => {
                tracing::debug!(
                    openid = message.openid,
                    template = message.template_id,
                    "fake WeChat: subscribe message not sent"
                );
                Ok(())
            }
        }
    }

    /// Exchanges a `getPhoneNumber` button code for the user's phone number.
    pub async fn phone_number(&self, code: &str) -> Result<PhoneNumber, WechatError> {
        match self {
            Self::Live(client) => client.phone_number(code).await,
            Self::Fake => fake_phone(code),
        }
    }
}

/// `dev-<name>` → openid `fake-<name>`; anything else is an invalid code.
fn fake_session(code: &str) -> Result<WechatSession, WechatError> {
    let name = code
        .strip_prefix("dev-")
        .filter(|n| !n.is_empty() && n.len() <= 64)
        .ok_or(WechatError::InvalidCode)?;
    Ok(WechatSession {
        openid: format!("fake-{name}"),
        unionid: None,
        session_key: "fake-session-key".to_owned(),
    })
}

/// `dev-13800000000` → that number; anything else is an invalid code.
fn fake_phone(code: &str) -> Result<PhoneNumber, WechatError> {
    let number = code
        .strip_prefix("dev-")
        .filter(|n| n.len() == 11 && n.starts_with('1') && n.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(WechatError::InvalidCode)?;
    Ok(PhoneNumber {
        pure_number: number.to_owned(),
        country_code: "86".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fake_login_maps_dev_codes_to_fake_openids() {
        let s = WechatClient::Fake
            .code_to_session("dev-alice")
            .await
            .unwrap();
        assert_eq!(s.openid, "fake-alice");
        assert!(matches!(
            WechatClient::Fake.code_to_session("alice").await,
            Err(WechatError::InvalidCode)
        ));
        assert!(matches!(
            WechatClient::Fake.code_to_session("dev-").await,
            Err(WechatError::InvalidCode)
        ));
    }

    #[tokio::test]
    async fn fake_phone_accepts_only_mainland_mobile_numbers() {
        let p = WechatClient::Fake
            .phone_number("dev-13800000000")
            .await
            .unwrap();
        assert_eq!(p.pure_number, "13800000000");
        for bad in [
            "13800000000",
            "dev-1380000000",
            "dev-23800000000",
            "dev-1380000000x",
        ] {
            assert!(WechatClient::Fake.phone_number(bad).await.is_err(), "{bad}");
        }
    }

    #[test]
    fn session_key_is_not_in_debug_output() {
        let s = WechatSession {
            openid: "o".into(),
            unionid: None,
            session_key: "SECRETKEY".into(),
        };
        assert!(!format!("{s:?}").contains("SECRETKEY"));
    }
}
