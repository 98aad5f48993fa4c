//! Care for special groups: who may read and write a record, the access log of each, the
//! sealed phone and ID numbers, visits, the care map and consent withdrawal.

use linli_tests::{expect_json, expect_problem, spawn_app, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

const PHONE: &str = "13912345678";
const ID_NUMBER: &str = "140202195003041234";

async fn staff_of(app: &TestApp, username: &str, role: &str, org: &str) -> String {
    app.new_staff(username, role, org).await
}

async fn register(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.post("/api/v1/staff/care-recipients", &body, Some(token))
        .await
}

fn body(compound: &str, user_id: Option<&str>) -> Value {
    json!({
        "user_id": user_id, "name": "张秀英", "phone": PHONE, "id_number": ID_NUMBER,
        "compound_id": compound, "groups": ["living_alone_elderly"], "colour": "red",
        "needs": ["助餐", "陪诊"], "consent": true,
    })
}

async fn log_of(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let log = expect_json(
        app.get(
            &format!("/api/v1/admin/care-audit?recipient_id={id}"),
            Some(&admin),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut rows: Vec<(String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["purpose"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    rows.reverse();
    rows
}

#[tokio::test]
async fn only_the_community_writes_its_street_reads_and_every_access_is_logged() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let sibling = staff_of(&app, "heping.care", "community_staff", "和平社区").await;
    let compound = app.org_id("阳光小区").await;
    let resident = app.login_neighbour("zhangxiuying", "新华社区").await;

    let mut no_consent = body(&compound, None);
    no_consent["consent"] = json!(false);
    expect_problem(
        register(&app, &community, no_consent).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        register(&app, &street, body(&compound, None)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        register(&app, &sibling, body(&compound, None)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        register(&app, &resident.access_token, body(&compound, None)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    let created = expect_json(
        register(&app, &community, body(&compound, Some(&resident.user_id))).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["phone_masked"], "139****5678");
    assert_eq!(created["id_number_masked"], "140***********1234");
    assert_eq!(created["visit_every_days"], 7);
    assert!(!created.to_string().contains(PHONE) && !created.to_string().contains(ID_NUMBER));
    let id = created["id"].as_str().unwrap().to_owned();
    let detail = format!("/api/v1/staff/care-recipients/{id}");

    // Reading needs a purpose; the street reads, the sibling community does not.
    expect_problem(
        app.get(&detail, Some(&street)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let read = expect_json(
        app.get(&format!("{detail}?purpose=季度走访核对"), Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["needs"], json!(["助餐", "陪诊"]));
    expect_problem(
        app.get(&format!("{detail}?purpose=查看"), Some(&sibling))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let listed = expect_json(
        app.get("/api/v1/staff/care-recipients?colour=red", Some(&street))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["colour"] == "red"));
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id.as_str()));
    let theirs = expect_json(
        app.get("/api/v1/staff/care-recipients", Some(&sibling))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(!theirs
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id.as_str()));
    expect_problem(
        app.get(
            "/api/v1/staff/care-recipients",
            Some(&resident.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Visits: the community logs them; the street may not.
    let visits = format!("{detail}/visits");
    let now = chrono::Utc::now();
    expect_problem(
        app.post(
            &visits,
            &json!({ "at": now, "outcome": "well" }),
            Some(&street),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            &visits,
            &json!({ "at": now, "outcome": "fine" }),
            Some(&community),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_json(
        app.post(
            &visits,
            &json!({ "at": now, "note": "身体状况良好", "outcome": "well" }),
            Some(&community),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    // The resident sees their own record; another resident sees none.
    let own = expect_json(
        app.get("/api/v1/me/care-record", Some(&resident.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(own["id"], id.as_str());
    let stranger = app.login_resident("stranger").await.access_token;
    expect_problem(
        app.get("/api/v1/me/care-record", Some(&stranger)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Every read and write, in order, with who and why; only the district admin reads it.
    let actions: Vec<String> = log_of(&app, &id)
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(actions, ["register", "read", "list", "visit", "read"]);
    assert!(log_of(&app, &id)
        .await
        .contains(&("read".to_owned(), "季度走访核对".to_owned())));
    expect_problem(
        app.get("/api/v1/admin/care-audit", Some(&street)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn phone_and_id_numbers_are_not_stored_as_plain_text() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let compound = app.org_id("阳光小区").await;
    let created = expect_json(
        register(&app, &community, body(&compound, None)).await,
        StatusCode::CREATED,
    )
    .await;
    let db = &app.state.db;
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT * FROM care_recipients WHERE id = '{}'",
                created["id"].as_str().unwrap()
            ),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let sealed: String = rows[0].try_get("", "phone_sealed").unwrap();
    assert!(sealed.starts_with("v1:") && !sealed.contains(PHONE));
    let id_sealed: String = rows[0].try_get("", "id_number_sealed").unwrap();
    assert!(!id_sealed.contains(ID_NUMBER) && id_sealed != sealed);
    // And they open with the server's key.
    assert_eq!(app.state.care_sealer.open(&sealed).unwrap(), PHONE);
    assert_eq!(created["phone_masked"], "139****5678");
}

#[tokio::test]
async fn withdrawing_consent_erases_the_record_and_keeps_only_the_log() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let compound = app.org_id("阳光小区").await;
    let resident = app.login_neighbour("liqing", "新华社区").await;
    let created = expect_json(
        register(&app, &community, body(&compound, Some(&resident.user_id))).await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    expect_json(
        app.post(
            &format!("/api/v1/staff/care-recipients/{id}/visits"),
            &json!({ "at": chrono::Utc::now(), "outcome": "well" }),
            Some(&community),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let withdrawn = expect_json(
        app.post(
            "/api/v1/me/care-record/withdraw",
            &json!({}),
            Some(&resident.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(withdrawn["recipient_id"], id.as_str());
    expect_problem(
        app.get("/api/v1/me/care-record", Some(&resident.access_token))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get(
            &format!("/api/v1/staff/care-recipients/{id}?purpose=核对"),
            Some(&community),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let db = &app.state.db;
    for (table, column) in [("care_recipients", "id"), ("care_visits", "recipient_id")] {
        let row = db
            .query_one(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE {column} = '{id}'"
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 0, "{table}");
    }
    let actions: Vec<String> = log_of(&app, &id)
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(actions, ["register", "visit", "withdraw"]);
    expect_problem(
        app.post(
            "/api/v1/me/care-record/withdraw",
            &json!({}),
            Some(&resident.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_care_map_counts_by_colour_and_group_without_personal_data() {
    let app = spawn_app().await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let sunshine = app.org_id("阳光小区").await;
    let river = app.org_id("御河花园").await;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let sunny_in = |map: &Value| {
        map.as_array()
            .unwrap()
            .iter()
            .find(|c| c["compound_id"] == sunshine.as_str())
            .cloned()
            .unwrap_or(json!({"total": 0, "by_colour": [{"count": 0}, {"count": 0}, {"count": 0}, {"count": 0}, {"count": 0}], "by_group": {}, "visits_overdue": 0}))
    };
    let before = sunny_in(
        &expect_json(
            app.get("/api/v1/staff/care-map", Some(&street)).await,
            StatusCode::OK,
        )
        .await,
    );
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    for (compound, colour, group) in [
        (&sunshine, "red", "living_alone_elderly"),
        (&sunshine, "blue", "disabled"),
        (&river, "red", "hardship"),
    ] {
        let mut b = body(compound, None);
        b["colour"] = json!(colour);
        b["groups"] = json!([group]);
        expect_json(register(&app, &community, b).await, StatusCode::CREATED).await;
    }
    let map = expect_json(
        app.get("/api/v1/staff/care-map", Some(&street)).await,
        StatusCode::OK,
    )
    .await;
    let text = map.to_string();
    assert!(!text.contains("张秀英") && !text.contains(PHONE) && !text.contains("5678"));
    let sunny = sunny_in(&map);
    assert_eq!(sunny["compound_name"], "阳光小区");
    assert_eq!(n(&sunny["total"]), n(&before["total"]) + 2);
    assert_eq!(sunny["by_colour"][0]["colour"], "red");
    assert_eq!(
        n(&sunny["by_colour"][0]["count"]),
        n(&before["by_colour"][0]["count"]) + 1
    );
    assert_eq!(
        n(&sunny["by_colour"][3]["count"]),
        n(&before["by_colour"][3]["count"]) + 1
    );
    assert_eq!(
        n(&sunny["by_group"]["disabled"]),
        n(&before["by_group"]["disabled"]) + 1
    );
    // None of them is due yet (red: 7 days).
    assert_eq!(n(&sunny["visits_overdue"]), n(&before["visits_overdue"]));
    let resident = app.login_resident("curious").await.access_token;
    expect_problem(
        app.get("/api/v1/staff/care-map", Some(&resident)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn partners_register_workers_that_only_community_staff_in_scope_verify_once() {
    let app = spawn_app().await;
    let (owner, partner_id) = app.approved_merchant("jiazheng").await;
    let (stranger, _) = app.approved_merchant("other").await;
    let path = format!("/api/v1/partners/{partner_id}/workers");
    let worker = json!({ "name": "李阿姨", "phone": "13700001234", "certificate_no": "家政服务员三级", "skills": ["保洁", "陪护"] });
    expect_problem(
        app.post(&path, &worker, Some(&stranger)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            &path,
            &json!({ "name": "李阿姨", "phone": "123", "certificate_no": "" }),
            Some(&owner),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let created = expect_json(
        app.post(&path, &worker, Some(&owner)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["phone_masked"], "137****1234");
    assert!(created["verified_at"].is_null());
    let id = created["id"].as_str().unwrap();
    let db = &app.state.db;
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT phone_sealed FROM home_workers WHERE id = '{id}'"),
        ))
        .await
        .unwrap()
        .unwrap();
    let sealed: String = row.try_get("", "phone_sealed").unwrap();
    assert!(sealed.starts_with("v1:") && !sealed.contains("13700001234"));

    let verify = format!("/api/v1/staff/workers/{id}/verify");
    let other = staff_of(&app, "kaiyuan.care", "street_staff", "开源街道").await;
    expect_problem(
        app.post(&verify, &json!({}), Some(&other)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(&verify, &json!({}), Some(&owner)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let community = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let verified = expect_json(
        app.post(&verify, &json!({}), Some(&community)).await,
        StatusCode::OK,
    )
    .await;
    assert!(verified["verified_at"].is_string());
    expect_problem(
        app.post(&verify, &json!({}), Some(&community)).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let listed = expect_json(app.get(&path, Some(&owner)).await, StatusCode::OK).await;
    assert_eq!(listed[0]["id"], id);
    assert!(listed[0]["verified_at"].is_string());
    expect_problem(
        app.get(&path, Some(&stranger)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
