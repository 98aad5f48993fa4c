//! /healthz, /readyz, /metrics, the served OpenAPI document, and errors for unknown routes.

use linli_tests::{
    expect_json, expect_problem, metric_in, spawn_app, workspace_dir, DEMO_PASSWORD,
};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = expect_json(app.get("/healthz", None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "ok");
    let ready = expect_json(app.get("/readyz", None).await, StatusCode::OK).await;
    assert_eq!(ready["database"], "ok");
    let expected_cache = if linli_tests::redis_url().is_some() {
        "redis"
    } else {
        "in_process"
    };
    assert_eq!(ready["cache"], expected_cache);
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/api/v1/orgs", None).await;
    }
    let response = app.get("/metrics", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"linli_http_requests_total{method="GET",route="/api/v1/orgs",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains("linli_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("linli_db_pool_connections"), "{text}");
    assert!(text.contains("linli_cache_hits_total"), "{text}");
    assert!(text.contains("linli_group_commit_queued_units"), "{text}");
}

#[tokio::test]
async fn metrics_count_the_writers_batches_and_units() {
    let app = spawn_app().await;
    let (units, batches) = (
        "linli_group_commit_units_total",
        "linli_group_commit_batches_total",
    );
    let before = (app.metric(units).await, app.metric(batches).await);
    // The merchant's approval is a unit of work.
    app.approved_merchant("owner").await;
    assert!(app.metric(units).await > before.0);
    assert!(app.metric(batches).await > before.1);
}

