//! Access tokens (expiry, tampering, algorithm pinning, revocation) and refresh-token
//! rotation with reuse detection.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use linli_tests::{expect_json, expect_problem, spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Sha256, Sha512};

const ME: &str = "/api/v1/me";
const REFRESH: &str = "/api/v1/auth/refresh";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Builds a JWT by hand (independently of the server's code) with any header and key.
fn sign(header: &Value, claims: &Value, alg: &str, key: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match alg {
        "HS256" => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        "HS512" => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).unwrap();
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        _ => Vec::new(),
    };
    format!("{signing_input}.{}", b64(&signature))
}

async fn expect_401(app: &TestApp, token: &str, code: &str) {
    let response = app.get(ME, Some(token)).await;
    assert!(response.headers().contains_key("www-authenticate"));
    expect_problem(response, StatusCode::UNAUTHORIZED, code).await;
}

#[tokio::test]
async fn missing_and_malformed_tokens_are_401() {
    let app = spawn_app().await;
    expect_problem(
        app.get(ME, None).await,
        StatusCode::UNAUTHORIZED,
        "token_missing",
    )
    .await;
    expect_401(&app, "not-a-jwt", "token_invalid").await;
    let response = app
        .send(
            app.request(reqwest::Method::GET, ME, None)
                .header("authorization", "Basic YWxpY2U6c2VjcmV0"),
        )
        .await;
    expect_problem(response, StatusCode::UNAUTHORIZED, "token_invalid").await;
}

#[tokio::test]
async fn a_good_token_works_and_a_hand_signed_copy_verifies_the_test_itself() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    expect_json(app.get(ME, Some(&alice.access_token)).await, StatusCode::OK).await;
    // The same claims signed here with the server's secret are accepted, so the rejections
    // below are about what was changed, not about how this test signs.
    let secret = app.settings.auth.jwt_secret.expose().as_bytes().to_vec();
    let resigned = sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims_of(&alice.access_token),
        "HS256",
        &secret,
    );
    expect_json(app.get(ME, Some(&resigned)).await, StatusCode::OK).await;
}

#[tokio::test]
async fn expired_tokens_are_401() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    app.clock.advance(chrono::Duration::seconds(
        app.settings.auth.access_token_ttl_seconds + 1,
    ));
    expect_401(&app, &alice.access_token, "token_expired").await;
    // A token whose exp is in the past, signed with the right key, is refused too.
    let mut claims = claims_of(&alice.access_token);
    claims["exp"] = json!(claims["iat"].as_i64().unwrap() - 10);
    let secret = app.settings.auth.jwt_secret.expose().as_bytes().to_vec();
    let stale = sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        "HS256",
        &secret,
    );
    expect_401(&app, &stale, "token_expired").await;
}

