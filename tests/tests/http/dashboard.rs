//! `GET /api/v1/staff/dashboard`: every figure follows from what happened, scoped to the
//! caller's org; residents are refused.

use chrono::Duration;
use linli_tests::{expect_json, expect_problem, spawn_app, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn dashboard(app: &TestApp, token: &str, query: &str) -> Value {
    expect_json(
        app.get(&format!("/api/v1/staff/dashboard{query}"), Some(token))
            .await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test]
async fn the_dashboard_figures_follow_what_happened_in_scope() {
    let app = spawn_app().await;
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let before = dashboard(&app, &community.access_token, "").await;
    assert_eq!(before["org_id"], app.org_id("新华社区").await.as_str());
    // The demo: three merchants with five published services and one home service in
    // 新华社区, and five partners of the other kinds, one running project evaluated at
    // (310/400 + 44/50) / 2.
    assert_eq!(before["merchants_active"], 8);
    assert_eq!(before["offers_published"], 6);
    let partners = &before["partners"];
    let kinds: Vec<(&str, i64)> = partners["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kind"].as_str().unwrap(), k["active"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("enterprise", 3),
            ("social_org", 1),
            ("capable_resident", 1),
            ("public_unit", 1),
            ("charity_team", 1),
            ("volunteer_team", 1)
        ]
    );
    assert_eq!(
        (
            partners["needs_open"].as_i64(),
            partners["needs_matched"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(partners["problems_open"], 1);
    assert_eq!(partners["projects_running"], 1);
    let achievement = partners["average_goal_achievement"].as_f64().unwrap();
    assert!((achievement - 0.8275).abs() < 1e-9, "{achievement}");
    assert_eq!(partners["disclosures_missing"], 0);
    // Care: the demo's three recipients in 新华社区, one of each of the first three colours,
    // none overdue yet.
    let care = &before["care"];
    assert_eq!(care["recipients"], 3);
    let colours: Vec<i64> = care["by_colour"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .collect();
    assert_eq!(colours, [1, 1, 1, 0, 0]);
    assert_eq!(care["visits_on_time_rate"], 1.0);

    // A resident joins the community and is awarded 100 points from its budget.
    let alice = app.login_resident("alice").await;
    expect_json(
        app.put(
            "/api/v1/me/profile",
            &json!({"community_id": app.org_id("新华社区").await}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    app.give_points(&alice, 100).await;
    // A demand, resolved and rated.
    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let demand = expect_json(
        app.post(
            "/api/v1/demands",
            &json!({"category_id": categories[0]["id"], "title": "路灯坏了", "description": "d", "community_id": app.org_id("新华社区").await}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = demand["id"].as_str().unwrap();
    for (action, body) in [
        ("accept", json!({})),
        ("resolve", json!({"resolution": "已修好"})),
    ] {
        expect_json(
            app.post(
                &format!("/api/v1/staff/demands/{id}/{action}"),
                &body,
                Some(&community.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    expect_json(
        app.post(
            &format!("/api/v1/demands/{id}/rate"),
            &json!({"satisfied": true, "score": 5}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let after = dashboard(&app, &community.access_token, "").await;
    assert_eq!(
        after["residents"].as_i64().unwrap(),
        before["residents"].as_i64().unwrap() + 1
    );
    assert_eq!(
        after["points"]["issued"].as_i64().unwrap(),
        before["points"]["issued"].as_i64().unwrap() + 100
    );
    assert_eq!(
        after["points"]["circulating"].as_i64().unwrap(),
        before["points"]["circulating"].as_i64().unwrap() + 100
    );
    assert_eq!(
        after["demands"]["total"].as_i64().unwrap(),
        before["demands"]["total"].as_i64().unwrap() + 1
    );
    assert_eq!(
        after["demands"]["closed"].as_i64().unwrap(),
        before["demands"]["closed"].as_i64().unwrap() + 1
    );
    // The demand figures are those of the metrics endpoint.
    let metrics = expect_json(
        app.get(
            "/api/v1/staff/metrics/demands",
            Some(&community.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    for key in [
        "total",
        "closed",
        "closure_rate",
        "rated",
        "satisfaction_rate",
        "overdue_open",
    ] {
        assert_eq!(after["demands"][key], metrics[key], "{key}");
    }
    // The charts' series show today's demand and points.
    let series = expect_json(
        app.get(
            "/api/v1/staff/dashboard/series",
            Some(&community.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let today = (app.clock.now() + Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let day = series["demands_by_day"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == today.as_str())
        .expect("today's demands");
    assert!(
        day["submitted"].as_i64().unwrap() >= 1 && day["closed"].as_i64().unwrap() >= 1,
        "{day}"
    );
    let points_today = series["points_by_day"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == today.as_str())
        .expect("today's points");
    assert!(
        points_today["issued"].as_i64().unwrap() >= 100,
        "{points_today}"
    );
    expect_problem(
        app.get("/api/v1/staff/dashboard/series", Some(&alice.access_token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // The street sees its communities together; the community sees only itself.
    let street_view = dashboard(&app, &street.access_token, "").await;
    assert_eq!(street_view["org_id"], app.org_id("新华街道").await.as_str());
    assert!(
        street_view["demands"]["total"].as_i64().unwrap()
            >= after["demands"]["total"].as_i64().unwrap()
    );
    assert!(
        street_view["parking"]["utilization"].is_number(),
        "新华街道 has demo lots"
    );
    let elsewhere = app.org_id("开源社区").await;
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    // The whole district counts every resident, also those without a community yet.
    let district = dashboard(&app, &admin.access_token, "").await;
    assert_eq!(district["org_id"], app.org_id("平城区").await.as_str());
    assert!(district["residents"].as_i64().unwrap() >= after["residents"].as_i64().unwrap());
    assert!(district["points"]["circulating"].as_i64().unwrap() >= 100);
    let district_series = expect_json(
        app.get("/api/v1/staff/dashboard/series", Some(&admin.access_token))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(!district_series["demands_by_day"]
        .as_array()
        .unwrap()
        .is_empty());
    expect_problem(
        app.get(
            "/api/v1/staff/dashboard/series?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
            Some(&admin.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let other = dashboard(&app, &admin.access_token, &format!("?org_id={elsewhere}")).await;
    assert_eq!(other["residents"], 0);
    assert_eq!(other["demands"]["total"], 0);
    expect_problem(
        app.get(
            &format!("/api/v1/staff/dashboard?org_id={elsewhere}"),
            Some(&community.access_token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    expect_problem(
        app.get("/api/v1/staff/dashboard", Some(&alice.access_token))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // A period before any of it shows no activity.
    let long_ago = (app.clock.now() - Duration::days(400)).format("%Y-%m-%dT%H:%M:%SZ");
    let year_ago = (app.clock.now() - Duration::days(300)).format("%Y-%m-%dT%H:%M:%SZ");
    let empty = dashboard(
        &app,
        &community.access_token,
        &format!("?from={long_ago}&to={year_ago}"),
    )
    .await;
    assert_eq!(empty["points"]["issued"], 0);
    assert_eq!(empty["demands"]["total"], 0);
}

#[tokio::test]
async fn demands_export_as_csv_and_xlsx_with_every_stage() {
    use calamine::{Data, Reader, Xlsx};
    let app = spawn_app().await;
    let community = app.login_staff("community", DEMO_PASSWORD).await;
    let street = app.login_staff("street", DEMO_PASSWORD).await;
    let alice = app.login_resident("alice").await;
    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let title = "3号楼,\"电梯\"停了";
    let demand = expect_json(
        app.post(
            "/api/v1/demands",
            &json!({"category_id": categories[0]["id"], "title": title, "description": "d", "community_id": app.org_id("新华社区").await}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = demand["id"].as_str().unwrap();
    for (action, body) in [
        ("accept", json!({})),
        ("start", json!({})),
        ("resolve", json!({"resolution": "已修好"})),
    ] {
        expect_json(
            app.post(
                &format!("/api/v1/staff/demands/{id}/{action}"),
                &body,
                Some(&community.access_token),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
    expect_json(
        app.post(
            &format!("/api/v1/demands/{id}/rate"),
            &json!({"satisfied": true, "score": 4}),
            Some(&alice.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let csv = app
        .get(
            "/api/v1/staff/exports/demands.csv",
            Some(&street.access_token),
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with('\u{feff}'), "a byte-order mark for Excel");
    let mut lines = text.trim_start_matches('\u{feff}').split("\r\n");
    assert!(lines
        .next()
        .unwrap()
        .starts_with("编号,标题,类别,社区,状态,提交时间,受理时间,开始处理时间,首次办结时间"));
    let line = lines.find(|l| l.starts_with(id)).expect("the demand's row");
    assert!(line.contains("\"3号楼,\"\"电梯\"\"停了\""), "{line}");
    assert!(line.contains(",已关闭,"), "{line}");
    assert!(line.contains(",是,是,4"), "{line}");

    let xlsx = app
        .get(
            "/api/v1/staff/exports/demands.xlsx",
            Some(&street.access_token),
        )
        .await;
    assert_eq!(xlsx.status(), StatusCode::OK);
    let bytes = xlsx.bytes().await.unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    let sheet = book.worksheet_range("诉求").expect("the 诉求 sheet");
    let rows: Vec<Vec<Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows[0][0], Data::String("编号".into()));
    let row = rows
        .iter()
        .find(|r| r[0] == Data::String(id.into()))
        .expect("the demand's row");
    assert_eq!(row[1], Data::String(title.into()));
    assert_eq!(row[4], Data::String("已关闭".into()));
    for (stage, cell) in row.iter().enumerate().take(11).skip(5) {
        assert!(
            matches!(cell, Data::String(s) if s.len() == 19),
            "stage column {stage}: {cell:?}"
        );
    }
    assert_eq!(row[16], Data::Float(4.0));

    // Another community's staff export nothing of it; residents export nothing at all.
    let admin = app.login_staff("admin", DEMO_PASSWORD).await;
    let elsewhere = app.org_id("开源社区").await;
    let other = app
        .get(
            &format!("/api/v1/staff/exports/demands.csv?org_id={elsewhere}"),
            Some(&admin.access_token),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(!other.contains(id));
    expect_problem(
        app.get(
            "/api/v1/staff/exports/demands.xlsx",
            Some(&alice.access_token),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
