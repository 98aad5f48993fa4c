//! The time bank over HTTP: an activity's whole life (sign-ups, waiting list, on-site codes,
//! attendance, settlement exactly once, budget exhaustion), help requests with their holds,
//! concurrent sign-ups, and the volunteer leaderboard with and without Redis.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use linli_tests::{expect_json, expect_problem, spawn_app, Session, TestApp, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn create_activity(
    app: &TestApp,
    staff: &Session,
    org: &str,
    starts_in: Duration,
    length: Duration,
    capacity: i64,
    points_per_hour: i64,
) -> Value {
    let starts_at = app.clock.now() + starts_in;
    let body = json!({
        "title": "周末敬老院志愿服务", "kind": "volunteer", "org_id": app.org_id(org).await,
        "description": "陪老人聊天、打扫卫生", "location": "平城区敬老院",
        "starts_at": starts_at, "ends_at": starts_at + length,
        "capacity": capacity, "points_per_hour": points_per_hour, "time_credits": true,
    });
    expect_json(
        app.post("/api/v1/staff/activities", &body, Some(&staff.access_token))
            .await,
        StatusCode::CREATED,
    )
    .await
}

fn path(activity: &Value, rest: &str) -> String {
    format!(
        "/api/v1/activities/{}{rest}",
        activity["id"].as_str().unwrap()
    )
}

fn staff_path(activity: &Value, rest: &str) -> String {
    format!(
        "/api/v1/staff/activities/{}{rest}",
        activity["id"].as_str().unwrap()
    )
}

