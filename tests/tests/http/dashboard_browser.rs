//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver: log in as the demo street staff, check the KPI figures against
//! `GET /api/v1/staff/dashboard`, resolve a demand and approve a partner from the work
//! queues and see the figures change, download the XLSX export and read it back, and save a
//! screenshot under target/. `.ci/run` installs the browser and runs this on both backends.

use calamine::{Data, Reader, Xlsx};
use fantoccini::{Client, ClientBuilder, Locator};
use linli_tests::{expect_json, spawn_app, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;

struct Driver {
    _process: tokio::process::Child,
    url: String,
}

async fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let process = tokio::process::Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver runs (Debian package chromium-driver)");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return Driver {
                _process: process,
                url,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

async fn browser(driver: &Driver) -> Client {
    // reqwest and fantoccini bring two rustls crypto back ends; pick one for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--window-size=1366,768"],
        }),
    );
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Opens the dashboard and logs in as the demo street staff through the form.
async fn log_in_as_street(client: &Client, app: &TestApp) {
    client.goto(&app.url("/dashboard")).await.unwrap();
    for (field, value) in [("username", "street"), ("password", DEMO_PASSWORD)] {
        client
            .find(Locator::Id(field))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    client
        .find(Locator::Id("login-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The page's figure for a KPI key, once the page has drawn it.
async fn kpi(client: &Client, key: &str) -> String {
    let element = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&format!("[data-kpi=\"{key}\"]")))
        .await
        .expect("the KPI card");
    // The page redraws its figures on every refresh; an element replaced meanwhile reads as
    // empty and the caller asks again.
    element
        .attr("data-value")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Clicks the first element matching `css`, again if the page redrew it under our feet.
async fn click(client: &Client, css: &str) {
    for _ in 0..100 {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            if element.click().await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not click {css}");
}

async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn api_dashboard(app: &TestApp, token: &str) -> Value {
    expect_json(
        app.get("/api/v1/staff/dashboard", Some(token)).await,
        StatusCode::OK,
    )
    .await
}

fn as_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[tokio::test]
#[ignore = "needs Debian chromium and chromium-driver; .ci/run installs them and runs it"]
async fn a_street_official_works_from_the_dashboard_in_a_real_browser() {
    let app = spawn_app().await;
    // A partner application waiting for review in 新华社区.
    let applicant = app.login_resident("xiaozhang").await;
    expect_json(
        app.post(
            "/api/v1/merchants/applications",
            &json!({"name": "小张水果店", "category": "生鲜", "license_no": "92140202MA0TEST", "address": "新华街8号",
                    "contact_phone": "13800001111", "community_id": app.org_id("新华社区").await, "description": "新鲜水果"}),
            Some(&applicant.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // A care recipient of 新华社区, so the care cards show more than zeros.
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    expect_json(
        app.post(
            "/api/v1/staff/care-recipients",
            &json!({"name": "刘奶奶", "compound_id": app.org_id("阳光小区").await,
                    "groups": ["living_alone_elderly"], "colour": "red", "consent": true}),
            Some(&community.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let driver = chromedriver().await;
    let client = browser(&driver).await;

    log_in_as_street(&client, &app).await;
    wait_for("the figures", || async {
        !kpi(&client, "demands.total").await.is_empty()
    })
    .await;

    // The page shows what the API says.
    let figures = api_dashboard(&app, &street.access_token).await;
    for (key, value) in [
        ("residents", &figures["residents"]),
        ("merchants_active", &figures["merchants_active"]),
        ("offers_published", &figures["offers_published"]),
        ("points.issued", &figures["points"]["issued"]),
        ("points.circulating", &figures["points"]["circulating"]),
        ("demands.total", &figures["demands"]["total"]),
        ("demands.resolved", &figures["demands"]["resolved"]),
        ("demands.closure_rate", &figures["demands"]["closure_rate"]),
        (
            "demands.satisfaction_rate",
            &figures["demands"]["satisfaction_rate"],
        ),
        ("demands.overdue_open", &figures["demands"]["overdue_open"]),
        (
            "partners.kind.enterprise",
            &figures["partners"]["by_kind"][0]["active"],
        ),
        (
            "partners.kind.social_org",
            &figures["partners"]["by_kind"][1]["active"],
        ),
        ("partners.needs_open", &figures["partners"]["needs_open"]),
        (
            "partners.projects_running",
            &figures["partners"]["projects_running"],
        ),
        (
            "partners.average_goal_achievement",
            &figures["partners"]["average_goal_achievement"],
        ),
        ("care.recipients", &figures["care"]["recipients"]),
        ("care.colour.red", &figures["care"]["by_colour"][0]["count"]),
        ("care.visits_overdue", &figures["care"]["visits_overdue"]),
        (
            "care.home_service_orders.total",
            &figures["care"]["home_service_orders"]["total"],
        ),
        (
            "care.orders.confirmed",
            &figures["care"]["home_service_orders"]["by_status"][3]["count"],
        ),
    ] {
        let shown = kpi(&client, key).await;
        match (shown.parse::<f64>(), value.as_f64()) {
            (Ok(shown), Some(expected)) => assert!(
                (shown - expected).abs() < 1e-9,
                "{key}: {shown} != {expected}"
            ),
            _ => assert_eq!(shown, as_text(value), "{key}"),
        }
    }
    // The daily demand chart has bars.
    wait_for("the daily chart", || async {
        client
            .find_all(Locator::Css("#chart-demands-daily rect"))
            .await
            .map(|bars| !bars.is_empty())
            .unwrap_or(false)
    })
    .await;
    let resolved_before: i64 = kpi(&client, "demands.resolved").await.parse().unwrap();
    let partners_before: i64 = kpi(&client, "merchants_active").await.parse().unwrap();

    // Resolve the first accepted demand in the queue (the page asks for a note: accept it).
    click(&client, "#demand-queue button[data-act=\"resolve\"]").await;
    // The page asks for a note in a prompt; it may take a moment to open.
    let mut accepted = false;
    for _ in 0..100 {
        if client.accept_alert().await.is_ok() {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(accepted, "the note prompt opened");
    wait_for("the resolved count to grow", || async {
        kpi(&client, "demands.resolved").await.parse::<i64>().ok() == Some(resolved_before + 1)
    })
    .await;

    // Approve the partner application.
    click(&client, "#merchant-queue button[data-act=\"approve\"]").await;
    wait_for("the partner count to grow", || async {
        kpi(&client, "merchants_active").await.parse::<i64>().ok() == Some(partners_before + 1)
    })
    .await;
    assert_eq!(
        api_dashboard(&app, &street.access_token).await["merchants_active"],
        json!(partners_before + 1)
    );

    // The XLSX export, fetched by the page with its own session, read back.
    let encoded = client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               fetch("/api/v1/staff/exports/demands.xlsx", { headers: { authorization: "Bearer " + sessionStorage.getItem("linli.token") } })
                 .then((r) => r.arrayBuffer())
                 .then((b) => { let s = ""; new Uint8Array(b).forEach((c) => s += String.fromCharCode(c)); done(btoa(s)); });"#,
            vec![],
        )
        .await
        .unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().unwrap())
        .unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("an XLSX workbook");
    let sheet = book.worksheet_range("诉求").expect("the 诉求 sheet");
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows[0][1], Data::String("标题".into()));
    assert_eq!(
        rows.len() as i64 - 1,
        figures["demands"]["total"].as_i64().unwrap()
    );

    let png = client.screenshot().await.unwrap();
    let path = linli_tests::workspace_dir()
        .join("target")
        .join("dashboard-screenshot.png");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, png).unwrap();
    client.close().await.unwrap();
}

/// Names carrying markup, typed by a partner's or a community's staff, show as text in a
/// district official's browser and run nothing; the page is served with a strict CSP.
#[tokio::test]
#[ignore = "needs Debian chromium and chromium-driver; .ci/run installs them and runs it"]
async fn hostile_names_show_as_text_and_run_nothing() {
    let app = spawn_app().await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let street = app.login_staff("street", DEMO_PASSWORD).await.access_token;
    let street_id = app.org_id("新华街道").await;
    let lot_name = "<img src=x onerror=\"window.__pwned='lot'\">";
    let community_name = "<svg onload=\"window.__pwned='org'\">";
    let category_name = "<script>__pwned=1</script>";
    let merchant_name = "<b onmouseover=\"window.__pwned='shop'\">店</b>";
    let title = "<iframe srcdoc=\"<script>parent.__pwned='demand'</script>\">";
    expect_json(
        app.post(
            "/api/v1/admin/parking/lots",
            &json!({"name": lot_name, "org_id": street_id, "address": "新华街1号", "slot_count": 2,
                    "points_per_hour": 10, "billing_unit_minutes": 30, "max_booking_hours": 4,
                    "open_hours": [{"days": [1,2,3,4,5,6,7], "from": "00:00", "to": "24:00"}]}),
            Some(&admin),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(
            "/api/v1/admin/orgs",
            &json!({"kind": "community", "name": community_name, "parent_id": street_id}),
            Some(&street),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let category = expect_json(
        app.post(
            "/api/v1/admin/demand-categories",
            &json!({"name": category_name, "sla_hours": 24}),
            Some(&admin),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let resident = app.login_resident("xiaohong").await.access_token;
    let community = app.org_id("新华社区").await;
    expect_json(
        app.post(
            "/api/v1/demands",
            &json!({"category_id": category["id"], "title": title, "description": "<b>粗体</b>", "community_id": community}),
            Some(&resident),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect_json(
        app.post(
            "/api/v1/merchants/applications",
            &json!({"name": merchant_name, "category": "<i>生鲜</i>", "license_no": "92140202MA0XSS", "address": "新华街8号",
                    "contact_phone": "13800001111", "community_id": community}),
            Some(&resident),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // The page itself carries the policy.
    let page = app.get("/dashboard", None).await;
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    let driver = chromedriver().await;
    let client = browser(&driver).await;
    log_in_as_street(&client, &app).await;
    let text_of = |css: &'static str| {
        let client = &client;
        async move {
            client
                .execute(
                    "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                    vec![json!(css)],
                )
                .await
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        }
    };
    wait_for("the hostile names on the page", || async {
        text_of("#chart-parking").await.contains(lot_name)
            && text_of("#chart-categories").await.contains(category_name)
            && text_of("#merchant-queue tbody")
                .await
                .contains(merchant_name)
            && text_of("#demand-queue tbody").await.contains(title)
            && text_of("#org-select").await.contains(community_name)
    })
    .await;
    // Hover the merchant name, as an official would, then look for any trace of script.
    if let Ok(cell) = client.find(Locator::Css("#merchant-queue tbody td")).await {
        let _ = cell.click().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let verdict = client
        .execute(
            r#"const handlers = [...document.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on")));
               return { pwned: window.__pwned || null,
                        markup: document.querySelectorAll("img, iframe, script:not([src]), svg svg, td b, option *").length + handlers.length };"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(verdict["pwned"], Value::Null, "script ran: {verdict}");
    assert_eq!(verdict["markup"], 0, "data became elements: {verdict}");
    client.close().await.unwrap();
}
