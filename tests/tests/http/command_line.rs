//! The `linli` binary: production refuses development settings, and a real deployment is
//! bootstrapped with `linli admin add-org` and `linli admin add-staff`.

use linli_tests::process::linli_command;
use linli_tests::{fresh_database_url, start, test_settings, DEMO_PASSWORD};
use std::collections::HashMap;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

async fn run(env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut command = linli_command(linli_tests::server_binary!(), &env);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run linli");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    child.wait_with_output().await.unwrap()
}

#[tokio::test]
async fn production_refuses_the_default_secret_and_fake_wechat_and_says_why() {
    let output = run(
        &[
            ("LINLI_ENV", "production"),
            (
                "LINLI__AUTH__JWT_SECRET",
                platform::config::DEVELOPMENT_JWT_SECRET,
            ),
        ],
        &["serve"],
        None,
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("auth.jwt_secret"), "{stderr}");
    assert!(stderr.contains("LINLI__AUTH__JWT_SECRET"), "{stderr}");

    let output = run(
        &[
            ("LINLI_ENV", "production"),
            ("LINLI__WECHAT__MODE", "fake"),
            (
                "LINLI__AUTH__JWT_SECRET",
                "a-production-secret-long-enough-0123456789",
            ),
        ],
        &["serve"],
        None,
    )
    .await;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("wechat.mode"), "{stderr}");
    assert!(
        !stderr.contains("a-production-secret"),
        "secrets stay out of messages: {stderr}"
    );

    let output = run(
        &[
            ("LINLI_ENV", "production"),
            ("LINLI__WECHAT__APP_ID", "wx1"),
            ("LINLI__WECHAT__APP_SECRET", "s"),
            (
                "LINLI__AUTH__JWT_SECRET",
                "a-production-secret-long-enough-0123456789",
            ),
            ("LINLI__DEMO__SEED", "true"),
        ],
        &["serve"],
        None,
    )
    .await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("demo.seed"));
}

#[tokio::test]
async fn a_bad_setting_stops_the_start_and_names_the_key() {
    let output = run(&[("LINLI__SERVER__PORT", "eighty")], &["serve"], None).await;
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("server.port"));
}

#[tokio::test]
async fn openapi_prints_the_committed_spec() {
    let output = run(&[], &["openapi"], None).await;
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(linli_tests::workspace_dir().join("api-spec/openapi.json"))
            .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}

#[tokio::test]
async fn a_fresh_deployment_is_bootstrapped_from_the_command_line() {
    let database_url = fresh_database_url().await;
    let env = [
        ("LINLI__DATABASE__URL", database_url.as_str()),
        ("LINLI__DEMO__SEED", "false"),
    ];

    let output = run(&env, &["migrate"], None).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let output = run(
        &env,
        &["admin", "add-org", "--kind", "district", "--name", "云冈区"],
        None,
    )
    .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let district_id = String::from_utf8(output.stdout).unwrap().trim().to_owned();

    let args = [
        "admin",
        "add-staff",
        "--username",
        "root",
        "--role",
        "district_admin",
        "--org-id",
        district_id.as_str(),
    ];
    let output = run(&env, &args, Some("a-strong-password\n")).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The same username twice is refused.
    let output = run(&env, &args, Some("another-password\n")).await;
    assert!(!output.status.success());

    let mut settings = test_settings();
    settings.database.url = platform::Secret::new(database_url.clone());
    settings.demo.seed = false;
    settings.redis.url = None;
    let app = start(settings).await;
    let session = app.login_staff("root", "a-strong-password").await;
    assert_eq!(session.roles, vec!["district_admin"]);
    let tree = app.org_tree().await;
    assert_eq!(tree.as_array().unwrap().len(), 1);
    assert_eq!(tree[0]["name"], "云冈区");
    // No demo accounts in a real deployment.
    let response = app
        .post(
            "/api/v1/auth/staff-login",
            &serde_json::json!({ "username": "admin", "password": DEMO_PASSWORD }),
            None,
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ledger_verify_reports_balanced_books_and_fails_on_broken_ones() {
    let database_url = fresh_database_url().await;
    let env = [("LINLI__DATABASE__URL", database_url.as_str())];
    let output = run(&env, &["migrate"], None).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    linli_tests::issue_time_credits(&db, "some-resident", 90).await;
    let output = run(&env, &["ledger", "verify"], None).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("balanced: true") && stdout.contains("transfers: 1"),
        "{stdout}"
    );

    // Tamper with a balance behind the ledger's back: verify must say so and fail.
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        "UPDATE ledger_accounts SET balance = balance + 7 WHERE kind = 'wallet'",
    )
    .await
    .unwrap();
    let output = run(&env, &["ledger", "verify"], None).await;
    assert!(
        !output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("MISMATCH balance_vs_entries"), "{stdout}");
}

