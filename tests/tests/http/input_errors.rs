//! Bad input is a 400, 413, 415 or 422 problem with a stable code, never a 500.

use linli_tests::{expect_problem, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

const LOGIN: &str = "/api/v1/auth/wechat-login";

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let response = app
        .send(
            app.request(Method::POST, LOGIN, None)
                .header("content-type", "application/json")
                .body("{\"code\": "),
        )
        .await;
    expect_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    let response = app
        .send(
            app.request(Method::POST, LOGIN, None)
                .header("content-type", "application/json")
                .body("{\"code\": \"dev-a\"} {}"),
        )
        .await;
    expect_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn wrong_types_are_400_and_name_the_field() {
    let app = spawn_app().await;
    let body = expect_problem(
        app.post(LOGIN, &json!({ "code": 42 }), None).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "code");
    let body = expect_problem(
        app.post(LOGIN, &json!({ "code": ["dev-a"] }), None).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("invalid type"));
    // An array where an object belongs.
    expect_problem(
        app.post(LOGIN, &json!(["dev-a"]), None).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
}

#[tokio::test]
async fn missing_and_unknown_fields_are_422() {
    let app = spawn_app().await;
    let body = expect_problem(
        app.post(LOGIN, &json!({}), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "code");
    let body = expect_problem(
        app.post(LOGIN, &json!({ "code": "dev-a", "openid": "x" }), None)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "openid");
    let body = expect_problem(
        app.post(LOGIN, &json!({ "code": "  " }), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "code");
}

#[tokio::test]
async fn bodies_over_one_mebibyte_are_413() {
    let app = spawn_app().await;
    let huge = json!({ "code": "x".repeat(1024 * 1024 + 10) });
    expect_problem(
        app.post(LOGIN, &huge, None).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    // Without a Content-Length (chunked), the cap holds while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        std::iter::once(Ok(b"{\"code\":\"".to_vec()))
            .chain((0..20).map(|_| Ok(vec![b'x'; 64 * 1024])))
            .chain(std::iter::once(Ok(b"\"}".to_vec())))
            .collect();
    let stream = futures_util::stream::iter(chunks);
    let response = app
        .send(
            app.request(Method::POST, LOGIN, None)
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    expect_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // The server is still fine afterwards.
    app.login_resident("after-huge").await;
}

#[tokio::test]
async fn non_json_bodies_are_415() {
    let app = spawn_app().await;
    let response = app
        .send(
            app.request(Method::POST, LOGIN, None)
                .header("content-type", "text/plain")
                .body("code=dev-a"),
        )
        .await;
    expect_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn chinese_text_round_trips() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    let response = app
        .put(
            "/api/v1/me/profile",
            &json!({ "nickname": "王阿姨🌸" }),
            Some(&alice.access_token),
        )
        .await;
    let body = linli_tests::expect_json(response, StatusCode::OK).await;
    assert_eq!(body["nickname"], "王阿姨🌸");
}
