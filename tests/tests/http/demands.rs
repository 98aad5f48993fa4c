//! Resident demands over HTTP: the whole life of a demand, every side road (transfer,
//! reject, withdraw, reopen, auto-close), the SLA jobs with a controlled clock, who may see
//! what, and the metrics from a scripted history.

use chrono::Duration;
use linli_tests::{expect_json, expect_problem, spawn_app, Session, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn category_id(app: &TestApp, name: &str) -> String {
    let list = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no category {name}: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn submit(
    app: &TestApp,
    who: &Session,
    category: &str,
    community: &str,
    title: &str,
) -> Value {
    let body = json!({
        "category_id": category_id(app, category).await,
        "title": title,
        "description": format!("{title}，请尽快处理。"),
        "community_id": app.org_id(community).await,
        "location": {"lat": 40.0768, "lng": 113.3001, "address": "新华街12号"},
        "photos": ["https://img.example.cn/demands/1.jpg"],
    });
    expect_json(
        app.post("/api/v1/demands", &body, Some(&who.access_token))
            .await,
        StatusCode::CREATED,
    )
    .await
}

async fn staff_act(
    app: &TestApp,
    who: &Session,
    id: &Value,
    action: &str,
    body: Value,
) -> reqwest::Response {
    let path = format!("/api/v1/staff/demands/{}/{action}", id.as_str().unwrap());
    app.post(&path, &body, Some(&who.access_token)).await
}

async fn resident_act(
    app: &TestApp,
    who: &Session,
    id: &Value,
    action: &str,
    body: Value,
) -> reqwest::Response {
    let path = format!("/api/v1/demands/{}/{action}", id.as_str().unwrap());
    app.post(&path, &body, Some(&who.access_token)).await
}

async fn detail(app: &TestApp, who: &Session, id: &Value) -> reqwest::Response {
    app.get(
        &format!("/api/v1/demands/{}", id.as_str().unwrap()),
        Some(&who.access_token),
    )
    .await
}

fn actions(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn notification_kinds(app: &TestApp, who: &Session) -> Vec<String> {
    let page = expect_json(
        app.get(
            "/api/v1/me/notifications?limit=100",
            Some(&who.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn run_jobs(app: &TestApp) -> api::jobs::RoundReport {
    api::jobs::run_once(&app.state).await.expect("job round")
}

/// The daily counts behind the metrics equal a recount from the demands themselves.
async fn assert_daily_counts_agree(app: &TestApp) {
    let differences = demands::service::rollup::verify(&app.state.db)
        .await
        .expect("recount");
    assert!(
        differences.is_empty(),
        "daily counts drifted: {differences:?}"
    );
}

/// Tokens live 15 minutes on the app's clock; after moving it, log in again.
async fn logins(app: &TestApp) -> (Session, Session, Session) {
    (
        app.login_resident("alice").await,
        app.login_staff("community", DEMO_PASSWORD).await,
        app.login_staff("street", DEMO_PASSWORD).await,
    )
}

#[tokio::test]
async fn a_demand_lives_from_submission_to_closure_with_an_event_for_each_step() {
    let app = spawn_app().await;
    app.clock.freeze();
    let (alice, community, _) = logins(&app).await;
    let created = submit(&app, &alice, "环境卫生", "新华社区", "楼道垃圾无人清理").await;
    assert_eq!(created["status"], "submitted");
    let submitted_at =
        chrono::DateTime::parse_from_rfc3339(created["submitted_at"].as_str().unwrap()).unwrap();
    let due_at = chrono::DateTime::parse_from_rfc3339(created["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        due_at - submitted_at,
        Duration::hours(24),
        "环境卫生 has a 24-hour SLA"
    );
    assert_eq!(created["photos"][0], "https://img.example.cn/demands/1.jpg");
    let id = &created["id"];

    let accepted = expect_json(
        staff_act(&app, &community, id, "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["handler_id"], community.user_id.as_str());
    let started = expect_json(
        staff_act(&app, &community, id, "start", json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(started["status"], "in_progress");
    app.clock.advance(Duration::hours(3));
    let (alice, community, _) = logins(&app).await;
    let resolved = expect_json(
        staff_act(&app, &community, id, "resolve", json!({"resolution": "已清理并安排每日保洁", "photos": ["https://img.example.cn/after.jpg"]})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["handling_hours"], 3.0);
    assert_eq!(resolved["resolved_on_time"], true);
    let closed = expect_json(
        resident_act(
            &app,
            &alice,
            id,
            "rate",
            json!({"satisfied": true, "score": 5, "comment": "很及时"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["rating"]["score"], 5);

    let seen = expect_json(detail(&app, &alice, id).await, StatusCode::OK).await;
    assert_eq!(
        actions(&seen),
        ["submit", "accept", "start", "resolve", "rate"]
    );
    let transitions: Vec<(Value, Value)> = seen["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from"].clone(), e["to"].clone()))
        .collect();
    assert_eq!(
        transitions,
        [
            (Value::Null, json!("submitted")),
            (json!("submitted"), json!("accepted")),
            (json!("accepted"), json!("in_progress")),
            (json!("in_progress"), json!("resolved")),
            (json!("resolved"), json!("closed")),
        ]
    );
    assert_eq!(
        seen["events"][3]["photos"][0],
        "https://img.example.cn/after.jpg"
    );
    // A closed demand cannot be resolved again.
    expect_problem(
        staff_act(
            &app,
            &community,
            id,
            "resolve",
            json!({"resolution": "again"}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    // The resident heard of accept, start and resolve; the staff of the new demand.
    let kinds = notification_kinds(&app, &alice).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "demand_status").count(),
        3,
        "{kinds:?}"
    );
    assert!(notification_kinds(&app, &community)
        .await
        .contains(&"demand_submitted".to_owned()));
    let mine = expect_json(
        app.get("/api/v1/me/demands", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], *id);
    assert_daily_counts_agree(&app).await;
}

#[tokio::test]
async fn transfer_moves_the_demand_and_keeps_the_sla_clock() {
    let app = spawn_app().await;
    let (alice, community, street) = logins(&app).await;
    let created = submit(&app, &alice, "物业维修", "新华社区", "单元门禁损坏").await;
    let id = &created["id"];
    expect_json(
        staff_act(&app, &community, id, "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;

    // To a sibling community: it is submitted again there, due at the same time.
    let peace = app.org_id("和平社区").await;
    let moved = expect_json(
        staff_act(
            &app,
            &community,
            id,
            "transfer",
            json!({"org_id": peace, "reason": "地址属于和平社区"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["status"], "submitted");
    assert_eq!(moved["community_id"], peace.as_str());
    assert_eq!(moved["org_id"], peace.as_str());
    assert_eq!(moved["handler_id"], Value::Null);
    assert_eq!(moved["due_at"], created["due_at"]);
    // 新华社区's staff no longer see it; the street still does and takes it up.
    expect_problem(
        detail(&app, &community, id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let street_id = app.org_id("新华街道").await;
    let up = expect_json(
        staff_act(
            &app,
            &street,
            id,
            "transfer",
            json!({"org_id": street_id, "reason": "涉及多个社区"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(up["org_id"], street_id.as_str());
    assert_eq!(up["community_id"], peace.as_str());
    expect_json(
        staff_act(&app, &street, id, "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;
    // Another street is no transfer target.
    let elsewhere = app.org_id("开源社区").await;
    let problem = expect_problem(
        staff_act(
            &app,
            &street,
            id,
            "transfer",
            json!({"org_id": elsewhere, "reason": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "org_id");
    // The resident was told of the transfers and sees them in the history.
    let seen = expect_json(detail(&app, &alice, id).await, StatusCode::OK).await;
    assert_eq!(
        actions(&seen),
        ["submit", "accept", "transfer", "transfer", "accept"]
    );
    assert!(seen["events"][2]["note"]
        .as_str()
        .unwrap()
        .contains("和平社区"));
    assert_daily_counts_agree(&app).await;
}

#[tokio::test]
async fn reject_needs_a_reason_and_withdraw_ends_an_open_demand() {
    let app = spawn_app().await;
    let (alice, community, _) = logins(&app).await;
    let first = submit(&app, &alice, "其他", "新华社区", "咨询").await;
    let problem = expect_problem(
        staff_act(
            &app,
            &community,
            &first["id"],
            "reject",
            json!({"reason": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "reason");
    let rejected = expect_json(
        staff_act(
            &app,
            &community,
            &first["id"],
            "reject",
            json!({"reason": "不属于诉求范围，请拨打12345"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    expect_problem(
        staff_act(&app, &community, &first["id"], "accept", json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;

    let second = submit(&app, &alice, "其他", "新华社区", "已自行解决").await;
    let withdrawn = expect_json(
        resident_act(
            &app,
            &alice,
            &second["id"],
            "withdraw",
            json!({"reason": "已解决"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    expect_problem(
        staff_act(&app, &community, &second["id"], "accept", json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    // In progress cannot be rejected.
    let third = submit(&app, &alice, "其他", "新华社区", "第三件").await;
    expect_json(
        staff_act(&app, &community, &third["id"], "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        staff_act(&app, &community, &third["id"], "start", json!({})).await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        staff_act(
            &app,
            &community,
            &third["id"],
            "reject",
            json!({"reason": "无效"}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    // Withdraw with an empty body is fine.
    let fourth = submit(&app, &alice, "其他", "新华社区", "第四件").await;
    let response = app
        .send(app.request(
            reqwest::Method::POST,
            &format!(
                "/api/v1/demands/{}/withdraw",
                fourth["id"].as_str().unwrap()
            ),
            Some(&alice.access_token),
        ))
        .await;
    assert_eq!(
        expect_json(response, StatusCode::OK).await["status"],
        "withdrawn"
    );
    assert_daily_counts_agree(&app).await;
}

#[tokio::test]
async fn a_resident_reopens_within_seven_days_and_not_after() {
    let app = spawn_app().await;
    let (alice, community, _) = logins(&app).await;
    let created = submit(&app, &alice, "物业维修", "新华社区", "水管漏水").await;
    let id = &created["id"];
    expect_json(
        staff_act(&app, &community, id, "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;
    let first = expect_json(
        staff_act(
            &app,
            &community,
            id,
            "resolve",
            json!({"resolution": "已维修"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        resident_act(
            &app,
            &alice,
            id,
            "rate",
            json!({"satisfied": false, "score": 2}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::days(2));
    let (alice, community, _) = logins(&app).await;
    let problem = expect_problem(
        resident_act(&app, &alice, id, "reopen", json!({"reason": ""})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "reason");
    let reopened = expect_json(
        resident_act(&app, &alice, id, "reopen", json!({"reason": "又漏了"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(reopened["status"], "in_progress");
    assert_eq!(reopened["closed_at"], Value::Null);
    assert!(notification_kinds(&app, &community)
        .await
        .contains(&"demand_reopened".to_owned()));
    let resolved = expect_json(
        staff_act(
            &app,
            &community,
            id,
            "resolve",
            json!({"resolution": "更换了整段水管"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // The handling time stays that of the first resolution.
    assert_eq!(resolved["first_resolved_at"], first["first_resolved_at"]);
    assert_eq!(resolved["handling_hours"], first["handling_hours"]);
    assert_ne!(resolved["resolved_at"], first["resolved_at"]);
    app.clock.advance(Duration::days(8));
    let (alice, _, _) = logins(&app).await;
    let problem = expect_problem(
        resident_act(&app, &alice, id, "reopen", json!({"reason": "还是漏"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("7 days"),
        "{problem}"
    );
    assert_daily_counts_agree(&app).await;
}

#[tokio::test]
async fn an_unrated_resolution_closes_itself_after_72_hours_once() {
    let app = spawn_app().await;
    let (alice, community, _) = logins(&app).await;
    let created = submit(&app, &alice, "环境卫生", "新华社区", "路灯不亮").await;
    let id = &created["id"];
    expect_json(
        staff_act(&app, &community, id, "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        staff_act(
            &app,
            &community,
            id,
            "resolve",
            json!({"resolution": "已修复"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::hours(71));
    assert_eq!(run_jobs(&app).await.demands.auto_closed, 0);
    app.clock.advance(Duration::hours(2));
    assert_eq!(run_jobs(&app).await.demands.auto_closed, 1);
    assert_eq!(
        run_jobs(&app).await.demands.auto_closed,
        0,
        "a second round finds nothing"
    );
    let (alice, _, _) = logins(&app).await;
    let seen = expect_json(detail(&app, &alice, id).await, StatusCode::OK).await;
    assert_eq!(seen["status"], "closed");
    let last = seen["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "auto_close");
    assert_eq!(last["actor_id"], Value::Null);
    // Too late to rate, still in time to reopen (within 7 days of the resolution).
    expect_problem(
        resident_act(
            &app,
            &alice,
            id,
            "rate",
            json!({"satisfied": true, "score": 4}),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_json(
        resident_act(&app, &alice, id, "reopen", json!({"reason": "又坏了"})).await,
        StatusCode::OK,
    )
    .await;
    assert_daily_counts_agree(&app).await;
}

#[tokio::test]
async fn overdue_demands_warn_the_handler_then_escalate_to_the_street() {
    let app = spawn_app().await;
    let (alice, community, _) = logins(&app).await;
    // 安全隐患: 6 hours. Warned after 4.5 h, overdue after 6 h.
    let created = submit(&app, &alice, "安全隐患", "新华社区", "井盖缺失").await;
    let id = &created["id"];
    expect_json(
        staff_act(&app, &community, id, "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;
    app.clock.advance(Duration::hours(4));
    let report = run_jobs(&app).await.demands;
    assert_eq!((report.warned, report.escalated), (0, 0));
    app.clock.advance(Duration::minutes(45));
    let report = run_jobs(&app).await.demands;
    assert_eq!((report.warned, report.escalated), (1, 0));
    assert_eq!(run_jobs(&app).await.demands.warned, 0, "warned once");
    let (alice, community, street) = logins(&app).await;
    assert!(notification_kinds(&app, &community)
        .await
        .contains(&"demand_sla_warning".to_owned()));
    let listed = expect_json(
        app.get(
            "/api/v1/staff/demands?overdue=true",
            Some(&community.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(listed["items"].as_array().unwrap().is_empty());

    app.clock.advance(Duration::hours(2));
    let report = run_jobs(&app).await.demands;
    assert_eq!(report.escalated, 1);
    assert_eq!(run_jobs(&app).await.demands.escalated, 0, "escalated once");
    let (alice2, community, street2) = logins(&app).await;
    let _ = (alice, street);
    let listed = expect_json(
        app.get(
            "/api/v1/staff/demands?overdue=true",
            Some(&community.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["overdue"], true);
    assert_eq!(listed["items"][0]["escalated"], true);
    let escalated = expect_json(
        app.get(
            "/api/v1/staff/demands?escalated=true",
            Some(&street2.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(escalated["items"][0]["id"], *id);
    assert!(notification_kinds(&app, &street2)
        .await
        .contains(&"demand_escalated".to_owned()));
    // Staff see the escalation in the history; the resident does not.
    let for_staff = expect_json(detail(&app, &street2, id).await, StatusCode::OK).await;
    assert!(actions(&for_staff).contains(&"escalate".to_owned()));
    let for_resident = expect_json(detail(&app, &alice2, id).await, StatusCode::OK).await;
    assert!(!actions(&for_resident).contains(&"escalate".to_owned()));
    // Resolving late counts as not on time.
    let resolved = expect_json(
        staff_act(
            &app,
            &community,
            id,
            "resolve",
            json!({"resolution": "已加装井盖"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(resolved["resolved_on_time"], false);
    assert_eq!(resolved["overdue"], false);
    assert_daily_counts_agree(&app).await;
}

/// A round narrowed to a street warns and escalates the demands of its communities only:
/// the simulator runs each street's rounds on its own clock.
#[tokio::test]
async fn a_round_narrowed_to_a_street_keeps_to_its_demands() {
    use platform::Reach;
    let app = spawn_app().await;
    let (alice, _, _) = logins(&app).await;
    let created = submit(&app, &alice, "安全隐患", "新华社区", "井盖缺失").await; // 6 h
    app.clock.advance(Duration::hours(7));
    let elsewhere = Reach::Under(app.org_path("开源街道").await);
    let round = api::jobs::run_round(&app.state, &elsewhere).await.unwrap();
    assert_eq!((round.demands.warned, round.demands.escalated), (0, 0));
    let community = Reach::Under(app.org_path("新华社区").await);
    let round = api::jobs::run_round(&app.state, &community).await.unwrap();
    assert_eq!(round.demands.escalated, 1);
    assert_eq!(run_jobs(&app).await.demands.escalated, 0, "escalated once");
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let escalated = expect_json(
        app.get(
            "/api/v1/staff/demands?escalated=true",
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(escalated["items"][0]["id"], created["id"]);
}

#[tokio::test]
async fn demands_are_private_to_their_resident_and_to_staff_in_scope() {
    let app = spawn_app().await;
    let (alice, community, street) = logins(&app).await;
    let bob = app.login_resident("bob").await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let created = submit(&app, &alice, "邻里纠纷", "新华社区", "楼上噪音").await;
    let id = &created["id"];

    expect_problem(
        detail(&app, &bob, id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        resident_act(&app, &bob, id, "withdraw", json!({"reason": "x"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        staff_act(&app, &bob, id, "accept", json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // Staff of another street: created by the admin for 开源街道.
    let other_street = app.org_id("开源街道").await;
    expect_json(
        app.post(
            "/api/v1/admin/staff",
            &json!({"username": "kaiyuan", "password": "a-good-password", "role": "street_staff", "org_id": other_street}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let outsider = app.login_staff("kaiyuan", "a-good-password").await;
    expect_problem(
        detail(&app, &outsider, id).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        staff_act(&app, &outsider, id, "accept", json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let theirs = expect_json(
        app.get("/api/v1/staff/demands", Some(&outsider.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(theirs["items"].as_array().unwrap().is_empty());
    // A resident's token on the staff list: 403.
    expect_problem(
        app.get("/api/v1/staff/demands", Some(&alice.access_token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // Internal comments stay among staff; public ones reach the resident.
    expect_json(
        staff_act(
            &app,
            &community,
            id,
            "comment",
            json!({"text": "楼上住户态度强硬，需调解员", "internal": true}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        staff_act(
            &app,
            &street,
            id,
            "comment",
            json!({"text": "已联系调解员"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        resident_act(
            &app,
            &alice,
            id,
            "comment",
            json!({"text": "晚上十点后最吵"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let for_resident = expect_json(detail(&app, &alice, id).await, StatusCode::OK).await;
    let notes: Vec<&str> = for_resident["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert!(
        notes.contains(&"已联系调解员") && notes.contains(&"晚上十点后最吵"),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.contains("态度强硬")), "{notes:?}");
    let for_staff = expect_json(detail(&app, &community, id).await, StatusCode::OK).await;
    assert_eq!(for_staff["events"].as_array().unwrap().len(), 4);
    // Staff cannot rate on the resident's behalf.
    expect_problem(
        resident_act(
            &app,
            &community,
            id,
            "rate",
            json!({"satisfied": true, "score": 5}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_with_the_field_and_nothing_is_filed() {
    let app = spawn_app().await;
    let (alice, community, _) = logins(&app).await;
    let category = category_id(&app, "环境卫生").await;
    let good_community = app.org_id("新华社区").await;
    let street = app.org_id("新华街道").await;
    let cases = [
        (
            json!({"photos": ["http://img.example.cn/1.jpg"]}),
            "photos[0]",
        ),
        (
            json!({"photos": [format!("https://img.example.cn/{}", "a".repeat(600))]}),
            "photos[0]",
        ),
        (json!({"category_id": "no-such"}), "category_id"),
        (json!({"community_id": street}), "community_id"),
        (json!({"title": ""}), "title"),
        (json!({"title": "长".repeat(101)}), "title"),
        (
            json!({"location": {"lat": 95.0, "lng": 113.3}}),
            "location.lat",
        ),
    ];
    for (patch, field) in cases {
        let mut body = json!({
            "category_id": category, "title": "标题", "description": "描述",
            "community_id": good_community,
        });
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let problem = expect_problem(
            app.post("/api/v1/demands", &body, Some(&alice.access_token))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {problem}"
        );
    }
    let unknown = expect_problem(
        app.post("/api/v1/demands", &json!({"category_id": category, "title": "t", "description": "d", "community_id": good_community, "urgent": true}), Some(&alice.access_token)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "urgent");
    let mine = expect_json(
        app.get("/api/v1/me/demands", Some(&alice.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        mine["items"].as_array().unwrap().is_empty(),
        "nothing was filed"
    );

    // A score out of range, on a real resolved demand, changes nothing.
    let created = submit(&app, &alice, "环境卫生", "新华社区", "草坪枯黄").await;
    expect_json(
        staff_act(&app, &community, &created["id"], "accept", json!({})).await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        staff_act(
            &app,
            &community,
            &created["id"],
            "resolve",
            json!({"resolution": "已补种"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        resident_act(
            &app,
            &alice,
            &created["id"],
            "rate",
            json!({"satisfied": true, "score": 6}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let seen = expect_json(detail(&app, &alice, &created["id"]).await, StatusCode::OK).await;
    assert_eq!(seen["status"], "resolved");
    // A retried submission with one Idempotency-Key files one demand.
    let body = json!({"category_id": category, "title": "重复提交", "description": "d", "community_id": good_community});
    let first = expect_json(
        app.post_with_key("/api/v1/demands", &body, &alice.access_token, "k-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    let again = expect_json(
        app.post_with_key("/api/v1/demands", &body, &alice.access_token, "k-1")
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["id"], again["id"]);
}

#[tokio::test]
async fn categories_are_edited_by_the_district_admin_only() {
    let app = spawn_app().await;
    let (_, community, _) = logins(&app).await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let list = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "环境卫生",
            "物业维修",
            "停车交通",
            "一老一小",
            "邻里纠纷",
            "安全隐患",
            "其他"
        ]
    );
    expect_problem(
        app.post(
            "/api/v1/admin/demand-categories",
            &json!({"name": "噪音扰民", "sla_hours": 24}),
            Some(&community.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let created = expect_json(
        app.post(
            "/api/v1/admin/demand-categories",
            &json!({"name": "噪音扰民", "sla_hours": 24}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/admin/demand-categories",
            &json!({"name": "噪音扰民", "sla_hours": 12}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "category_exists",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/admin/demand-categories",
            &json!({"name": "太久", "sla_hours": 721}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let path = format!(
        "/api/v1/admin/demand-categories/{}",
        created["id"].as_str().unwrap()
    );
    let edited = expect_json(
        app.send(
            app.request(reqwest::Method::PATCH, &path, Some(&admin.access_token))
                .json(&json!({"sla_hours": 8, "active": false})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["sla_hours"], 8);
    let list = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "噪音扰民"),
        "inactive categories are not offered"
    );
}

/// A scripted history with known timings, on a frozen clock, gives exactly these figures.
#[tokio::test]
async fn metrics_follow_from_a_scripted_history() {
    let app = spawn_app().await;
    app.clock.freeze();
    let start = app.clock.now();
    let (alice, community, _) = logins(&app).await;
    let d1 = submit(&app, &alice, "环境卫生", "新华社区", "一").await;
    let d2 = submit(&app, &alice, "环境卫生", "新华社区", "二").await;
    let d3 = submit(&app, &alice, "安全隐患", "新华社区", "三").await;
    let d4 = submit(&app, &alice, "环境卫生", "新华社区", "四").await;
    let d5 = submit(&app, &alice, "环境卫生", "新华社区", "五（驳回）").await;
    let d6 = submit(&app, &alice, "环境卫生", "新华社区", "六（撤回）").await;
    let d7 = submit(&app, &alice, "环境卫生", "开源社区", "七（别的街道）").await;
    let _ = d7;
    expect_json(
        staff_act(
            &app,
            &community,
            &d5["id"],
            "reject",
            json!({"reason": "重复"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        resident_act(
            &app,
            &alice,
            &d6["id"],
            "withdraw",
            json!({"reason": "不需要了"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    for d in [&d1, &d2, &d3, &d4] {
        expect_json(
            staff_act(&app, &community, &d["id"], "accept", json!({})).await,
            StatusCode::OK,
        )
        .await;
    }
    // D1 resolved after 2 h, D2 after 4 h, D3 (6-hour SLA) after 8 h: late.
    for (d, at_hour) in [(&d1, 2), (&d2, 4), (&d3, 8)] {
        let now = app.clock.now();
        app.clock.advance(start + Duration::hours(at_hour) - now);
        let (_, community, _) = logins(&app).await;
        expect_json(
            staff_act(
                &app,
                &community,
                &d["id"],
                "resolve",
                json!({"resolution": "办结"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    let (alice, _, street) = logins(&app).await;
    expect_json(
        resident_act(
            &app,
            &alice,
            &d1["id"],
            "rate",
            json!({"satisfied": true, "score": 5}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        resident_act(
            &app,
            &alice,
            &d2["id"],
            "rate",
            json!({"satisfied": false, "score": 2}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    // D4 (24-hour SLA) is still open; move past its due time.
    app.clock.advance(Duration::hours(17));
    let (_, _, street) = (alice, street, logins(&app).await.2);

    // From the frozen start exactly: the demo's own demands were filed just before it.
    let from = start.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let to = (start + Duration::days(1) + Duration::hours(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let metrics = expect_json(
        app.get(
            &format!("/api/v1/staff/metrics/demands?from={from}&to={to}"),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let close = |v: &Value, expected: f64| {
        let actual = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    };
    assert_eq!(metrics["org_id"], app.org_id("新华街道").await.as_str());
    assert_eq!(metrics["total"], 4, "{metrics}");
    assert_eq!(metrics["closed"], 2);
    close(&metrics["closure_rate"], 0.5);
    assert_eq!(metrics["resolved"], 3);
    close(&metrics["on_time_rate"], 2.0 / 3.0);
    close(&metrics["avg_handling_hours"], 14.0 / 3.0);
    close(&metrics["median_handling_hours"], 4.0);
    close(&metrics["p90_handling_hours"], 7.2);
    assert_eq!(metrics["rated"], 2);
    close(&metrics["satisfaction_rate"], 0.5);
    assert_eq!(metrics["overdue_open"], 1);
    let by_category: Vec<(String, i64)> = metrics["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_owned(),
                g["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_category,
        [("安全隐患".to_owned(), 1), ("环境卫生".to_owned(), 3)]
    );
    let safety = &metrics["by_category"][0];
    close(&safety["on_time_rate"], 0.0);
    close(&safety["median_handling_hours"], 8.0);
    assert_eq!(safety["satisfaction_rate"], Value::Null);
    let sanitation = &metrics["by_category"][1];
    close(&sanitation["median_handling_hours"], 3.0);
    close(&sanitation["p90_handling_hours"], 3.8);
    assert_eq!(metrics["by_community"].as_array().unwrap().len(), 1);
    assert_eq!(metrics["by_community"][0]["name"], "新华社区");

    // The district sees the other street's demand too; a period before it all sees nothing.
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let district = expect_json(
        app.get(
            &format!("/api/v1/staff/metrics/demands?from={from}&to={to}"),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(district["total"], 5);
    assert_eq!(district["by_community"].as_array().unwrap().len(), 2);
    let before = (start - Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let hour_before =
        (start - Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let empty = expect_json(
        app.get(
            &format!("/api/v1/staff/metrics/demands?from={before}&to={hour_before}"),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(empty["total"], 0);
    assert_eq!(empty["closure_rate"], Value::Null);
    // Community staff cannot look at the street; a resident cannot look at all.
    let (alice, community, _) = logins(&app).await;
    let street_id = app.org_id("新华街道").await;
    expect_problem(
        app.get(
            &format!("/api/v1/staff/metrics/demands?org_id={street_id}"),
            Some(&community.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get("/api/v1/staff/metrics/demands", Some(&alice.access_token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_daily_counts_agree(&app).await;
}

/// Job rounds running at once (as on several instances) escalate and close each demand once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_job_rounds_act_on_each_demand_once() {
    let app = spawn_app().await;
    let (alice, community, _) = logins(&app).await;
    let mut overdue = Vec::new();
    let mut resolved = Vec::new();
    for i in 0..6 {
        overdue.push(
            submit(&app, &alice, "安全隐患", "新华社区", &format!("超时{i}")).await["id"].clone(),
        );
        let done =
            submit(&app, &alice, "其他", "新华社区", &format!("已办{i}")).await["id"].clone();
        expect_json(
            staff_act(&app, &community, &done, "accept", json!({})).await,
            StatusCode::OK,
        )
        .await;
        expect_json(
            staff_act(
                &app,
                &community,
                &done,
                "resolve",
                json!({"resolution": "好了"}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        resolved.push(done);
    }
    app.clock.advance(Duration::hours(73));
    // Everything due, the demo's own demands included.
    let (_, _, street) = logins(&app).await;
    let count = |query: &'static str| {
        let app = &app;
        let token = street.access_token.clone();
        async move {
            let page = expect_json(
                app.get(
                    &format!("/api/v1/staff/demands?limit=100&{query}"),
                    Some(&token),
                )
                .await,
                StatusCode::OK,
            )
            .await;
            page["items"].as_array().unwrap().len() as u64
        }
    };
    let (due_escalations, due_closures) =
        (count("overdue=true").await, count("status=resolved").await);
    assert!(due_escalations >= 6 && due_closures >= 6);
    let rounds: Vec<_> = (0..4)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move { api::jobs::run_once(&state).await })
        })
        .collect();
    let mut escalated = 0;
    let mut closed = 0;
    for round in rounds {
        let report = round
            .await
            .unwrap()
            .expect("a round never fails for meeting another");
        escalated += report.demands.escalated;
        closed += report.demands.auto_closed;
    }
    assert_eq!((escalated, closed), (due_escalations, due_closures));
    let again = run_jobs(&app).await.demands;
    assert_eq!((again.escalated, again.auto_closed), (0, 0));
    let (_, community, _) = logins(&app).await;
    for id in overdue.iter().chain(&resolved) {
        let seen = expect_json(detail(&app, &community, id).await, StatusCode::OK).await;
        let acts = actions(&seen);
        let once = |name: &str| acts.iter().filter(|a| *a == name).count();
        assert!(once("escalate") + once("auto_close") == 1, "{acts:?}");
    }
    assert_daily_counts_agree(&app).await;
}

/// What the metrics should say, worked out here from the demand rows alone.
struct Recount {
    total: i64,
    closed: i64,
    resolved: i64,
    on_time: i64,
    handling_seconds: Vec<i64>,
    rated: i64,
    satisfied: i64,
    overdue_open: i64,
}

fn recount(
    rows: &[demands::entity::demand::Model],
    street_id: &str,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    max_slot: i16,
) -> Recount {
    let counted: Vec<_> = rows
        .iter()
        .filter(|d| d.street_id == street_id && d.submitted_at >= from && d.submitted_at < to)
        .filter(|d| d.status != "rejected" && d.status != "withdrawn")
        .collect();
    let mut handling_seconds: Vec<i64> = counted
        .iter()
        .filter(|d| d.sample_slot < max_slot)
        .filter_map(|d| d.handling_seconds)
        .collect();
    handling_seconds.sort_unstable();
    let open = ["submitted", "accepted", "in_progress"];
    Recount {
        total: counted.len() as i64,
        closed: counted.iter().filter(|d| d.status == "closed").count() as i64,
        resolved: counted
            .iter()
            .filter(|d| d.handling_seconds.is_some())
            .count() as i64,
        on_time: counted
            .iter()
            .filter(|d| d.resolved_on_time == Some(true))
            .count() as i64,
        handling_seconds,
        rated: counted
            .iter()
            .filter(|d| d.rating_satisfied.is_some())
            .count() as i64,
        satisfied: counted
            .iter()
            .filter(|d| d.rating_satisfied == Some(true))
            .count() as i64,
        overdue_open: counted
            .iter()
            .filter(|d| open.contains(&d.status.as_str()) && d.due_at < now)
            .count() as i64,
    }
}

/// `percentile_cont`: linear interpolation between the ranks around `p (n - 1)`.
fn percentile_hours(sorted: &[i64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let position = p * last as f64;
    let low = position.floor() as usize;
    let high = (low + 1).min(last);
    let fraction = position - low as f64;
    Some((sorted[low] as f64 + (sorted[high] - sorted[low]) as f64 * fraction) / 3600.0)
}

fn assert_close(actual: &Value, expected: Option<f64>, what: &str) {
    match expected {
        None => assert_eq!(actual, &Value::Null, "{what}"),
        Some(e) => {
            let a = actual
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: {actual} is not a number"));
            assert!((a - e).abs() < 1e-6, "{what}: {a} != {e}");
        }
    }
}

/// A history across several Shanghai days, then periods of whole days (read from the daily
/// counts), periods cut mid-day (whole days plus hours read from the demands) and periods
/// within a day: each answer equals a recount from the demand rows. Counts planted wrong
/// show in the whole-day figures and in `verify`, and `rebuild` mends them.
#[tokio::test]
async fn metrics_agree_with_a_recount_over_whole_days_and_cut_periods() {
    use demands::service::rollup;
    use platform::clock::local_day_start;
    use sea_orm::{ConnectionTrait, EntityTrait};

    let app = spawn_app().await;
    app.clock.freeze();
    let start = app.clock.now();
    // Twelve demands seven hours apart: they straddle at least three midnights.
    let mut filed = Vec::new();
    for i in 0..12 {
        let (alice, _, _) = logins(&app).await;
        let category = if i % 3 == 0 {
            "安全隐患"
        } else {
            "环境卫生"
        };
        filed.push(submit(&app, &alice, category, "新华社区", &format!("第{i}件")).await);
        app.clock.advance(Duration::hours(7));
    }
    for (i, d) in filed.iter().enumerate() {
        let (alice, community, _) = logins(&app).await;
        let id = &d["id"];
        match i {
            10 => {
                let body = json!({"reason": "重复"});
                let response = staff_act(&app, &community, id, "reject", body).await;
                expect_json(response, StatusCode::OK).await;
                continue;
            }
            11 => {
                let body = json!({"reason": "不需要了"});
                let response = resident_act(&app, &alice, id, "withdraw", body).await;
                expect_json(response, StatusCode::OK).await;
                continue;
            }
            _ => {}
        }
        let response = staff_act(&app, &community, id, "accept", json!({})).await;
        expect_json(response, StatusCode::OK).await;
        if i == 9 {
            continue; // stays open, overdue by now
        }
        if i == 8 {
            let peace = app.org_id("和平社区").await;
            let body = json!({"org_id": peace, "reason": "地址属于和平社区"});
            let response = staff_act(&app, &community, id, "transfer", body).await;
            expect_json(response, StatusCode::OK).await;
            continue;
        }
        app.clock.advance(Duration::minutes(37 * i as i64));
        let (alice, community, _) = logins(&app).await;
        let body = json!({"resolution": "办结"});
        let response = staff_act(&app, &community, id, "resolve", body).await;
        expect_json(response, StatusCode::OK).await;
        if i % 2 == 0 {
            let body = json!({"satisfied": i % 4 == 0, "score": 4});
            let response = resident_act(&app, &alice, id, "rate", body).await;
            expect_json(response, StatusCode::OK).await;
        }
    }
    // One rated demand is reopened and resolved again: the first resolution still counts.
    let (alice, community, _) = logins(&app).await;
    let reopened = &filed[4]["id"];
    let body = json!({"reason": "又坏了"});
    expect_json(
        resident_act(&app, &alice, reopened, "reopen", body).await,
        StatusCode::OK,
    )
    .await;
    let body = json!({"resolution": "再次办结"});
    expect_json(
        staff_act(&app, &community, reopened, "resolve", body).await,
        StatusCode::OK,
    )
    .await;
    assert_daily_counts_agree(&app).await;

    let now = app.clock.now();
    let street_id = app.org_id("新华街道").await;
    let rows = demands::entity::demand::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let first_day = local_day_start(start);
    let periods = [
        ("whole days", first_day, first_day + Duration::days(5)),
        (
            "one whole day",
            first_day + Duration::days(1),
            first_day + Duration::days(2),
        ),
        (
            "cut at both ends",
            start + Duration::hours(3),
            start + Duration::hours(60),
        ),
        (
            "within a day",
            start + Duration::hours(13),
            start + Duration::hours(22),
        ),
    ];
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let street_org = identity::entity::org::Entity::find_by_id(street_id.clone())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let format =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let metrics_for = |from, to| {
        let path = format!(
            "/api/v1/staff/metrics/demands?from={}&to={}",
            format(from),
            format(to)
        );
        let token = street.access_token.clone();
        let app = &app;
        async move { expect_json(app.get(&path, Some(&token)).await, StatusCode::OK).await }
    };
    for (label, from, to) in periods {
        let expected = recount(&rows, &street_id, from, to, now, 100);
        let m = metrics_for(from, to).await;
        assert!(expected.total > 0, "{label}: the period holds demands");
        assert_eq!(m["total"], expected.total, "{label}: {m}");
        assert_eq!(m["closed"], expected.closed, "{label}");
        assert_eq!(m["resolved"], expected.resolved, "{label}");
        assert_eq!(m["resolved_on_time"], expected.on_time, "{label}");
        assert_eq!(m["rated"], expected.rated, "{label}");
        assert_eq!(m["satisfied"], expected.satisfied, "{label}");
        assert_eq!(m["overdue_open"], expected.overdue_open, "{label}");
        let resolved = expected.handling_seconds.len() as f64;
        let average = (resolved > 0.0)
            .then(|| expected.handling_seconds.iter().sum::<i64>() as f64 / resolved / 3600.0);
        assert_close(&m["avg_handling_hours"], average, label);
        let h = &expected.handling_seconds;
        assert_close(&m["median_handling_hours"], percentile_hours(h, 0.5), label);
        assert_close(&m["p90_handling_hours"], percentile_hours(h, 0.9), label);
        assert_eq!(m["percentile_sample_rate"], 1.0);
        let group_total: i64 = m["by_community"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["total"].as_i64().unwrap())
            .sum();
        assert_eq!(group_total, expected.total, "{label}: communities add up");

        // The dashboard's daily series: submitted by day of submission, closed by day of
        // closing, in Shanghai dates.
        let date = |t: chrono::DateTime<chrono::Utc>| {
            (t + Duration::hours(8)).format("%Y-%m-%d").to_string()
        };
        let mut days = std::collections::BTreeMap::<String, (i64, i64)>::new();
        for d in rows.iter().filter(|d| d.street_id == street_id) {
            let counted = d.status != "rejected" && d.status != "withdrawn";
            if counted && d.submitted_at >= from && d.submitted_at < to {
                days.entry(date(d.submitted_at)).or_default().0 += 1;
            }
            if let (true, Some(at)) = (d.status == "closed", d.closed_at) {
                if at >= from && at < to {
                    days.entry(date(at)).or_default().1 += 1;
                }
            }
        }
        let expected_days: Vec<(String, i64, i64)> =
            days.into_iter().map(|(k, (s, c))| (k, s, c)).collect();
        let series = demands::service::metrics::daily_series(&app.state.db, &street_org, from, to)
            .await
            .unwrap();
        assert_eq!(series, expected_days, "{label}");
    }

    // Plant a wrong count: the whole-day figures read it, verify names it, rebuild mends it.
    let (label, from, to) = periods[0];
    let before = metrics_for(from, to).await;
    app.state
        .db
        .execute_unprepared("UPDATE demand_daily_counts SET total = total + 5")
        .await
        .unwrap();
    let drifted = metrics_for(from, to).await;
    assert_ne!(
        drifted["total"], before["total"],
        "{label}: read from the daily counts"
    );
    assert!(!rollup::verify(&app.state.db).await.unwrap().is_empty());
    rollup::rebuild(&app.state.db).await.unwrap();
    assert_daily_counts_agree(&app).await;
    assert_eq!(metrics_for(from, to).await, before);
}

/// Beyond the exact limit, median and p90 are those of the demands in the sample slots the
/// policy picks, overall and per category; within it they are exact.
#[tokio::test]
async fn percentiles_beyond_the_exact_limit_come_from_the_sample() {
    use demands::service::metrics::{compute_with, PercentilePolicy};
    use sea_orm::EntityTrait;

    let app = spawn_app().await;
    app.clock.freeze();
    let start = app.clock.now();
    let mut filed = Vec::new();
    {
        let (alice, _, _) = logins(&app).await;
        for i in 0..24 {
            let category = if i % 2 == 0 {
                "安全隐患"
            } else {
                "环境卫生"
            };
            filed.push(submit(&app, &alice, category, "新华社区", &format!("样本{i}")).await);
        }
    }
    for (i, d) in filed.iter().enumerate() {
        app.clock
            .advance(Duration::minutes(13 + 29 * (i as i64 % 7)));
        let (_, community, _) = logins(&app).await;
        let accepted = staff_act(&app, &community, &d["id"], "accept", json!({})).await;
        expect_json(accepted, StatusCode::OK).await;
        let body = json!({"resolution": "办结"});
        let resolved = staff_act(&app, &community, &d["id"], "resolve", body).await;
        expect_json(resolved, StatusCode::OK).await;
    }
    let now = app.clock.now();
    let street_id = app.org_id("新华街道").await;
    let street = identity::entity::org::Entity::find_by_id(street_id.clone())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let rows = demands::entity::demand::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    let (from, to) = (start, now + Duration::seconds(1));
    let policy = PercentilePolicy {
        exact_up_to: 10,
        sample_target: 9,
    };
    // 24 resolved: ceil(100 × 9 / 24) = 38 slots.
    assert_eq!(policy.slots_for(24), 38);
    let sampled = compute_with(&app.state.db, &street, from, to, now, policy)
        .await
        .unwrap();
    assert_eq!(sampled.figures.resolved, 24);
    assert!((sampled.percentile_sample_rate - 0.38).abs() < 1e-9);
    let in_sample = recount(&rows, &street_id, from, to, now, 38);
    let hours = |v: Option<f64>| v.map(|h| (h * 1e6).round() / 1e6);
    assert_eq!(
        hours(sampled.figures.median_handling_hours),
        hours(percentile_hours(&in_sample.handling_seconds, 0.5))
    );
    assert_eq!(
        hours(sampled.figures.p90_handling_hours),
        hours(percentile_hours(&in_sample.handling_seconds, 0.9))
    );
    // The counts and the mean never come from the sample.
    let all = recount(&rows, &street_id, from, to, now, 100);
    let mean = all.handling_seconds.iter().sum::<i64>() as f64 / 24.0 / 3600.0;
    assert!((sampled.figures.avg_handling_hours.unwrap() - mean).abs() < 1e-9);
    // Per category: the sampled demands of that category.
    for group in &sampled.by_category {
        let mut of_group: Vec<i64> = rows
            .iter()
            .filter(|d| d.category_id == group.id && d.submitted_at >= from)
            .filter(|d| d.sample_slot < 38)
            .filter_map(|d| d.handling_seconds)
            .collect();
        of_group.sort_unstable();
        assert_eq!(
            hours(group.figures.median_handling_hours),
            hours(percentile_hours(&of_group, 0.5)),
            "{}",
            group.name
        );
    }
    // Within the limit: every resolved demand.
    let exact = compute_with(
        &app.state.db,
        &street,
        from,
        to,
        now,
        PercentilePolicy::default(),
    )
    .await
    .unwrap();
    assert_eq!(exact.percentile_sample_rate, 1.0);
    assert_eq!(
        hours(exact.figures.p90_handling_hours),
        hours(percentile_hours(&all.handling_seconds, 0.9))
    );
}

/// Residents filing at once land on the same daily-count row, and staff resolving and
/// transferring at once move demands between rows: the counts stay exact (one row lock at
/// a time, taken in key order).
#[tokio::test]
async fn concurrent_filings_resolutions_and_transfers_keep_the_daily_counts_exact() {
    use futures_util::future::join_all;

    let app = spawn_app().await;
    let names: Vec<String> = (0..12).map(|i| format!("resident{i}")).collect();
    let residents = join_all(names.iter().map(|n| app.login_resident(n))).await;
    let filed = join_all(
        residents
            .iter()
            .map(|r| submit(&app, r, "环境卫生", "新华社区", "楼道灯不亮")),
    )
    .await;
    let (_, community, _) = logins(&app).await;
    join_all(filed.iter().map(|d| async {
        let accepted = staff_act(&app, &community, &d["id"], "accept", json!({})).await;
        expect_json(accepted, StatusCode::OK).await
    }))
    .await;
    let peace = app.org_id("和平社区").await;
    join_all(filed.iter().enumerate().map(|(i, d)| {
        let (action, body) = if i % 2 == 0 {
            ("resolve", json!({"resolution": "已更换灯泡"}))
        } else {
            ("transfer", json!({"org_id": peace, "reason": "属和平社区"}))
        };
        let community = &community;
        let app = &app;
        async move {
            let response = staff_act(app, community, &d["id"], action, body).await;
            expect_json(response, StatusCode::OK).await
        }
    }))
    .await;
    assert_daily_counts_agree(&app).await;
    let stored = demands::service::rollup::stored(&app.state.db)
        .await
        .unwrap();
    let resolved: i64 = stored.values().map(|c| c.resolved).sum();
    assert_eq!(resolved, 6 + demo_resolved(&app).await);
}

/// Demands the demo data resolved before a test began.
async fn demo_resolved(app: &TestApp) -> i64 {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    demands::entity::demand::Entity::find()
        .filter(demands::entity::demand::Column::HandlingSeconds.is_not_null())
        .filter(demands::entity::demand::Column::Title.ne("楼道灯不亮"))
        .count(&app.state.db)
        .await
        .unwrap() as i64
}
