//! Two API instances (separate operating-system processes) sharing one database and, when
//! configured, one Redis: what one revokes, the other refuses.

use futures_util::future::join_all;
use linli_tests::process::{spawn_server_process, ServerProcess};
use linli_tests::{expect_json, expect_problem, fresh_database_url, redis_url};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;

#[tokio::test]
async fn a_token_revoked_through_one_instance_is_refused_by_another() {
    let mut env = HashMap::new();
    env.insert(
        "LINLI__DATABASE__URL".to_owned(),
        fresh_database_url().await,
    );
    env.insert(
        "LINLI__REDIS__KEY_PREFIX".to_owned(),
        format!("linli-test:{}:", uuid::Uuid::now_v7().simple()),
    );
    let shared_redis = redis_url();
    if let Some(url) = &shared_redis {
        env.insert("LINLI__REDIS__URL".to_owned(), url.clone());
    }
    let first = spawn_server_process(linli_tests::server_binary!(), &env).await;
    let second = spawn_server_process(linli_tests::server_binary!(), &env).await;
    assert_ne!(first.address, second.address);
    let client = reqwest::Client::new();

    let login = client
        .post(format!("{}/api/v1/auth/wechat-login", first.address))
        .json(&json!({ "code": "dev-alice" }))
        .send()
        .await
        .unwrap();
    let login = expect_json(login, StatusCode::OK).await;
    let token = login["access_token"].as_str().unwrap();
    let me = |address: &str| {
        client
            .get(format!("{address}/api/v1/me"))
            .bearer_auth(token)
            .send()
    };

    if shared_redis.is_some() {
        // The second instance has seen (and cached) the session as active before the logout.
        expect_json(me(&second.address).await.unwrap(), StatusCode::OK).await;
    }
    expect_json(me(&first.address).await.unwrap(), StatusCode::OK).await;
    let logout = client
        .post(format!("{}/api/v1/auth/logout", first.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    expect_problem(
        me(&second.address).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    expect_problem(
        me(&first.address).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    let refresh = client
        .post(format!("{}/api/v1/auth/refresh", second.address))
        .json(&json!({ "refresh_token": login["refresh_token"] }))
        .send()
        .await
        .unwrap();
    expect_problem(refresh, StatusCode::UNAUTHORIZED, "refresh_token_invalid").await;
}

/// Two API instances on one PostgreSQL database, hammered at once: no double spend, one
/// transfer per idempotency key, and the books balance. (SQLite is the single-instance
/// embedded mode, so without PostgreSQL the same hammer runs against one process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_hammered_at_once_never_double_spend() {
    let database_url = fresh_database_url().await;
    let env = shared_env(&database_url, &[]);
    let (_instances, addresses) = start_instances(&env).await;
    let client = reqwest::Client::new();
    let login = |address: String, body: serde_json::Value, path: &'static str| {
        let client = client.clone();
        async move {
            let response = client
                .post(format!("{address}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            expect_json(response, StatusCode::OK).await
        }
    };
    let alice = login(
        addresses[0].clone(),
        json!({ "code": "dev-alice" }),
        "/api/v1/auth/wechat-login",
    )
    .await;
    let mum = login(
        addresses[0].clone(),
        json!({ "code": "dev-mum" }),
        "/api/v1/auth/wechat-login",
    )
    .await;
    let community = login(
        addresses[0].clone(),
        json!({ "username": "community", "password": linli_tests::DEMO_PASSWORD }),
        "/api/v1/auth/staff-login",
    )
    .await;
    let alice_id = alice["user"]["id"].as_str().unwrap().to_owned();
    let alice_token = alice["access_token"].as_str().unwrap().to_owned();
    let staff_token = community["access_token"].as_str().unwrap().to_owned();

    linli_tests::move_into_community(&client, &addresses[0], &alice_token, "新华社区").await;
    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    linli_tests::issue_time_credits(&db, &alice_id, 250).await;

    // 100 gifts of 10 minutes from 250, spread over the instances, all at once.
    let gift = json!({ "to_user_id": mum["user"]["id"], "minutes": 10 });
    let gifts = (0..100).map(|i| {
        let request = client
            .post(format!(
                "{}/api/v1/me/time-credits/transfers",
                addresses[i % addresses.len()]
            ))
            .bearer_auth(&alice_token)
            .json(&gift);
        async move { request.send().await.unwrap().status() }
    });
    // Meanwhile, one award retried 30 times with one key, on both instances.
    let award = json!({ "user_id": alice_id, "points": 10, "reason": "重试" });
    let awards = (0..30).map(|i| {
        let request = client
            .post(format!(
                "{}/api/v1/staff/points/awards",
                addresses[i % addresses.len()]
            ))
            .bearer_auth(&staff_token)
            .header("idempotency-key", "one-award")
            .json(&award);
        async move { request.send().await.unwrap().status() }
    });
    let (gift_statuses, award_statuses) = tokio::join!(join_all(gifts), join_all(awards));
    assert_eq!(
        gift_statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        25,
        "{gift_statuses:?}"
    );
    assert_eq!(
        gift_statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        75,
        "{gift_statuses:?}"
    );
    assert!(
        award_statuses.iter().all(|s| *s == StatusCode::CREATED),
        "{award_statuses:?}"
    );

    let wallet = client
        .get(format!(
            "{}/api/v1/me/wallet",
            addresses[addresses.len() - 1]
        ))
        .bearer_auth(&alice_token)
        .send()
        .await
        .unwrap();
    let wallet = expect_json(wallet, StatusCode::OK).await;
    assert_eq!(wallet["time_credits"]["balance_minutes"], 0);
    assert_eq!(
        wallet["points"]["balance"], 10,
        "the retried award posted once"
    );

    let report = points_ledger::service::verify::verify(&db).await.unwrap();
    assert!(report.balanced, "{:?}", report.mismatches);
}

/// 50 verifies of one redemption code at once, spread over two API instances on one
/// PostgreSQL database (one instance on SQLite): exactly one redeems.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_verifies_of_one_code_across_instances_redeem_once() {
    let database_url = fresh_database_url().await;
    let env = shared_env(
        &database_url,
        &[
            (
                "LINLI__MERCHANT__VERIFY_FAILURES_PER_STAFF_PER_MINUTE",
                "1000",
            ),
            (
                "LINLI__MERCHANT__VERIFY_FAILURES_PER_MERCHANT_PER_MINUTE",
                "1000",
            ),
        ],
    );
    let (_instances, addresses) = start_instances(&env).await;
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method,
                address: &str,
                path: &str,
                token: Option<&str>,
                body: serde_json::Value| {
        let mut request = client
            .request(method, format!("{address}{path}"))
            .json(&body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    let a = &addresses[0];
    let owner = expect_json(
        call(
            reqwest::Method::POST,
            a,
            "/api/v1/auth/wechat-login",
            None,
            json!({ "code": "dev-owner" }),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let owner_token = owner["access_token"].as_str().unwrap().to_owned();
    let staff = expect_json(
        call(
            reqwest::Method::POST,
            a,
            "/api/v1/auth/staff-login",
            None,
            json!({ "username": "community", "password": linli_tests::DEMO_PASSWORD }),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let staff_token = staff["access_token"].as_str().unwrap().to_owned();
    let orgs = expect_json(
        call(reqwest::Method::GET, a, "/api/v1/orgs", None, json!(null))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let community = orgs[0]["children"][0]["children"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let merchant = expect_json(
        call(reqwest::Method::POST, a, "/api/v1/merchants/applications", Some(&owner_token), json!({
            "name": "并发小店", "category": "生活服务", "license_no": "L1", "address": "新华街", "contact_phone": "13800003333", "community_id": community
        }))
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let merchant_id = merchant["id"].as_str().unwrap().to_owned();
    expect_json(
        call(
            reqwest::Method::POST,
            a,
            &format!("/api/v1/staff/merchants/{merchant_id}/approve"),
            Some(&staff_token),
            json!({}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let now = chrono::Utc::now();
    let offer = expect_json(
        call(reqwest::Method::POST, a, &format!("/api/v1/merchants/{merchant_id}/offers"), Some(&owner_token), json!({
            "title": "一次服务", "category": "生活服务", "points_price": 50, "cash_value_fen": 500,
            "valid_from": (now - chrono::Duration::hours(1)).to_rfc3339(), "valid_until": (now + chrono::Duration::days(1)).to_rfc3339()
        }))
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    expect_json(
        call(
            reqwest::Method::POST,
            a,
            &format!("/api/v1/merchants/{merchant_id}/offers/{offer_id}/publish"),
            Some(&owner_token),
            json!({}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;

    let alice = expect_json(
        call(
            reqwest::Method::POST,
            a,
            "/api/v1/auth/wechat-login",
            None,
            json!({ "code": "dev-alice" }),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let alice_token = alice["access_token"].as_str().unwrap().to_owned();
    linli_tests::move_into_community(&client, a, &alice_token, "新华社区").await;
    expect_json(
        call(
            reqwest::Method::POST,
            a,
            "/api/v1/staff/points/awards",
            Some(&staff_token),
            json!({ "user_id": alice["user"]["id"], "points": 100, "reason": "并发测试" }),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let reserved = expect_json(
        call(
            reqwest::Method::POST,
            a,
            &format!("/api/v1/offers/{offer_id}/redemptions"),
            Some(&alice_token),
            json!({}),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let code = expect_json(
        call(
            reqwest::Method::POST,
            a,
            &format!(
                "/api/v1/redemptions/{}/code",
                reserved["id"].as_str().unwrap()
            ),
            Some(&alice_token),
            json!({}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;

    let verifies = (0..50).map(|i| {
        call(
            reqwest::Method::POST,
            &addresses[i % addresses.len()],
            &format!("/api/v1/merchants/{merchant_id}/redemptions/verify"),
            Some(&owner_token),
            json!({ "code": code["code"] }),
        )
    });
    let statuses: Vec<StatusCode> = join_all(verifies)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NOT_FOUND)
            .count(),
        49,
        "{statuses:?}"
    );

    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    let report = points_ledger::service::verify::verify(&db).await.unwrap();
    assert!(report.balanced, "{:?}", report.mismatches);
    let wallet = expect_json(
        call(
            reqwest::Method::GET,
            a,
            "/api/v1/me/wallet",
            Some(&alice_token),
            json!(null),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(wallet["points"]["balance"], 50);
}

/// Settings for server processes sharing one fresh database (and Redis when configured),
/// with login limits out of the way and `extra` on top.
fn shared_env(database_url: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env = HashMap::new();
    env.insert("LINLI__DATABASE__URL".to_owned(), database_url.to_owned());
    env.insert(
        "LINLI__REDIS__KEY_PREFIX".to_owned(),
        format!("linli-test:{}:", uuid::Uuid::now_v7().simple()),
    );
    env.insert(
        "LINLI__RATE_LIMIT__LOGIN_PER_IP_PER_MINUTE".to_owned(),
        "10000".to_owned(),
    );
    if let Some(url) = redis_url() {
        env.insert("LINLI__REDIS__URL".to_owned(), url);
    }
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    env
}

/// Two instances on PostgreSQL; one on SQLite, the single-instance embedded mode. The
/// processes live as long as the returned handles.
async fn start_instances(env: &HashMap<String, String>) -> (Vec<ServerProcess>, Vec<String>) {
    let count = if linli_tests::postgres_admin_url().is_some() {
        2
    } else {
        1
    };
    let mut processes = Vec::new();
    for _ in 0..count {
        processes.push(spawn_server_process(linli_tests::server_binary!(), env).await);
    }
    let addresses = processes.iter().map(|p| p.address.clone()).collect();
    (processes, addresses)
}

/// Two instances both running the WeChat sender every second against one outbox: each queued
/// subscribe message reaches WeChat exactly once. (One instance on SQLite.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_senders_deliver_each_subscribe_message_once() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let wechat = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"openid": "o-alice", "session_key": "k"})),
        )
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "T", "expires_in": 7200})),
        )
        .mount(&wechat)
        .await;
    // Slow enough that both senders are busy at the same time.
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/subscribe/send"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(std::time::Duration::from_millis(150))
                .set_body_json(json!({"errcode": 0, "errmsg": "ok"})),
        )
        .mount(&wechat)
        .await;
    let database_url = fresh_database_url().await;
    let base_url = wechat.uri();
    let env = shared_env(
        &database_url,
        &[
            ("LINLI__JOBS__ENABLED", "true"),
            ("LINLI__JOBS__INTERVAL_SECONDS", "1"),
            ("LINLI__WECHAT__MODE", "live"),
            ("LINLI__WECHAT__BASE_URL", &base_url),
            ("LINLI__WECHAT__APP_ID", "wx-linli-test"),
            ("LINLI__WECHAT__APP_SECRET", "app-secret-for-tests"),
            (
                "LINLI__WECHAT__DEMAND_STATUS_TEMPLATE_ID",
                "tmpl-demand-status",
            ),
        ],
    );
    let (_instances, addresses) = start_instances(&env).await;
    let client = reqwest::Client::new();
    let post = |address: &str, path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(format!("{address}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let first = addresses[0].as_str();
    let alice = expect_json(
        post(
            first,
            "/api/v1/auth/wechat-login",
            None,
            json!({"code": "dev-alice"}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let alice_token = alice["access_token"].as_str().unwrap().to_owned();
    let staff = expect_json(
        post(
            first,
            "/api/v1/auth/staff-login",
            None,
            json!({"username": "community", "password": linli_tests::DEMO_PASSWORD}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let staff_token = staff["access_token"].as_str().unwrap().to_owned();
    let categories: serde_json::Value = client
        .get(format!("{first}/api/v1/demand-categories"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let orgs: serde_json::Value = client
        .get(format!("{first}/api/v1/orgs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let community_id = linli_tests::find_org(&orgs, "新华社区").expect("新华社区 is in the tree");

    const MESSAGES: usize = 12;
    for i in 0..MESSAGES {
        let address = addresses[i % addresses.len()].as_str();
        expect_json(
            post(
                address,
                "/api/v1/me/subscriptions",
                Some(&alice_token),
                json!({"kind": "demand_status"}),
            )
            .await
            .unwrap(),
            StatusCode::OK,
        )
        .await;
        let created = expect_json(
            post(
                address,
                "/api/v1/demands",
                Some(&alice_token),
                json!({"category_id": categories[0]["id"], "title": format!("诉求{i}"), "description": "d", "community_id": community_id}),
            )
            .await
            .unwrap(),
            StatusCode::CREATED,
        )
        .await;
        let id = created["id"].as_str().unwrap();
        expect_json(
            post(
                address,
                &format!("/api/v1/staff/demands/{id}/accept"),
                Some(&staff_token),
                json!({}),
            )
            .await
            .unwrap(),
            StatusCode::OK,
        )
        .await;
    }

    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    let alice_id = alice["user"]["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let rows = platform::outbox::for_user(&db, alice_id).await.unwrap();
        if rows.len() == MESSAGES && rows.iter().all(|r| r.status == "sent") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not all delivered: {rows:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // A few more rounds on both instances: nothing goes out again.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let sends: Vec<serde_json::Value> = wechat
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/cgi-bin/message/subscribe/send")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let mut pages: Vec<&str> = sends.iter().map(|s| s["page"].as_str().unwrap()).collect();
    assert_eq!(pages.len(), MESSAGES, "each message sent once");
    pages.sort();
    pages.dedup();
    assert_eq!(pages.len(), MESSAGES, "no demand's message twice");
}

/// Settlements of one activity sent at once to two instances on one PostgreSQL: every
/// attendee is paid exactly once and the books balance. (One instance on SQLite.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_settlements_across_instances_pay_each_attendee_once() {
    use sea_orm::{ActiveModelTrait, Set};
    let database_url = fresh_database_url().await;
    let env = shared_env(&database_url, &[]);
    let (_instances, addresses) = start_instances(&env).await;
    let client = reqwest::Client::new();
    let first = addresses[0].as_str();
    let login = |path: &'static str, body: serde_json::Value| {
        let request = client.post(format!("{first}{path}")).json(&body);
        async move { expect_json(request.send().await.unwrap(), StatusCode::OK).await }
    };
    let staff = login(
        "/api/v1/auth/staff-login",
        json!({"username": "community", "password": linli_tests::DEMO_PASSWORD}),
    )
    .await;
    let staff_token = staff["access_token"].as_str().unwrap().to_owned();
    let orgs: serde_json::Value = client
        .get(format!("{first}/api/v1/orgs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let community = linli_tests::find_org(&orgs, "新华社区").unwrap();
    // An activity that took place this morning; its attendance is written straight to the
    // database, as no endpoint signs anyone up for the past.
    let now = chrono::Utc::now();
    let activity = expect_json(
        client
            .post(format!("{first}/api/v1/staff/activities"))
            .bearer_auth(&staff_token)
            .json(&json!({
                "title": "清扫楼道", "kind": "volunteer", "org_id": community, "location": "3号楼",
                "starts_at": now - chrono::Duration::hours(3), "ends_at": now - chrono::Duration::hours(2),
                "capacity": 20, "points_per_hour": 6, "time_credits": true,
            }))
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let activity_id = activity["id"].as_str().unwrap().to_owned();
    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    let mut attendees = Vec::new();
    for i in 0..10 {
        let resident = login(
            "/api/v1/auth/wechat-login",
            json!({"code": format!("dev-helper{i}")}),
        )
        .await;
        let user_id = resident["user"]["id"].as_str().unwrap().to_owned();
        timebank::entity::signup::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            activity_id: Set(activity_id.clone()),
            user_id: Set(user_id.clone()),
            status: Set(timebank::SignupStatus::Confirmed),
            created_at: Set(now - chrono::Duration::days(1)),
            updated_at: Set(now - chrono::Duration::days(1)),
            checked_in_at: Set(Some(now - chrono::Duration::hours(3))),
            checked_out_at: Set(Some(now - chrono::Duration::hours(2))),
            check_out_note: Set(None),
            settled_at: Set(None),
            settled_minutes: Set(None),
            settled_points: Set(None),
        }
        .insert(&db)
        .await
        .unwrap();
        attendees.push((
            user_id,
            resident["access_token"].as_str().unwrap().to_owned(),
        ));
    }

    let settles = (0..16).map(|i| {
        let request = client
            .post(format!(
                "{}/api/v1/staff/activities/{activity_id}/settle",
                addresses[i % addresses.len()]
            ))
            .bearer_auth(&staff_token)
            .json(&json!({}));
        async move { request.send().await.unwrap() }
    });
    let mut paid = 0;
    for reply in join_all(settles).await {
        paid += expect_json(reply, StatusCode::OK).await["paid"]
            .as_array()
            .unwrap()
            .len();
    }
    assert_eq!(
        paid,
        attendees.len(),
        "each attendee paid by exactly one settlement"
    );
    for (_, token) in &attendees {
        let wallet = expect_json(
            client
                .get(format!("{first}/api/v1/me/wallet"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(wallet["time_credits"]["balance_minutes"], 60);
        assert_eq!(wallet["points"]["balance"], 6);
    }
    let admin = login(
        "/api/v1/auth/staff-login",
        json!({"username": "admin", "password": linli_tests::DEMO_PASSWORD}),
    )
    .await;
    let verify = expect_json(
        client
            .get(format!("{first}/api/v1/admin/ledger/verify"))
            .bearer_auth(admin["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(verify["balanced"], true, "{verify}");
}

/// Forty residents booking the last free slot for the same hour through two instances on
/// one PostgreSQL: one booking, thirty-nine `no_slot_available` with their points free, no
/// overlap anywhere, and balanced books. (One instance on SQLite.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_parking_slot_goes_to_one_resident_across_instances() {
    let database_url = fresh_database_url().await;
    let env = shared_env(&database_url, &[]);
    let (_instances, addresses) = start_instances(&env).await;
    let client = reqwest::Client::new();
    let first = addresses[0].clone();
    let post = |address: &str, path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(format!("{address}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let token_of = |reply: serde_json::Value| reply["access_token"].as_str().unwrap().to_owned();
    let admin = token_of(
        expect_json(
            post(
                &first,
                "/api/v1/auth/staff-login",
                None,
                json!({"username": "admin", "password": linli_tests::DEMO_PASSWORD}),
            )
            .await
            .unwrap(),
            StatusCode::OK,
        )
        .await,
    );
    let community = token_of(
        expect_json(
            post(
                &first,
                "/api/v1/auth/staff-login",
                None,
                json!({"username": "community", "password": linli_tests::DEMO_PASSWORD}),
            )
            .await
            .unwrap(),
            StatusCode::OK,
        )
        .await,
    );
    let orgs: serde_json::Value = client
        .get(format!("{first}/api/v1/orgs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lot = expect_json(
        post(
            &first,
            "/api/v1/admin/parking/lots",
            Some(&admin),
            json!({
                "name": "夜间共享停车场", "org_id": linli_tests::find_org(&orgs, "新华街道").unwrap(),
                "slot_count": 3, "points_per_hour": 10,
                "open_hours": [{"days": [1, 2, 3, 4, 5, 6, 7], "from": "00:00", "to": "24:00"}],
                "max_booking_hours": 12,
            }),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let lot_id = lot["id"].as_str().unwrap().to_owned();
    let start = chrono::Utc::now() + chrono::Duration::hours(2);
    let window = json!({"lot_id": lot_id, "starts_at": start, "ends_at": start + chrono::Duration::hours(1)});
    let mut residents = Vec::new();
    for i in 0..42 {
        let login = expect_json(
            post(
                &first,
                "/api/v1/auth/wechat-login",
                None,
                json!({"code": format!("dev-driver{i}")}),
            )
            .await
            .unwrap(),
            StatusCode::OK,
        )
        .await;
        let user_id = login["user"]["id"].as_str().unwrap().to_owned();
        linli_tests::move_into_community(
            &reqwest::Client::new(),
            &first,
            login["access_token"].as_str().unwrap(),
            "新华社区",
        )
        .await;
        expect_json(
            post(
                &first,
                "/api/v1/staff/points/awards",
                Some(&community),
                json!({"user_id": user_id, "points": 50, "reason": "停车测试"}),
            )
            .await
            .unwrap(),
            StatusCode::CREATED,
        )
        .await;
        residents.push(token_of(login));
    }
    let body_for = |i: usize| {
        let mut body = window.clone();
        body["plate"] = json!(format!("晋B{:05}", i));
        body
    };
    // Two of the three slots go first.
    for (i, token) in residents.iter().take(2).enumerate() {
        expect_json(
            post(&first, "/api/v1/parking/bookings", Some(token), body_for(i))
                .await
                .unwrap(),
            StatusCode::CREATED,
        )
        .await;
    }
    let race = residents.iter().enumerate().skip(2).map(|(i, token)| {
        let request = client
            .post(format!(
                "{}/api/v1/parking/bookings",
                addresses[i % addresses.len()]
            ))
            .bearer_auth(token)
            .json(&body_for(i));
        async move { request.send().await.unwrap() }
    });
    let replies = join_all(race).await;
    let won = replies
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert_eq!(
        won,
        1,
        "{:?}",
        replies.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    for reply in replies
        .into_iter()
        .filter(|r| r.status() != StatusCode::CREATED)
    {
        expect_problem(reply, StatusCode::CONFLICT, "no_slot_available").await;
    }
    let mut held = 0;
    for token in residents.iter().skip(2) {
        let wallet = expect_json(
            client
                .get(format!("{first}/api/v1/me/wallet"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(wallet["points"]["balance"], 50);
        held += wallet["points"]["held"].as_i64().unwrap();
    }
    assert_eq!(held, 10, "only the winner's hour is held");
    // No two live bookings share a slot for any minute.
    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let overlapping = db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM parking_bookings a JOIN parking_bookings b \
             ON a.slot_id = b.slot_id AND a.id < b.id \
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at \
             WHERE a.status IN ('booked', 'active') AND b.status IN ('booked', 'active')",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(overlapping, 0);
    let verify = expect_json(
        client
            .get(format!("{first}/api/v1/admin/ledger/verify"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(verify["balanced"], true, "{verify}");
}

/// The actor (roles, scopes, community) is cached per user; a change made through one
/// instance is seen by the next request on the other, with no wait for the cache to expire.
#[tokio::test]
async fn a_role_granted_through_one_instance_counts_at_once_on_another() {
    let env = shared_env(&fresh_database_url().await, &[]);
    let shared_redis = redis_url();
    let first = spawn_server_process(linli_tests::server_binary!(), &env).await;
    // Without a shared Redis each process caches for itself: one instance only, as the
    // in-process cache is documented.
    let second = match shared_redis {
        Some(_) => Some(spawn_server_process(linli_tests::server_binary!(), &env).await),
        None => None,
    };
    let other = second
        .as_ref()
        .map_or(first.address.as_str(), |s| s.address.as_str());
    let client = reqwest::Client::new();
    let post = |address: &str, path: &str, token: &str, body: serde_json::Value| {
        client
            .post(format!("{address}/api/v1{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let login = |address: &str, path: &str, body: serde_json::Value| {
        client
            .post(format!("{address}/api/v1/auth/{path}"))
            .json(&body)
            .send()
    };
    let owner = expect_json(
        login(&first.address, "wechat-login", json!({"code": "dev-owner"}))
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let owner_token = owner["access_token"].as_str().unwrap();
    let me = |address: &str| {
        client
            .get(format!("{address}/api/v1/me"))
            .bearer_auth(owner_token)
            .send()
    };
    let tree = expect_json(
        client
            .get(format!("{}/api/v1/orgs", first.address))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let community = tree[0]["children"][0]["children"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let application = expect_json(
        post(
            &first.address,
            "/merchants/applications",
            owner_token,
            json!({
                "name": "新华理发店", "category": "生活服务", "license_no": "91140200MA0CACHE",
                "address": "平城区新华街1号", "contact_phone": "13800002222",
                "community_id": community, "description": "",
            }),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let merchant_id = application["id"].as_str().unwrap();
    // Both instances have seen (and cached) the applicant as a plain resident.
    for address in [first.address.as_str(), other] {
        let before = expect_json(me(address).await.unwrap(), StatusCode::OK).await;
        assert_eq!(before["roles"], json!(["resident"]));
    }
    let admin = expect_json(
        login(
            &first.address,
            "staff-login",
            json!({"username": "admin", "password": linli_tests::DEMO_PASSWORD}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    expect_json(
        post(
            &first.address,
            &format!("/staff/merchants/{merchant_id}/approve"),
            admin["access_token"].as_str().unwrap(),
            json!({}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let after = expect_json(me(other).await.unwrap(), StatusCode::OK).await;
    let mut roles: Vec<&str> = after["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, ["merchant_staff", "resident"]);
    assert_eq!(after["merchant_ids"], json!([merchant_id]));
    // And the new role is usable there at once: the owner drafts an offer.
    let now = chrono::Utc::now();
    expect_json(
        post(
            other,
            &format!("/merchants/{merchant_id}/offers"),
            owner_token,
            json!({
                "title": "理发一次", "category": "生活服务", "points_price": 10,
                "cash_value_fen": 2000, "valid_from": now, "valid_until": now + chrono::Duration::days(30),
            }),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
}
