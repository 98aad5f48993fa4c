//! WeChat subscribe messages for demand updates: queued in the outbox only when the resident
//! allowed one, delivered by the sender through the real reqwest client to a local stand-in
//! of WeChat, retried with backoff on -1, recorded and never retried on 43101.

use chrono::Duration;
use linli_tests::{
    expect_json, expect_problem, spawn_app_with, spawn_live_app, TestApp, DEMO_PASSWORD,
};
use platform::config::WechatMode;
use reqwest::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SEND: &str = "/cgi-bin/message/subscribe/send";

async fn wechat_stand_in() -> MockServer {
    let server = MockServer::start().await;
    for name in ["alice", "bob"] {
        Mock::given(method("GET"))
            .and(path("/sns/jscode2session"))
            .and(query_param("js_code", format!("dev-{name}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"openid": format!("o-{name}"), "session_key": "sk"})),
            )
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "TOKEN", "expires_in": 7200})),
        )
        .mount(&server)
        .await;
    server
}

async fn live_app(wechat: &MockServer) -> TestApp {
    spawn_live_app(wechat.uri(), |s| {
        s.wechat.demand_status_template_id = "tmpl-demand-status".into();
    })
    .await
}

async fn sends(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == SEND)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn staff_act(app: &TestApp, token: &str, id: &str, action: &str, body: Value) {
    let path = format!("/api/v1/staff/demands/{id}/{action}");
    expect_json(app.post(&path, &body, Some(token)).await, StatusCode::OK).await;
}