#[tokio::test]
async fn demand_counts_are_verified_and_rebuilt_from_the_command_line() {
    let database_url = fresh_database_url().await;
    let env = [("LINLI__DATABASE__URL", database_url.as_str())];
    let output = run(&env, &["demands", "verify-counts"], None).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("agree"), "{stdout}");

    // A count with no demand behind it: named, and a failure until rebuilt.
    let db = sea_orm::Database::connect(&database_url).await.unwrap();
    let backend = sea_orm::ConnectionTrait::get_database_backend(&db);
    let planted = sea_orm::Statement::from_sql_and_values(
        backend,
        "INSERT INTO demand_daily_counts (day_start, community_id, category_id, street_id, \
           district_id, total) VALUES ($1, 'c', 'k', 's', 'd', 3)",
        [chrono::Utc::now().into()],
    );
    sea_orm::ConnectionTrait::execute(&db, planted)
        .await
        .unwrap();
    let output = run(&env, &["demands", "verify-counts"], None).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("MISMATCH") && stdout.contains("community c"),
        "{stdout}"
    );
    let output = run(&env, &["demands", "verify-counts", "--rebuild"], None).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run(&env, &["demands", "verify-counts"], None).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[tokio::test]
async fn parking_verify_bookings_reports_no_overlap_on_a_fresh_database() {
    let database_url = fresh_database_url().await;
    let env = [("LINLI__DATABASE__URL", database_url.as_str())];
    let output = run(&env, &["parking", "verify-bookings"], None).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("overlapping bookings: 0"), "{stdout}");
}

/// The org tree a running server keeps rendered (`GET /api/v1/orgs`) learns of an org added
/// from the command line at once when the servers share Redis; with the in-process cache the
/// command says how long the servers may show the old tree.
#[tokio::test]
async fn an_org_added_from_the_command_line_reaches_running_servers() {
    let database_url = fresh_database_url().await;
    let prefix = format!("linli-test:{}:", uuid::Uuid::now_v7().simple());
    let shared_redis = linli_tests::redis_url();
    let mut env = vec![
        ("LINLI__DATABASE__URL", database_url.as_str()),
        ("LINLI__DEMO__SEED", "false"),
        ("LINLI__REDIS__KEY_PREFIX", prefix.as_str()),
    ];
    if let Some(url) = &shared_redis {
        env.push(("LINLI__REDIS__URL", url.as_str()));
    }
    let add = |kind: &'static str, name: &'static str, parent: Option<String>| {
        let env = env.clone();
        async move {
            let mut args = vec!["admin", "add-org", "--kind", kind, "--name", name];
            if let Some(parent) = &parent {
                args.extend(["--parent-id", parent.as_str()]);
            }
            let output = run(&env, &args, None).await;
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            assert!(output.status.success(), "{stderr}");
            (
                String::from_utf8(output.stdout).unwrap().trim().to_owned(),
                stderr,
            )
        }
    };
    let (district, _) = add("district", "云冈区", None).await;
    let server_env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let server =
        linli_tests::process::spawn_server_process(linli_tests::server_binary!(), &server_env)
            .await;
    let client = reqwest::Client::new();
    let streets = || async {
        let tree: serde_json::Value = client
            .get(format!("{}/api/v1/orgs", server.address))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let names: Vec<String> = tree[0]["children"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|s| s["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        names
    };
    // The server renders and keeps the tree as it is now.
    assert!(streets().await.is_empty());
    let (_, said) = add("street", "云冈街道", Some(district)).await;
    if shared_redis.is_some() {
        assert_eq!(streets().await, ["云冈街道"], "{said}");
        assert!(!said.contains("within"), "{said}");
    } else {
        assert!(
            said.contains("no Redis configured") && said.contains("within 30 seconds"),
            "{said}"
        );
    }
}
