//! Redis taken away under two instances (a `redis-server` of the test's own): sessions and
//! revocations fall back to the database while it is gone, and a logout made during the
//! outage still holds on both instances once Redis answers again, even though Redis then
//! remembers the session as active from before. Runs in the suite's Redis pass (the README
//! command without Redis has no `redis-server` to break).

use linli_tests::process::spawn_server_process;
use linli_tests::{expect_json, expect_problem, fresh_database_url, redis_url};
use platform::testing::RedisServer;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_during_a_redis_partition_holds_on_both_instances_after_it() {
    if redis_url().is_none() {
        return;
    }
    let redis = RedisServer::start().await.expect("redis-server starts");
    let env = HashMap::from([
        (
            "LINLI__DATABASE__URL".to_owned(),
            fresh_database_url().await,
        ),
        ("LINLI__REDIS__URL".to_owned(), redis.url.clone()),
        (
            "LINLI__REDIS__KEY_PREFIX".to_owned(),
            "linli-outage:".to_owned(),
        ),
    ]);
    let first = spawn_server_process(linli_tests::server_binary!(), &env).await;
    let second = spawn_server_process(linli_tests::server_binary!(), &env).await;
    // Well under the 30 s a client once waited for a logout with Redis stopped.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let login = |code: &'static str| {
        client
            .post(format!("{}/api/v1/auth/wechat-login", first.address))
            .json(&json!({ "code": code }))
            .send()
    };
    let alice = expect_json(login("dev-alice").await.unwrap(), StatusCode::OK).await;
    let bob = expect_json(login("dev-bob").await.unwrap(), StatusCode::OK).await;
    let alice_token = alice["access_token"].as_str().unwrap().to_owned();
    let bob_token = bob["access_token"].as_str().unwrap().to_owned();
    let get = |address: &str, path: &str, token: &str| {
        client
            .get(format!("{address}/api/v1{path}"))
            .bearer_auth(token)
            .send()
    };
    let ready = |address: &str| client.get(format!("{address}/readyz")).send();
    // Both instances have seen Alice's session as active: Redis remembers it so.
    for instance in [&first, &second] {
        expect_json(
            get(&instance.address, "/me", &alice_token).await.unwrap(),
            StatusCode::OK,
        )
        .await;
    }

    redis.pause().unwrap();
    let logout = client
        .post(format!("{}/api/v1/auth/logout", first.address))
        .bearer_auth(&alice_token)
        .send()
        .await
        .expect("a logout answers while Redis does not");
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    for instance in [&first, &second] {
        expect_problem(
            get(&instance.address, "/me", &alice_token).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "token_revoked",
        )
        .await;
        // Everyone else carries on through the database.
        expect_json(
            get(&instance.address, "/me/wallet", &bob_token)
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        expect_problem(
            ready(&instance.address).await.unwrap(),
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
        )
        .await;
    }
    let carol = expect_json(login("dev-carol").await.unwrap(), StatusCode::OK).await;
    assert!(
        carol["access_token"].is_string(),
        "logins go on without Redis"
    );

    redis.resume().unwrap();
    for instance in [&first, &second] {
        let mut answered = false;
        for _ in 0..100 {
            if ready(&instance.address).await.unwrap().status() == StatusCode::OK {
                answered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            answered,
            "{} is ready within 10 s of Redis answering",
            instance.address
        );
    }
    // Redis is asked again; what it held from before the partition must not revive Alice.
    for instance in [&first, &second] {
        expect_problem(
            get(&instance.address, "/me", &alice_token).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "token_revoked",
        )
        .await;
        expect_json(
            get(&instance.address, "/me", &bob_token).await.unwrap(),
            StatusCode::OK,
        )
        .await;
    }
}
