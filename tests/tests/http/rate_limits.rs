//! Login floods are answered with 429 and Retry-After.

use linli_tests::{expect_json, expect_problem, spawn_app_with, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_login_flood_from_one_address_gets_429() {
    let app = spawn_app_with(|s| s.rate_limit.login_per_ip_per_minute = 5).await;
    for i in 0..5 {
        app.login_resident(&format!("r{i}")).await;
    }
    let response = app
        .post(
            "/api/v1/auth/wechat-login",
            &json!({ "code": "dev-r6" }),
            None,
        )
        .await;
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Staff logins from the same address share the budget.
    let response = app
        .post(
            "/api/v1/auth/staff-login",
            &json!({ "username": "street", "password": DEMO_PASSWORD }),
            None,
        )
        .await;
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn password_guessing_on_one_username_gets_429_even_with_the_right_password() {
    let app = spawn_app_with(|s| s.rate_limit.staff_login_per_username_per_15min = 3).await;
    for _ in 0..3 {
        let response = app
            .post(
                "/api/v1/auth/staff-login",
                &json!({ "username": "street", "password": "guess" }),
                None,
            )
            .await;
        expect_problem(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let response = app
        .post(
            "/api/v1/auth/staff-login",
            &json!({ "username": "STREET", "password": DEMO_PASSWORD }),
            None,
        )
        .await;
    assert!(response.headers().contains_key("retry-after"));
    expect_problem(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Other accounts are not locked out.
    let response = app
        .post(
            "/api/v1/auth/staff-login",
            &json!({ "username": "community", "password": DEMO_PASSWORD }),
            None,
        )
        .await;
    expect_json(response, StatusCode::OK).await;
}