#[tokio::test]
async fn allowed_updates_reach_wechat_with_retries_and_refusals_are_recorded() {
    let wechat = wechat_stand_in().await;
    // First send: WeChat busy; second: delivered; after that: the user has no quota.
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": -1, "errmsg": "system busy"})),
        )
        .up_to_n_times(1)
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "errmsg": "ok"})),
        )
        .up_to_n_times(1)
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"errcode": 43101, "errmsg": "user refuse to accept the msg"}),
            ),
        )
        .mount(&wechat)
        .await;
    let app = live_app(&wechat).await;
    let alice = app.login_resident("alice").await;
    let community = app.login_staff("community", DEMO_PASSWORD).await;

    expect_problem(
        app.post(
            "/api/v1/me/subscriptions",
            &json!({"kind": "marketing"}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    for expected in [1, 2] {
        let allowed = expect_json(
            app.post(
                "/api/v1/me/subscriptions",
                &json!({"kind": "demand_status"}),
                Some(&alice.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(allowed["remaining"], expected);
    }

    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let created = expect_json(
        app.post(
            "/api/v1/demands",
            &json!({
                "category_id": categories[0]["id"], "title": "小区门口路面塌陷",
                "description": "有安全隐患", "community_id": app.org_id("新华社区").await,
            }),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap();
    assert!(
        sends(&wechat).await.is_empty(),
        "filing tells the resident nothing"
    );

    // Accepted: queued; the first attempt meets "busy" and waits its backoff.
    staff_act(&app, &community.access_token, id, "accept", json!({})).await;
    let round = api::jobs::run_once(&app.state).await.unwrap().messages;
    assert_eq!((round.sent, round.retried), (0, 1));
    let round = api::jobs::run_once(&app.state).await.unwrap().messages;
    assert_eq!(
        round,
        api::outbox::DeliveryReport::default(),
        "not due again yet"
    );
    app.clock.advance(Duration::seconds(31));
    let round = api::jobs::run_once(&app.state).await.unwrap().messages;
    assert_eq!(round.sent, 1);

    // Started: queued with the last allowance; WeChat refuses (43101); recorded, not retried.
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    staff_act(&app, &community.access_token, id, "start", json!({})).await;
    let round = api::jobs::run_once(&app.state).await.unwrap().messages;
    assert_eq!(round.refused, 1);
    app.clock.advance(Duration::hours(3));
    let round = api::jobs::run_once(&app.state).await.unwrap().messages;
    assert_eq!(round, api::outbox::DeliveryReport::default());

    // Resolved: no allowance left, so no message, but the in-app notification is there.
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    staff_act(
        &app,
        &community.access_token,
        id,
        "resolve",
        json!({"resolution": "已修补路面"}),
    )
    .await;
    api::jobs::run_once(&app.state).await.unwrap();

    let rows = platform::outbox::for_user(&app.state.db, &alice.user_id)
        .await
        .unwrap();
    let summary: Vec<(&str, i32)> = rows
        .iter()
        .map(|r| (r.status.as_str(), r.attempts))
        .collect();
    assert_eq!(summary, [("sent", 2), ("refused", 1)]);
    assert!(rows[1]
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("43101"));

    let delivered = sends(&wechat).await;
    assert_eq!(
        delivered.len(),
        3,
        "busy, delivered, refused: {delivered:?}"
    );
    for (outcome, code) in [("retried", "-1"), ("sent", "0"), ("refused", "43101")] {
        let series = format!(r#"linli_outbox_messages_total{{code="{code}",outcome="{outcome}"}}"#);
        assert_eq!(app.metric(&series).await, 1.0, "{series}");
    }
    let message = &delivered[1];
    assert_eq!(message["touser"], "o-alice");
    assert_eq!(message["template_id"], "tmpl-demand-status");
    assert_eq!(message["data"]["phrase2"]["value"], "已受理");
    assert_eq!(message["data"]["thing1"]["value"], "小区门口路面塌陷");
    assert!(message["page"].as_str().unwrap().contains(id));
    assert_eq!(delivered[2]["data"]["phrase2"]["value"], "处理中");

    let alice = app.login_resident("alice").await;
    let list = expect_json(
        app.get("/api/v1/me/subscriptions", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        list["items"],
        json!([
            {"kind": "demand_status", "remaining": 0},
            {"kind": "home_service_status", "remaining": 0}
        ])
    );
    let notes = expect_json(
        app.get("/api/v1/me/notifications", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    let titles: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["诉求已办结", "诉求处理中", "诉求已受理"]);
}

#[tokio::test]
async fn without_an_allowance_or_a_template_nothing_is_sent() {
    let wechat = wechat_stand_in().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errcode": 0})))
        .mount(&wechat)
        .await;
    let base_url = wechat.uri();
    // No template configured: an allowed message is recorded as failed, not sent.
    let app = spawn_app_with(move |s| {
        s.wechat.mode = WechatMode::Live;
        s.wechat.base_url = base_url;
        s.wechat.app_id = "wx-linli-test".into();
        s.wechat.app_secret = platform::Secret::new("app-secret-for-tests");
    })
    .await;
    let alice = app.login_resident("alice").await;
    let bob = app.login_resident("bob").await;
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    expect_json(
        app.post(
            "/api/v1/me/subscriptions",
            &json!({"kind": "demand_status"}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    for who in [&alice, &bob] {
        let created = expect_json(
            app.post(
                "/api/v1/demands",
                &json!({"category_id": categories[0]["id"], "title": "t", "description": "d", "community_id": app.org_id("新华社区").await}),
                Some(&who.access_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        staff_act(
            &app,
            &community.access_token,
            created["id"].as_str().unwrap(),
            "accept",
            json!({}),
        )
        .await;
    }
    let round = api::jobs::run_once(&app.state).await.unwrap().messages;
    assert_eq!((round.sent, round.failed), (0, 1));
    assert!(
        platform::outbox::for_user(&app.state.db, &bob.user_id)
            .await
            .unwrap()
            .is_empty(),
        "bob allowed nothing"
    );
    let rows = platform::outbox::for_user(&app.state.db, &alice.user_id)
        .await
        .unwrap();
    assert_eq!(rows[0].status, "failed");
    assert!(rows[0].last_error.as_deref().unwrap().contains("template"));
    assert!(sends(&wechat).await.is_empty());
}

/// Many senders claiming at the same moment (separate connections on PostgreSQL) share out
/// the due messages: each is claimed by exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_take_each_message_once() {
    use platform::outbox::{claim_due, enqueue_if_allowed, grant, SubscribeMessage};
    let app = linli_tests::spawn_app().await;
    let db = app.state.db.clone();
    let now = app.clock.now();
    let mut queued = 0;
    for user in 0..20 {
        let user_id = format!("user-{user}");
        for n in 0..10 {
            grant(&db, &user_id, "demand_status", now).await.unwrap();
            let message = SubscribeMessage {
                user_id: &user_id,
                kind: "demand_status",
                page: format!("pages/demands/detail?id={user}-{n}"),
                data: json!({}),
            };
            assert!(enqueue_if_allowed(&db, message, now).await.unwrap());
            queued += 1;
        }
    }
    // Open the pool's connections first, so the claimers start together.
    let warm: Vec<_> = (0..app.settings.database.max_connections)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { sea_orm::TransactionTrait::begin(&db).await.map(drop) })
        })
        .collect();
    for task in warm {
        task.await.unwrap().unwrap();
    }
    let claimers = (0..8)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                claim_due(&db, now, Duration::seconds(60), 500)
                    .await
                    .unwrap()
            })
        })
        // Spawned all at once, before any is awaited.
        .collect::<Vec<_>>();
    let mut claimed: Vec<String> = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap().into_iter().map(|c| c.page));
    }
    assert_eq!(claimed.len(), queued, "every message claimed once");
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), queued, "no message claimed twice");
    // While leased, nobody else gets them.
    assert!(claim_due(&db, now, Duration::seconds(60), 500)
        .await
        .unwrap()
        .is_empty());
}
