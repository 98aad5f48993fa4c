//! Points for parking over HTTP: booking and cancelling, entering and leaving through the
//! signed gate webhook (in time, late with and without points, no-show), opening hours
//! across midnight, plates, refused gate events, staff check-in/out, and the last free slot
//! wanted by forty residents at once.

use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use linli_tests::{expect_json, expect_problem, spawn_app, Session, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

struct Lot {
    id: String,
    secret: String,
}

async fn create_lot(app: &TestApp, slots: i64, open_hours: Value) -> Lot {
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let body = json!({
        "name": "区政府停车场", "org_id": app.org_id("新华街道").await, "address": "新华街1号",
        "slot_count": slots, "points_per_hour": 10, "billing_unit_minutes": 30,
        "open_hours": open_hours, "max_booking_hours": 12,
    });
    let created = expect_json(
        app.post(
            "/api/v1/admin/parking/lots",
            &body,
            Some(&admin.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    Lot {
        id: created["id"].as_str().unwrap().to_owned(),
        secret: created["gate_secret"].as_str().unwrap().to_owned(),
    }
}

fn always() -> Value {
    json!([{"days": [1, 2, 3, 4, 5, 6, 7], "from": "00:00", "to": "24:00"}])
}

async fn book(
    app: &TestApp,
    who: &Session,
    lot: &Lot,
    plate: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> reqwest::Response {
    app.post(
        "/api/v1/parking/bookings",
        &json!({"lot_id": lot.id, "plate": plate, "starts_at": starts_at, "ends_at": ends_at}),
        Some(&who.access_token),
    )
    .await
}

async fn gate(
    app: &TestApp,
    lot: &Lot,
    event_id: &str,
    plate: &str,
    kind: &str,
) -> reqwest::Response {
    let body = json!({"event_id": event_id, "lot_id": lot.id, "plate": plate, "kind": kind, "at": app.clock.now()}).to_string();
    signed(app, &lot.secret, body).await
}

async fn signed(app: &TestApp, secret: &str, body: String) -> reqwest::Response {
    let signature = parking::service::gate::signature(secret, body.as_bytes());
    app.send(
        app.request(reqwest::Method::POST, "/api/v1/parking/gate-events", None)
            .header("content-type", "application/json")
            .header("x-linli-signature", signature)
            .body(body),
    )
    .await
}

async fn points(app: &TestApp, name: &str) -> (i64, i64) {
    let who = app.login_resident(name).await;
    let wallet = app.wallet(&who.access_token).await;
    (
        wallet["points"]["balance"].as_i64().unwrap(),
        wallet["points"]["held"].as_i64().unwrap(),
    )
}

async fn booking(app: &TestApp, name: &str, id: &str) -> Value {
    let who = app.login_resident(name).await;
    let list = expect_json(
        app.get("/api/v1/me/parking/bookings", Some(&who.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn advance_to(app: &TestApp, at: DateTime<Utc>) {
    let now = app.clock.now();
    app.clock.advance(at - now);
}

#[tokio::test]
async fn a_booking_is_held_then_cancelled_in_full() {
    let app = spawn_app().await;
    app.clock.freeze();
    let lot = create_lot(&app, 2, always()).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 100).await;
    let start = app.clock.now() + Duration::hours(1);
    let availability = expect_json(
        app.get(
            &format!(
                "/api/v1/parking/lots/{}/availability?from={}&to={}",
                lot.id,
                start.format("%Y-%m-%dT%H:%M:%SZ"),
                (start + Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ")
            ),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            availability["total_slots"].as_i64(),
            availability["free_slots"].as_i64(),
            availability["points_quote"].as_i64()
        ),
        (Some(2), Some(2), Some(20))
    );
    let booked = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B12345",
            start,
            start + Duration::hours(2),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["held_points"], 20);
    assert!(booked["slot_code"].as_str().unwrap().starts_with('P'));
    assert_eq!(points(&app, "alice").await, (100, 20));
    let cancelled = expect_json(
        app.post(
            &format!(
                "/api/v1/parking/bookings/{}/cancel",
                booked["id"].as_str().unwrap()
            ),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(points(&app, "alice").await, (100, 0));
    // Once it has started, it cannot be cancelled.
    let second = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B12345",
            start,
            start + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    advance_to(&app, start + Duration::minutes(1));
    let alice = app.login_resident("alice").await;
    expect_problem(
        app.post(
            &format!(
                "/api/v1/parking/bookings/{}/cancel",
                second["id"].as_str().unwrap()
            ),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
}

#[tokio::test]
async fn entering_and_leaving_in_time_charges_the_units_parked() {
    let app = spawn_app().await;
    app.clock.freeze();
    let lot = create_lot(&app, 2, always()).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 100).await;
    let start = app.clock.now() + Duration::minutes(30);
    let booked = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B 12345",
            start,
            start + Duration::hours(2),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = booked["id"].as_str().unwrap();
    // Too early (more than 15 minutes before): the gate stays shut.
    let early = expect_json(
        gate(&app, &lot, "e-1", "晋B12345", "entry").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(early["action"], "deny");
    advance_to(&app, start - Duration::minutes(10));
    let entry = expect_json(
        gate(&app, &lot, "e-2", "晋B12345", "entry").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (entry["action"].as_str(), entry["booking_id"].as_str()),
        (Some("open"), Some(id))
    );
    // Another plate has no booking.
    let stranger = expect_json(
        gate(&app, &lot, "e-3", "晋A99999", "entry").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stranger["action"], "deny");
    advance_to(&app, start + Duration::minutes(70));
    let exit = expect_json(
        gate(&app, &lot, "e-4", "晋B12345", "exit").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(exit["action"], "open");
    assert_eq!(
        exit["charged_points"], 15,
        "70 minutes: three half-hour units of 5"
    );
    assert_eq!(points(&app, "alice").await, (85, 0));
    let after = booking(&app, "alice", id).await;
    assert_eq!(
        (after["status"].as_str(), after["charged_points"].as_i64()),
        (Some("completed"), Some(15))
    );
    // The day's figures for the dashboard.
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let day = (start + Duration::hours(8)).date_naive();
    let usage = expect_json(
        app.get(
            &format!(
                "/api/v1/staff/parking/lots/{}/usage?from={day}&to={day}",
                lot.id
            ),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(usage[0]["bookings"], 1, "{usage}");
    assert_eq!(usage[0]["points_charged"], 15);
    assert_eq!(usage[0]["open_slot_minutes"], 2 * 24 * 60);
    assert!(usage[0]["occupied_minutes"].as_i64().unwrap() > 0);
    let alice = app.login_resident("alice").await;
    expect_problem(
        app.get(
            &format!("/api/v1/staff/parking/lots/{}/usage", lot.id),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // The same exit event again: the same answer, nothing charged twice.
    let replay = expect_json(
        gate(&app, &lot, "e-4", "晋B12345", "exit").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(replay, exit);
    assert_eq!(points(&app, "alice").await, (85, 0));
    app.assert_ledger_balanced().await;
    assert_eq!(app.metric("linli_parking_bookings_total").await, 1.0);
    let charged = r#"linli_points_redeemed_total{channel="parking"}"#;
    assert_eq!(app.metric(charged).await, 15.0, "charged once");
    // The street's spreadsheet: the lot's day with its one booking and the points charged.
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let path = format!(
        "/api/v1/staff/exports/parking-usage.xlsx?from={}&to={}",
        (start - Duration::days(1)).to_rfc3339(),
        (start + Duration::days(1)).to_rfc3339()
    )
    .replace('+', "%2B");
    let rows = crate::spreadsheets::sheet(&app, &path, &street.access_token).await;
    let day = day.to_string();
    let used = rows
        .iter()
        .find(|r| r[0] == "区政府停车场" && r[1] == day)
        .unwrap_or_else(|| panic!("{day} in {rows:?}"));
    let (bookings, points) = (
        crate::spreadsheets::column(&rows, "预约数"),
        crate::spreadsheets::column(&rows, "收取积分"),
    );
    assert_eq!(
        (used[bookings].as_str(), used[points].as_str()),
        ("1", "15")
    );
}

#[tokio::test]
async fn overstay_is_charged_and_what_cannot_be_paid_blocks_booking_until_paid() {
    let app = spawn_app().await;
    app.clock.freeze();
    let lot = create_lot(&app, 2, always()).await;
    let alice = app.login_resident("alice").await;
    let bob = app.login_resident("bob").await;
    app.give_points(&alice, 100).await;
    app.give_points(&bob, 10).await;
    let start = app.clock.now() + Duration::minutes(5);
    let a = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B11111",
            start,
            start + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let b = expect_json(
        book(
            &app,
            &bob,
            &lot,
            "晋B22222",
            start,
            start + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    advance_to(&app, start);
    for (event, plate) in [("in-a", "晋B11111"), ("in-b", "晋B22222")] {
        assert_eq!(
            expect_json(
                gate(&app, &lot, event, plate, "entry").await,
                StatusCode::OK
            )
            .await["action"],
            "open"
        );
    }
    // Both leave 40 minutes late: one hour inside (10) and two overstay units (10).
    advance_to(&app, start + Duration::minutes(100));
    let out_a = expect_json(
        gate(&app, &lot, "out-a", "晋B11111", "exit").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(out_a["charged_points"], 20);
    assert_eq!(points(&app, "alice").await, (80, 0));
    assert_eq!(
        booking(&app, "alice", a["id"].as_str().unwrap()).await["status"],
        "completed"
    );
    let out_b = expect_json(
        gate(&app, &lot, "out-b", "晋B22222", "exit").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(out_b["action"], "open", "a car is never kept in");
    assert_eq!(out_b["charged_points"], 10);
    assert_eq!(points(&app, "bob").await, (0, 0));
    let owed = booking(&app, "bob", b["id"].as_str().unwrap()).await;
    assert_eq!(
        (owed["status"].as_str(), owed["unpaid_points"].as_i64()),
        (Some("unpaid_overstay"), Some(10))
    );
    // Bob may not book again until he pays.
    let bob = app.login_resident("bob").await;
    let later = app.clock.now() + Duration::hours(1);
    expect_problem(
        book(
            &app,
            &bob,
            &lot,
            "晋B22222",
            later,
            later + Duration::hours(1),
        )
        .await,
        StatusCode::CONFLICT,
        "unpaid_overstay",
    )
    .await;
    let pay = format!("/api/v1/parking/bookings/{}/pay", b["id"].as_str().unwrap());
    expect_problem(
        app.post(&pay, &json!({}), Some(&bob.access_token)).await,
        StatusCode::CONFLICT,
        "insufficient_points",
    )
    .await;
    app.give_points(&bob, 30).await;
    let paid = expect_json(
        app.post(&pay, &json!({}), Some(&bob.access_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            paid["status"].as_str(),
            paid["unpaid_points"].as_i64(),
            paid["overstay_points"].as_i64()
        ),
        (Some("completed"), Some(0), Some(10))
    );
    assert_eq!(points(&app, "bob").await, (20, 0));
    expect_json(
        book(
            &app,
            &bob,
            &lot,
            "晋B22222",
            later,
            later + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.assert_ledger_balanced().await;
}

/// On a frozen clock: alice's three-hour booking in a new one-slot lot under 新华街道,
/// starting in ten minutes; the lot, the booking and its start.
async fn a_booking_to_miss(app: &TestApp) -> (Lot, Value, DateTime<Utc>) {
    app.clock.freeze();
    let lot = create_lot(app, 1, always()).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 100).await;
    let start = app.clock.now() + Duration::minutes(10);
    let booked = expect_json(
        book(
            app,
            &alice,
            &lot,
            "晋B12345",
            start,
            start + Duration::hours(3),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (lot, booked, start)
}

/// A street's own job round (the simulator's streets run theirs) takes the no-shows of its
/// lots only: another street's round leaves the booking booked, its own marks it.
#[tokio::test]
async fn a_round_narrowed_to_a_street_marks_only_that_streets_no_shows() {
    use platform::Reach;
    let app = spawn_app().await;
    let (_, booked, start) = a_booking_to_miss(&app).await;
    advance_to(&app, start + Duration::minutes(31));
    let elsewhere = Reach::Under(app.org_path("开源街道").await);
    let round = api::jobs::run_round(&app.state, &elsewhere).await.unwrap();
    assert_eq!(round.parking_no_shows, 0);
    let id = booked["id"].as_str().unwrap();
    assert_eq!(booking(&app, "alice", id).await["status"], "booked");
    let here = Reach::Under(app.org_path("新华街道").await);
    let round = api::jobs::run_round(&app.state, &here).await.unwrap();
    assert_eq!(round.parking_no_shows, 1);
    assert_eq!(booking(&app, "alice", id).await["status"], "no_show");
    app.assert_ledger_balanced().await;
}

#[tokio::test]
async fn a_no_show_is_charged_one_unit_and_frees_the_slot() {
    let app = spawn_app().await;
    let (lot, booked, start) = a_booking_to_miss(&app).await;
    advance_to(&app, start + Duration::minutes(20));
    assert_eq!(
        api::jobs::run_once(&app.state)
            .await
            .unwrap()
            .parking_no_shows,
        0
    );
    advance_to(&app, start + Duration::minutes(31));
    assert_eq!(
        api::jobs::run_once(&app.state)
            .await
            .unwrap()
            .parking_no_shows,
        1
    );
    assert_eq!(
        api::jobs::run_once(&app.state)
            .await
            .unwrap()
            .parking_no_shows,
        0
    );
    let after = booking(&app, "alice", booked["id"].as_str().unwrap()).await;
    assert_eq!(
        (after["status"].as_str(), after["charged_points"].as_i64()),
        (Some("no_show"), Some(5))
    );
    assert_eq!(points(&app, "alice").await, (95, 0));
    // The slot is free again for the rest of the window.
    let bob = app.login_resident("bob").await;
    app.give_points(&bob, 100).await;
    let now = app.clock.now();
    expect_json(
        book(
            &app,
            &bob,
            &lot,
            "晋B54321",
            now + Duration::minutes(5),
            now + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn bookings_stay_inside_opening_hours_even_across_midnight() {
    let app = spawn_app().await;
    app.clock.freeze();
    // Open every night 18:00–08:00, Beijing time.
    let lot = create_lot(
        &app,
        2,
        json!([{"days": [1, 2, 3, 4, 5, 6, 7], "from": "18:00", "to": "08:00"}]),
    )
    .await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 500).await;
    // Tomorrow's midnight in Beijing, in UTC.
    let now = app.clock.now();
    let tomorrow = (now + Duration::hours(8)).date_naive().succ_opt().unwrap();
    let midnight = tomorrow.and_hms_opt(0, 0, 0).unwrap().and_utc() - Duration::hours(8);
    let at = |hours: i64| midnight + Duration::hours(hours);
    expect_problem(
        book(&app, &alice, &lot, "晋B12345", at(12), at(13)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside_open_hours",
    )
    .await;
    expect_problem(
        book(&app, &alice, &lot, "晋B12345", at(7), at(9)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside_open_hours",
    )
    .await;
    let night = expect_json(
        book(&app, &alice, &lot, "晋B12345", at(23), at(31)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(night["held_points"], 80);
    for bad in [
        "",
        "B12345",
        "晋B1234",
        "晋BI2345",
        "12345678",
        "晋B12345678",
    ] {
        let problem = expect_problem(
            book(&app, &alice, &lot, bad, at(19), at(20)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_plate",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "plate", "{bad}");
    }
    // New-energy plates are plates too.
    expect_json(
        book(&app, &alice, &lot, "晋BD12345", at(19), at(20)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(points(&app, "alice").await, (500, 90));
}

#[tokio::test]
async fn unsigned_wrongly_signed_stale_or_replayed_gate_events_change_nothing() {
    let app = spawn_app().await;
    app.clock.freeze();
    let lot = create_lot(&app, 1, always()).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 100).await;
    let start = app.clock.now() + Duration::minutes(5);
    let booked = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B12345",
            start,
            start + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = booked["id"].as_str().unwrap().to_owned();
    let body = json!({"event_id": "x-1", "lot_id": lot.id, "plate": "晋B12345", "kind": "entry", "at": app.clock.now()}).to_string();
    let unsigned = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/parking/gate-events", None)
                .header("content-type", "application/json")
                .body(body.clone()),
        )
        .await;
    expect_problem(unsigned, StatusCode::UNAUTHORIZED, "gate_signature_invalid").await;
    expect_problem(
        signed(&app, "not-the-secret", body.clone()).await,
        StatusCode::UNAUTHORIZED,
        "gate_signature_invalid",
    )
    .await;
    // A signature over a different body.
    let signature = parking::service::gate::signature(&lot.secret, body.as_bytes());
    let tampered = body.replace("晋B12345", "晋B54321");
    let response = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/parking/gate-events", None)
                .header("content-type", "application/json")
                .header("x-linli-signature", signature)
                .body(tampered),
        )
        .await;
    expect_problem(response, StatusCode::UNAUTHORIZED, "gate_signature_invalid").await;
    let stale = json!({"event_id": "x-2", "lot_id": lot.id, "plate": "晋B12345", "kind": "entry", "at": app.clock.now() - Duration::minutes(6)}).to_string();
    expect_problem(
        signed(&app, &lot.secret, stale).await,
        StatusCode::UNAUTHORIZED,
        "gate_event_stale",
    )
    .await;
    assert_eq!(
        booking(&app, "alice", &id).await["status"],
        "booked",
        "nothing changed"
    );
    // A rotated secret: the old one stops working.
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let rotated = expect_json(
        app.post(
            &format!("/api/v1/admin/parking/lots/{}/gate-secret", lot.id),
            &json!({}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        gate(&app, &lot, "x-3", "晋B12345", "entry").await,
        StatusCode::UNAUTHORIZED,
        "gate_signature_invalid",
    )
    .await;
    let lot = Lot {
        id: lot.id,
        secret: rotated["gate_secret"].as_str().unwrap().to_owned(),
    };
    let first = expect_json(
        gate(&app, &lot, "x-4", "晋B12345", "entry").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["action"], "open");
    let replayed = expect_json(
        gate(&app, &lot, "x-4", "晋B12345", "entry").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(replayed, first);
    assert_eq!(booking(&app, "alice", &id).await["status"], "active");
}

#[tokio::test]
async fn staff_check_cars_in_and_out_where_there_is_no_camera() {
    let app = spawn_app().await;
    app.clock.freeze();
    let lot = create_lot(&app, 1, always()).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 100).await;
    let start = app.clock.now() + Duration::minutes(5);
    let booked = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B12345",
            start,
            start + Duration::hours(2),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = booked["id"].as_str().unwrap();
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    expect_problem(
        app.post(
            &format!("/api/v1/staff/parking/bookings/{id}/check-out"),
            &json!({}),
            Some(&street.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "invalid_transition",
    )
    .await;
    expect_problem(
        app.post(
            &format!("/api/v1/staff/parking/bookings/{id}/check-in"),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let parked = expect_json(
        app.post(
            &format!("/api/v1/staff/parking/bookings/{id}/check-in"),
            &json!({}),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(parked["status"], "active");
    advance_to(&app, start + Duration::minutes(45));
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let done = expect_json(
        app.post(
            &format!("/api/v1/staff/parking/bookings/{id}/check-out"),
            &json!({}),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (done["status"].as_str(), done["charged_points"].as_i64()),
        (Some("completed"), Some(10))
    );
}

/// Defect: an operator could check a booking in hours before it starts and out days later,
/// charging the resident overstay for time never parked. Check-in opens at the start minus
/// the lot's entry grace (15 minutes) and closes when the booking ends; a manual check-out
/// that charges overstay is audited with the operator.
#[tokio::test]
async fn manual_check_in_keeps_to_the_booking_and_an_overstay_check_out_is_audited() {
    let app = spawn_app().await;
    app.clock.freeze();
    let lot = create_lot(&app, 1, always()).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 200).await;
    let start = app.clock.now() + Duration::hours(3);
    let booked = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B12345",
            start,
            start + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = booked["id"].as_str().unwrap().to_owned();
    // The clock moves by hours: each call logs in afresh.
    let check = |action: &'static str| {
        let path = format!("/api/v1/staff/parking/bookings/{id}/{action}");
        let app = &app;
        async move {
            let street = app.login_staff("street", DEMO_PASSWORD).await;
            app.post(&path, &json!({}), Some(&street.access_token))
                .await
        }
    };
    // Three hours early, and one minute before the grace opens: refused, nothing changes.
    expect_problem(
        check("check-in").await,
        StatusCode::CONFLICT,
        "outside_check_in_window",
    )
    .await;
    advance_to(&app, start - Duration::minutes(16));
    expect_problem(
        check("check-in").await,
        StatusCode::CONFLICT,
        "outside_check_in_window",
    )
    .await;
    assert_eq!(booking(&app, "alice", &id).await["status"], "booked");
    // Within the grace: in.
    advance_to(&app, start - Duration::minutes(10));
    assert_eq!(
        expect_json(check("check-in").await, StatusCode::OK).await["status"],
        "active"
    );
    // Out two hours after the booking ended: overstay charged, and on the audit trail.
    advance_to(&app, start + Duration::hours(3));
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let done = expect_json(
        app.post(
            &format!("/api/v1/staff/parking/bookings/{id}/check-out"),
            &json!({}),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["status"], "completed");
    let audit = platform::audit::of_subject(&app.state.db, "parking_booking", &id)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "parking_manual_check_out_overstay");
    assert_eq!(audit[0].actor_id.as_deref(), Some(street.user_id.as_str()));
    assert!(
        audit[0].detail["overstay_points"].as_i64().unwrap() > 0,
        "{audit:?}"
    );

    // A booking whose end has passed without the car can no longer be checked in.
    let alice = app.login_resident("alice").await;
    let later = app.clock.now() + Duration::hours(1);
    let second = expect_json(
        book(
            &app,
            &alice,
            &lot,
            "晋B12345",
            later,
            later + Duration::hours(1),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    advance_to(&app, later + Duration::hours(1));
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    expect_problem(
        app.post(
            &format!(
                "/api/v1/staff/parking/bookings/{}/check-in",
                second["id"].as_str().unwrap()
            ),
            &json!({}),
            Some(&street.access_token),
        )
        .await,
        StatusCode::CONFLICT,
        "outside_check_in_window",
    )
    .await;
    app.assert_ledger_balanced().await;
}

/// Forty residents want the last free slot for the same hour: one gets it, the others are
/// told `no_slot_available` and keep their points; no slot is booked twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_residents_race_for_the_last_slot_and_one_wins() {
    let app = spawn_app().await;
    let lot = create_lot(&app, 3, always()).await;
    let start = app.clock.now() + Duration::hours(1);
    let end = start + Duration::hours(1);
    // Two of three slots are taken already.
    for name in ["early1", "early2"] {
        let who = app.login_resident(name).await;
        app.give_points(&who, 50).await;
        expect_json(
            book(&app, &who, &lot, "晋B00001", start, end).await,
            StatusCode::CREATED,
        )
        .await;
    }
    let mut racers = Vec::new();
    for i in 0..40 {
        let who = app.login_resident(&format!("racer{i}")).await;
        app.give_points(&who, 50).await;
        racers.push(who);
    }
    let replies = join_all(racers.iter().enumerate().map(|(i, who)| {
        let plate = format!("晋B{:05}", 10 + i);
        let body = json!({"lot_id": lot.id, "plate": plate, "starts_at": start, "ends_at": end});
        app.send(
            app.request(
                reqwest::Method::POST,
                "/api/v1/parking/bookings",
                Some(&who.access_token),
            )
            .json(&body),
        )
    }))
    .await;
    let statuses: Vec<StatusCode> = replies.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    for reply in replies
        .into_iter()
        .filter(|r| r.status() != StatusCode::CREATED)
    {
        expect_problem(reply, StatusCode::CONFLICT, "no_slot_available").await;
    }
    let mut holding = 0;
    for i in 0..40 {
        let (balance, held) = points(&app, &format!("racer{i}")).await;
        assert_eq!(balance, 50);
        holding += usize::from(held > 0);
    }
    assert_eq!(holding, 1, "only the winner's points are held");
    assert_overlap_free(&app).await;
    app.assert_ledger_balanced().await;
}

/// No two live bookings share a slot for any minute.
pub async fn assert_overlap_free(app: &TestApp) {
    use parking::entity::booking;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let live = booking::Entity::find()
        .filter(booking::Column::Status.is_in(["booked", "active"]))
        .all(&app.state.db)
        .await
        .unwrap();
    for (i, a) in live.iter().enumerate() {
        for b in &live[i + 1..] {
            assert!(
                a.slot_id != b.slot_id || a.ends_at <= b.starts_at || b.ends_at <= a.starts_at,
                "{a:?} overlaps {b:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_gate_event_is_refused_with_a_reason() {
    let app = spawn_app().await;
    let lot = create_lot(&app, 1, always()).await;
    let body = json!({"event_id": "bad-1", "lot_id": lot.id, "plate": "晋B12345", "kind": "entry", "at": "yesterday"}).to_string();
    let problem = expect_problem(
        signed(&app, &lot.secret, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "body");
    // Unsigned garbage is still just unauthorised.
    let garbage = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/parking/gate-events", None)
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    expect_problem(garbage, StatusCode::UNAUTHORIZED, "gate_signature_invalid").await;
}

#[tokio::test]
async fn a_partner_sets_up_a_lot_in_its_community_and_runs_it() {
    let app = spawn_app().await;
    let owner = app.login_resident("laowang").await;
    let me = expect_json(
        app.get("/api/v1/me", Some(&owner.access_token)).await,
        StatusCode::OK,
    )
    .await;
    let partner = me["merchant_ids"][0].as_str().unwrap().to_owned();
    let body = |org: String| {
        json!({
            "partner_id": partner, "name": "老王理发店后院", "org_id": org, "slot_count": 4,
            "points_per_hour": 6, "open_hours": always(), "max_booking_hours": 8,
        })
    };
    expect_problem(
        app.post(
            "/api/v1/admin/parking/lots",
            &body(app.org_id("和平社区").await),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let stranger = app.login_resident("bob").await;
    expect_problem(
        app.post(
            "/api/v1/admin/parking/lots",
            &body(app.org_id("新华社区").await),
            Some(&stranger.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let created = expect_json(
        app.post(
            "/api/v1/admin/parking/lots",
            &body(app.org_id("新华社区").await),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["partner_id"], partner.as_str());
    let lot_id = created["id"].as_str().unwrap();
    // The partner runs it: usage figures and a new gate secret.
    expect_json(
        app.get(
            &format!("/api/v1/staff/parking/lots/{lot_id}/usage"),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.post(
            &format!("/api/v1/admin/parking/lots/{lot_id}/gate-secret"),
            &json!({}),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(
        app.get(
            &format!("/api/v1/staff/parking/lots/{lot_id}/usage"),
            Some(&stranger.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
