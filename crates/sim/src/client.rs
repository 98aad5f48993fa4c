//! Talking to Linli as the mini-program and the dashboard do: real tokens (refreshed when the
//! simulated clock has run past them), Idempotency-Keys, problem+json codes; every request
//! timed by operation, and every answer the generator did not expect kept as a surprise.

use platform::Clock;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How a caller logs in again when their refresh token no longer works (it lapsed, or a
/// change of their roles revoked it).
#[derive(Debug, Clone)]
pub enum Login {
    /// The fake WeChat name (`dev-<name>`).
    Wechat(String),
    /// A staff username (the simulator's staff share one password).
    Staff(String, String),
}

/// A logged-in caller and when (in simulated time) their access token runs out.
#[derive(Debug, Clone)]
pub struct Session {
    pub login: Login,
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// How a request ended.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> Option<&str> {
        self.body["code"].as_str()
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_owned()
    }
}

/// Latencies (µs) and outcomes of one operation.
#[derive(Debug, Clone, Default)]
pub struct OperationStats {
    pub micros: Vec<u64>,
    /// By status and problem code, e.g. `201` or `409 code_invalid`.
    pub outcomes: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Log {
    operations: BTreeMap<&'static str, OperationStats>,
    surprises: Vec<String>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    clock: Clock,
    log: Arc<Mutex<Log>>,
}

impl Client {
    pub fn new(base: String, clock: Clock) -> anyhow::Result<Self> {
        // A kept-alive connection is dropped after 4 idle seconds, before the server's own
        // 5-second keep-alive ends it: reusing one the server is closing at that moment
        // fails the request ("error sending request"; twice in a year's 673,000 requests).
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .pool_idle_timeout(std::time::Duration::from_secs(4))
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base,
            clock,
            log: Arc::default(),
        })
    }

    /// The same caller talking to another of the process's servers (a shard's), on its
    /// clock; requests are timed into the same log.
    pub fn door(&self, base: String, clock: Clock) -> Self {
        Self {
            http: self.http.clone(),
            base,
            clock,
            log: self.log.clone(),
        }
    }

    /// One request, timed under `operation`.
    pub async fn send(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                Answer {
                    status,
                    body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                }
            }
            Err(e) => Answer {
                status: 0,
                body: Value::String(e.to_string()),
            },
        };
        self.record(operation, &answer, started);
        answer
    }

    /// A JSON POST with a token and no key, the shape of most of what people do.
    pub async fn post(
        &self,
        operation: &'static str,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Answer {
        self.send(operation, Method::POST, path, Some(token), Some(body), None)
            .await
    }

    /// A gate event: the raw body as signed, with its signature header.
    pub async fn gate_event(&self, body: &str, signature: &str) -> Answer {
        let started = Instant::now();
        let sent = self
            .http
            .post(format!("{}/api/v1/parking/gate-events", self.base))
            .header("content-type", "application/json")
            .header("x-linli-signature", signature)
            .body(body.to_owned())
            .send()
            .await;
        let answer = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                Answer {
                    status,
                    body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
                }
            }
            Err(e) => Answer {
                status: 0,
                body: Value::String(e.to_string()),
            },
        };
        self.record("parking.gate", &answer, started);
        answer
    }

    fn record(&self, operation: &'static str, answer: &Answer, started: Instant) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let outcome = match answer.code() {
            Some(code) if answer.status >= 400 => format!("{} {code}", answer.status),
            _ => answer.status.to_string(),
        };
        if let Ok(mut log) = self.log.lock() {
            let stats = log.operations.entry(operation).or_default();
            stats.micros.push(micros);
            *stats.outcomes.entry(outcome).or_default() += 1;
        }
    }

    /// Notes an answer that is not the one the generator knows is right.
    pub fn surprise(&self, what: String) {
        if let Ok(mut log) = self.log.lock() {
            log.surprises.push(what);
        }
    }

    /// Checks the status (and, for refusals, the problem code); a surprise otherwise.
    pub fn expect(
        &self,
        operation: &str,
        answer: &Answer,
        status: u16,
        code: Option<&str>,
    ) -> bool {
        let ok = answer.status == status && (code.is_none() || answer.code() == code);
        if !ok {
            let body = answer.body.to_string();
            let body: String = body.chars().take(300).collect();
            self.surprise(format!(
                "{operation}: expected {status}{}, got {} {body}",
                code.map(|c| format!(" {c}")).unwrap_or_default(),
                answer.status
            ));
        }
        ok
    }

    pub fn surprises(&self) -> Vec<String> {
        self.log
            .lock()
            .map(|l| l.surprises.clone())
            .unwrap_or_default()
    }

    pub fn operations(&self) -> BTreeMap<&'static str, OperationStats> {
        self.log
            .lock()
            .map(|l| l.operations.clone())
            .unwrap_or_default()
    }

    fn session_from(&self, login: Login, answer: &Answer) -> Option<Session> {
        let b = &answer.body;
        Some(Session {
            login,
            user_id: b["user"]["id"].as_str()?.to_owned(),
            access_token: b["access_token"].as_str()?.to_owned(),
            refresh_token: b["refresh_token"].as_str()?.to_owned(),
            expires_at: self.clock.now() + chrono::Duration::seconds(b["expires_in"].as_i64()?),
        })
    }

    /// A resident's WeChat login in fake mode (`dev-<name>`).
    pub async fn wechat_login(&self, name: &str) -> anyhow::Result<Session> {
        let body = json!({ "code": format!("dev-{name}") });
        let answer = self
            .send(
                "login.wechat",
                Method::POST,
                "/api/v1/auth/wechat-login",
                None,
                Some(&body),
                None,
            )
            .await;
        self.session_from(Login::Wechat(name.to_owned()), &answer)
            .ok_or_else(|| {
                anyhow::anyhow!("WeChat login of {name}: {} {}", answer.status, answer.body)
            })
    }

    pub async fn staff_login(&self, username: &str, password: &str) -> anyhow::Result<Session> {
        let body = json!({ "username": username, "password": password });
        let answer = self
            .send(
                "login.staff",
                Method::POST,
                "/api/v1/auth/staff-login",
                None,
                Some(&body),
                None,
            )
            .await;
        self.session_from(
            Login::Staff(username.to_owned(), password.to_owned()),
            &answer,
        )
        .ok_or_else(|| {
            anyhow::anyhow!(
                "staff login of {username}: {} {}",
                answer.status,
                answer.body
            )
        })
    }

    /// A new session of the same caller.
    pub async fn login(&self, login: &Login) -> anyhow::Result<Session> {
        match login {
            Login::Wechat(name) => self.wechat_login(name).await,
            Login::Staff(username, password) => self.staff_login(username, password).await,
        }
    }

    /// The session's access token, refreshed first when the simulated clock has passed it,
    /// or a new login when the refresh token no longer works.
    pub async fn fresh(&self, session: &mut Session) -> anyhow::Result<String> {
        if self.clock.now() + chrono::Duration::seconds(30) < session.expires_at {
            return Ok(session.access_token.clone());
        }
        let body = json!({ "refresh_token": session.refresh_token });
        let answer = self
            .send(
                "login.refresh",
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(&body),
                None,
            )
            .await;
        *session = match self.session_from(session.login.clone(), &answer) {
            Some(renewed) => renewed,
            None if answer.status == 401 => self.login(&session.login.clone()).await?,
            None => anyhow::bail!(
                "refreshing {}: {} {}",
                session.user_id,
                answer.status,
                answer.body
            ),
        };
        Ok(session.access_token.clone())
    }
}
