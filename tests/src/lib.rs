//! Helpers for the black-box HTTP suite: start the real server on port 0 with a fresh
//! database (SQLite by default; PostgreSQL when `LINLI_TEST_DATABASE_URL` is set) and cache
//! (in-process by default; Redis when `LINLI_TEST_REDIS_URL` is set), and talk to it over HTTP.
//!
//! Every response that passes through [`TestApp::send`] is checked for status 500: a 500 in
//! any test is a bug and fails that test.

pub mod process;

use platform::config::Settings;
use platform::Clock;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;

pub const DEMO_PASSWORD: &str = "linli-demo";

pub fn workspace_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

pub fn config_dir() -> PathBuf {
    workspace_dir().join("config")
}

/// A JWT secret of this test process, shared by the in-process servers and the server
/// processes it starts (so their tokens are good on each other). The public development
/// secret is refused with live WeChat, which several tests use.
pub fn test_jwt_secret() -> &'static str {
    static SECRET: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SECRET.get_or_init(|| format!("linli-test-{}", uuid::Uuid::now_v7().simple()))
}

/// The `test` profile, untouched by the process environment, with this run's JWT secret.
pub fn test_settings() -> Settings {
    Settings::load_with_env(
        &config_dir(),
        "test",
        Some(HashMap::from([(
            "LINLI__AUTH__JWT_SECRET".to_owned(),
            test_jwt_secret().to_owned(),
        )])),
    )
    .expect("test settings load")
}

pub use platform::testing::{fresh_database_url, postgres_admin_url, redis_url};

/// Points `settings` at a fresh database and, when configured, Redis with a unique prefix.
pub async fn isolate(settings: &mut Settings) {
    settings.database.url = platform::Secret::new(fresh_database_url().await);
    settings.database.max_connections = 5;
    settings.redis.url = redis_url().map(platform::Secret::new);
    settings.redis.key_prefix = format!("linli-test:{}:", uuid::Uuid::now_v7().simple());
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub settings: Settings,
    pub clock: Clock,
    pub client: reqwest::Client,
    /// The running app's state: its database pool, for arranging what no endpoint does yet
    /// and for running a round of background jobs.
    pub state: api::state::AppState,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub user_id: String,
    pub roles: Vec<String>,
}

impl Session {
    fn from_login(body: &Value) -> Self {
        Self {
            access_token: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh_token: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
            user_id: body["user"]["id"].as_str().expect("user.id").to_owned(),
            roles: body["user"]["roles"]
                .as_array()
                .expect("user.roles")
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect(),
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the real application on a free port with a fresh database; `tweak` may change the
/// settings first (rate limits, WeChat mode, ...).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    isolate(&mut settings).await;
    tweak(&mut settings);
    start(settings).await
}

/// `TEST_LOG` asks to see what the servers log: `TEST_LOG=1` at `info`, or a filter such as
/// `TEST_LOG=debug,sqlx=warn`. Unset, tests stay quiet and keep their output to failures.
pub fn test_log_filter() -> Option<String> {
    let value = std::env::var("TEST_LOG").ok()?;
    match value.trim() {
        "" | "0" | "false" => None,
        "1" | "true" => Some("info".to_owned()),
        filter => Some(filter.to_owned()),
    }
}

fn show_server_logs_when_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Some(filter) = test_log_filter() {
            api::telemetry::init(&platform::config::LogSettings {
                format: platform::config::LogFormat::Text,
                filter,
                requests: true,
            });
        }
    });
}

/// The application in live WeChat mode against a stand-in WeChat server at `wechat_base_url`
/// (a wiremock server), so the real reqwest client is exercised; `tweak` as for
/// [`spawn_app_with`].
pub async fn spawn_live_app(wechat_base_url: String, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(move |s| {
        s.wechat.mode = platform::config::WechatMode::Live;
        s.wechat.base_url = wechat_base_url;
        s.wechat.app_id = "wx-linli-test".into();
        s.wechat.app_secret = platform::Secret::new("app-secret-for-tests");
        s.wechat.timeout_ms = 2000;
        tweak(s);
    })
    .await
}