#[tokio::test]
async fn tampered_and_foreign_tokens_are_401() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    let bob = app.login_resident("bob").await;
    let secret = app.settings.auth.jwt_secret.expose().as_bytes().to_vec();

    // Payload swapped for bob's while keeping alice's signature.
    let parts: Vec<&str> = alice.access_token.split('.').collect();
    let mut claims = claims_of(&alice.access_token);
    claims["sub"] = json!(bob.user_id);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    expect_401(&app, &tampered, "token_invalid").await;

    // Signed with another key.
    let forged = sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims_of(&alice.access_token),
        "HS256",
        b"some-other-secret-some-other-secret!!",
    );
    expect_401(&app, &forged, "token_invalid").await;

    // `alg: none` with no signature.
    let none = sign(
        &json!({"alg": "none", "typ": "JWT"}),
        &claims_of(&alice.access_token),
        "none",
        b"",
    );
    expect_401(&app, &none, "token_invalid").await;

    // Right key, other HMAC algorithm: the algorithm is pinned.
    let hs512 = sign(
        &json!({"alg": "HS512", "typ": "JWT"}),
        &claims_of(&alice.access_token),
        "HS512",
        &secret,
    );
    expect_401(&app, &hs512, "token_invalid").await;

    // HS/RS confusion: an RS256 header over an HMAC made with the secret.
    let confused = {
        let header = json!({"alg": "RS256", "typ": "JWT"});
        sign(&header, &claims_of(&alice.access_token), "HS256", &secret)
    };
    expect_401(&app, &confused, "token_invalid").await;

    // Wrong audience or issuer, correctly signed.
    let mut other_audience = claims_of(&alice.access_token);
    other_audience["aud"] = json!("another-service");
    let token = sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &other_audience,
        "HS256",
        &secret,
    );
    expect_401(&app, &token, "token_invalid").await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_session() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;

    let second = expect_json(
        app.post(
            REFRESH,
            &json!({ "refresh_token": alice.refresh_token }),
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let second_access = second["access_token"].as_str().unwrap().to_owned();
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, alice.refresh_token);
    assert_eq!(second["user"]["id"], alice.user_id.as_str());
    expect_json(app.get(ME, Some(&second_access)).await, StatusCode::OK).await;

    // The first refresh token is spent. Presenting it again is reuse: the family dies.
    expect_problem(
        app.post(
            REFRESH,
            &json!({ "refresh_token": alice.refresh_token }),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
    )
    .await;
    expect_401(&app, &second_access, "token_revoked").await;
    expect_401(&app, &alice.access_token, "token_revoked").await;
    expect_problem(
        app.post(REFRESH, &json!({ "refresh_token": second_refresh }), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_invalid",
    )
    .await;

    // Other sessions of the same user are untouched.
    let other = app.login_resident("alice").await;
    expect_json(app.get(ME, Some(&other.access_token)).await, StatusCode::OK).await;
}

#[tokio::test]
async fn unknown_and_expired_refresh_tokens_are_refused() {
    let app = spawn_app().await;
    expect_problem(
        app.post(REFRESH, &json!({ "refresh_token": "made-up" }), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_invalid",
    )
    .await;
    let alice = app.login_resident("alice").await;
    app.clock.advance(
        chrono::Duration::days(app.settings.auth.refresh_token_ttl_days)
            + chrono::Duration::seconds(1),
    );
    expect_problem(
        app.post(
            REFRESH,
            &json!({ "refresh_token": alice.refresh_token }),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_invalid",
    )
    .await;
}

/// A first login creates the resident (on PostgreSQL in the same statement as the
/// session): eight at once with one WeChat identity all get in, as one resident with one
/// account, each with a session of its own whose token works at once.
#[tokio::test]
async fn concurrent_first_logins_of_one_resident_make_one_account() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = spawn_app().await;
    let logins =
        futures_util::future::join_all((0..8).map(|_| app.login_resident("newcomer"))).await;
    let first = &logins[0].user_id;
    assert!(logins.iter().all(|s| &s.user_id == first), "{logins:?}");
    let mut sessions: Vec<&str> = logins.iter().map(|s| s.refresh_token.as_str()).collect();
    sessions.sort_unstable();
    sessions.dedup();
    assert_eq!(sessions.len(), 8);
    for login in &logins {
        let me = expect_json(
            app.get("/api/v1/me", Some(&login.access_token)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(me["id"].as_str(), Some(first.as_str()));
    }
    let accounts = identity::entity::user::Entity::find()
        .filter(identity::entity::user::Column::Openid.eq("fake-newcomer"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
}

#[tokio::test]
async fn two_concurrent_refreshes_with_one_token_let_exactly_one_through() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    let body = json!({ "refresh_token": alice.refresh_token });
    let (a, b) = tokio::join!(
        app.post(REFRESH, &body, None),
        app.post(REFRESH, &body, None)
    );
    let mut statuses = vec![a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::UNAUTHORIZED]);
}

#[tokio::test]
async fn logout_ends_the_access_and_refresh_tokens_at_once() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    let other_device = app.login_resident("alice").await;
    let response = app
        .post("/api/v1/auth/logout", &json!({}), Some(&alice.access_token))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    expect_401(&app, &alice.access_token, "token_revoked").await;
    expect_problem(
        app.post(
            REFRESH,
            &json!({ "refresh_token": alice.refresh_token }),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "refresh_token_invalid",
    )
    .await;
    // Logging out again with the dead token is a 401, not a crash.
    expect_problem(
        app.post("/api/v1/auth/logout", &json!({}), Some(&alice.access_token))
            .await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    expect_json(
        app.get(ME, Some(&other_device.access_token)).await,
        StatusCode::OK,
    )
    .await;
}

/// Defect: `authenticate` loaded the user named by `sub` as long as `sid` was live, so whoever
/// held the signing key (or a future bug minting tokens) could pair their own live session
/// with anyone's user id. A token now counts only for the user its session belongs to.
#[tokio::test]
async fn a_token_counts_only_for_the_user_its_session_belongs_to() {
    let app = spawn_app().await;
    let alice = app.login_resident("alice").await;
    let bob = app.login_resident("bob").await;
    let secret = app.settings.auth.jwt_secret.expose().as_bytes().to_vec();
    let mut claims = claims_of(&alice.access_token);
    claims["sub"] = json!(bob.user_id);
    let token = sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        "HS256",
        &secret,
    );
    // Asked twice: once from the database, once with the session's owner in the cache.
    expect_401(&app, &token, "token_invalid").await;
    expect_json(app.get(ME, Some(&alice.access_token)).await, StatusCode::OK).await;
    expect_401(&app, &token, "token_invalid").await;
    // A session id that was never issued is refused as well.
    claims["sid"] = json!("01900000-0000-7000-8000-000000000000");
    claims["sub"] = json!(alice.user_id);
    let unknown = sign(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        "HS256",
        &secret,
    );
    expect_401(&app, &unknown, "token_invalid").await;
}

/// With Redis, an instance keeps the actors it read in its own memory, found under the
/// user's actor generation and the cache's epoch. A role granted is seen at once; and when
/// Redis loses its data (a restart without persistence: the generation counts from nothing
/// again), nothing remembered from before is served, however recently it was read.
#[tokio::test]
async fn actors_remembered_by_an_instance_follow_role_changes_and_a_redis_that_lost_its_data() {
    let app = spawn_app().await;
    let owner = app.login_resident("memo-owner").await;
    let roles = || async {
        let me = expect_json(
            app.get("/api/v1/me", Some(&owner.access_token)).await,
            StatusCode::OK,
        )
        .await;
        let mut roles: Vec<String> = me["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        roles.sort_unstable();
        roles
    };
    let community = app.org_id("新华社区").await;
    let application = expect_json(
        app.post(
            "/api/v1/merchants/applications",
            &json!({
                "name": "记性理发店", "category": "生活服务", "license_no": "91140200MA0MEMO01",
                "address": "平城区新华街9号", "contact_phone": "13800009999",
                "community_id": community, "description": "",
            }),
            Some(&owner.access_token),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // Read three times: the first starts the cache's epoch, the second remembers the actor,
    // the third is answered from memory.
    for _ in 0..3 {
        assert_eq!(roles().await, ["resident"]);
    }
    let admin = app.login_staff("admin", linli_tests::DEMO_PASSWORD).await;
    expect_json(
        app.post(
            &format!(
                "/api/v1/staff/merchants/{}/approve",
                application["id"].as_str().unwrap()
            ),
            &json!({}),
            Some(&admin.access_token),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let both = ["merchant_staff", "resident"];
    assert_eq!(roles().await, both, "the grant counts at once");
    // Redis loses everything the actor's answer rests on: the generation (which now reads
    // as the one the resident-only actor was remembered under), the epoch, the stored actors.
    let user = &owner.user_id;
    for key in [
        format!("auth:actor-generation:{user}"),
        "cache:epoch".to_owned(),
        format!("auth:actor:v1:{user}:0"),
        format!("auth:actor:v1:{user}:1"),
    ] {
        app.state.cache.delete(&key).await.unwrap();
    }
    for _ in 0..3 {
        assert_eq!(
            roles().await,
            both,
            "nothing from before the loss is served"
        );
    }
}
