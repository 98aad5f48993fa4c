//! /me, profile changes and phone binding (fake WeChat mode).

use linli_tests::{expect_json, expect_problem, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn residents_choose_a_community_and_compound() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let xinhua = app.org_id("新华社区").await;
    let sunshine = app.org_id("阳光小区").await;
    let body = expect_json(
        app.put(
            "/api/v1/me/profile",
            &json!({ "nickname": "  李大爷 ", "community_id": xinhua, "compound_id": sunshine }),
            Some(&alice),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["nickname"], "李大爷");
    assert_eq!(body["community_id"], xinhua.as_str());
    assert_eq!(body["compound_id"], sunshine.as_str());
    let me = expect_json(app.get("/api/v1/me", Some(&alice)).await, StatusCode::OK).await;
    assert_eq!(me["community_id"], xinhua.as_str());

    // Moving to another community drops the old compound.
    let heping = app.org_id("和平社区").await;
    let moved = expect_json(
        app.put(
            "/api/v1/me/profile",
            &json!({ "community_id": heping }),
            Some(&alice),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["community_id"], heping.as_str());
    assert!(moved["compound_id"].is_null());
    assert_eq!(moved["nickname"], "李大爷");
}

#[tokio::test]
async fn invalid_profile_changes_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let street = app.org_id("新华街道").await;
    let taiyuan_compound = app.org_id("泰园小区").await;
    let xinhua = app.org_id("新华社区").await;
    for (body, field) in [
        (json!({ "community_id": street }), "community_id"),
        (json!({ "community_id": "no-such-org" }), "community_id"),
        (
            json!({ "community_id": xinhua, "compound_id": taiyuan_compound }),
            "compound_id",
        ),
        (json!({ "nickname": "" }), "nickname"),
        (json!({ "nickname": "长".repeat(33) }), "nickname"),
    ] {
        let problem = expect_problem(
            app.put("/api/v1/me/profile", &body, Some(&alice)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let me = expect_json(app.get("/api/v1/me", Some(&alice)).await, StatusCode::OK).await;
    assert!(me["community_id"].is_null());
    assert!(me["nickname"].is_null());
}

#[tokio::test]
async fn phones_bind_in_fake_mode_and_are_only_ever_shown_masked() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let response = app
        .post(
            "/api/v1/me/phone",
            &json!({ "code": "dev-13800000000" }),
            Some(&alice),
        )
        .await;
    let text = response.text().await.unwrap();
    assert!(!text.contains("13800000000"), "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["phone_masked"], "138****0000");
    let me = app
        .get("/api/v1/me", Some(&alice))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        me.contains("138****0000") && !me.contains("13800000000"),
        "{me}"
    );

    expect_problem(
        app.post(
            "/api/v1/me/phone",
            &json!({ "code": "13800000000" }),
            Some(&alice),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "phone_code_invalid",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/me/phone",
            &json!({ "code": "dev-13800000000" }),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "token_missing",
    )
    .await;
}

/// Reading one's own page never waits for a write: while a write transaction holds the
/// writer (on SQLite its one connection, which a read sent there would queue for), `/me`
/// answers with its balances.
#[tokio::test]
async fn me_answers_while_a_write_transaction_holds_the_writer() {
    use sea_orm::TransactionTrait;
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let held = app.state.db.begin().await.unwrap();
    let me = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        app.get("/api/v1/me", Some(&alice)),
    )
    .await
    .expect("/me waited for the writer");
    let me = expect_json(me, StatusCode::OK).await;
    assert_eq!(me["balances"]["points"], 0);
    held.rollback().await.unwrap();
}
