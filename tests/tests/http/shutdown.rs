//! SIGTERM under load: the server stops accepting connections, answers the requests it took
//! in, lets the job loop finish its round, and exits cleanly; what it answered is all it
//! wrote.

use linli_tests::process::spawn_server_process;
use linli_tests::{expect_json, fresh_database_url};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_answers_the_requests_in_flight_and_exits_cleanly() {
    let env = HashMap::from([
        (
            "LINLI__DATABASE__URL".to_owned(),
            fresh_database_url().await,
        ),
        ("LINLI__JOBS__ENABLED".to_owned(), "true".to_owned()),
        ("LINLI__JOBS__INTERVAL_SECONDS".to_owned(), "1".to_owned()),
        (
            "LINLI__SERVER__SHUTDOWN_GRACE_SECONDS".to_owned(),
            "10".to_owned(),
        ),
    ]);
    let mut server = spawn_server_process(linli_tests::server_binary!(), &env).await;
    let client = reqwest::Client::new();
    let address = server.address.clone();
    let api = |path: &str| format!("{address}/api/v1{path}");
    let login = client
        .post(api("/auth/wechat-login"))
        .json(&json!({"code": "dev-leaving"}))
        .send()
        .await
        .unwrap();
    let token = expect_json(login, StatusCode::OK).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let categories = client.get(api("/demand-categories")).send().await.unwrap();
    let categories: Value = expect_json(categories, StatusCode::OK).await;
    let category = categories[0]["id"]
        .as_str()
        .or_else(|| categories["items"][0]["id"].as_str())
        .unwrap()
        .to_owned();
    let orgs = client.get(api("/orgs")).send().await.unwrap();
    let community = first_community(&expect_json(orgs, StatusCode::OK).await).expect("a community");
    // Let the job loop start a round or two.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let submissions: Vec<_> = (0..24)
        .map(|n| {
            let request = client
                .post(api("/demands"))
                .bearer_auth(&token)
                .header("idempotency-key", format!("leaving-{n}"))
                .json(
                    &json!({"category_id": category, "title": format!("第{n}件"),
                              "description": "停机时提交", "community_id": community}),
                );
            tokio::spawn(async move { request.send().await.map(|r| r.status()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    server.terminate();
    let mut answered = 0;
    for submission in submissions {
        // An error: not taken in before the server stopped accepting, nothing written for it.
        if let Ok(status) = submission.await.unwrap() {
            assert_eq!(
                status,
                StatusCode::CREATED,
                "an answered request was carried out"
            );
            answered += 1;
        }
    }
    eprintln!("answered before the stop: {answered} of 24");
    let status = server.exit_within(Duration::from_secs(15)).await;
    assert!(
        status.success(),
        "a SIGTERM ends the process cleanly: {status}"
    );
    let log = server.log_lines().join("\n");
    assert!(log.contains("stopping the job loop"), "{log}");
    assert!(log.contains("Linli stopped cleanly"), "{log}");
    assert!(
        client.get(api("/me")).send().await.is_err(),
        "nothing listens any more"
    );

    // The same database behind a new instance: exactly the answered submissions exist.
    let again = spawn_server_process(linli_tests::server_binary!(), &env).await;
    let mine = client
        .get(format!("{}/api/v1/me/demands?limit=100", again.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mine = expect_json(mine, StatusCode::OK).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), answered);
}

fn first_community(tree: &Value) -> Option<String> {
    let nodes = tree.as_array()?;
    nodes.iter().find_map(|node| {
        if node["kind"] == "community" {
            node["id"].as_str().map(str::to_owned)
        } else {
            first_community(&node["children"])
        }
    })
}
