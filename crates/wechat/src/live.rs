use crate::{PhoneNumber, WechatError, WechatSession};
use platform::config::WechatSettings;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Refresh the access token this long before WeChat says it expires.
const TOKEN_EARLY_REFRESH: Duration = Duration::from_secs(300);

/// The HTTP client for the real WeChat API (or a stand-in at `wechat.base_url`).
#[derive(Clone)]
pub struct LiveClient {
    http: reqwest::Client,
    base_url: Arc<str>,
    app_id: Arc<str>,
    app_secret: platform::Secret,
    // One lock both caches the token and makes refreshes single-flight: while one task
    // fetches, the others wait for its result instead of stampeding WeChat.
    access_token: Arc<Mutex<Option<CachedToken>>>,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct ErrorFields {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

impl ErrorFields {
    fn check(self) -> Result<(), WechatError> {
        if self.errcode == 0 {
            Ok(())
        } else {
            Err(WechatError::from_code(self.errcode, self.errmsg))
        }
    }
}

#[derive(Deserialize)]
struct SessionReply {
    #[serde(flatten)]
    error: ErrorFields,
    openid: Option<String>,
    unionid: Option<String>,
    session_key: Option<String>,
}

#[derive(Deserialize)]
struct TokenReply {
    #[serde(flatten)]
    error: ErrorFields,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct PhoneReply {
    #[serde(flatten)]
    error: ErrorFields,
    phone_info: Option<PhoneInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    pure_phone_number: String,
    country_code: String,
}

impl LiveClient {
    pub fn new(settings: &WechatSettings) -> Result<Self, WechatError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_secs(3))
            .user_agent("linli")
            .build()?;
        Ok(Self {
            http,
            base_url: settings.base_url.trim_end_matches('/').into(),
            app_id: settings.app_id.as_str().into(),
            app_secret: settings.app_secret.clone(),
            access_token: Arc::default(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Sends and decodes a reply. WeChat answers errors with HTTP 200 and an `errcode`, which
    /// each reply type checks; a non-2xx status means a proxy or gateway failed.
    async fn send<T: serde::de::DeserializeOwned>(
        request: reqwest::RequestBuilder,
    ) -> Result<T, WechatError> {
        Ok(request.send().await?.error_for_status()?.json().await?)
    }

    pub async fn code_to_session(&self, code: &str) -> Result<WechatSession, WechatError> {
        let reply: SessionReply =
            Self::send(self.http.get(self.url("/sns/jscode2session")).query(&[
                ("appid", &*self.app_id),
                ("secret", self.app_secret.expose()),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ]))
            .await?;
        reply.error.check()?;
        match (reply.openid, reply.session_key) {
            (Some(openid), Some(session_key)) if !openid.is_empty() => Ok(WechatSession {
                openid,
                unionid: reply.unionid,
                session_key,
            }),
            _ => Err(WechatError::BadReply(
                "jscode2session without openid".into(),
            )),
        }
    }

    pub async fn phone_number(&self, code: &str) -> Result<PhoneNumber, WechatError> {
        match self.phone_number_once(code).await {
            Err(e) if e.is_stale_token() => {
                tracing::info!("WeChat rejected the cached access token; refreshing once");
                self.invalidate_access_token().await;
                self.phone_number_once(code).await
            }
            other => other,
        }
    }

    async fn phone_number_once(&self, code: &str) -> Result<PhoneNumber, WechatError> {
        let token = self.access_token().await?;
        let reply: PhoneReply = Self::send(
            self.http
                .post(self.url("/wxa/business/getuserphonenumber"))
                .query(&[("access_token", token.as_str())])
                .json(&serde_json::json!({ "code": code })),
        )
        .await?;
        reply.error.check()?;
        let info = reply
            .phone_info
            .ok_or_else(|| WechatError::BadReply("getuserphonenumber without phone_info".into()))?;
        Ok(PhoneNumber {
            pure_number: info.pure_phone_number,
            country_code: info.country_code,
        })
    }

    /// Sends a subscribe message (`/cgi-bin/message/subscribe/send`); refreshes a rejected
    /// access token once, like [`LiveClient::phone_number`].
    pub async fn send_subscribe_message(
        &self,
        message: &crate::OutgoingMessage<'_>,
    ) -> Result<(), WechatError> {
        match self.send_subscribe_message_once(message).await {
            Err(e) if e.is_stale_token() => {
                self.invalidate_access_token().await;
                self.send_subscribe_message_once(message).await
            }
            other => other,
        }
    }

    async fn send_subscribe_message_once(
        &self,
        message: &crate::OutgoingMessage<'_>,
    ) -> Result<(), WechatError> {
        let token = self.access_token().await?;
        let reply: ErrorFields = Self::send(
            self.http
                .post(self.url("/cgi-bin/message/subscribe/send"))
                .query(&[("access_token", token.as_str())])
                .json(&serde_json::json!({
                    "touser": message.openid,
                    "template_id": message.template_id,
                    "page": message.page,
                    "data": message.data,
                    "miniprogram_state": message.miniprogram_state,
                    "lang": "zh_CN",
                })),
        )
        .await?;
        reply.check()
    }

    /// The cached stable access token, fetched when missing or near expiry.
    pub async fn access_token(&self) -> Result<String, WechatError> {
        let mut cached = self.access_token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.refresh_at > Instant::now()) {
            return Ok(token.value.clone());
        }
        let reply: TokenReply = Self::send(self.http.post(self.url("/cgi-bin/stable_token")).json(
            &serde_json::json!({
                "grant_type": "client_credential",
                "appid": &*self.app_id,
                "secret": self.app_secret.expose(),
                "force_refresh": false,
            }),
        ))
        .await?;
        reply.error.check()?;
        let value = reply
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WechatError::BadReply("stable_token without access_token".into()))?;
        let lifetime = Duration::from_secs(reply.expires_in.unwrap_or(7200));
        *cached = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(TOKEN_EARLY_REFRESH),
        });
        Ok(value)
    }

    pub async fn invalidate_access_token(&self) {
        *self.access_token.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::config::WechatMode;
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client_for(server: &MockServer) -> LiveClient {
        LiveClient::new(&WechatSettings {
            mode: WechatMode::Live,
            base_url: server.uri(),
            app_id: "wx-test".into(),
            app_secret: platform::Secret::new("app-secret"),
            timeout_ms: 2000,
            demand_status_template_id: "tmpl-demand".into(),
            home_service_status_template_id: String::new(),
            miniprogram_state: "formal".into(),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_token_fetch() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/cgi-bin/stable_token"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_delay(Duration::from_millis(100))
                    .set_body_json(
                        serde_json::json!({"access_token": "TOKEN-1", "expires_in": 7200}),
                    ),
            )
            .expect(1)
            .mount(&server)
            .await;
        let client = client_for(&server);
        // Collected, so that all eight are running before the first is awaited.
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let c = client.clone();
                tokio::spawn(async move { c.access_token().await })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().unwrap(), "TOKEN-1");
        }
    }

    #[tokio::test]
    async fn a_stale_token_is_refreshed_and_the_call_retried_once() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/cgi-bin/stable_token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"access_token": "TOKEN", "expires_in": 7200}),
                ),
            )
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/wxa/business/getuserphonenumber"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"errcode": 40001, "errmsg": "invalid credential"}),
            ))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/wxa/business/getuserphonenumber"))
            .and(query_param("access_token", "TOKEN"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "errcode": 0, "errmsg": "ok",
                "phone_info": {"phoneNumber": "13900001111", "purePhoneNumber": "13900001111", "countryCode": "86"}
            })))
            .mount(&server)
            .await;
        let phone = client_for(&server)
            .phone_number("phone-code")
            .await
            .unwrap();
        assert_eq!(phone.pure_number, "13900001111");
    }

    #[tokio::test]
    async fn error_codes_map_to_their_meaning() {
        for (code, check) in [
            (
                40029,
                (|e: &WechatError| matches!(e, WechatError::InvalidCode))
                    as fn(&WechatError) -> bool,
            ),
            (45011, |e| matches!(e, WechatError::RateLimited)),
            (40226, |e| matches!(e, WechatError::UserBlocked)),
            (-1, |e| matches!(e, WechatError::Busy)),
            (40013, |e| {
                matches!(e, WechatError::Api { errcode: 40013, .. })
            }),
        ] {
            let server = MockServer::start().await;
            Mock::given(method("GET"))
                .and(path("/sns/jscode2session"))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(serde_json::json!({"errcode": code, "errmsg": "x"})),
                )
                .mount(&server)
                .await;
            let err = client_for(&server).code_to_session("c").await.unwrap_err();
            assert!(check(&err), "{code} gave {err:?}");
        }
    }
}
