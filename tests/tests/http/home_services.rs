//! Home services (家政): orders paid in points or time credits (or by the community for a
//! care recipient), held on the ledger, dispatched only to verified workers, confirmed
//! once, cancelled with the hold released, rated; and their figures on the dashboard.

use linli_tests::{
    expect_json, expect_problem, issue_time_credits, spawn_app, TestApp, DEMO_PASSWORD,
};
use points_ledger::service::accounts::balance_of;
use points_ledger::{AccountKind, AccountRef, Asset};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A home-service partner of 新华社区 with a published home-service offer and one worker,
/// verified by the community's staff when `verified`.
struct HomeServicePartner {
    owner: String,
    partner_id: String,
    offer_id: String,
    worker_id: String,
}

async fn home_service_partner(
    app: &TestApp,
    owner: &str,
    time_credits_price: Option<i64>,
    verified: bool,
) -> HomeServicePartner {
    let (token, partner_id) = app.approved_merchant(owner).await;
    let now = chrono::Utc::now();
    let offer = expect_json(
        app.post(
            &format!("/api/v1/merchants/{partner_id}/offers"),
            &json!({
                "kind": "home_service", "title": "上门保洁两小时", "category": "家政服务",
                "points_price": 300, "time_credits_price": time_credits_price, "cash_value_fen": 8000,
                "valid_from": (now - chrono::Duration::hours(1)).to_rfc3339(),
                "valid_until": (now + chrono::Duration::days(60)).to_rfc3339(),
            }),
            Some(&token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(offer["kind"], "home_service");
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    expect_json(
        app.post(
            &format!("/api/v1/merchants/{partner_id}/offers/{offer_id}/publish"),
            &json!({}),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let worker = expect_json(
        app.post(
            &format!("/api/v1/partners/{partner_id}/workers"),
            &json!({ "name": "李阿姨", "phone": "13700001234", "certificate_no": "家政服务员三级", "skills": ["保洁"] }),
            Some(&token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let worker_id = worker["id"].as_str().unwrap().to_owned();
    if verified {
        verify_worker(app, &worker_id).await;
    }
    HomeServicePartner {
        owner: token,
        partner_id,
        offer_id,
        worker_id,
    }
}

async fn verify_worker(app: &TestApp, worker_id: &str) {
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    expect_json(
        app.post(
            &format!("/api/v1/staff/workers/{worker_id}/verify"),
            &json!({}),
            Some(&community),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

fn in_two_days() -> String {
    (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339()
}

async fn order(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/home-services/orders", &body, Some(token))
        .await
}

async fn dispatch(app: &TestApp, p: &HomeServicePartner, order_id: &str) -> reqwest::Response {
    app.post(
        &format!(
            "/api/v1/partners/{}/home-services/orders/{order_id}/dispatch",
            p.partner_id
        ),
        &json!({ "worker_id": p.worker_id }),
        Some(&p.owner),
    )
    .await
}

async fn act(app: &TestApp, token: &str, order_id: &str, action: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/home-services/orders/{order_id}/{action}"),
        &json!({}),
        Some(token),
    )
    .await
}

/// Dispatch and complete, as the partner does.
async fn work_done(app: &TestApp, p: &HomeServicePartner, order_id: &str) {
    expect_json(dispatch(app, p, order_id).await, StatusCode::OK).await;
    let done = expect_json(
        act(app, &p.owner, order_id, "complete").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["status"], "completed");
}

async fn partner_balance(app: &TestApp, asset: Asset, partner_id: &str) -> i64 {
    let account = AccountRef::new(asset, AccountKind::Merchant, partner_id);
    balance_of(&app.state.db, &account).await.unwrap().balance
}

async fn care_figures(app: &TestApp, token: &str, org: &str) -> Value {
    let org_id = app.org_id(org).await;
    let dashboard = expect_json(
        app.get(
            &format!("/api/v1/staff/dashboard?org_id={org_id}"),
            Some(token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    dashboard["care"]["home_service_orders"].clone()
}

fn count_of(figures: &Value, status: &str) -> i64 {
    figures["by_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == status)
        .and_then(|s| s["count"].as_i64())
        .unwrap()
}

#[tokio::test]
async fn an_order_in_points_goes_to_a_verified_worker_and_a_double_tapped_confirm_posts_once() {
    let app = spawn_app().await;
    let p = home_service_partner(&app, "jiazheng", None, false).await;
    let resident = app.login_resident("zhangsan").await;
    app.give_points(&resident, 1000).await;
    let token = resident.access_token.clone();

    // A home service is ordered, not reserved.
    expect_problem(
        app.post(
            &format!("/api/v1/offers/{}/redemptions", p.offer_id),
            &json!({}),
            Some(&token),
        )
        .await,
        StatusCode::CONFLICT,
        "offer_kind_mismatch",
    )
    .await;
    expect_problem(
        order(
            &app,
            &token,
            json!({ "offer_id": p.offer_id, "at": in_two_days(), "pay_with": "time_credits" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let body =
        json!({ "offer_id": p.offer_id, "at": in_two_days(), "address_note": "3号楼2单元501" });
    let placed = expect_json(
        app.post_with_key("/api/v1/home-services/orders", &body, &token, "order-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    // A retry with the key is the same order, held once.
    let again = expect_json(
        app.post_with_key("/api/v1/home-services/orders", &body, &token, "order-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(placed["id"], again["id"]);
    assert_eq!(
        (
            placed["status"].as_str(),
            placed["asset"].as_str(),
            placed["price"].as_i64()
        ),
        (Some("requested"), Some("points"), Some(300))
    );
    let wallet = app.wallet(&token).await;
    assert_eq!(
        (
            wallet["points"]["balance"].as_i64(),
            wallet["points"]["held"].as_i64()
        ),
        (Some(1000), Some(300))
    );
    let id = placed["id"].as_str().unwrap();

    // Only verified workers, only by the partner's staff.
    expect_problem(
        dispatch(&app, &p, id).await,
        StatusCode::CONFLICT,
        "worker_unverified",
    )
    .await;
    let (stranger, _) = app.approved_merchant("other").await;
    let path = format!(
        "/api/v1/partners/{}/home-services/orders/{id}/dispatch",
        p.partner_id
    );
    let worker = json!({ "worker_id": p.worker_id });
    for token in [&stranger, &token] {
        expect_problem(
            app.post(&path, &worker, Some(token)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    verify_worker(&app, &p.worker_id).await;
    let sent = expect_json(dispatch(&app, &p, id).await, StatusCode::OK).await;
    assert_eq!(
        (sent["status"].as_str(), sent["worker_id"].as_str()),
        (Some("dispatched"), Some(p.worker_id.as_str()))
    );
    expect_problem(
        act(&app, &token, id, "complete").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        act(&app, &token, id, "confirm").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_json(act(&app, &p.owner, id, "complete").await, StatusCode::OK).await;
    expect_problem(
        act(&app, &p.owner, id, "confirm").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        act(&app, &token, id, "cancel").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    // Two taps at once: one confirms, the other finds it confirmed; the points move once.
    let (a, b) = tokio::join!(
        act(&app, &token, id, "confirm"),
        act(&app, &token, id, "confirm")
    );
    let mut statuses = vec![a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::CONFLICT]);
    assert_eq!(
        partner_balance(&app, Asset::Points, &p.partner_id).await,
        300
    );
    let wallet = app.wallet(&token).await;
    assert_eq!(
        (
            wallet["points"]["balance"].as_i64(),
            wallet["points"]["held"].as_i64()
        ),
        (Some(700), Some(0))
    );

    let rate = format!("/api/v1/home-services/orders/{id}/rate");
    expect_problem(
        app.post(&rate, &json!({ "rating": 5 }), Some(&p.owner))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(&rate, &json!({ "rating": 9 }), Some(&token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let rated = expect_json(
        app.post(
            &rate,
            &json!({ "rating": 5, "comment": "很干净" }),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rated["rating"], 5);
    expect_problem(
        app.post(&rate, &json!({ "rating": 1 }), Some(&token)).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    // Both sides heard about it in-app.
    let notes = expect_json(
        app.get("/api/v1/me/notifications", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    let kinds = notes.to_string();
    assert!(kinds.contains("home_service_status"), "{notes}");
    let partner_notes = expect_json(
        app.get("/api/v1/me/notifications", Some(&p.owner)).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        partner_notes.to_string().contains("新的家政订单"),
        "{partner_notes}"
    );

    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let figures = care_figures(&app, &community, "新华社区").await;
    assert_eq!(
        (figures["total"].as_i64(), count_of(&figures, "confirmed")),
        (Some(1), 1)
    );
    assert_eq!(
        (
            figures["rated"].as_i64(),
            figures["mean_rating"].as_f64(),
            figures["satisfaction_rate"].as_f64()
        ),
        (Some(1), Some(5.0), Some(1.0))
    );
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn an_order_in_time_credits_is_paid_in_minutes_and_a_cancelled_one_is_released() {
    let app = spawn_app().await;
    let p = home_service_partner(&app, "jiazheng", Some(120), true).await;
    let resident = app.login_resident("lisi").await;
    issue_time_credits(&app.state.db, &resident.user_id, 200).await;
    let token = resident.access_token.clone();
    let body = json!({ "offer_id": p.offer_id, "at": in_two_days(), "pay_with": "time_credits" });

    let first = expect_json(order(&app, &token, body.clone()).await, StatusCode::CREATED).await;
    assert_eq!(
        (first["asset"].as_str(), first["price"].as_i64()),
        (Some("time_credits"), Some(120))
    );
    // 80 minutes left: not enough for a second one.
    expect_problem(
        order(&app, &token, body.clone()).await,
        StatusCode::CONFLICT,
        "insufficient_time_credits",
    )
    .await;
    let first_id = first["id"].as_str().unwrap();
    let cancelled = expect_json(
        app.post(
            &format!("/api/v1/home-services/orders/{first_id}/cancel"),
            &json!({ "reason": "临时有事" }),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let wallet = app.wallet(&token).await;
    assert_eq!(
        (
            wallet["time_credits"]["balance_minutes"].as_i64(),
            wallet["time_credits"]["held_minutes"].as_i64()
        ),
        (Some(200), Some(0))
    );

    let second = expect_json(order(&app, &token, body).await, StatusCode::CREATED).await;
    let id = second["id"].as_str().unwrap();
    work_done(&app, &p, id).await;
    let confirmed = expect_json(act(&app, &token, id, "confirm").await, StatusCode::OK).await;
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(
        partner_balance(&app, Asset::TimeCredits, &p.partner_id).await,
        120
    );
    assert_eq!(partner_balance(&app, Asset::Points, &p.partner_id).await, 0);
    let wallet = app.wallet(&token).await;
    assert_eq!(
        (
            wallet["time_credits"]["balance_minutes"].as_i64(),
            wallet["time_credits"]["held_minutes"].as_i64()
        ),
        (Some(80), Some(0))
    );
    let mine = expect_json(
        app.get("/api/v1/home-services/orders", Some(&token)).await,
        StatusCode::OK,
    )
    .await;
    let statuses: Vec<&str> = mine
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["confirmed", "cancelled"]);
    let listed = expect_json(
        app.get(
            &format!(
                "/api/v1/partners/{}/home-services/orders?status=cancelled",
                p.partner_id
            ),
            Some(&p.owner),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Someone else's order is not there for them.
    let other = app.login_resident("wangwu").await.access_token;
    expect_problem(
        app.get(&format!("/api/v1/home-services/orders/{id}"), Some(&other))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        act(&app, &other, first_id, "cancel").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    app.assert_ledger_balanced().await;
}

async fn street_staff(app: &TestApp, username: &str, street: &str) -> String {
    app.new_staff(username, "street_staff", street).await
}

#[tokio::test]
async fn community_staff_order_for_a_care_recipient_from_the_public_benefit_budget() {
    let app = spawn_app().await;
    let p = home_service_partner(&app, "jiazheng", Some(120), true).await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let resident = app.login_resident("liunainai").await;
    let compound = app.org_id("阳光小区").await;
    let recipient = expect_json(
        app.post(
            "/api/v1/staff/care-recipients",
            &json!({
                "user_id": resident.user_id, "name": "刘奶奶", "compound_id": compound,
                "groups": ["living_alone_elderly"], "colour": "red", "consent": true,
            }),
            Some(&community),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let recipient_id = recipient["id"].as_str().unwrap();
    let body = json!({ "offer_id": p.offer_id, "for_care_recipient_id": recipient_id, "at": in_two_days() });

    let street = street_staff(&app, "xinhua.street", "新华街道").await;
    expect_problem(
        order(&app, &street, body.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let elsewhere = street_staff(&app, "kaiyuan.street", "开源街道").await;
    expect_problem(
        order(&app, &elsewhere, body.clone()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        order(&app, &resident.access_token, body.clone()).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let mut in_credits = body.clone();
    in_credits["pay_with"] = json!("time_credits");
    expect_problem(
        order(&app, &community, in_credits).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let budget_before = app.budget_named(&community, "新华社区").await;
    let placed = expect_json(order(&app, &community, body).await, StatusCode::CREATED).await;
    assert_eq!(
        (placed["paid_by"].as_str(), placed["asset"].as_str()),
        (Some("community"), Some("points"))
    );
    assert_eq!(placed["user_id"].as_str(), Some(resident.user_id.as_str()));
    let id = placed["id"].as_str().unwrap();
    // The resident served sees it, and was told; the street reads it; they do not confirm it.
    expect_json(
        app.get(
            &format!("/api/v1/home-services/orders/{id}"),
            Some(&resident.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.get(&format!("/api/v1/home-services/orders/{id}"), Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.get(
            &format!("/api/v1/home-services/orders/{id}"),
            Some(&elsewhere),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    work_done(&app, &p, id).await;
    expect_problem(
        act(&app, &resident.access_token, id, "confirm").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        act(&app, &street, id, "confirm").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_json(act(&app, &community, id, "confirm").await, StatusCode::OK).await;
    assert_eq!(
        app.budget_named(&community, "新华社区").await,
        budget_before - 300
    );
    assert_eq!(
        partner_balance(&app, Asset::Points, &p.partner_id).await,
        300
    );
    let wallet = app.wallet(&resident.access_token).await;
    assert_eq!(wallet["points"]["balance"], 0);

    // The order is in the recipient's access log, and on the dashboards that cover it only.
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let log = expect_json(
        app.get(
            &format!("/api/v1/admin/care-audit?recipient_id={recipient_id}"),
            Some(&admin),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "order"),
        "{log}"
    );
    let figures = care_figures(&app, &street, "新华街道").await;
    assert_eq!(
        (
            figures["total"].as_i64(),
            figures["for_care_recipients"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let other = care_figures(&app, &elsewhere, "开源街道").await;
    assert_eq!(other["total"], 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn the_demo_has_a_home_service_with_a_verified_worker_to_order() {
    let app = spawn_app().await;
    api::seed::run(&app.state.db, &app.clock, &app.state.care_sealer)
        .await
        .unwrap();
    let catalog = expect_json(
        app.get("/api/v1/offers?kind=home_service", None).await,
        StatusCode::OK,
    )
    .await;
    let items = catalog["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{catalog}");
    assert_eq!(items[0]["time_credits_price"], 120);
    let services = expect_json(
        app.get("/api/v1/offers?kind=service&limit=100", None).await,
        StatusCode::OK,
    )
    .await;
    assert!(services["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["kind"] == "service"));
    let partner_id = items[0]["merchant_id"].as_str().unwrap();
    let owner = app.login_resident("lijie").await.access_token;
    let workers = expect_json(
        app.get(
            &format!("/api/v1/partners/{partner_id}/workers"),
            Some(&owner),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(workers[0]["verified_at"].is_string(), "{workers}");
    assert_eq!(workers[0]["phone_masked"], "137****0001");
    // Seeding again at the next start adds no second worker.
    api::seed::run(&app.state.db, &app.clock, &app.state.care_sealer)
        .await
        .unwrap();
    let again = expect_json(
        app.get(
            &format!("/api/v1/partners/{partner_id}/workers"),
            Some(&owner),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unserved_orders_lapse_and_silent_ones_are_confirmed_by_the_jobs() {
    let app = spawn_app().await;
    let p = home_service_partner(&app, "jiazheng", None, true).await;
    let resident = app.login_resident("zhaoliu").await;
    app.give_points(&resident, 1000).await;
    let token = resident.access_token.clone();
    let body = json!({ "offer_id": p.offer_id, "at": in_two_days() });
    let unserved = expect_json(order(&app, &token, body.clone()).await, StatusCode::CREATED).await;
    let done = expect_json(order(&app, &token, body).await, StatusCode::CREATED).await;
    let done_id = done["id"].as_str().unwrap();
    work_done(&app, &p, done_id).await;

    // A day later nothing is due yet.
    app.clock.advance(chrono::Duration::days(1));
    let round = api::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(round.home_service_orders, Default::default());
    app.clock.advance(chrono::Duration::days(9));
    let round = api::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(
        (
            round.home_service_orders.lapsed,
            round.home_service_orders.auto_confirmed
        ),
        (1, 1)
    );
    let again = api::jobs::run_once(&app.state).await.unwrap();
    assert_eq!(again.home_service_orders, Default::default());

    // Ten days on, the resident logs in afresh.
    let token = app.login_resident("zhaoliu").await.access_token;
    let lapsed = expect_json(
        app.get(
            &format!(
                "/api/v1/home-services/orders/{}",
                unserved["id"].as_str().unwrap()
            ),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (lapsed["status"].as_str(), lapsed["cancel_reason"].as_str()),
        (Some("cancelled"), Some("lapsed"))
    );
    let confirmed = expect_json(
        app.get(
            &format!("/api/v1/home-services/orders/{done_id}"),
            Some(&token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(confirmed["status"], "confirmed");
    let wallet = app.wallet(&token).await;
    assert_eq!(
        (
            wallet["points"]["balance"].as_i64(),
            wallet["points"]["held"].as_i64()
        ),
        (Some(700), Some(0))
    );
    assert_eq!(
        partner_balance(&app, Asset::Points, &p.partner_id).await,
        300
    );
    app.assert_ledger_balanced().await;
}
