//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
//! driven over WebDriver: log in as the demo street staff, check the KPI figures against
//! `GET /api/v1/staff/dashboard`, resolve a demand and approve a partner from the work
//! queues and see the figures change, download the XLSX export and read it back; pick a
//! period and drill from the district to a street (a click on its bar) and to a community,
//! the figures following the API at each step, saving screenshots under target/dashboard/.
//! `.ci/run` installs the browser and runs this on both backends.

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
    browser_of_size(driver, "1366,768").await
}

async fn browser_of_size(driver: &Driver, size: &str) -> Client {
    // reqwest and fantoccini bring two rustls crypto back ends; pick one for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", format!("--window-size={size}")],
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
    log_in_as(client, app, "street").await;
}

/// Opens the dashboard and logs in as demo staff `username` through the form.
async fn log_in_as(client: &Client, app: &TestApp, username: &str) {
    client.goto(&app.url("/dashboard")).await.unwrap();
    for (field, value) in [("username", username), ("password", DEMO_PASSWORD)] {
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
    // The login form is gone; the daily demand chart is drawn, its table beside it.
    let login = client.find(Locator::Id("login")).await.unwrap();
    assert!(!login.is_displayed().await.unwrap(), "the login form left");
    wait_for("the daily chart", || async {
        let canvas = client
            .find(Locator::Css("#chart-demands-daily canvas"))
            .await
            .is_ok();
        let rows = client
            .find_all(Locator::Css("#table-demands-daily tbody tr"))
            .await
            .map(|rows| !rows.is_empty())
            .unwrap_or(false);
        canvas && rows
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
    let hostile_community = expect_json(
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
    // One in the hostile community too, so that its bar (and tooltip) has figures.
    expect_json(
        app.post(
            "/api/v1/demands",
            &json!({"category_id": category["id"], "title": "路灯", "description": "不亮", "community_id": hostile_community["id"]}),
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
        text_of("#table-parking").await.contains(lot_name)
            && text_of("#table-categories").await.contains(category_name)
            && text_of("#table-areas").await.contains(community_name)
            && text_of("#merchant-queue tbody")
                .await
                .contains(merchant_name)
            && text_of("#demand-queue tbody").await.contains(title)
            && text_of("#org-select").await.contains(community_name)
    })
    .await;
    // Hover the merchant name, as an official would, and bring up the charts' tooltips over
    // the hostile community, lot and category; then look for any trace of script.
    if let Ok(cell) = client.find(Locator::Css("#merchant-queue tbody td")).await {
        let _ = cell.click().await;
    }
    let shown = client
        .execute(
            r##"let tips = 0;
               for (const key of ["areas", "parking", "categories"]) {
                 const chart = echarts.getInstanceByDom(document.querySelector("#chart-" + key));
                 const names = chart.getOption().xAxis[0].data;
                 names.forEach((name, i) => {
                   if (name.includes("<")) { chart.dispatchAction({ type: "showTip", seriesIndex: 0, dataIndex: i }); tips++; }
                 });
               }
               return tips;"##,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!(3), "a tooltip over each hostile name");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let verdict = client
        .execute(
            r#"const handlers = [...document.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on")));
               return { pwned: window.__pwned || null,
                        tips: [...document.querySelectorAll(".tip b")].map((b) => b.textContent),
                        markup: document.querySelectorAll("img, iframe, script:not([src]), svg svg, td b, option *").length + handlers.length };"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(verdict["pwned"], Value::Null, "script ran: {verdict}");
    assert_eq!(verdict["markup"], 0, "data became elements: {verdict}");
    let tips = verdict["tips"].as_array().unwrap();
    for name in [community_name, lot_name, category_name] {
        assert!(
            tips.contains(&json!(name)),
            "{name} as text in a tooltip: {verdict}"
        );
    }
    client.close().await.unwrap();
}

/// What the page shows now: `"<org id> <period>"`, set when a refresh has drawn everything.
async fn shown(client: &Client) -> String {
    client
        .execute("return document.body.dataset.shown || '';", vec![])
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The start of this Beijing month or year, as the page computes it.
fn beijing_start_of(period: &str) -> chrono::DateTime<chrono::Utc> {
    use chrono::{Datelike, TimeZone};
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today = chrono::Utc::now().with_timezone(&beijing).date_naive();
    let first = match period {
        "month" => today.with_day(1).unwrap(),
        _ => today.with_day(1).unwrap().with_month(1).unwrap(),
    };
    beijing
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// The demand total the API gives for `org` from the start of `period` to now.
async fn api_total(app: &TestApp, token: &str, org: &str, period: &str) -> i64 {
    let from = beijing_start_of(period).format("%Y-%m-%dT%H:%M:%SZ");
    let path = format!("/api/v1/staff/dashboard?org_id={org}&from={from}");
    expect_json(app.get(&path, Some(token)).await, StatusCode::OK).await["demands"]["total"]
        .as_i64()
        .unwrap()
}

async fn pick_period(client: &Client, period: &str) {
    let select = client.find(Locator::Id("period")).await.unwrap();
    select.select_by_value(period).await.unwrap();
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let dir = linli_tests::workspace_dir()
        .join("target")
        .join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// The district admin over the demo district's simulated month: the period picker moves
/// every figure, a click on a street's bar drills into the street, its table into a
/// community, the breadcrumb back up; screenshots of the district and a community, a month
/// and a year, go to target/dashboard/.
#[tokio::test]
#[ignore = "needs Debian chromium and chromium-driver; .ci/run installs them and runs it"]
async fn the_period_picker_and_drilling_down_from_district_to_community() {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    // The demo district with the month `cargo run` gives a new database (新华街道's life).
    let mut settings = linli_tests::test_settings();
    linli_tests::isolate(&mut settings).await;
    api::simulate::give_demo_history(&settings)
        .await
        .expect("the demo month");
    let app = linli_tests::start(settings).await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await.access_token;
    let (district, street, community) = (
        app.org_id("平城区").await,
        app.org_id("新华街道").await,
        app.org_id("新华社区").await,
    );
    let driver = chromedriver().await;
    let client = browser_of_size(&driver, "1440,2600").await;
    log_in_as(&client, &app, "admin").await;
    let kpi_total = || async { kpi(&client, "demands.total").await.parse::<i64>().ok() };
    wait_for("the board", || async { kpi_total().await.is_some() }).await;

    for period in ["month", "year"] {
        pick_period(&client, period).await;
        let expected = format!("{district} {period}");
        wait_for("the district's period", || async {
            shown(&client).await == expected
        })
        .await;
        let total = api_total(&app, &admin, &district, period).await;
        assert_eq!(kpi_total().await, Some(total), "district, {period}");
        screenshot(&client, &format!("district-{period}.png")).await;
    }
    assert!(
        api_total(&app, &admin, &district, "year").await > 0,
        "the simulated month filed demands"
    );

    // A real click on 新华街道's bar in the area chart.
    let at = client
        .execute(
            r##"const element = document.querySelector("#chart-areas");
               const chart = echarts.getInstanceByDom(element);
               const option = chart.getOption();
               const i = option.xAxis[0].data.indexOf("新华街道");
               const value = option.series[0].data[i];
               // Where ECharts laid the bar out (its middle), in the page's viewport.
               const bar = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(i);
               const box = element.getBoundingClientRect();
               return [box.left + bar.x + bar.width / 2, box.top + bar.y + bar.height / 2, value];"##,
            vec![],
        )
        .await
        .unwrap();
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    assert!(
        at[2].as_f64().unwrap() > 0.0,
        "新华街道 has a bar to click: {at}"
    );
    let bar_click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x,
            y,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(bar_click).await.unwrap();
    let expected = format!("{street} year");
    wait_for("the street", || async { shown(&client).await == expected }).await;
    let crumbs = client
        .find(Locator::Id("crumbs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        crumbs.contains("平城区") && crumbs.contains("新华街道"),
        "{crumbs}"
    );
    let total = api_total(&app, &admin, &street, "year").await;
    assert_eq!(kpi_total().await, Some(total), "street, year");

    // The area chart's table: open it and drill into 新华社区.
    click(&client, "#figure-areas summary").await;
    click(
        &client,
        &format!("#table-areas button[data-drill=\"{community}\"]"),
    )
    .await;
    let expected = format!("{community} year");
    wait_for("the community", || async {
        shown(&client).await == expected
    })
    .await;
    let total = api_total(&app, &admin, &community, "year").await;
    assert_eq!(kpi_total().await, Some(total), "community, year");
    screenshot(&client, "community-year.png").await;
    pick_period(&client, "month").await;
    let expected = format!("{community} month");
    wait_for("the community's month", || async {
        shown(&client).await == expected
    })
    .await;
    let total = api_total(&app, &admin, &community, "month").await;
    assert_eq!(kpi_total().await, Some(total), "community, month");
    screenshot(&client, "community-month.png").await;

    // Every chart saves as a PNG; the breadcrumb leads back to the district.
    let image = client
        .execute(
            r##"return echarts.getInstanceByDom(document.querySelector("#chart-demands-daily"))
                 .getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" }).slice(0, 22);"##,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(image, json!("data:image/png;base64,"));
    click(
        &client,
        &format!("#crumbs button[data-crumb=\"{district}\"]"),
    )
    .await;
    let expected = format!("{district} month");
    wait_for("the district again", || async {
        shown(&client).await == expected
    })
    .await;
    client.close().await.unwrap();
}
