//! Staff login, the org tree, and creating orgs and staff within one's own scope.

use linli_tests::{expect_json, expect_problem, spawn_app, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn create_org(
    app: &TestApp,
    token: &str,
    kind: &str,
    name: &str,
    parent_id: &str,
) -> reqwest::Response {
    app.post(
        "/api/v1/admin/orgs",
        &json!({ "kind": kind, "name": name, "parent_id": parent_id }),
        Some(token),
    )
    .await
}

async fn create_staff(
    app: &TestApp,
    token: &str,
    username: &str,
    role: &str,
    org_id: &str,
) -> reqwest::Response {
    app.post(
        "/api/v1/admin/staff",
        &json!({ "username": username, "password": "a-good-password", "role": role, "org_id": org_id }),
        Some(token),
    )
    .await
}

#[tokio::test]
async fn the_demo_district_and_staff_logins_exist() {
    let app = spawn_app().await;
    let tree = app.org_tree().await;
    let roots = tree.as_array().unwrap();
    assert_eq!(roots.len(), 1);
    assert_eq!(roots[0]["name"], "平城区");
    assert_eq!(roots[0]["kind"], "district");
    let streets = roots[0]["children"].as_array().unwrap();
    assert_eq!(streets.len(), 12);
    let communities: usize = streets
        .iter()
        .map(|s| s["children"].as_array().unwrap().len())
        .sum();
    assert_eq!(communities, 31);
    let wuding = streets.iter().find(|s| s["name"] == "武定街道").unwrap();
    assert!(wuding["children"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "泰园社区"));

    for (username, role) in [
        ("admin", "district_admin"),
        ("street", "street_staff"),
        ("community", "community_staff"),
    ] {
        let session = app.login_staff(username, DEMO_PASSWORD).await;
        assert_eq!(session.roles, vec![role.to_owned()], "{username}");
        let me = expect_json(
            app.get("/api/v1/me", Some(&session.access_token)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["roles"], json!([role]));
    }
}

#[tokio::test]
async fn wrong_passwords_and_unknown_staff_are_the_same_401() {
    let app = spawn_app().await;
    for (username, password) in [("street", "wrong-password"), ("nobody", DEMO_PASSWORD)] {
        let response = app
            .post(
                "/api/v1/auth/staff-login",
                &json!({ "username": username, "password": password }),
                None,
            )
            .await;
        let body = expect_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert_eq!(body["detail"], "Wrong username or password.");
    }
}

#[tokio::test]
async fn street_staff_manage_orgs_and_staff_only_inside_their_street() {
    let app = spawn_app().await;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let xinhua = app.org_id("新华街道").await;
    let kaiyuan = app.org_id("开源街道").await;
    let district = app.org_id("平城区").await;

    // Inside: a new community under 新华街道, and a compound under it.
    let created = expect_json(
        create_org(&app, &street, "community", "幸福社区", &xinhua).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["kind"], "community");
    assert_eq!(created["parent_id"], xinhua.as_str());
    let community_id = created["id"].as_str().unwrap().to_owned();
    expect_json(
        create_org(&app, &street, "compound", "幸福家园", &community_id).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(app.org_id("幸福社区").await, community_id);

    // Outside: another street, or the district itself.
    expect_problem(
        create_org(&app, &street, "community", "越界社区", &kaiyuan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        create_org(&app, &street, "street", "越界街道", &district).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Staff inside the street, at or below the creator's own level.
    let staff = expect_json(
        create_staff(
            &app,
            &street,
            "xingfu.staff",
            "community_staff",
            &community_id,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(staff["role"], "community_staff");
    let session = app.login_staff("xingfu.staff", "a-good-password").await;
    assert_eq!(session.roles, vec!["community_staff"]);

    // Staff outside the street, or above the creator's level.
    let kaiyuan_community = app.org_id("开源社区").await;
    expect_problem(
        create_staff(
            &app,
            &street,
            "outsider",
            "community_staff",
            &kaiyuan_community,
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        create_staff(&app, &street, "wannabe.admin", "district_admin", &district).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        create_staff(&app, &street, "other.street", "street_staff", &kaiyuan).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn community_staff_cannot_promote_anyone_above_themselves() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let xinhua = app.org_id("新华街道").await;
    let own = app.org_id("新华社区").await;
    expect_problem(
        create_staff(&app, &community, "boss", "street_staff", &xinhua).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_json(
        create_staff(&app, &community, "colleague", "community_staff", &own).await,
        StatusCode::CREATED,
    )
    .await;
    let sibling = app.org_id("和平社区").await;
    expect_problem(
        create_staff(&app, &community, "neighbour", "community_staff", &sibling).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn the_district_admin_reaches_every_street() {
    let app = spawn_app().await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let district = app.org_id("平城区").await;
    let kaiyuan = app.org_id("开源街道").await;
    expect_json(
        create_org(&app, &admin, "street", "新街道", &district).await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        create_staff(&app, &admin, "kaiyuan.lead", "street_staff", &kaiyuan).await,
        StatusCode::CREATED,
    )
    .await;
    let lead = app
        .login_staff("kaiyuan.lead", "a-good-password")
        .await
        .access_token;
    let kaiyuan_community = app.org_id("开源社区").await;
    expect_json(
        create_org(&app, &lead, "compound", "开源小区", &kaiyuan_community).await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn residents_cannot_manage_orgs_or_staff() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let xinhua = app.org_id("新华街道").await;
    expect_problem(
        create_org(&app, &alice, "community", "居民社区", &xinhua).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let community = app.org_id("新华社区").await;
    expect_problem(
        create_staff(&app, &alice, "sneaky", "community_staff", &community).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/admin/orgs",
            &json!({ "kind": "community", "name": "x", "parent_id": xinhua }),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "token_missing",
    )
    .await;
}

#[tokio::test]
async fn invalid_org_and_staff_requests_are_422_or_409() {
    let app = spawn_app().await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let district = app.org_id("平城区").await;
    let community = app.org_id("新华社区").await;

    let fields = |body: &Value| -> Vec<String> {
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    // A community directly under the district skips a level.
    let body = expect_problem(
        create_org(&app, &admin, "community", "跳级社区", &district).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), vec!["kind"]);
    let body = expect_problem(
        create_org(&app, &admin, "city", "", &district).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), vec!["kind", "name"]);
    let body = expect_problem(
        create_org(&app, &admin, "street", "无父街道", "no-such-org").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), vec!["parent_id"]);
    // Two siblings with one name.
    let body = expect_problem(
        create_org(&app, &admin, "street", "新华街道", &district).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), vec!["name"]);

    let body = expect_problem(
        create_staff(&app, &admin, "x", "resident", &community).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), vec!["username", "role"]);
    // Role and org kind must match.
    let body = expect_problem(
        create_staff(&app, &admin, "mismatch", "street_staff", &community).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), vec!["org_id"]);
    expect_problem(
        create_staff(&app, &admin, "street", "community_staff", &community).await,
        StatusCode::CONFLICT,
        "username_taken",
    )
    .await;
}
