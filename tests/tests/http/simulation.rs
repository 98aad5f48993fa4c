//! The district simulator on a few days of `demo-month`: every figure equals its truth, and
//! the same seed gives the same figures again (on each backend the suite runs on); and the
//! simulated month a new demo database is given at its first start.

use api::seed::DEMO_PASSWORD;
use linli_tests::process::spawn_server_process;
use linli_tests::{expect_json, fresh_database_url, isolate, redis_url, test_settings};
use reqwest::StatusCode;
use std::collections::HashMap;

/// Runs `days` of `demo-month` with `seed` (from the Beijing day `start`, by default the
/// profile's) on a fresh database: (passed, the report's figure rows).
async fn simulate(seed: u64, days: i64, start: Option<&str>) -> (bool, Vec<String>) {
    let mut settings = test_settings();
    isolate(&mut settings).await;
    let report = std::env::temp_dir().join(format!("linli-sim-{}.md", uuid::Uuid::now_v7()));
    let args = api::simulate::SimArgs {
        profile: "demo-month".to_owned(),
        seed,
        days: Some(days),
        start: start.map(|d| d.parse().expect("a date")),
        database_url: Some(settings.database.url.expose().to_owned()),
        redis_url: settings.redis.url.as_ref().map(|u| u.expose().to_owned()),
        report: report.display().to_string(),
    };
    let passed = api::simulate::simulate(settings, args)
        .await
        .expect("the simulation runs");
    let text = std::fs::read_to_string(&report).expect("the report");
    let _ = std::fs::remove_file(&report);
    let figures = text
        .lines()
        .skip_while(|l| !l.starts_with("## Figures"))
        .filter(|l| l.starts_with("| ") && !l.starts_with("| when"))
        .map(str::to_owned)
        .collect();
    (passed, figures)
}

#[tokio::test]
async fn a_simulated_week_matches_its_truth_and_repeats_itself() {
    let (passed, figures) = simulate(7, 7, None).await;
    assert!(
        passed,
        "{}",
        figures
            .iter()
            .filter(|r| r.contains("≠"))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(figures.len() > 100, "{} figures", figures.len());
    assert!(figures
        .iter()
        .any(|r| r.contains("| demands.total | ") && !r.contains("| 0 | 0 |")));
    let (again, same) = simulate(7, 7, None).await;
    assert!(again);
    assert_eq!(figures, same, "the same seed gave other figures");
    let (_, other) = simulate(8, 7, None).await;
    assert_ne!(figures, other, "another seed gave the same figures");
}

#[tokio::test]
async fn the_years_points_expire_at_its_end_as_the_truth_says() {
    // Points expire at the end of the year they were earned in (the run's rule): a week from
    // 2026-12-28 crosses it.
    let (passed, figures) = simulate(5, 7, Some("2026-12-28")).await;
    let differing: Vec<&String> = figures.iter().filter(|r| r.contains("≠")).collect();
    assert!(passed, "{differing:?}");
    let expired = |scope: &str| {
        figures
            .iter()
            .find(|r| {
                r.starts_with("| whole run |")
                    && r.contains(scope)
                    && r.contains("| points.expired |")
            })
            .cloned()
            .unwrap_or_default()
    };
    let district = expired("| district |");
    assert!(
        !district.is_empty() && !district.contains("| 0 | 0 |"),
        "{district}"
    );
}

/// The demo street's figures over the last 60 days, as its staff see them: (residents,
/// demands, points issued, volunteer minutes).
async fn demo_street_figures(address: &str, to: &str) -> (i64, i64, i64, i64) {
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{address}/api/v1/auth/staff-login"))
        .json(&serde_json::json!({ "username": "street", "password": DEMO_PASSWORD }))
        .send()
        .await
        .unwrap();
    let login = expect_json(login, StatusCode::OK).await;
    let token = login["access_token"].as_str().unwrap();
    let from = (chrono::Utc::now() - chrono::Duration::days(60)).format("%Y-%m-%dT%H:%M:%SZ");
    let dashboard = client
        .get(format!(
            "{address}/api/v1/staff/dashboard?from={from}&to={to}"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let d = expect_json(dashboard, StatusCode::OK).await;
    let n = |v: &serde_json::Value| v.as_i64().unwrap_or(-1);
    (
        n(&d["residents"]),
        n(&d["demands"]["total"]),
        n(&d["points"]["issued"]),
        n(&d["timebank"]["volunteer_minutes"]),
    )
}

#[tokio::test]
async fn a_new_demo_database_starts_with_a_simulated_month_once() {
    let mut env = HashMap::new();
    env.insert(
        "LINLI__DATABASE__URL".to_owned(),
        fresh_database_url().await,
    );
    env.insert("LINLI__DEMO__SIMULATED_MONTH".to_owned(), "true".to_owned());
    if let Some(url) = redis_url() {
        env.insert("LINLI__REDIS__URL".to_owned(), url);
        env.insert(
            "LINLI__REDIS__KEY_PREFIX".to_owned(),
            format!("linli-test:{}:", uuid::Uuid::now_v7().simple()),
        );
    }
    let to = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = to.to_string();
    let first = spawn_server_process(linli_tests::server_binary!(), &env).await;
    let living = demo_street_figures(&first.address, &to).await;
    let (residents, demands, issued, minutes) = living;
    // demo-month's 300 residents in the street's communities, besides the curated ones.
    assert!(residents >= 300, "{living:?}");
    assert!(demands > 20 && issued > 1_000 && minutes > 0, "{living:?}");
    assert!(first
        .log_lines()
        .iter()
        .any(|l| l.contains("simulated month")));
    drop(first);

    let second = spawn_server_process(linli_tests::server_binary!(), &env).await;
    assert_eq!(demo_street_figures(&second.address, &to).await, living);
    assert!(!second
        .log_lines()
        .iter()
        .any(|l| l.contains("simulated month")));
}
