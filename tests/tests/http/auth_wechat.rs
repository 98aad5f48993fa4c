//! WeChat login in fake mode, and in live mode against a local HTTP stand-in of WeChat that
//! exercises the real reqwest client.

use linli_tests::{expect_json, expect_problem, spawn_app, spawn_live_app, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOGIN: &str = "/api/v1/auth/wechat-login";

#[tokio::test]
async fn fake_mode_logs_residents_in_and_keeps_their_account() {
    let app = spawn_app().await;
    let first = app.login_resident("alice").await;
    assert_eq!(first.roles, vec!["resident"]);
    let again = app.login_resident("alice").await;
    assert_eq!(first.user_id, again.user_id);
    let bob = app.login_resident("bob").await;
    assert_ne!(first.user_id, bob.user_id);

    let me = expect_json(
        app.get("/api/v1/me", Some(&first.access_token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(me["id"], first.user_id.as_str());
    assert_eq!(me["roles"], json!(["resident"]));
    assert_eq!(
        me["balances"],
        json!({ "points": 0, "time_credit_minutes": 0 })
    );
    assert_eq!(me["merchant_ids"], json!([]));
}

#[tokio::test]
async fn fake_mode_refuses_codes_that_are_not_dev_codes() {
    let app = spawn_app().await;
    for code in ["alice", "dev-", "071abcDEF"] {
        expect_problem(
            app.post(LOGIN, &json!({ "code": code }), None).await,
            StatusCode::UNAUTHORIZED,
            "wechat_code_invalid",
        )
        .await;
    }
}

async fn live_app(wechat: &MockServer) -> TestApp {
    spawn_live_app(wechat.uri(), |_| {}).await
}

#[tokio::test]
async fn live_mode_exchanges_the_code_with_wechat() {
    let wechat = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .and(query_param("appid", "wx-linli-test"))
        .and(query_param("secret", "app-secret-for-tests"))
        .and(query_param("js_code", "081real-code"))
        .and(query_param("grant_type", "authorization_code"))
        // WeChat really answers with text/plain.
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"openid":"oAbc123","session_key":"SESSION-KEY-SECRET","unionid":"uX"}"#,
            "text/plain",
        ))
        .expect(2)
        .mount(&wechat)
        .await;
    let app = live_app(&wechat).await;
    let response = app
        .post(LOGIN, &json!({ "code": "081real-code" }), None)
        .await;
    let text = response.text().await.unwrap();
    assert!(
        !text.contains("SESSION-KEY-SECRET"),
        "session_key leaked: {text}"
    );
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["user"]["roles"], json!(["resident"]));
    let again = expect_json(
        app.post(LOGIN, &json!({ "code": "081real-code" }), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["user"]["id"], body["user"]["id"]);
    // dev codes mean nothing in live mode: WeChat decides.
}

#[tokio::test]
async fn live_mode_maps_each_wechat_error() {
    let cases = [
        (40029, StatusCode::UNAUTHORIZED, "wechat_code_invalid"),
        (40163, StatusCode::UNAUTHORIZED, "wechat_code_invalid"),
        (45011, StatusCode::TOO_MANY_REQUESTS, "wechat_rate_limited"),
        (40226, StatusCode::FORBIDDEN, "wechat_user_blocked"),
        (-1, StatusCode::SERVICE_UNAVAILABLE, "wechat_busy"),
        (40013, StatusCode::BAD_GATEWAY, "wechat_unavailable"),
    ];
    let wechat = MockServer::start().await;
    for (errcode, _, _) in cases {
        Mock::given(method("GET"))
            .and(path("/sns/jscode2session"))
            .and(query_param("js_code", format!("code-{errcode}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({ "errcode": errcode, "errmsg": "from test" })),
            )
            .mount(&wechat)
            .await;
    }
    let app = live_app(&wechat).await;
    for (errcode, status, code) in cases {
        let response = app
            .post(LOGIN, &json!({ "code": format!("code-{errcode}") }), None)
            .await;
        let retry_after = response.headers().get("retry-after").cloned();
        let body = expect_problem(response, status, code).await;
        assert!(
            !body["detail"].as_str().unwrap().contains("from test"),
            "WeChat's text is not shown: {body}"
        );
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            assert!(retry_after.is_some(), "{code} should say when to retry");
        }
    }
}

#[tokio::test]
async fn live_mode_reports_an_unreachable_or_garbled_wechat_as_502() {
    let wechat = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>gateway</html>", "text/html"))
        .mount(&wechat)
        .await;
    let app = live_app(&wechat).await;
    expect_problem(
        app.post(LOGIN, &json!({ "code": "c" }), None).await,
        StatusCode::BAD_GATEWAY,
        "wechat_unavailable",
    )
    .await;

    let gone = MockServer::start().await;
    let app = live_app(&gone).await;
    drop(gone);
    expect_problem(
        app.post(LOGIN, &json!({ "code": "c" }), None).await,
        StatusCode::BAD_GATEWAY,
        "wechat_unavailable",
    )
    .await;
}

#[tokio::test]
async fn live_mode_binds_a_phone_refreshing_a_stale_access_token_once() {
    let wechat = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "openid": "oPhone", "session_key": "k" })),
        )
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .and(body_partial_json(
            json!({ "grant_type": "client_credential", "appid": "wx-linli-test" }),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "ACCESS", "expires_in": 7200 })),
        )
        .expect(2)
        .mount(&wechat)
        .await;
    // The first phone call finds the token stale (40001); the client refreshes and retries.
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 40001, "errmsg": "invalid credential" })),
        )
        .up_to_n_times(1)
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .and(query_param("access_token", "ACCESS"))
        .and(body_partial_json(json!({ "code": "phone-code" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 0, "errmsg": "ok",
            "phone_info": { "phoneNumber": "13912345678", "purePhoneNumber": "13912345678", "countryCode": "86" }
        })))
        .mount(&wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .and(body_partial_json(json!({ "code": "bad-phone-code" })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 40029, "errmsg": "invalid code" })),
        )
        .with_priority(1)
        .mount(&wechat)
        .await;
    let app = live_app(&wechat).await;
    let login = expect_json(
        app.post(LOGIN, &json!({ "code": "any" }), None).await,
        StatusCode::OK,
    )
    .await;
    let token = login["access_token"].as_str().unwrap();
    let bound = expect_json(
        app.post(
            "/api/v1/me/phone",
            &json!({ "code": "phone-code" }),
            Some(token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(bound["phone_masked"], "139****5678");
    let me = expect_json(app.get("/api/v1/me", Some(token)).await, StatusCode::OK).await;
    assert_eq!(me["phone_masked"], "139****5678");
    expect_problem(
        app.post(
            "/api/v1/me/phone",
            &json!({ "code": "bad-phone-code" }),
            Some(token),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "phone_code_invalid",
    )
    .await;
}