async fn code(app: &TestApp, staff: &Session, activity: &Value) -> String {
    let shown = expect_json(
        app.post(
            &staff_path(activity, "/check-code"),
            &json!({}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    shown["code"].as_str().unwrap().to_owned()
}

/// Moves the frozen clock to `at` and logs everyone in again (tokens live 15 minutes).
async fn travel(app: &TestApp, at: DateTime<Utc>, names: &[&str]) -> (Session, Vec<Session>) {
    let now = app.clock.now();
    app.clock.advance(at - now);
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let mut residents = Vec::new();
    for name in names {
        residents.push(app.login_resident(name).await);
    }
    (staff, residents)
}

/// Moves the frozen clock to the activity's start (unless it is already past it) and checks
/// each resident in with the code the organiser `staff_username` shows: settled minutes, even
/// an organiser's override, are backed by presence.
async fn check_in_at_start(app: &TestApp, staff_username: &str, activity: &Value, names: &[&str]) {
    let now = app.clock.now();
    if now < starts(activity) {
        app.clock.advance(starts(activity) - now);
    }
    let staff = app.login_staff(staff_username, DEMO_PASSWORD).await;
    let shown = code(app, &staff, activity).await;
    for name in names {
        let who = app.login_resident(name).await;
        expect_json(
            app.post(
                &path(activity, "/check-in"),
                &json!({"code": shown}),
                Some(&who.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
}

fn starts(activity: &Value) -> DateTime<Utc> {
    activity["starts_at"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_activity_runs_from_sign_up_to_settlement_and_pays_once() {
    let app = spawn_app().await;
    app.clock.freeze();
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let (a, b, c) = (
        app.login_resident("alice").await,
        app.login_resident("bob").await,
        app.login_resident("carol").await,
    );
    let activity = create_activity(
        &app,
        &staff,
        "新华社区",
        Duration::hours(3),
        Duration::hours(2),
        2,
        10,
    )
    .await;
    assert_eq!(activity["places_left"], 2);
    let budget_before = app.budget_named(&staff.access_token, "新华社区").await;

    // Two places: a and b get them; c is refused, then waits; b leaves and c moves up.
    for who in [&a, &b] {
        let signed = expect_json(
            app.post(
                &path(&activity, "/signups"),
                &json!({}),
                Some(&who.access_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(signed["status"], "confirmed");
    }
    expect_problem(
        app.post(
            &path(&activity, "/signups"),
            &json!({}),
            Some(&c.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "activity_full",
    )
    .await;
    let waiting = expect_json(
        app.post(
            &path(&activity, "/signups"),
            &json!({"waitlist": true}),
            Some(&c.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(waiting["status"], "waitlisted");
    let cancelled = expect_json(
        app.send(app.request(
            Method::DELETE,
            &path(&activity, "/signups/me"),
            Some(&b.access_token),
        ))
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let list = expect_json(
        app.get(
            &staff_path(&activity, "/signups"),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let statuses: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["user_id"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (a.user_id.as_str(), "confirmed"),
            (c.user_id.as_str(), "confirmed")
        ]
    );
    let detail = expect_json(app.get(&path(&activity, ""), None).await, StatusCode::OK).await;
    assert_eq!(detail["confirmed"], 2);

    // An hour before the start check-in is closed; ten minutes before it is open.
    let start = starts(&activity);
    let (staff, people) = travel(&app, start - Duration::hours(1), &["alice", "carol"]).await;
    let shown = code(&app, &staff, &activity).await;
    expect_problem(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": shown}),
            Some(&people[0].access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "check_in_closed",
    )
    .await;
    let (staff, people) = travel(
        &app,
        start - Duration::minutes(10),
        &["alice", "carol", "bob"],
    )
    .await;
    let (a, c, b) = (&people[0], &people[1], &people[2]);
    let shown = code(&app, &staff, &activity).await;
    let checked = expect_json(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": shown}),
            Some(&a.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(checked["checked_in_at"].is_string());
    expect_problem(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": shown}),
            Some(&a.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "already_checked_in",
    )
    .await;
    expect_problem(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": shown}),
            Some(&b.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "not_signed_up",
    )
    .await;
    // Another activity's code is refused here.
    let other = create_activity(
        &app,
        &staff,
        "新华社区",
        Duration::minutes(5),
        Duration::hours(1),
        5,
        0,
    )
    .await;
    let foreign = code(&app, &staff, &other).await;
    expect_problem(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": foreign}),
            Some(&c.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "check_code_invalid",
    )
    .await;
    // A code three minutes old has expired.
    let old = code(&app, &staff, &activity).await;
    let (staff, people) = travel(&app, start - Duration::minutes(7), &["carol"]).await;
    let c = &people[0];
    expect_problem(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": old}),
            Some(&c.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "check_code_invalid",
    )
    .await;
    let fresh = code(&app, &staff, &activity).await;
    expect_json(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": fresh}),
            Some(&c.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    // Carol leaves after the first hour; settling before the end is refused.
    let (staff, people) = travel(&app, start + Duration::hours(1), &["alice", "carol"]).await;
    let fresh = code(&app, &staff, &activity).await;
    expect_json(
        app.post(
            &path(&activity, "/check-out"),
            &json!({"code": fresh}),
            Some(&people[1].access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.post(
            &staff_path(&activity, "/settle"),
            &json!({}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "activity_not_ended",
    )
    .await;
    // Alice stays past the end: only the activity's two hours count.
    let (staff, people) = travel(
        &app,
        start + Duration::hours(2) + Duration::minutes(20),
        &["alice", "carol"],
    )
    .await;
    let (a, c) = (&people[0], &people[1]);
    let fresh = code(&app, &staff, &activity).await;
    expect_json(
        app.post(
            &path(&activity, "/check-out"),
            &json!({"code": fresh}),
            Some(&a.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let settled = expect_json(
        app.post(
            &staff_path(&activity, "/settle"),
            &json!({}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut paid: Vec<(String, i64, i64, i64)> = settled["paid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["user_id"].as_str().unwrap().to_owned(),
                p["minutes"].as_i64().unwrap(),
                p["time_credit_minutes"].as_i64().unwrap(),
                p["points"].as_i64().unwrap(),
            )
        })
        .collect();
    paid.sort();
    let mut expected = vec![
        (a.user_id.clone(), 120, 120, 20),
        (c.user_id.clone(), 60, 60, 10),
    ];
    expected.sort();
    assert_eq!(paid, expected, "{settled}");
    assert_eq!(
        app.wallet(&a.access_token).await["time_credits"]["balance_minutes"],
        120
    );
    assert_eq!(app.wallet(&a.access_token).await["points"]["balance"], 20);
    assert_eq!(
        app.wallet(&c.access_token).await["time_credits"]["balance_minutes"],
        60
    );
    assert_eq!(
        app.budget_named(&staff.access_token, "新华社区").await,
        budget_before - 30
    );

    // Settling again pays nothing more.
    let again = expect_json(
        app.post(
            &staff_path(&activity, "/settle"),
            &json!({}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(again["paid"].as_array().unwrap().is_empty());
    assert!(again["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["reason"] == "already_settled"));
    assert_eq!(
        app.wallet(&a.access_token).await["time_credits"]["balance_minutes"],
        120
    );
    assert_eq!(
        app.budget_named(&staff.access_token, "新华社区").await,
        budget_before - 30
    );
    let issued = r#"linli_points_issued_total{source="volunteering"}"#;
    assert_eq!(app.metric(issued).await, 30.0, "paid once");
    let minutes = "linli_time_credit_minutes_issued_total";
    assert_eq!(app.metric(minutes).await, 180.0);
    // The organiser's spreadsheet of volunteer hours: one row per attendee paid.
    let through = (app.clock.now() + Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let export = format!("/api/v1/staff/exports/volunteer-hours.xlsx?to={through}");
    let rows = crate::spreadsheets::sheet(&app, &export, &staff.access_token).await;
    let (who, hours, points) = (
        crate::spreadsheets::column(&rows, "志愿者编号"),
        crate::spreadsheets::column(&rows, "时长（小时）"),
        crate::spreadsheets::column(&rows, "积分"),
    );
    let mut exported: Vec<(String, String, String)> = rows[1..]
        .iter()
        .map(|r| (r[who].clone(), r[hours].clone(), r[points].clone()))
        .collect();
    exported.sort();
    let mut expected = vec![
        (a.user_id.clone(), "2".to_owned(), "20".to_owned()),
        (c.user_id.clone(), "1".to_owned(), "10".to_owned()),
    ];
    expected.sort();
    assert_eq!(exported, expected, "{rows:?}");
    // After the start nobody can leave or join.
    expect_problem(
        app.send(app.request(
            Method::DELETE,
            &path(&activity, "/signups/me"),
            Some(&a.access_token),
        ))
        .await,
        StatusCode::CONFLICT,
        "activity_started",
    )
    .await;
    let notes = expect_json(
        app.get("/api/v1/me/notifications", Some(&a.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["kind"] == "activity_settled"));
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_forgotten_check_out_is_set_by_the_organiser_and_then_paid() {
    let app = spawn_app().await;
    app.clock.freeze();
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let alice = app.login_resident("alice").await;
    let activity = create_activity(
        &app,
        &staff,
        "新华社区",
        Duration::hours(1),
        Duration::hours(3),
        5,
        0,
    )
    .await;
    expect_json(
        app.post(
            &path(&activity, "/signups"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let start = starts(&activity);
    let (staff, people) = travel(&app, start, &["alice"]).await;
    let shown = code(&app, &staff, &activity).await;
    expect_json(
        app.post(
            &path(&activity, "/check-in"),
            &json!({"code": shown}),
            Some(&people[0].access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let (staff, _) = travel(&app, start + Duration::hours(4), &[]).await;
    let settled = expect_json(
        app.post(
            &staff_path(&activity, "/settle"),
            &json!({}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settled["skipped"][0]["reason"], "no_check_out");
    let fix = format!(
        "{}/attendances/{}/check-out",
        staff_path(&activity, ""),
        alice.user_id
    );
    let problem = expect_problem(
        app.post(
            &fix,
            &json!({"at": start + Duration::minutes(90), "reason": ""}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "reason");
    let fixed = expect_json(
        app.post(
            &fix,
            &json!({"at": start + Duration::minutes(90), "reason": "忘记签退，按签到表补登"}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fixed["check_out_note"], "忘记签退，按签到表补登");
    let settled = expect_json(
        app.post(
            &staff_path(&activity, "/settle"),
            &json!({}),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settled["paid"][0]["minutes"], 90);
    assert_eq!(settled["paid"][0]["points"], 0);
}

#[tokio::test]
async fn an_exhausted_budget_pays_nobody_until_it_is_funded() {
    let app = spawn_app().await;
    app.clock.freeze();
    // 和平社区 has no budget yet; the street's staff run an activity there.
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let alice = app.login_resident("alice").await;
    let bob = app.login_resident("bob").await;
    let activity = create_activity(
        &app,
        &street,
        "和平社区",
        Duration::hours(1),
        Duration::hours(1),
        5,
        30,
    )
    .await;
    for who in [&alice, &bob] {
        expect_json(
            app.post(
                &path(&activity, "/signups"),
                &json!({}),
                Some(&who.access_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    check_in_at_start(&app, "street", &activity, &["alice", "bob"]).await;
    let now = app.clock.now();
    app.clock
        .advance(starts(&activity) + Duration::hours(2) - now);
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let overrides = json!({"attendances": [
        {"user_id": alice.user_id, "minutes": 60},
        {"user_id": bob.user_id, "minutes": 30},
    ]});
    expect_problem(
        app.post(
            &staff_path(&activity, "/settle"),
            &overrides,
            Some(&street.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "budget_exhausted",
    )
    .await;
    let alice = app.login_resident("alice").await;
    let purse = app.wallet(&alice.access_token).await;
    assert_eq!(
        purse["time_credits"]["balance_minutes"], 0,
        "no time credits either: nothing half-paid"
    );
    // Minutes beyond the attendee's presence (checked in at the start of an hour) are refused.
    let too_long = json!({"attendances": [{"user_id": alice.user_id, "minutes": 61}]});
    expect_problem(
        app.post(
            &staff_path(&activity, "/settle"),
            &too_long,
            Some(&street.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // The street passes 100 points on; now it pays.
    expect_json(
        app.post(
            "/api/v1/admin/budgets/allocations",
            &json!({"org_id": app.org_id("和平社区").await, "points": 100, "memo": "志愿活动"}),
            Some(&street.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let settled = expect_json(
        app.post(
            &staff_path(&activity, "/settle"),
            &overrides,
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settled["paid"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.wallet(&alice.access_token).await["points"]["balance"],
        30
    );
    assert_eq!(
        app.budget_named(&street.access_token, "和平社区").await,
        100 - 30 - 15
    );
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn thirty_residents_race_for_ten_places_and_ten_get_them() {
    let app = spawn_app().await;
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let activity = create_activity(
        &app,
        &staff,
        "新华社区",
        Duration::days(1),
        Duration::hours(2),
        10,
        0,
    )
    .await;
    let mut residents = Vec::new();
    for i in 0..30 {
        residents.push(app.login_resident(&format!("racer{i}")).await);
    }
    let url = path(&activity, "/signups");
    let empty = json!({});
    let statuses: Vec<StatusCode> = join_all(
        residents
            .iter()
            .map(|r| app.post(&url, &empty, Some(&r.access_token))),
    )
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
        20,
        "{statuses:?}"
    );
    let detail = expect_json(app.get(&path(&activity, ""), None).await, StatusCode::OK).await;
    assert_eq!(
        (detail["confirmed"].as_i64(), detail["places_left"].as_i64()),
        (Some(10), Some(0))
    );
    let list = expect_json(
        app.get(
            &staff_path(&activity, "/signups"),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn concurrent_settlements_pay_each_attendee_once() {
    let app = spawn_app().await;
    app.clock.freeze();
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let activity = create_activity(
        &app,
        &staff,
        "新华社区",
        Duration::hours(1),
        Duration::hours(1),
        20,
        12,
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let who = app.login_resident(&format!("v{i}")).await;
        expect_json(
            app.post(
                &path(&activity, "/signups"),
                &json!({}),
                Some(&who.access_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(who.user_id);
    }
    let names: Vec<String> = (0..8).map(|i| format!("v{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    check_in_at_start(&app, "community", &activity, &names).await;
    let now = app.clock.now();
    app.clock
        .advance(starts(&activity) + Duration::hours(2) - now);
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let body = json!({"attendances": ids.iter().map(|id| json!({"user_id": id, "minutes": 60})).collect::<Vec<_>>()});
    let url = staff_path(&activity, "/settle");
    let replies = join_all((0..6).map(|_| app.post(&url, &body, Some(&staff.access_token)))).await;
    let mut paid = 0;
    for reply in replies {
        let reply = expect_json(reply, StatusCode::OK).await;
        paid += reply["paid"].as_array().unwrap().len();
    }
    assert_eq!(paid, 8, "each attendee paid by exactly one settlement");
    let statement = expect_json(
        app.get(
            "/api/v1/admin/ledger/verify",
            Some(&app.login_staff("admin", DEMO_PASSWORD).await.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(statement["balanced"], true);
    let v0 = app.login_resident("v0").await;
    assert_eq!(app.wallet(&v0.access_token).await["points"]["balance"], 12);
    assert_eq!(
        app.wallet(&v0.access_token).await["time_credits"]["balance_minutes"],
        60
    );
}

#[tokio::test]
async fn help_requests_hold_pay_release_and_settle_disputes() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    let bob = app.login_neighbour("bob", "新华社区").await;
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    linli_tests::issue_time_credits(&app.state.db, &alice.user_id, 120).await;
    let community = app.org_id("新华社区").await;
    let ask = |minutes: i64, title: &str| json!({"title": title, "description": "周三上午", "service_type": "escort", "minutes": minutes, "community_id": community});
    let act = |id: &Value, action: &str| {
        format!("/api/v1/help-requests/{}/{action}", id.as_str().unwrap())
    };

    // The whole way: held, accepted, completed, confirmed → the helper is paid.
    let first = expect_json(
        app.post(
            "/api/v1/help-requests",
            &ask(60, "陪诊"),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["status"], "open");
    assert_eq!(
        app.wallet(&alice.access_token).await["time_credits"]["held_minutes"],
        60
    );
    expect_problem(
        app.post(
            &act(&first["id"], "accept"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            &act(&first["id"], "confirm"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    let accepted = expect_json(
        app.post(
            &act(&first["id"], "accept"),
            &json!({}),
            Some(&bob.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(accepted["helper_id"], bob.user_id.as_str());
    expect_problem(
        app.post(
            &act(&first["id"], "cancel"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_json(
        app.post(
            &act(&first["id"], "complete"),
            &json!({}),
            Some(&bob.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let confirmed = expect_json(
        app.post(
            &act(&first["id"], "confirm"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(
        app.wallet(&bob.access_token).await["time_credits"]["balance_minutes"],
        60
    );
    let purse = app.wallet(&alice.access_token).await;
    assert_eq!(
        (
            purse["time_credits"]["balance_minutes"].as_i64(),
            purse["time_credits"]["held_minutes"].as_i64()
        ),
        (Some(60), Some(0))
    );

    // Cancelled before anyone accepts: the hold is released.
    let second = expect_json(
        app.post(
            "/api/v1/help-requests",
            &ask(30, "买菜"),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(
            &act(&second["id"], "cancel"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.wallet(&alice.access_token).await["time_credits"]["held_minutes"],
        0
    );
    // More than she has: refused, nothing held.
    expect_problem(
        app.post(
            "/api/v1/help-requests",
            &ask(61, "太多"),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "insufficient_time_credits",
    )
    .await;

    // Disputed: community staff refund the requester, or pay the helper.
    for (outcome, alice_after, bob_after) in [("refund_requester", 60, 60), ("pay_helper", 40, 80)]
    {
        let disputed = expect_json(
            app.post(
                "/api/v1/help-requests",
                &ask(20, "辅导作业"),
                Some(&alice.access_token),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        expect_json(
            app.post(
                &act(&disputed["id"], "accept"),
                &json!({}),
                Some(&bob.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        expect_problem(
            app.post(
                &act(&disputed["id"], "dispute"),
                &json!({}),
                Some(&bob.access_token),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        expect_json(
            app.post(
                &act(&disputed["id"], "dispute"),
                &json!({"reason": "对方说没来"}),
                Some(&bob.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        let resolve = format!(
            "/api/v1/staff/help-requests/{}/resolve",
            disputed["id"].as_str().unwrap()
        );
        expect_problem(
            app.post(
                &resolve,
                &json!({"outcome": outcome, "reason": "x"}),
                Some(&alice.access_token),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let resolved = expect_json(
            app.post(
                &resolve,
                &json!({"outcome": outcome, "reason": "经调解"}),
                Some(&staff.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(resolved["status"], "resolved");
        assert_eq!(
            app.wallet(&alice.access_token).await["time_credits"]["balance_minutes"],
            alice_after,
            "{outcome}"
        );
        assert_eq!(
            app.wallet(&bob.access_token).await["time_credits"]["balance_minutes"],
            bob_after,
            "{outcome}"
        );
        assert_eq!(
            app.wallet(&alice.access_token).await["time_credits"]["held_minutes"],
            0
        );
    }
    let open = expect_json(
        app.get(
            &format!("/api/v1/help-requests?community_id={community}&status=resolved"),
            Some(&bob.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(open["items"].as_array().unwrap().len(), 2);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn the_leaderboard_is_the_sum_of_settled_minutes_with_or_without_redis() {
    let app = spawn_app().await;
    app.clock.freeze();
    let community = app.org_id("新华社区").await;
    let district = app.org_id("平城区").await;
    let board = |org: String, period: &'static str| {
        let app = &app;
        async move {
            let list = expect_json(
                app.get(
                    &format!("/api/v1/leaderboards/volunteers?org_id={org}&period={period}"),
                    None,
                )
                .await,
                StatusCode::OK,
            )
            .await;
            list.as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["user_id"].as_str().unwrap().to_owned(),
                        e["minutes"].as_i64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let names = ["lb-a", "lb-b", "lb-c"];
    let mut people = Vec::new();
    for name in names {
        people.push(app.login_resident(name).await);
    }
    // Two activities; minutes per resident: a 60+30, b 45, c 0 (not settled).
    let mut settle_one = Vec::new();
    for minutes in [[60, 45], [30, 0]] {
        let staff = app.login_staff("community", DEMO_PASSWORD).await;
        let activity = create_activity(
            &app,
            &staff,
            "新华社区",
            Duration::hours(1),
            Duration::hours(1),
            10,
            0,
        )
        .await;
        for name in names {
            let who = app.login_resident(name).await;
            expect_json(
                app.post(
                    &path(&activity, "/signups"),
                    &json!({}),
                    Some(&who.access_token),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
        }
        settle_one.push((activity, minutes));
    }
    assert!(board(community.clone(), "all").await.is_empty());
    for (activity, _) in &settle_one {
        check_in_at_start(&app, "community", activity, &["lb-a", "lb-b"]).await;
    }
    app.clock.advance(Duration::hours(3));
    for (i, (activity, minutes)) in settle_one.iter().enumerate() {
        let staff = app.login_staff("community", DEMO_PASSWORD).await;
        let body = json!({"attendances": [
            {"user_id": people[0].user_id, "minutes": minutes[0]},
            {"user_id": people[1].user_id, "minutes": minutes[1]},
        ]});
        expect_json(
            app.post(
                &staff_path(activity, "/settle"),
                &body,
                Some(&staff.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        if i == 0 {
            // The board is built after the first settlement; the second adds to it.
            assert_eq!(
                board(community.clone(), "all").await,
                [
                    (people[0].user_id.clone(), 60),
                    (people[1].user_id.clone(), 45)
                ]
            );
        }
    }
    let expected = vec![
        (people[0].user_id.clone(), 90),
        (people[1].user_id.clone(), 45),
    ];
    assert_eq!(board(community.clone(), "all").await, expected);
    assert_eq!(
        board(district.clone(), "all").await,
        expected,
        "the district counts its communities' activities"
    );
    assert_eq!(board(community.clone(), "year").await, expected);
    // Another street's board has none of it.
    assert!(board(app.org_id("开源街道").await, "all").await.is_empty());
    // With Redis: lose the cached boards; they are rebuilt from the database.
    for org in [&community, &district] {
        app.state
            .cache
            .delete(&api::leaderboards::key(org, "all"))
            .await
            .unwrap();
    }
    assert_eq!(board(community.clone(), "all").await, expected);
    assert_eq!(board(district, "all").await, expected);
    expect_problem(
        app.get("/api/v1/leaderboards/volunteers?period=decade", None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn a_partner_runs_activities_in_its_community_and_pays_points_itself() {
    let app = spawn_app().await;
    app.clock.freeze();
    // 老王理发店 is a demo partner in 新华社区, owned by dev-laowang.
    let owner = app.login_resident("laowang").await;
    let me = expect_json(
        app.get("/api/v1/me", Some(&owner.access_token)).await,
        StatusCode::OK,
    )
    .await;
    let partner = me["merchant_ids"][0].as_str().unwrap().to_owned();
    let alice = app.login_resident("alice").await;
    let starts_at = app.clock.now() + Duration::hours(1);
    let body = |org: String, partner: &str, points: i64| {
        json!({
            "title": "义务理发", "kind": "volunteer", "org_id": org, "partner_id": partner,
            "location": "老王理发店", "starts_at": starts_at, "ends_at": starts_at + Duration::hours(2),
            "capacity": 5, "points_per_hour": points, "time_credits": true,
        })
    };
    // Not the partner's staff; not the partner's community.
    expect_problem(
        app.post(
            "/api/v1/staff/activities",
            &body(app.org_id("新华社区").await, &partner, 0),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_problem(
        app.post(
            "/api/v1/staff/activities",
            &body(app.org_id("和平社区").await, &partner, 0),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let activity = expect_json(
        app.post(
            "/api/v1/staff/activities",
            &body(app.org_id("新华社区").await, &partner, 10),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(activity["partner_id"], partner.as_str());
    expect_json(
        app.post(
            &path(&activity, "/signups"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let now = app.clock.now();
    app.clock
        .advance(starts(&activity) + Duration::hours(3) - now);
    let owner = app.login_resident("laowang").await;
    let alice = app.login_resident("alice").await;
    let settle = json!({"attendances": [{"user_id": alice.user_id, "minutes": 120}]});
    // Someone who does not work for the partner cannot settle it...
    let other = app.login_resident("bob").await;
    expect_problem(
        app.post(
            &staff_path(&activity, "/settle"),
            &settle,
            Some(&other.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // ...nor may the partner itself: its community's staff confirm and settle it (the
    // partner's staff would otherwise mint time credits for anyone they liked).
    expect_problem(
        app.post(
            &staff_path(&activity, "/settle"),
            &settle,
            Some(&owner.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "community_confirmation_required",
    )
    .await;
    // Alice never checked in: the community's staff cannot settle minutes she was not there.
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    let problem = expect_problem(
        app.post(
            &staff_path(&activity, "/settle"),
            &settle,
            Some(&community.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "attendances[0].minutes");
    let free = json!({"attendances": [{"user_id": alice.user_id, "minutes": 0}]});
    let settled = expect_json(
        app.post(
            &staff_path(&activity, "/settle"),
            &free,
            Some(&community.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settled["paid"][0]["points"], 0);
    // The organiser-set figure is on the audit trail with who set it.
    let audit =
        platform::audit::of_subject(&app.state.db, "activity", activity["id"].as_str().unwrap())
            .await
            .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "activity_attendance_override");
    assert_eq!(
        audit[0].actor_id.as_deref(),
        Some(community.user_id.as_str())
    );
    assert_eq!(audit[0].detail["presence_cap"], 0);
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn classes_and_markets_count_as_held_and_attended_not_as_volunteering() {
    let app = spawn_app().await;
    app.clock.freeze();
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let community = app.org_id("新华社区").await;
    let volunteering = create_activity(
        &app,
        &staff,
        "新华社区",
        Duration::hours(1),
        Duration::hours(1),
        10,
        20,
    )
    .await;
    // A night-school class: nothing paid, no time credits.
    let starts_at = starts(&volunteering);
    let class = expect_json(
        app.post(
            "/api/v1/staff/activities",
            &json!({
                "title": "群众夜校：智能手机课堂", "kind": "night_school", "org_id": community,
                "location": "社区党群服务中心", "starts_at": starts_at,
                "ends_at": starts_at + Duration::hours(1), "capacity": 30,
                "points_per_hour": 0, "time_credits": false,
            }),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let names = ["nk-a", "nk-b", "nk-c"];
    let mut ids = Vec::new();
    for name in names {
        let who = app.login_resident(name).await;
        ids.push(who.user_id.clone());
        for activity in [&volunteering, &class] {
            expect_json(
                app.post(
                    &path(activity, "/signups"),
                    &json!({}),
                    Some(&who.access_token),
                )
                .await,
                StatusCode::CREATED,
            )
            .await;
        }
    }
    // Two come to the volunteering, all three to the class; nk-c never checks in there.
    check_in_at_start(&app, "community", &volunteering, &["nk-a", "nk-b"]).await;
    check_in_at_start(&app, "community", &class, &names).await;
    app.clock.advance(Duration::hours(2));
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    let an_hour = |people: &[String]| {
        let attendances: Vec<Value> = people
            .iter()
            .map(|id| json!({"user_id": id, "minutes": 60}))
            .collect();
        json!({ "attendances": attendances })
    };
    for (activity, came) in [(&volunteering, &ids[..2]), (&class, &ids[..])] {
        expect_json(
            app.post(
                &staff_path(activity, "/settle"),
                &an_hour(came),
                Some(&staff.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    // The period ends before now, exclusive: read it a minute after the settlement.
    app.clock.advance(Duration::minutes(1));
    let dashboard = expect_json(
        app.get(
            &format!("/api/v1/staff/dashboard?org_id={community}"),
            Some(&staff.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let timebank = &dashboard["timebank"];
    assert_eq!(
        timebank["volunteer_minutes"], 120,
        "the class's minutes are not volunteering: {timebank}"
    );
    assert_eq!(timebank["volunteers"], 2);
    let kinds: Vec<(String, i64, i64)> = timebank["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap().to_owned(),
                k["activities"].as_i64().unwrap(),
                k["participants"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("volunteer", 1, 2),
        ("night_school", 1, 3),
        ("market", 0, 0),
        ("other", 0, 0),
    ]
    .map(|(k, a, p)| (k.to_owned(), a, p));
    assert_eq!(kinds, expected);
    // The leaderboard counts volunteering only, from the database and from Redis alike.
    let board = expect_json(
        app.get(
            &format!("/api/v1/leaderboards/volunteers?org_id={community}&period=all"),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let minutes: Vec<i64> = board
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(minutes, [60, 60], "{board}");
    // So does the volunteer-hours spreadsheet: the volunteering's two rows, not the class's.
    let through = (app.clock.now() + Duration::minutes(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let export = format!("/api/v1/staff/exports/volunteer-hours.xlsx?to={through}");
    let rows = crate::spreadsheets::sheet(&app, &export, &staff.access_token).await;
    let who = crate::spreadsheets::column(&rows, "志愿者编号");
    let mut exported: Vec<String> = rows[1..].iter().map(|r| r[who].clone()).collect();
    exported.sort();
    let mut volunteers = ids[..2].to_vec();
    volunteers.sort();
    assert_eq!(exported, volunteers, "{rows:?}");
    // Another street sees none of it.
    let other = app.org_id("开源街道").await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let elsewhere = expect_json(
        app.get(
            &format!("/api/v1/staff/dashboard?org_id={other}"),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(elsewhere["timebank"]["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["activities"] == 0 && k["participants"] == 0));
}
