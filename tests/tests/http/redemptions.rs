//! Redemption (核销): reserve, code, preview, verify exactly once, cancel, expiry, suspension,
//! limits, stock and the merchant's figures.

use crate::spreadsheets::{column, sheet};
use futures_util::future::join_all;
use linli_tests::{expect_json, expect_problem, spawn_app, Shop, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn reserve(app: &TestApp, token: &str, offer_id: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/offers/{offer_id}/redemptions"),
        &json!({}),
        Some(token),
    )
    .await
}

async fn code_for(app: &TestApp, token: &str, redemption_id: &str) -> Value {
    expect_json(
        app.post(
            &format!("/api/v1/redemptions/{redemption_id}/code"),
            &json!({}),
            Some(token),
        )
        .await,
        StatusCode::OK,
    )
    .await
}

async fn verify(app: &TestApp, token: &str, merchant_id: &str, code: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/merchants/{merchant_id}/redemptions/verify"),
        &json!({ "code": code }),
        Some(token),
    )
    .await
}

async fn stock(app: &TestApp, offer_id: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/offers/{offer_id}"), None).await,
        StatusCode::OK,
    )
    .await["stock"]
        .clone()
}

#[tokio::test]
async fn reserve_show_code_and_redeem_exactly_once() {
    let app = spawn_app().await;
    let Shop {
        owner_token,
        merchant_id,
        offer_id,
    } = app.open_shop("wang", 200, Some(10), Some(2)).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 500).await;

    let reserved = expect_json(
        reserve(&app, &alice.access_token, &offer_id).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(reserved["status"], "reserved");
    assert_eq!(reserved["points"], 200);
    let id = reserved["id"].as_str().unwrap().to_owned();
    let w = app.wallet(&alice.access_token).await;
    assert_eq!(
        (
            w["points"]["balance"].as_i64(),
            w["points"]["held"].as_i64(),
            w["points"]["available"].as_i64()
        ),
        (Some(500), Some(200), Some(300))
    );
    assert_eq!(stock(&app, &offer_id).await, 9);

    let code = code_for(&app, &alice.access_token, &id).await;
    let qr = code["code"].as_str().unwrap().to_owned();
    assert!(qr.len() >= 22, "at least 128 bits in the QR payload: {qr}");
    assert_eq!(code["short_code"].as_str().unwrap().len(), 8);

    // Preview shows what would be redeemed and consumes nothing.
    let preview = expect_json(
        app.post(
            &format!("/api/v1/merchants/{merchant_id}/redemptions/preview"),
            &json!({ "code": qr }),
            Some(&owner_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(preview["status"], "reserved");
    assert_eq!(preview["offer_title"], "理发一次");

    let redeemed = expect_json(
        verify(&app, &owner_token, &merchant_id, &qr).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(redeemed["status"], "redeemed");
    assert_eq!(redeemed["redemption_id"], id.as_str());
    assert_eq!(redeemed["points"], 200);
    expect_problem(
        verify(&app, &owner_token, &merchant_id, &qr).await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;
    let redeemed_points = r#"linli_points_redeemed_total{channel="merchant"}"#;
    assert_eq!(app.metric(redeemed_points).await, 200.0, "counted once");
    // The street's spreadsheets: the shop with its one verified code, and the redemption.
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let shops = sheet(&app, "/api/v1/staff/exports/merchants.xlsx", &street).await;
    let shop = shops
        .iter()
        .find(|r| r[0] == merchant_id)
        .unwrap_or_else(|| panic!("{merchant_id} in {shops:?}"));
    assert_eq!(
        (
            shop[column(&shops, "状态")].as_str(),
            shop[column(&shops, "期间核销笔数")].as_str(),
            shop[column(&shops, "期间核销积分")].as_str()
        ),
        ("营业中", "1", "200")
    );
    let codes = sheet(&app, "/api/v1/staff/exports/redemptions.xlsx", &street).await;
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert_eq!(
        (
            codes[1][0].as_str(),
            codes[1][column(&codes, "状态")].as_str(),
            codes[1][column(&codes, "积分")].as_str()
        ),
        (id.as_str(), "已核销", "200")
    );

    let w = app.wallet(&alice.access_token).await;
    assert_eq!(
        (
            w["points"]["balance"].as_i64(),
            w["points"]["held"].as_i64()
        ),
        (Some(300), Some(0))
    );
    let entries = expect_json(
        app.get("/api/v1/me/wallet/entries", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(entries["items"][0]["kind"], "redemption");
    assert_eq!(entries["items"][0]["amount"], -200);
    assert_eq!(entries["items"][0]["memo"], "理发一次");

    let stats = expect_json(
        app.get(
            &format!("/api/v1/merchants/{merchant_id}/stats"),
            Some(&owner_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            stats["redemptions"].as_i64(),
            stats["points_received"].as_i64(),
            stats["service_value_fen"].as_i64()
        ),
        (Some(1), Some(200), Some(2000))
    );
    let mine = expect_json(
        app.get("/api/v1/me/redemptions", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"][0]["status"], "redeemed");
    let theirs = expect_json(
        app.get(
            &format!("/api/v1/merchants/{merchant_id}/redemptions"),
            Some(&owner_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(theirs["items"][0]["id"], id.as_str());
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn codes_work_only_for_the_right_merchant_once_and_in_time() {
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 100, None, None).await;
    let other = app.open_shop("li", 100, None, None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 300).await;
    let id = expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = code_for(&app, &alice.access_token, &id).await;
    // A new code voids the previous one.
    let second = code_for(&app, &alice.access_token, &id).await;
    let old = first["code"].as_str().unwrap();
    expect_problem(
        verify(&app, &shop.owner_token, &shop.merchant_id, old).await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;

    let code = second["code"].as_str().unwrap();
    // Not staff, another merchant's staff (at either merchant's path): 404, nothing changes.
    expect_problem(
        verify(&app, &alice.access_token, &shop.merchant_id, code).await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;
    expect_problem(
        verify(&app, &other.owner_token, &shop.merchant_id, code).await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;
    expect_problem(
        verify(&app, &other.owner_token, &other.merchant_id, code).await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;
    assert_eq!(app.wallet(&alice.access_token).await["points"]["held"], 100);

    // Expired after 120 s.
    app.clock.advance(chrono::Duration::seconds(121));
    let owner = app.login_resident("wang").await.access_token;
    expect_problem(
        verify(&app, &owner, &shop.merchant_id, code).await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;

    // The 8-digit fallback works like the QR payload.
    let alice_token = app.login_resident("alice").await.access_token;
    let third = code_for(&app, &alice_token, &id).await;
    let digits = third["short_code"].as_str().unwrap();
    expect_json(
        verify(&app, &owner, &shop.merchant_id, digits).await,
        StatusCode::OK,
    )
    .await;
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn cancelling_releases_points_and_stock() {
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 150, Some(5), None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 150).await;
    let id = expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(stock(&app, &shop.offer_id).await, 4);
    let code = code_for(&app, &alice.access_token, &id).await;
    let cancelled = expect_json(
        app.post(
            &format!("/api/v1/redemptions/{id}/cancel"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(stock(&app, &shop.offer_id).await, 5);
    assert_eq!(
        app.wallet(&alice.access_token).await["points"]["available"],
        150
    );
    expect_problem(
        app.post(
            &format!("/api/v1/redemptions/{id}/cancel"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_problem(
        verify(
            &app,
            &shop.owner_token,
            &shop.merchant_id,
            code["code"].as_str().unwrap(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;
    // Someone else's reservation is not found.
    let bob = app.login_resident("bob").await.access_token;
    expect_problem(
        app.post(
            &format!("/api/v1/redemptions/{id}/cancel"),
            &json!({}),
            Some(&bob),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn limits_stock_points_and_availability_are_enforced() {
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 100, Some(3), Some(2)).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 1000).await;
    expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CONFLICT,
        "per_user_limit_reached",
    )
    .await;
    let bob = app.login_resident("bob").await;
    expect_problem(
        reserve(&app, &bob.access_token, &shop.offer_id).await,
        StatusCode::CONFLICT,
        "insufficient_points",
    )
    .await;
    app.give_points(&bob, 1000).await;
    expect_json(
        reserve(&app, &bob.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await;
    let carol = app.login_resident("carol").await;
    app.give_points(&carol, 1000).await;
    expect_problem(
        reserve(&app, &carol.access_token, &shop.offer_id).await,
        StatusCode::CONFLICT,
        "out_of_stock",
    )
    .await;
    assert_eq!(
        app.wallet(&carol.access_token).await["points"]["held"],
        0,
        "a refused reservation holds nothing"
    );

    expect_json(
        app.post(
            &format!(
                "/api/v1/merchants/{}/offers/{}/unpublish",
                shop.merchant_id, shop.offer_id
            ),
            &json!({}),
            Some(&shop.owner_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        reserve(&app, &carol.access_token, &shop.offer_id).await,
        StatusCode::GONE,
        "offer_unavailable",
    )
    .await;
    expect_problem(
        reserve(&app, &carol.access_token, "no-such-offer").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn an_idempotency_key_reserves_once() {
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 100, Some(10), None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 1000).await;
    let path = format!("/api/v1/offers/{}/redemptions", shop.offer_id);
    let first = app
        .post_with_key(&path, &json!({}), &alice.access_token, "tap-1")
        .await
        .text()
        .await
        .unwrap();
    let again = app
        .post_with_key(&path, &json!({}), &alice.access_token, "tap-1")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(stock(&app, &shop.offer_id).await, 9);
    assert_eq!(app.wallet(&alice.access_token).await["points"]["held"], 100);
}

#[tokio::test]
async fn suspending_a_merchant_voids_its_reservations_with_points_back() {
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 100, Some(10), None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 300).await;
    let id = expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = code_for(&app, &alice.access_token, &id).await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    expect_json(
        app.post(
            &format!("/api/v1/staff/merchants/{}/suspend", shop.merchant_id),
            &json!({ "reason": "卫生检查不合格" }),
            Some(&staff),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let w = app.wallet(&alice.access_token).await;
    assert_eq!(
        (
            w["points"]["balance"].as_i64(),
            w["points"]["held"].as_i64()
        ),
        (Some(300), Some(0))
    );
    let mine = expect_json(
        app.get("/api/v1/me/redemptions", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"][0]["status"], "cancelled");
    expect_problem(
        verify(
            &app,
            &shop.owner_token,
            &shop.merchant_id,
            code["code"].as_str().unwrap(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;
    app.assert_ledger_balanced().await;
}

/// A round narrowed to a street (the simulator runs each street's rounds on its own clock)
/// lapses the reservations at merchants of its communities and leaves another street's
/// alone, however due they are.
#[tokio::test]
async fn a_round_narrowed_to_a_street_lapses_only_that_streets_reservations() {
    use platform::Reach;
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 100, Some(10), None).await; // in 新华社区, 新华街道
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 300).await;
    let reserved = expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await;
    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    let alice = app.login_resident("alice").await; // the week outlived the token
    let elsewhere = Reach::Under(app.org_path("开源街道").await);
    let round = api::jobs::run_round(&app.state, &elsewhere).await.unwrap();
    assert_eq!(round.reservations_expired, 0);
    let mine = expect_json(
        app.get("/api/v1/me/redemptions", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"][0]["id"], reserved["id"]);
    assert_eq!(mine["items"][0]["status"], "reserved");

    let here = Reach::Under(app.org_path("新华街道").await);
    let round = api::jobs::run_round(&app.state, &here).await.unwrap();
    assert_eq!(round.reservations_expired, 1);
    let mine = expect_json(
        app.get("/api/v1/me/redemptions", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"][0]["status"], "expired");
    assert_eq!(stock(&app, &shop.offer_id).await, 10);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn unredeemed_reservations_lapse_through_the_job() {
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 100, Some(10), None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 300).await;
    expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        api::jobs::run_once(&app.state)
            .await
            .unwrap()
            .reservations_expired,
        0
    );
    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    let report = api::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(report.reservations_expired, 1);
    assert_eq!(
        api::jobs::run_once(&app.state)
            .await
            .unwrap()
            .reservations_expired,
        0
    );
    let alice = app.login_resident("alice").await.access_token;
    let w = app.wallet(&alice).await;
    assert_eq!(
        (
            w["points"]["balance"].as_i64(),
            w["points"]["held"].as_i64()
        ),
        (Some(300), Some(0))
    );
    let mine = expect_json(
        app.get("/api/v1/me/redemptions", Some(&alice)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"][0]["status"], "expired");
    assert_eq!(stock(&app, &shop.offer_id).await, 10);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn guessing_codes_is_stopped_with_429() {
    let app = spawn_app_with_low_verify_limit().await;
    let shop = app.open_shop("wang", 100, None, None).await;
    for i in 0..3 {
        expect_problem(
            verify(
                &app,
                &shop.owner_token,
                &shop.merchant_id,
                &format!("{i:08}"),
            )
            .await,
            StatusCode::NOT_FOUND,
            "code_invalid",
        )
        .await;
    }
    let response = verify(&app, &shop.owner_token, &shop.merchant_id, "00000099").await;
    assert!(response.headers().contains_key("retry-after"));
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn spawn_app_with_low_verify_limit() -> TestApp {
    linli_tests::spawn_app_with(|s| s.merchant.verify_failures_per_staff_per_minute = 3).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn races_for_stock_points_and_one_code_have_exact_winners() {
    let app = spawn_app().await;
    // 100 residents race for stock 10.
    let shop = app.open_shop("wang", 10, Some(10), None).await;
    let mut tokens = Vec::new();
    for i in 0..100 {
        let r = app.login_resident(&format!("racer{i}")).await;
        app.give_points(&r, 10).await;
        tokens.push(r.access_token);
    }
    let statuses: Vec<StatusCode> =
        join_all(tokens.iter().map(|t| reserve(&app, t, &shop.offer_id)))
            .await
            .iter()
            .map(|r| r.status())
            .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        90
    );
    assert_eq!(stock(&app, &shop.offer_id).await, 0);

    // A resident with points for 3 fires 20 at once.
    let unlimited = app.open_shop("li", 100, None, None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 300).await;
    let statuses: Vec<StatusCode> =
        join_all((0..20).map(|_| reserve(&app, &alice.access_token, &unlimited.offer_id)))
            .await
            .iter()
            .map(|r| r.status())
            .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        3,
        "{statuses:?}"
    );

    // 50 concurrent verifies of one code: one redeems.
    let mine = expect_json(
        app.get("/api/v1/me/redemptions", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    let id = mine["items"][0]["id"].as_str().unwrap().to_owned();
    let code = code_for(&app, &alice.access_token, &id).await["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let statuses: Vec<StatusCode> = join_all(
        (0..50).map(|_| verify(&app, &unlimited.owner_token, &unlimited.merchant_id, &code)),
    )
    .await
    .iter()
    .map(|r| r.status())
    .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        app.wallet(&alice.access_token).await["points"]["balance"],
        200
    );
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn residents_and_merchant_staff_are_told_in_app() {
    let app = spawn_app().await;
    let shop = app.open_shop("wang", 100, None, None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 300).await;
    let id = expect_json(
        reserve(&app, &alice.access_token, &shop.offer_id).await,
        StatusCode::CREATED,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let owner_inbox = expect_json(
        app.get("/api/v1/me/notifications", Some(&shop.owner_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(owner_inbox["items"][0]["kind"], "redemption_reserved");
    assert_eq!(owner_inbox["items"][0]["ref_id"], id.as_str());
    assert_eq!(owner_inbox["unread"], 1);

    let code = code_for(&app, &alice.access_token, &id).await;
    expect_json(
        verify(
            &app,
            &shop.owner_token,
            &shop.merchant_id,
            code["code"].as_str().unwrap(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let inbox = expect_json(
        app.get("/api/v1/me/notifications", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inbox["items"][0]["kind"], "redemption_verified");
    assert_eq!(inbox["items"][0]["title"], "核销成功");
    assert_eq!(inbox["unread"], 1);
    let note = inbox["items"][0]["id"].as_str().unwrap();
    let read = app
        .post(
            &format!("/api/v1/me/notifications/{note}/read"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await;
    assert_eq!(read.status(), StatusCode::NO_CONTENT);
    let inbox = expect_json(
        app.get("/api/v1/me/notifications", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inbox["unread"], 0);
    assert!(inbox["items"][0]["read_at"].is_string());
    // Nobody reads someone else's notifications: marking another user's is a no-op.
    let bob = app.login_resident("bob").await.access_token;
    let owner_note = owner_inbox["items"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/me/notifications/{owner_note}/read"),
        &json!({}),
        Some(&bob),
    )
    .await;
    let owner_inbox = expect_json(
        app.get("/api/v1/me/notifications", Some(&shop.owner_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(owner_inbox["unread"], 1);
    let all = app
        .post(
            "/api/v1/me/notifications/read-all",
            &json!({}),
            Some(&shop.owner_token),
        )
        .await;
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    let owner_inbox = expect_json(
        app.get("/api/v1/me/notifications", Some(&shop.owner_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(owner_inbox["unread"], 0);
}
