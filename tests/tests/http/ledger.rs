//! The points ledger over HTTP: budgets, awards, wallets, statements, gifts, idempotency,
//! expiry and verification.

use futures_util::future::join_all;
use linli_tests::{
    expect_json, expect_problem, issue_time_credits, spawn_app, TestApp, DEMO_PASSWORD,
};
use reqwest::StatusCode;
use serde_json::json;

const ALLOCATE: &str = "/api/v1/admin/budgets/allocations";
const AWARD: &str = "/api/v1/staff/points/awards";
const GIFT: &str = "/api/v1/me/time-credits/transfers";

async fn verify_balanced(app: &TestApp) {
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let report = expect_json(
        app.get("/api/v1/admin/ledger/verify", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["balanced"], true, "{report}");
}

#[tokio::test]
async fn budgets_flow_from_the_treasury_to_streets_and_communities() {
    let app = spawn_app().await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let district = app.org_id("平城区").await;
    let xinhua = app.org_id("新华街道").await;
    let heping = app.org_id("和平社区").await;
    let kaiyuan = app.org_id("开源街道").await;

    // The demo seed funded 新华街道 with 100000 and passed 20000 on to 新华社区.
    assert_eq!(app.budget_of(&street, &xinhua).await, 80_000);
    assert_eq!(app.budget_of(&admin, &district).await, -100_000);

    let body = expect_json(
        app.post(
            ALLOCATE,
            &json!({ "org_id": kaiyuan, "points": 5000, "memo": "2026年度预算" }),
            Some(&admin),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["from_org_id"], district.as_str());
    assert_eq!(body["balance"], 5000);
    assert_eq!(app.budget_of(&admin, &district).await, -105_000);

    // A street passes its own budget on to its communities, not to others.
    let body = expect_json(
        app.post(
            ALLOCATE,
            &json!({ "org_id": heping, "points": 3000 }),
            Some(&street),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["from_org_id"], xinhua.as_str());
    assert_eq!(app.budget_of(&street, &xinhua).await, 77_000);
    let kaiyuan_community = app.org_id("开源社区").await;
    expect_problem(
        app.post(
            ALLOCATE,
            &json!({ "org_id": kaiyuan_community, "points": 1 }),
            Some(&street),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            ALLOCATE,
            &json!({ "org_id": xinhua, "points": 1 }),
            Some(&street),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            ALLOCATE,
            &json!({ "org_id": heping, "points": 77_001 }),
            Some(&street),
        )
        .await,
        StatusCode::CONFLICT,
        "budget_exhausted",
    )
    .await;
    assert_eq!(
        app.budget_of(&street, &xinhua).await,
        77_000,
        "a refused allocation moves nothing"
    );

    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    expect_problem(
        app.post(
            ALLOCATE,
            &json!({ "org_id": heping, "points": 1 }),
            Some(&community),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let compound = app.org_id("阳光小区").await;
    expect_problem(
        app.post(
            ALLOCATE,
            &json!({ "org_id": compound, "points": 1 }),
            Some(&admin),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    // Budgets are visible within scope only.
    expect_problem(
        app.get(&format!("/api/v1/staff/budgets/{heping}"), Some(&community))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.get("/api/v1/staff/budgets/no-such-org", Some(&community))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    verify_balanced(&app).await;
}

#[tokio::test]
async fn community_staff_award_points_from_their_own_budget_only() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let alice = app.login_neighbour("alice", "新华社区").await;
    let xinhua_community = app.org_id("新华社区").await;

    let body = expect_json(
        app.post(
            AWARD,
            &json!({ "user_id": alice.user_id, "points": 120, "reason": "参加社区清洁志愿活动" }),
            Some(&community),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["budget_org_id"], xinhua_community.as_str());
    assert_eq!(body["budget_balance"], 19_880);
    let w = app.wallet(&alice.access_token).await;
    assert_eq!(w["points"]["balance"], 120);
    assert_eq!(w["points"]["available"], 120);
    assert_eq!(w["points"]["expiring"][0]["amount"], 120);
    let me = expect_json(
        app.get("/api/v1/me", Some(&alice.access_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["balances"]["points"], 120);

    // Another community's budget is out of reach.
    let heping = app.org_id("和平社区").await;
    expect_problem(
        app.post(
            AWARD,
            &json!({ "user_id": alice.user_id, "points": 1, "reason": "x", "org_id": heping }),
            Some(&community),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // More than the budget holds.
    expect_problem(
        app.post(
            AWARD,
            &json!({ "user_id": alice.user_id, "points": 19_881, "reason": "x" }),
            Some(&community),
        )
        .await,
        StatusCode::CONFLICT,
        "budget_exhausted",
    )
    .await;
    // Residents cannot award.
    expect_problem(
        app.post(
            AWARD,
            &json!({ "user_id": alice.user_id, "points": 1, "reason": "x" }),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.wallet(&alice.access_token).await["points"]["balance"],
        120
    );
    verify_balanced(&app).await;
}

#[tokio::test]
async fn amounts_must_be_positive_whole_numbers() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let alice = app.login_neighbour("alice", "新华社区").await;
    for points in [json!(0), json!(-5), json!(10.5), json!(1e15)] {
        let body = expect_problem(
            app.post(
                AWARD,
                &json!({ "user_id": alice.user_id, "points": points, "reason": "x" }),
                Some(&community),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "points", "{points}");
    }
    expect_problem(
        app.post(
            AWARD,
            &json!({ "user_id": alice.user_id, "points": "10", "reason": "x" }),
            Some(&community),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    let body = expect_problem(
        app.post(
            AWARD,
            &json!({ "user_id": "nobody", "points": 10, "reason": "" }),
            Some(&community),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "reason");
    let body = expect_problem(
        app.post(
            AWARD,
            &json!({ "user_id": "nobody", "points": 10, "reason": "x" }),
            Some(&community),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "user_id");
    let bob = app.login_neighbour("bob", "新华社区").await;
    for minutes in [json!(0), json!(-1), json!(2.5)] {
        expect_problem(
            app.post(
                GIFT,
                &json!({ "to_user_id": bob.user_id, "minutes": minutes }),
                Some(&alice.access_token),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    assert_eq!(
        app.wallet(&alice.access_token).await["points"]["balance"],
        0
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response_and_refuses_a_different_body() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let alice = app.login_neighbour("alice", "新华社区").await;
    let request = json!({ "user_id": alice.user_id, "points": 50, "reason": "垃圾分类积分" });

    let first = app
        .post_with_key(AWARD, &request, &community, "award-7f3a")
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.text().await.unwrap();
    let again = app
        .post_with_key(AWARD, &request, &community, "award-7f3a")
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.text().await.unwrap(), first_body);
    assert_eq!(
        app.wallet(&alice.access_token).await["points"]["balance"],
        50
    );

    let changed = json!({ "user_id": alice.user_id, "points": 60, "reason": "垃圾分类积分" });
    expect_problem(
        app.post_with_key(AWARD, &changed, &community, "award-7f3a")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    // The same key from another user is that user's own key.
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let community_id = app.org_id("新华社区").await;
    let from_street = json!({ "user_id": alice.user_id, "points": 50, "reason": "垃圾分类积分", "org_id": community_id });
    expect_json(
        app.post_with_key(AWARD, &from_street, &street, "award-7f3a")
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        app.wallet(&alice.access_token).await["points"]["balance"],
        100
    );

    // Twenty concurrent retries of one key post once.
    let bob = app.login_neighbour("bob", "新华社区").await;
    let request = json!({ "user_id": bob.user_id, "points": 10, "reason": "并发重试" });
    let responses =
        join_all((0..20).map(|_| app.post_with_key(AWARD, &request, &community, "burst-1"))).await;
    let mut bodies = std::collections::HashSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::CREATED);
        bodies.insert(response.text().await.unwrap());
    }
    assert_eq!(bodies.len(), 1, "every retry got the first response");
    assert_eq!(app.wallet(&bob.access_token).await["points"]["balance"], 10);

    let bad_key = app
        .send(
            app.request(reqwest::Method::POST, AWARD, Some(&community))
                .header("idempotency-key", "")
                .json(&request),
        )
        .await;
    expect_problem(
        bad_key,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    verify_balanced(&app).await;
}

#[tokio::test]
async fn time_credits_are_gifted_and_never_overdrawn() {
    let app = spawn_app().await;
    let alice = app.login_neighbour("alice", "新华社区").await;
    let mum = app.login_neighbour("mum", "新华社区").await;
    expect_problem(
        app.post(
            GIFT,
            &json!({ "to_user_id": mum.user_id, "minutes": 30 }),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "insufficient_time_credits",
    )
    .await;
    issue_time_credits(&app.state.db, &alice.user_id, 250).await;
    let body = expect_json(
        app.post(
            GIFT,
            &json!({ "to_user_id": mum.user_id, "minutes": 90, "memo": "给妈妈" }),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["balance_minutes"], 160);
    assert_eq!(
        app.wallet(&mum.access_token).await["time_credits"]["balance_minutes"],
        90
    );
    expect_problem(
        app.post(
            GIFT,
            &json!({ "to_user_id": alice.user_id, "minutes": 1 }),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.post(
            GIFT,
            &json!({ "to_user_id": "nobody", "minutes": 1 }),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    // 100 concurrent gifts of 10 minutes from 160: exactly 16 go through.
    let gift = json!({ "to_user_id": mum.user_id, "minutes": 10 });
    let requests = (0..100).map(|_| app.post(GIFT, &gift, Some(&alice.access_token)));
    let statuses: Vec<StatusCode> = join_all(requests)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        16
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        84
    );
    assert_eq!(
        app.wallet(&alice.access_token).await["time_credits"]["balance_minutes"],
        0
    );
    assert_eq!(
        app.wallet(&mum.access_token).await["time_credits"]["balance_minutes"],
        250
    );
    verify_balanced(&app).await;
}

#[tokio::test]
async fn statements_page_through_entries_newest_first() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let alice = app.login_neighbour("alice", "新华社区").await;
    for points in 1..=5 {
        expect_json(
            app.post(AWARD, &json!({ "user_id": alice.user_id, "points": points, "reason": format!("第{points}次") }), Some(&community)).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let page = expect_json(
        app.get(
            "/api/v1/me/wallet/entries?limit=2",
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let amounts: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![5, 4]);
    assert_eq!(page["items"][0]["kind"], "award");
    assert_eq!(page["items"][0]["memo"], "第5次");
    assert_eq!(page["items"][0]["balance_after"], 15);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = expect_json(
        app.get(
            &format!("/api/v1/me/wallet/entries?limit=2&cursor={cursor}"),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let amounts: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, vec![3, 2]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = expect_json(
        app.get(
            &format!("/api/v1/me/wallet/entries?limit=2&cursor={cursor}"),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_null());

    let credits = expect_json(
        app.get(
            "/api/v1/me/wallet/entries?asset=time_credits",
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(credits["items"], json!([]));
    expect_problem(
        app.get(
            "/api/v1/me/wallet/entries?asset=gold",
            Some(&alice.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(
            "/api/v1/me/wallet/entries?cursor=bm9wZQ",
            Some(&alice.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get(
            "/api/v1/me/wallet/entries?limit=abc",
            Some(&alice.access_token),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn points_expire_by_lot_through_the_background_job() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let alice = app.login_neighbour("alice", "新华社区").await;
    expect_json(
        app.post(
            AWARD,
            &json!({ "user_id": alice.user_id, "points": 80, "reason": "志愿服务" }),
            Some(&community),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let report = api::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(report.points_expired, 0, "nothing is due yet");

    // Two years on, the lot is past the end of the following year.
    app.clock.advance(chrono::Duration::days(2 * 366));
    let report = api::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(report.points_expired, 80);
    assert_eq!(
        api::jobs::run_once(&app.state)
            .await
            .unwrap()
            .points_expired,
        0,
        "a second round expires nothing"
    );

    // The access token has long expired on the moved clock; log in again.
    let alice = app.login_neighbour("alice", "新华社区").await;
    let w = app.wallet(&alice.access_token).await;
    assert_eq!(w["points"]["balance"], 0);
    assert_eq!(w["points"]["expiring"], json!([]));
    let page = expect_json(
        app.get("/api/v1/me/wallet/entries", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"][0]["kind"], "expiry");
    assert_eq!(page["items"][0]["amount"], -80);
    verify_balanced(&app).await;
}

#[tokio::test]
async fn only_the_district_admin_verifies_the_ledger() {
    let app = spawn_app().await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let report = expect_json(
        app.get("/api/v1/admin/ledger/verify", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(report["balanced"], true);
    assert_eq!(report["assets"], json!([{ "asset": "points", "sum": 0 }]));
    assert_eq!(report["transfers_checked"], 2);
    assert_eq!(report["mismatches"], json!([]));
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    expect_problem(
        app.get("/api/v1/admin/ledger/verify", Some(&street)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
