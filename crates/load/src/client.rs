//! Talking to Linli as the mini-program and the dashboard do, timing every measured request.

use anyhow::{bail, Context};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One measured request: what it was, how it ended, how long it took.
#[derive(Debug, Clone)]
pub struct Sample {
    pub operation: &'static str,
    /// The HTTP status, or 0 when no answer came (connection refused, timed out).
    pub status: u16,
    /// The problem+json `code` of a refusal.
    pub code: Option<String>,
    pub micros: u64,
}

/// Every sample of a run, from every virtual user.
#[derive(Clone, Default)]
pub struct Recorder {
    samples: Arc<Mutex<Vec<Sample>>>,
}

impl Recorder {
    pub fn record(&self, sample: Sample) {
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(sample);
        }
    }

    pub fn take(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .map(|mut samples| std::mem::take(&mut *samples))
            .unwrap_or_default()
    }
}

/// An HTTP client over the fleet's instances, taking them in turn (a load balancer's
/// round robin).
#[derive(Clone)]
pub struct Linli {
    http: reqwest::Client,
    bases: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    recorder: Recorder,
}

/// A logged-in caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub token: String,
}

impl Linli {
    pub fn new(urls: &[String], connections: usize, recorder: Recorder) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            bases: Arc::new(urls.iter().map(|u| format!("{u}/api/v1")).collect()),
            next: Arc::new(AtomicUsize::new(0)),
            recorder,
        })
    }

    fn base(&self) -> &str {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        &self.bases[n % self.bases.len()]
    }

    /// Sends a request and returns its status and JSON body; `measured` names the operation
    /// when the request counts towards the run's figures (setup requests do not).
    pub async fn call(
        &self,
        measured: Option<&'static str>,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        self.send(measured, request).await
    }

    pub async fn get(&self, op: &'static str, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(Some(op), reqwest::Method::GET, path, token, None, None)
            .await
    }

    pub async fn post(
        &self,
        op: &'static str,
        path: &str,
        token: Option<&str>,
        body: &Value,
        key: Option<&str>,
    ) -> (u16, Value) {
        self.call(
            Some(op),
            reqwest::Method::POST,
            path,
            token,
            Some(body),
            key,
        )
        .await
    }

    /// A POST raw body with extra headers (the signed gate webhook).
    pub async fn post_raw(
        &self,
        op: &'static str,
        path: &str,
        body: String,
        headers: &[(&str, String)],
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base()))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        self.send(Some(op), request).await
    }

    /// Sends `request` and returns its status (0 when no answer came) and JSON body,
    /// recording it as `measured` when that names an operation.
    async fn send(
        &self,
        measured: Option<&'static str>,
        request: reqwest::RequestBuilder,
    ) -> (u16, Value) {
        let begun = Instant::now();
        let (status, value) = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap_or_default();
                let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                (status, value)
            }
            Err(_) => (0, Value::Null),
        };
        if let Some(operation) = measured {
            self.recorder.record(Sample {
                operation,
                status,
                code: (status >= 300)
                    .then(|| value["code"].as_str().map(str::to_owned))
                    .flatten(),
                micros: begun.elapsed().as_micros() as u64,
            });
        }
        (status, value)
    }

    /// A setup request that must succeed with `expected`.
    pub async fn setup(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expected: u16,
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(None, method, path, token, body, None).await;
        if status != expected {
            bail!("setup {path}: expected {expected}, got {status} {value}");
        }
        Ok(value)
    }

    pub async fn staff_login(&self, username: &str, password: &str) -> anyhow::Result<Session> {
        let body = json!({"username": username, "password": password});
        let login = self
            .setup(
                reqwest::Method::POST,
                "/auth/staff-login",
                None,
                Some(&body),
                200,
            )
            .await?;
        session(&login)
    }

    /// A resident, through the fake WeChat login every non-production server offers.
    pub async fn resident(&self, name: &str) -> anyhow::Result<Session> {
        let body = json!({"code": format!("dev-{name}")});
        let login = self
            .setup(
                reqwest::Method::POST,
                "/auth/wechat-login",
                None,
                Some(&body),
                200,
            )
            .await?;
        session(&login)
    }

    /// A resident (as [`Linli::resident`]) who has set `community` as their home.
    pub async fn resident_in(&self, name: &str, community: &str) -> anyhow::Result<Session> {
        let resident = self.resident(name).await?;
        let profile = json!({"community_id": community});
        self.setup(
            reqwest::Method::PUT,
            "/me/profile",
            Some(&resident.token),
            Some(&profile),
            200,
        )
        .await?;
        Ok(resident)
    }
}

fn session(login: &Value) -> anyhow::Result<Session> {
    Ok(Session {
        user_id: login["user"]["id"].as_str().context("user id")?.to_owned(),
        token: login["access_token"].as_str().context("token")?.to_owned(),
    })
}
