//! Merchants and partners: application, review in scope, lifecycle, offers and the catalog.

use chrono::{Duration, Utc};
use linli_tests::{expect_json, expect_problem, spawn_app, TestApp, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn application(app: &TestApp, token: &str, name: &str, community: &str) -> reqwest::Response {
    app.post(
        "/api/v1/merchants/applications",
        &json!({
            "name": name,
            "category": "生活服务",
            "license_no": "91140200MA0XXXX",
            "address": "平城区新华街12号",
            "contact_phone": "13800001111",
            "community_id": community,
            "description": "社区理发，老人半价",
            "partner_type": "independent"
        }),
        Some(token),
    )
    .await
}

async fn review(
    app: &TestApp,
    token: &str,
    id: &str,
    action: &str,
    reason: &str,
) -> reqwest::Response {
    app.post(
        &format!("/api/v1/staff/merchants/{id}/{action}"),
        &json!({ "reason": reason }),
        Some(token),
    )
    .await
}

fn offer_body(title: &str) -> Value {
    let now = Utc::now();
    json!({
        "title": title,
        "description": "凭码享受一次理发服务 ✂️",
        "category": "生活服务",
        "points_price": 200,
        "cash_value_fen": 2000,
        "stock": 10,
        "per_user_limit": 2,
        "valid_from": (now - Duration::hours(1)).to_rfc3339(),
        "valid_until": (now + Duration::days(30)).to_rfc3339(),
    })
}

/// Titles in the catalog for `query`, of this test's merchant only (the demo seed has its own).
async fn catalog_titles(app: &TestApp, query: &str, merchant: &str) -> Vec<String> {
    let page = expect_json(
        app.get(&format!("/api/v1/offers{query}"), None).await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["merchant_id"] == merchant)
        .map(|o| o["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_application_is_reviewed_by_staff_in_scope_and_the_applicant_becomes_owner() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    let community = app.org_id("新华社区").await;
    let created = expect_json(
        application(&app, &alice.access_token, "老王理发店", &community).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["status"], "pending");
    assert_eq!(created["name"], "老王理发店");
    let id = created["id"].as_str().unwrap();

    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let pending = expect_json(
        app.get("/api/v1/staff/merchants?status=pending", Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending["items"][0]["id"], id);

    // Staff of another street neither see nor touch it.
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let kaiyuan = app.org_id("开源街道").await;
    expect_json(
        app.post("/api/v1/admin/staff", &json!({ "username": "kaiyuan.staff", "password": "a-good-password", "role": "street_staff", "org_id": kaiyuan }), Some(&admin)).await,
        StatusCode::CREATED,
    )
    .await;
    let other = app
        .login_staff("kaiyuan.staff", "a-good-password")
        .await
        .access_token;
    let listed = expect_json(
        app.get("/api/v1/staff/merchants", Some(&other)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"], json!([]));
    expect_problem(
        review(&app, &other, id, "approve", "").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Residents cannot review.
    expect_problem(
        review(&app, &alice.access_token, id, "approve", "").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let approved = expect_json(
        review(&app, &street, id, "approve", "").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(approved["status"], "active");
    let me = expect_json(
        app.get("/api/v1/me", Some(&alice.access_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["merchant_ids"], json!([id]));
    assert_eq!(me["roles"], json!(["resident", "merchant_staff"]));
    expect_problem(
        review(&app, &street, id, "approve", "").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
}

#[tokio::test]
async fn the_lifecycle_needs_reasons_and_follows_its_states() {
    let app = spawn_app().await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let bob = app.login_resident("bob").await.access_token;
    let community = app.org_id("新华社区").await;
    let m = expect_json(
        application(&app, &bob, "无证小摊", &community).await,
        StatusCode::CREATED,
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let body = expect_problem(
        review(&app, &staff, id, "reject", "  ").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "reason");
    assert_eq!(
        expect_json(
            review(&app, &staff, id, "reject", "营业执照无效").await,
            StatusCode::OK
        )
        .await["status"],
        "rejected"
    );
    expect_problem(
        review(&app, &staff, id, "reinstate", "再试").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    let (_, id) = app.approved_merchant("carol").await;
    for (action, status) in [
        ("suspend", "suspended"),
        ("reinstate", "active"),
        ("suspend", "suspended"),
        ("close", "closed"),
    ] {
        let body = expect_json(
            review(&app, &staff, &id, action, "巡查记录").await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(body["status"], status, "{action}");
    }
    expect_problem(
        review(&app, &staff, &id, "reinstate", "x").await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_problem(
        review(&app, &staff, &id, "dance", "x").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let closed = expect_json(
        app.get("/api/v1/staff/merchants?status=closed", Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["items"].as_array().unwrap().len(), 1);
    expect_problem(
        app.get("/api/v1/staff/merchants?status=open", Some(&staff))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn bad_applications_and_offers_are_422_with_fields_and_write_nothing() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let street = app.org_id("新华街道").await;
    let body = expect_problem(
        application(&app, &alice, "", &street).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["name", "community_id"]);
    expect_problem(
        application(&app, &alice, "店", "no-such-community").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let (owner, merchant) = app.approved_merchant("owner").await;
    let path = format!("/api/v1/merchants/{merchant}/offers");
    let now = Utc::now();
    for (patch, field) in [
        (json!({ "points_price": -5 }), "points_price"),
        (json!({ "cash_value_fen": -1 }), "cash_value_fen"),
        (json!({ "title": "长".repeat(10_000) }), "title"),
        (json!({ "stock": -3 }), "stock"),
        (
            json!({ "valid_until": (now - Duration::days(2)).to_rfc3339() }),
            "valid_until",
        ),
        (
            json!({ "valid_from": (now + Duration::days(40)).to_rfc3339() }),
            "valid_until",
        ),
        (json!({ "valid_from": "next tuesday" }), "valid_from"),
    ] {
        let mut body = offer_body("理发一次");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let problem = expect_problem(
            app.post(&path, &body, Some(&owner)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{patch}");
    }
    let own = expect_json(app.get(&path, Some(&owner)).await, StatusCode::OK).await;
    assert_eq!(own, json!([]), "nothing was written");
    // Emoji and Chinese text are fine.
    let created = expect_json(
        app.post(&path, &offer_body("🍜 牛肉面一碗"), Some(&owner))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["title"], "🍜 牛肉面一碗");
    assert_eq!(created["status"], "draft");
}

#[tokio::test]
async fn offers_go_from_draft_to_the_catalog_and_back_out() {
    let app = spawn_app().await;
    let (owner, merchant) = app.approved_merchant("owner").await;
    let stranger = app.login_resident("stranger").await.access_token;
    let path = format!("/api/v1/merchants/{merchant}/offers");
    expect_problem(
        app.post(&path, &offer_body("理发一次"), Some(&stranger))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let draft = expect_json(
        app.post(&path, &offer_body("理发一次"), Some(&owner)).await,
        StatusCode::CREATED,
    )
    .await;
    let offer_id = draft["id"].as_str().unwrap().to_owned();
    let offer_path = format!("{path}/{offer_id}");
    assert!(
        catalog_titles(&app, "", &merchant).await.is_empty(),
        "drafts are not listed"
    );
    expect_problem(
        app.get(&format!("/api/v1/offers/{offer_id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Drafts can be edited; `stock: null` makes it unlimited.
    let edited = app
        .send(
            app.request(Method::PATCH, &offer_path, Some(&owner))
                .json(&json!({ "title": "精剪理发", "stock": null })),
        )
        .await;
    let edited = expect_json(edited, StatusCode::OK).await;
    assert_eq!(edited["title"], "精剪理发");
    assert!(edited["stock"].is_null());
    assert_eq!(edited["points_price"], 200);

    expect_json(
        app.post(&format!("{offer_path}/publish"), &json!({}), Some(&owner))
            .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.post(&format!("{offer_path}/publish"), &json!({}), Some(&owner))
            .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert_eq!(catalog_titles(&app, "", &merchant).await, vec!["精剪理发"]);
    let community = app.org_id("新华社区").await;
    assert_eq!(
        catalog_titles(&app, &format!("?community_id={community}"), &merchant).await,
        vec!["精剪理发"]
    );
    let other_community = app.org_id("和平社区").await;
    assert!(
        catalog_titles(&app, &format!("?community_id={other_community}"), &merchant)
            .await
            .is_empty()
    );
    assert_eq!(
        catalog_titles(&app, "?q=%E7%B2%BE%E5%89%AA", &merchant).await,
        vec!["精剪理发"]
    ); // q=精剪
    assert!(
        catalog_titles(&app, "?q=%25", &merchant).await.is_empty(),
        "a bare % matches nothing special"
    );
    assert_eq!(
        catalog_titles(
            &app,
            "?category=%E7%94%9F%E6%B4%BB%E6%9C%8D%E5%8A%A1",
            &merchant
        )
        .await,
        vec!["精剪理发"]
    );
    let one = expect_json(
        app.get(&format!("/api/v1/offers/{offer_id}"), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["merchant_id"], merchant.as_str());

    // Published offers are not edited in place.
    let response = app
        .send(
            app.request(Method::PATCH, &offer_path, Some(&owner))
                .json(&json!({ "points_price": 1 })),
        )
        .await;
    expect_problem(response, StatusCode::CONFLICT, "invalid_transition").await;

    // A suspended merchant's offers leave the catalog; reinstated, they return.
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    expect_json(
        review(&app, &staff, &merchant, "suspend", "投诉核查").await,
        StatusCode::OK,
    )
    .await;
    assert!(catalog_titles(&app, "", &merchant).await.is_empty());
    expect_problem(
        app.get(&format!("/api/v1/offers/{offer_id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(&path, &offer_body("新服务"), Some(&owner)).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_json(
        review(&app, &staff, &merchant, "reinstate", "核查完毕").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(catalog_titles(&app, "", &merchant).await, vec!["精剪理发"]);

    expect_json(
        app.post(&format!("{offer_path}/unpublish"), &json!({}), Some(&owner))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(catalog_titles(&app, "", &merchant).await.is_empty());
    let own = expect_json(app.get(&path, Some(&owner)).await, StatusCode::OK).await;
    assert_eq!(own[0]["status"], "unpublished");
}

#[tokio::test]
async fn owners_invite_staff_once_and_can_remove_them() {
    let app = spawn_app().await;
    let (owner, merchant) = app.approved_merchant("owner").await;
    let invite = expect_json(
        app.post(
            &format!("/api/v1/merchants/{merchant}/invites"),
            &json!({}),
            Some(&owner),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let code = invite["code"].as_str().unwrap().to_owned();
    let clerk = app.login_resident("clerk").await;
    // Only the owner invites.
    expect_problem(
        app.post(
            &format!("/api/v1/merchants/{merchant}/invites"),
            &json!({}),
            Some(&clerk.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let accepted = expect_json(
        app.post(
            &format!("/api/v1/merchant-invites/{code}/accept"),
            &json!({}),
            Some(&clerk.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(accepted["merchant_id"], merchant.as_str());
    let me = expect_json(
        app.get("/api/v1/me", Some(&clerk.access_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["merchant_ids"], json!([merchant]));
    // The code works once.
    let someone = app.login_resident("someone").await.access_token;
    expect_problem(
        app.post(
            &format!("/api/v1/merchant-invites/{code}/accept"),
            &json!({}),
            Some(&someone),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let people = expect_json(
        app.get(
            &format!("/api/v1/merchants/{merchant}/staff"),
            Some(&clerk.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let roles: Vec<&str> = people
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["member_role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["owner", "staff"]);

    // Staff verify redemptions too; once removed, they cannot.
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 500).await;
    let offer = expect_json(
        app.post(
            &format!("/api/v1/merchants/{merchant}/offers"),
            &offer_body("洗车"),
            Some(&owner),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let offer_id = offer["id"].as_str().unwrap();
    expect_json(
        app.post(
            &format!("/api/v1/merchants/{merchant}/offers/{offer_id}/publish"),
            &json!({}),
            Some(&owner),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let r = expect_json(
        app.post(
            &format!("/api/v1/offers/{offer_id}/redemptions"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let code = expect_json(
        app.post(
            &format!("/api/v1/redemptions/{}/code", r["id"].as_str().unwrap()),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let remove = app
        .send(app.request(
            Method::DELETE,
            &format!("/api/v1/merchants/{merchant}/staff/{}", clerk.user_id),
            Some(&owner),
        ))
        .await;
    assert_eq!(remove.status(), StatusCode::NO_CONTENT);
    expect_problem(
        app.post(
            &format!("/api/v1/merchants/{merchant}/redemptions/verify"),
            &json!({ "code": code["code"] }),
            Some(&clerk.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "code_invalid",
    )
    .await;
    let owner_id = people[0]["user_id"].as_str().unwrap();
    let response = app
        .send(app.request(
            Method::DELETE,
            &format!("/api/v1/merchants/{merchant}/staff/{owner_id}"),
            Some(&owner),
        ))
        .await;
    expect_problem(response, StatusCode::CONFLICT, "invalid_transition").await;
}

#[tokio::test]
async fn every_lifecycle_step_is_in_the_audit_trail() {
    let app = spawn_app().await;
    let (_, merchant) = app.approved_merchant("owner").await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    expect_json(
        review(&app, &staff, &merchant, "suspend", "消防检查").await,
        StatusCode::OK,
    )
    .await;
    let detail = expect_json(
        app.get(&format!("/api/v1/staff/merchants/{merchant}"), Some(&staff))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["status"], "suspended");
    let trail: Vec<(String, String)> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        vec![
            ("apply".into(), "".into()),
            ("approve".into(), "".into()),
            ("suspend".into(), "消防检查".into())
        ]
    );
    let resident = app.login_resident("nosy").await.access_token;
    expect_problem(
        app.get(
            &format!("/api/v1/staff/merchants/{merchant}"),
            Some(&resident),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn the_demo_has_merchants_with_published_offers() {
    let app = spawn_app().await;
    let page = expect_json(
        app.get("/api/v1/offers?limit=100", None).await,
        StatusCode::OK,
    )
    .await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"理发一次") && titles.contains(&"两小时保洁"),
        "{titles:?}"
    );
    let laowang = app.login_resident("laowang").await;
    assert_eq!(laowang.roles, vec!["resident", "merchant_staff"]);
    // Seeding again at the next start adds nothing.
    api::seed::run(&app.state.db, &app.clock, &app.state.care_sealer)
        .await
        .unwrap();
    let again = expect_json(
        app.get("/api/v1/offers?limit=100", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["items"].as_array().unwrap().len(), titles.len());
}