/// Starts the application with exactly these settings.
pub async fn start(settings: Settings) -> TestApp {
    show_server_logs_when_asked();
    let clock = Clock::system();
    let app = api::Application::build_with_clock(settings.clone(), clock.clone())
        .await
        .expect("application builds");
    let port = app.port();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        settings,
        clock,
        state,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.client.request(method, self.url(path));
        match token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    /// Sends and fails the test on any 500.
    pub async fn send(&self, request: RequestBuilder) -> Response {
        let response = request.send().await.expect("request reaches the server");
        assert_ne!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server answered 500 to {}",
            response.url()
        );
        response
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(self.request(Method::GET, path, token)).await
    }

    pub async fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send(self.request(Method::POST, path, token).json(body))
            .await
    }

    pub async fn post_with_key(
        &self,
        path: &str,
        body: &Value,
        token: &str,
        key: &str,
    ) -> Response {
        self.send(
            self.request(Method::POST, path, Some(token))
                .header("idempotency-key", key)
                .json(body),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send(self.request(Method::PUT, path, token).json(body))
            .await
    }

    pub async fn login_resident(&self, name: &str) -> Session {
        let response = self
            .post(
                "/api/v1/auth/wechat-login",
                &json!({ "code": format!("dev-{name}") }),
                None,
            )
            .await;
        let body = expect_json(response, StatusCode::OK).await;
        Session::from_login(&body)
    }

    /// A resident who lives in `community` (set through `PUT /me/profile`).
    pub async fn login_neighbour(&self, name: &str, community: &str) -> Session {
        let resident = self.login_resident(name).await;
        self.join_community(&resident, community).await;
        resident
    }

    pub async fn login_staff(&self, username: &str, password: &str) -> Session {
        let response = self
            .post(
                "/api/v1/auth/staff-login",
                &json!({ "username": username, "password": password }),
                None,
            )
            .await;
        let body = expect_json(response, StatusCode::OK).await;
        Session::from_login(&body)
    }

    pub async fn org_tree(&self) -> Value {
        expect_json(self.get("/api/v1/orgs", None).await, StatusCode::OK).await
    }

    /// The path of the org named `name` (e.g. for a job round narrowed to it).
    pub async fn org_path(&self, name: &str) -> String {
        let id = self.org_id(name).await;
        identity::service::orgs::find(&self.state.db, &id)
            .await
            .expect("org read")
            .unwrap_or_else(|| panic!("no org {name}"))
            .path
    }

    /// The id of the org named `name` anywhere in the tree.
    pub async fn org_id(&self, name: &str) -> String {
        find_org(&self.org_tree().await, name).unwrap_or_else(|| panic!("no org named {name}"))
    }
}

/// The id of the org named `name` anywhere in a `GET /api/v1/orgs` tree.
pub fn find_org(nodes: &Value, name: &str) -> Option<String> {
    nodes.as_array()?.iter().find_map(|n| {
        if n["name"] == name {
            n["id"].as_str().map(str::to_owned)
        } else {
            find_org(&n["children"], name)
        }
    })
}

/// Moves the resident holding `token` into `community` through `PUT /me/profile` on the
/// server at `base` (a budget pays its own residents only), for tests that talk to server
/// processes without a [`TestApp`].
pub async fn move_into_community(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    community: &str,
) {
    let tree: Value = client
        .get(format!("{base}/api/v1/orgs"))
        .send()
        .await
        .expect("GET /orgs")
        .json()
        .await
        .expect("the org tree");
    let community_id = find_org(&tree, community).unwrap_or_else(|| panic!("no org {community}"));
    let response = client
        .put(format!("{base}/api/v1/me/profile"))
        .bearer_auth(token)
        .json(&json!({ "community_id": community_id }))
        .send()
        .await
        .expect("PUT /me/profile");
    expect_json(response, StatusCode::OK).await;
}

/// Asserts the status and returns the JSON body.
pub async fn expect_json(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let url = response.url().clone();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "{url} answered {actual}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url} answered non-JSON ({e}): {text}"))
}

/// Asserts an RFC 9457 problem with this status and code; returns the body.
pub async fn expect_problem(response: Response, status: StatusCode, code: &str) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = expect_json(response, status).await;
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "{body}"
    );
    body
}

/// Credits a resident's time-credit wallet straight through the ledger (as the time bank
/// will when it settles an activity), for tests of what residents do with credits.
pub async fn issue_time_credits(db: &sea_orm::DatabaseConnection, user_id: &str, minutes: i64) {
    use points_ledger::service::transfers::{transfer, TransferCode, TransferRequest};
    use points_ledger::{AccountRef, Asset, ExpiryRule};
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.expect("begin");
    transfer(
        &txn,
        TransferRequest {
            idempotency_key: format!("test-issue:{}", uuid::Uuid::now_v7()),
            from: AccountRef::timebank_issuance(),
            to: AccountRef::wallet(Asset::TimeCredits, user_id),
            amount: minutes,
            code: TransferCode::Settlement,
            memo: "志愿服务".to_owned(),
            reference: None,
        },
        ExpiryRule::default(),
        chrono::Utc::now(),
    )
    .await
    .expect("issue time credits");
    txn.commit().await.expect("commit");
}

/// A merchant ready to sell, for tests that start at redemption: an approved merchant in
/// 新华社区 owned by `owner`, with one published offer.
pub struct Shop {
    pub owner_token: String,
    pub merchant_id: String,
    pub offer_id: String,
}

