//! Two API instances (separate operating-system processes) sharing one database and, when
//! configured, one Redis: what one revokes, the other refuses.

use linli_tests::process::spawn_server_process;
use linli_tests::{expect_json, expect_problem, fresh_database_url, redis_url};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;

#[tokio::test]
async fn a_token_revoked_through_one_instance_is_refused_by_another() {
    let mut env = HashMap::new();
    env.insert(
        "LINLI__DATABASE__URL".to_owned(),
        fresh_database_url().await,
    );
    env.insert(
        "LINLI__REDIS__KEY_PREFIX".to_owned(),
        format!("linli-test:{}:", uuid::Uuid::now_v7().simple()),
    );
    let shared_redis = redis_url();
    if let Some(url) = &shared_redis {
        env.insert("LINLI__REDIS__URL".to_owned(), url.clone());
    }
    let first = spawn_server_process(linli_tests::server_binary!(), &env).await;
    let second = spawn_server_process(linli_tests::server_binary!(), &env).await;
    assert_ne!(first.address, second.address);
    let client = reqwest::Client::new();

    let login = client
        .post(format!("{}/api/v1/auth/wechat-login", first.address))
        .json(&json!({ "code": "dev-alice" }))
        .send()
        .await
        .unwrap();
    let login = expect_json(login, StatusCode::OK).await;
    let token = login["access_token"].as_str().unwrap();
    let me = |address: &str| {
        client
            .get(format!("{address}/api/v1/me"))
            .bearer_auth(token)
            .send()
    };

    if shared_redis.is_some() {
        // The second instance has seen (and cached) the session as active before the logout.
        expect_json(me(&second.address).await.unwrap(), StatusCode::OK).await;
    }
    expect_json(me(&first.address).await.unwrap(), StatusCode::OK).await;
    let logout = client
        .post(format!("{}/api/v1/auth/logout", first.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    expect_problem(
        me(&second.address).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    expect_problem(
        me(&first.address).await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    let refresh = client
        .post(format!("{}/api/v1/auth/refresh", second.address))
        .json(&json!({ "refresh_token": login["refresh_token"] }))
        .send()
        .await
        .unwrap();
    expect_problem(refresh, StatusCode::UNAUTHORIZED, "refresh_token_invalid").await;
}