/// Every business counter the Grafana dashboard graphs, and the counts moving with what
/// residents and staff do: once per committed request, never for a replay.
#[tokio::test]
async fn business_counters_follow_what_residents_and_staff_did() {
    let app = spawn_app().await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    for series in [
        r#"linli_points_issued_total{source="award"}"#,
        r#"linli_points_issued_total{source="volunteering"}"#,
        r#"linli_points_redeemed_total{channel="merchant"}"#,
        r#"linli_points_redeemed_total{channel="parking"}"#,
        "linli_time_credit_minutes_issued_total",
        "linli_demands_submitted_total",
        r#"linli_demands_closed_total{how="rated"}"#,
        r#"linli_demands_closed_total{how="automatic"}"#,
        "linli_demands_overdue_total",
        "linli_parking_bookings_total",
        r#"linli_outbox_messages_total{code="0",outcome="sent"}"#,
    ] {
        assert_eq!(metric_in(&text, series), Some(0.0), "{series} in {text}");
    }
    for counter in [
        "linli_outbox_messages_total",
        "linli_cache_hits_total",
        "linli_group_commit_units_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {counter} counter")),
            "{counter} is a counter: {text}"
        );
    }

    // An award, and the same request again under its key: issued once.
    let alice = app.login_resident("alice").await;
    app.join_community(&alice, "新华社区").await;
    let staff = app
        .login_staff("community", DEMO_PASSWORD)
        .await
        .access_token;
    let award = json!({ "user_id": alice.user_id, "points": 120, "reason": "清扫楼道" });
    for _ in 0..2 {
        let sent = app
            .post_with_key("/api/v1/staff/points/awards", &award, &staff, "award-once")
            .await;
        expect_json(sent, StatusCode::CREATED).await;
    }
    let issued = r#"linli_points_issued_total{source="award"}"#;
    assert_eq!(app.metric(issued).await, 120.0);

    // A demand filed and taken to closure by the resident's rating.
    let categories = expect_json(
        app.get("/api/v1/demand-categories", None).await,
        StatusCode::OK,
    )
    .await;
    let filed = json!({
        "category_id": categories[0]["id"], "title": "楼道灯不亮",
        "description": "三单元二楼", "community_id": app.org_id("新华社区").await,
    });
    let demand = expect_json(
        app.post("/api/v1/demands", &filed, Some(&alice.access_token))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = demand["id"].as_str().unwrap();
    assert_eq!(app.metric("linli_demands_submitted_total").await, 1.0);
    for (action, body) in [
        ("accept", json!({})),
        ("start", json!({})),
        ("resolve", json!({"resolution": "已换灯泡"})),
    ] {
        let path = format!("/api/v1/staff/demands/{id}/{action}");
        expect_json(app.post(&path, &body, Some(&staff)).await, StatusCode::OK).await;
    }
    let closed = r#"linli_demands_closed_total{how="rated"}"#;
    assert_eq!(app.metric(closed).await, 0.0, "resolved is not closed");
    let rate = format!("/api/v1/demands/{id}/rate");
    let rating = json!({"satisfied": true, "score": 5});
    expect_json(
        app.post(&rate, &rating, Some(&alice.access_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(app.metric(closed).await, 1.0);
}

/// The Grafana dashboard in deploy/ graphs only series this server exports.
#[tokio::test]
async fn the_grafana_dashboard_queries_only_exported_metrics() {
    let app = spawn_app().await;
    app.get("/api/v1/orgs", None).await;
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_dir().join("deploy/grafana/linli-dashboard.json"))
            .unwrap(),
    )
    .unwrap();
    let mut queried = Vec::new();
    collect_metric_names(&dashboard, &mut queried);
    assert!(queried.len() > 15, "the dashboard queries {queried:?}");
    for name in queried {
        assert!(
            text.lines()
                .any(|line| line.starts_with(&format!("{name} "))
                    || line.starts_with(&format!("{name}{{"))),
            "the dashboard queries {name}, which /metrics does not export"
        );
    }
}

/// The `linli_…` metric names in every `expr` of a Grafana dashboard.
fn collect_metric_names(value: &serde_json::Value, names: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) => {
            if let Some(expr) = fields.get("expr").and_then(|e| e.as_str()) {
                for (at, _) in expr.match_indices("linli_") {
                    let name: String = expr[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            fields.values().for_each(|v| collect_metric_names(v, names));
        }
        serde_json::Value::Array(items) => {
            items.iter().for_each(|v| collect_metric_names(v, names))
        }
        _ => {}
    }
}

#[tokio::test]
async fn the_served_spec_is_the_committed_spec() {
    let app = spawn_app().await;
    let served = app
        .get("/api-docs/openapi.json", None)
        .await
        .text()
        .await
        .unwrap();
    let committed = std::fs::read_to_string(workspace_dir().join("api-spec/openapi.json")).unwrap();
    assert_eq!(served, committed);
    let spec: serde_json::Value = serde_json::from_str(&served).unwrap();
    for path in [
        "/api/v1/auth/wechat-login",
        "/api/v1/auth/staff-login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/me/profile",
        "/api/v1/me/phone",
        "/api/v1/orgs",
        "/api/v1/admin/orgs",
        "/api/v1/admin/staff",
    ] {
        assert!(spec["paths"][path].is_object(), "spec lacks {path}");
    }
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = spawn_app().await;
    expect_problem(
        app.get("/api/v1/no-such-thing", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_problem(
        app.get("/nowhere", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let response = app
        .send(app.request(Method::DELETE, "/api/v1/orgs", None))
        .await;
    expect_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_assigned() {
    let app = spawn_app().await;
    let response = app
        .send(
            app.request(Method::GET, "/healthz", None)
                .header("x-request-id", "trace-abc-123"),
        )
        .await;
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let response = app.get("/healthz", None).await;
    let assigned = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(assigned.len(), 36, "{assigned}");
    // A header that could smuggle text into logs is replaced.
    let response = app
        .send(
            app.request(Method::GET, "/healthz", None)
                .header("x-request-id", "bad id\twith spaces"),
        )
        .await;
    assert_ne!(response.headers()["x-request-id"], "bad id\twith spaces");
}

/// Public reads carry an ETag and are answered 304 while the client's copy is current; the
/// org tree is kept rendered, and a new org shows in it at once all the same.
#[tokio::test]
async fn public_reads_revalidate_and_show_changes_at_once() {
    let app = spawn_app().await;
    let first = app.get("/api/v1/orgs", None).await;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "public, max-age=30");
    let tree = first.text().await.unwrap();
    let conditional = |tag: &str| {
        app.send(
            app.request(Method::GET, "/api/v1/orgs", None)
                .header("if-none-match", tag.to_owned()),
        )
    };
    let held = conditional(&etag).await;
    assert_eq!(held.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(held.headers()["etag"].to_str().unwrap(), etag);
    assert!(held.text().await.unwrap().is_empty());
    assert_eq!(
        conditional("\"something-else\"").await.status(),
        StatusCode::OK
    );

    let admin = app.login_staff("admin", linli_tests::DEMO_PASSWORD).await;
    let street = app.org_id("新华街道").await;
    let created = app
        .post(
            "/api/v1/admin/orgs",
            &serde_json::json!({"kind": "community", "name": "缓存新社区", "parent_id": street}),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let changed = conditional(&etag).await;
    assert_eq!(changed.status(), StatusCode::OK, "the old copy is stale");
    let new_tree = changed.text().await.unwrap();
    assert!(new_tree.contains("缓存新社区") && !tree.contains("缓存新社区"));

    // The catalog carries live stock: clients revalidate it every time.
    let catalog = app.get("/api/v1/offers", None).await;
    assert_eq!(catalog.headers()["cache-control"], "public, no-cache");
    let tag = catalog.headers()["etag"].to_str().unwrap().to_owned();
    let again = app
        .send(
            app.request(Method::GET, "/api/v1/offers", None)
                .header("if-none-match", format!("W/{tag}")),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}