impl TestApp {
    /// An approved merchant in 新华社区 named after its owner, a fresh resident `owner`:
    /// (the owner's token, the merchant's id).
    pub async fn approved_merchant(&self, owner: &str) -> (String, String) {
        let owner_token = self.login_resident(owner).await.access_token;
        let community = self.org_id("新华社区").await;
        let merchant = expect_json(
            self.post(
                "/api/v1/merchants/applications",
                &json!({
                    "name": format!("{owner}的小店"), "category": "生活服务", "license_no": "91140200MA0TEST",
                    "address": "平城区新华街1号", "contact_phone": "13800002222", "community_id": community,
                }),
                Some(&owner_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let merchant_id = merchant["id"].as_str().expect("id").to_owned();
        let staff = self
            .login_staff("community", DEMO_PASSWORD)
            .await
            .access_token;
        expect_json(
            self.post(
                &format!("/api/v1/staff/merchants/{merchant_id}/approve"),
                &json!({}),
                Some(&staff),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        (owner_token, merchant_id)
    }

    pub async fn open_shop(
        &self,
        owner: &str,
        points_price: i64,
        stock: Option<i64>,
        per_user_limit: Option<i64>,
    ) -> Shop {
        let (owner_token, merchant_id) = self.approved_merchant(owner).await;
        let now = chrono::Utc::now();
        let offer = expect_json(
            self.post(
                &format!("/api/v1/merchants/{merchant_id}/offers"),
                &json!({
                    "title": "理发一次", "category": "生活服务", "points_price": points_price, "cash_value_fen": 2000,
                    "stock": stock, "per_user_limit": per_user_limit,
                    "valid_from": (now - chrono::Duration::hours(1)).to_rfc3339(),
                    "valid_until": (now + chrono::Duration::days(60)).to_rfc3339(),
                }),
                Some(&owner_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let offer_id = offer["id"].as_str().expect("id").to_owned();
        expect_json(
            self.post(
                &format!("/api/v1/merchants/{merchant_id}/offers/{offer_id}/publish"),
                &json!({}),
                Some(&owner_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        Shop {
            owner_token,
            merchant_id,
            offer_id,
        }
    }

    /// Awards points from 新华社区's demo budget. A budget pays its own residents only, so a
    /// resident without a community first moves into 新华社区 (through `PUT /me/profile`).
    pub async fn give_points(&self, resident: &Session, points: i64) {
        self.join_community(resident, "新华社区").await;
        let staff = self
            .login_staff("community", DEMO_PASSWORD)
            .await
            .access_token;
        expect_json(
            self.post(
                "/api/v1/staff/points/awards",
                &json!({ "user_id": resident.user_id, "points": points, "reason": "测试积分" }),
                Some(&staff),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }

    /// Sets the resident's community to `community` unless they already have one.
    pub async fn join_community(&self, resident: &Session, community: &str) {
        let me = expect_json(
            self.get("/api/v1/me", Some(&resident.access_token)).await,
            StatusCode::OK,
        )
        .await;
        if me["community_id"].is_null() {
            let community_id = self.org_id(community).await;
            expect_json(
                self.put(
                    "/api/v1/me/profile",
                    &json!({ "community_id": community_id }),
                    Some(&resident.access_token),
                )
                .await,
                StatusCode::OK,
            )
            .await;
        }
    }

    /// `GET /api/v1/me/wallet` of the caller holding `token`.
    pub async fn wallet(&self, token: &str) -> Value {
        expect_json(
            self.get("/api/v1/me/wallet", Some(token)).await,
            StatusCode::OK,
        )
        .await
    }

    /// The balance of the budget of org `org_id`, as staff holding `token` see it.
    pub async fn budget_of(&self, token: &str, org_id: &str) -> i64 {
        let budget = expect_json(
            self.get(&format!("/api/v1/staff/budgets/{org_id}"), Some(token))
                .await,
            StatusCode::OK,
        )
        .await;
        budget["balance"]
            .as_i64()
            .unwrap_or_else(|| panic!("a budget balance: {budget}"))
    }

    /// [`TestApp::budget_of`] the org named `org_name`.
    pub async fn budget_named(&self, token: &str, org_name: &str) -> i64 {
        let org_id = self.org_id(org_name).await;
        self.budget_of(token, &org_id).await
    }

    /// A new staff account of `role` over the org named `org`, created by the district
    /// admin, logged in: its access token.
    pub async fn new_staff(&self, username: &str, role: &str, org: &str) -> String {
        let admin = self.login_staff("admin", DEMO_PASSWORD).await.access_token;
        let org_id = self.org_id(org).await;
        expect_json(
            self.post(
                "/api/v1/admin/staff",
                &json!({ "username": username, "password": "a-good-password", "role": role, "org_id": org_id }),
                Some(&admin),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        self.login_staff(username, "a-good-password")
            .await
            .access_token
    }

    /// The value of one series of `GET /metrics`, named as the text format prints it
    /// (`linli_points_issued_total{source="award"}`); 0 when the series is not there yet.
    pub async fn metric(&self, series: &str) -> f64 {
        let text = self
            .get("/metrics", None)
            .await
            .text()
            .await
            .expect("metrics");
        metric_in(&text, series).unwrap_or(0.0)
    }

    pub async fn assert_ledger_balanced(&self) {
        let report = points_ledger::service::verify::verify(&self.state.db)
            .await
            .expect("verify runs");
        assert!(
            report.balanced,
            "ledger does not verify: {:?}",
            report.mismatches
        );
    }
}

/// The value of `series` in a Prometheus text exposition, if it is there.
pub fn metric_in(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
