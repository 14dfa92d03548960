//! Accounts and the security policies, through the HTTP API.

use callbot_tests::fixtures::{assert_error, code};
use callbot_tests::{AppOptions, TestApp, spawn_app, spawn_app_with};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Nobody signed up (the auth limits count every request), on a clock the test moves.
async fn spawn() -> TestApp {
    spawn_app_with(AppOptions::default().manual_clock(Utc::now()).signed_out()).await
}

/// Kim and Lee registered and logged in once (no other request made with their tokens): the
/// app and their tokens.
async fn kim_and_lee() -> (TestApp, String, String) {
    let app = kim_registered().await;
    app.register_ok("lee@clinic.kr").await;
    let kim = app.token("kim@clinic.kr").await;
    let lee = app.token("lee@clinic.kr").await;
    (app, kim, lee)
}

/// The status of Kim logging in with `password`.
async fn kim_logs_in(app: &TestApp, password: &str) -> StatusCode {
    app.login("kim@clinic.kr", password).await.0
}

/// Kim registered: the app.
async fn kim_registered() -> TestApp {
    let app = spawn().await;
    app.register_ok("kim@clinic.kr").await;
    app
}

#[tokio::test]
async fn registration_validates_and_normalizes_input() {
    let app = spawn().await;
    let (status, body) = app.register(" Kim@Clinic.KR ", "password123").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["email"], "kim@clinic.kr");
    assert!(body["meta"]["timestamp"].is_string());

    let (status, body) = app.register("kim@clinic.kr", "password123").await;
    assert_error(status, &body, StatusCode::CONFLICT, "CONFLICT");

    let (status, body) = app.register("lee@clinic.kr", "short").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "WEAK_PASSWORD");
    assert_eq!(
        body["error"]["details"]["missing"],
        json!(["at least 8 characters", "a digit"])
    );

    let (status, body) = app.register("not-an-email", "password123").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");

    let (status, body) = app
        .send(
            "POST",
            "/auth/register",
            None,
            Some(json!({ "email": "a@b.kr", "password": "password123", "admin": true })),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("admin"),
        "{body}"
    );

    let response = app
        .client
        .post(format!("{}/auth/register", app.base))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "INVALID_INPUT");

    let huge = "x".repeat(2 * 1024 * 1024);
    let (status, body) = app.register(&huge, "password123").await;
    assert_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
    );
}

#[tokio::test]
async fn login_gives_a_bearer_token_and_an_http_only_cookie_for_the_same_session() {
    let app = kim_registered().await;
    let credentials = json!({ "email": "KIM@clinic.kr", "password": "password123" });
    let response = app
        .respond("POST", "/auth/login", None, Some(credentials))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let body: Value = response.json().await.unwrap();
    assert!(body["data"]["expiresAt"].is_string());
    let token = body["data"]["accessToken"].as_str().unwrap();

    let (status, me) = app.me(token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["data"]["email"], "kim@clinic.kr");

    let pair = cookie.split(';').next().unwrap();
    let by_cookie = app
        .client
        .get(format!("{}/me", app.base))
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), StatusCode::OK);

    let no_token = app.respond("GET", "/me", None, None).await;
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    let body: Value = no_token.json().await.unwrap();
    assert_eq!(code(&body), "UNAUTHORIZED");
}

#[tokio::test]
async fn tampered_expired_foreign_and_unsigned_tokens_are_refused() {
    let app = kim_registered().await;
    let token = app.token("kim@clinic.kr").await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let claims: Value = serde_json::from_slice(&base64_url_decode(&parts[1])).unwrap();

    let mut tampered = claims.clone();
    tampered["sub"] = json!(uuid::Uuid::new_v4().to_string());
    parts[1] = base64_url_encode(&serde_json::to_vec(&tampered).unwrap());
    assert_eq!(app.me(&parts.join(".")).await.0, StatusCode::UNAUTHORIZED);

    let unsigned = format!(
        "{}.{}.",
        base64_url_encode(br#"{"alg":"none","typ":"JWT"}"#),
        base64_url_encode(&serde_json::to_vec(&claims).unwrap())
    );
    assert_eq!(app.me(&unsigned).await.0, StatusCode::UNAUTHORIZED);

    let key = jsonwebtoken::EncodingKey::from_secret(b"some other key");
    let foreign = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
    assert_eq!(app.me(&foreign).await.0, StatusCode::UNAUTHORIZED);

    let mut expired = claims.clone();
    expired["exp"] = json!(Utc::now().timestamp() - 3600);
    let secret = std::fs::read_to_string(app.data_dir().join("secrets/JWT_SECRET")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_secret(secret.trim().as_bytes());
    let stale = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &expired, &key).unwrap();
    assert_eq!(app.me(&stale).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me("garbage").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_fourth_login_ends_the_oldest_session() {
    let app = kim_registered().await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(app.token("kim@clinic.kr").await);
        app.manual_clock().advance(Duration::seconds(1));
    }
    assert_eq!(app.me(&tokens[0]).await.0, StatusCode::UNAUTHORIZED);
    for token in &tokens[1..] {
        assert_eq!(app.me(token).await.0, StatusCode::OK);
    }
    let (_, sessions) = app.call_as(&tokens[3], "GET", "/auth/sessions", None).await;
    let sessions = sessions["data"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
}

#[tokio::test]
async fn a_password_change_ends_every_session_at_once() {
    let app = kim_registered().await;
    let (this, other) = (
        app.token("kim@clinic.kr").await,
        app.token("kim@clinic.kr").await,
    );
    let (status, body) = app.change_password(&this, "wrong-one1", "newpass456").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    let (status, body) = app.change_password(&this, "password123", "weak").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "WEAK_PASSWORD");
    let (status, body) = app
        .change_password(&this, "password123", "newpass456")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["sessionsEnded"], 2);
    assert_eq!(app.me(&other).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&this).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        kim_logs_in(&app, "password123").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(kim_logs_in(&app, "newpass456").await, StatusCode::OK);
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes_and_unknown_emails_answer_alike() {
    let app = kim_registered().await;
    for email in ["kim@clinic.kr", "nobody@clinic.kr"] {
        for _ in 0..5 {
            let (status, body) = app.login(email, "wrong-password1").await;
            assert_eq!(
                (status, code(&body)),
                (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
                "{email}"
            );
        }
        let (status, body) = app.login(email, "password123").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::LOCKED, "ACCOUNT_LOCKED"),
            "{email}"
        );
        assert!(body["error"]["details"]["lockedUntil"].is_string());
    }
    app.manual_clock().advance(Duration::minutes(14));
    assert_eq!(kim_logs_in(&app, "password123").await, StatusCode::LOCKED);
    app.manual_clock().advance(Duration::minutes(2));
    assert_eq!(kim_logs_in(&app, "password123").await, StatusCode::OK);
}

#[tokio::test]
async fn sessions_expire_a_day_after_the_last_request_and_activity_extends_them() {
    let app = kim_registered().await;
    let token = app.token("kim@clinic.kr").await;
    app.manual_clock().advance(Duration::hours(23));
    assert_eq!(app.me(&token).await.0, StatusCode::OK);
    app.manual_clock().advance(Duration::hours(23));
    assert_eq!(
        app.me(&token).await.0,
        StatusCode::OK,
        "activity extended it"
    );
    app.manual_clock()
        .advance(Duration::hours(24) + Duration::seconds(1));
    assert_eq!(app.me(&token).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = kim_registered().await;
    let token = app.token("kim@clinic.kr").await;
    let (status, _) = app
        .call_as(&token, "POST", "/auth/logout", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.me(&token).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_api_limits_each_user_to_100_requests_a_minute_with_retry_after() {
    let (app, kim, lee) = kim_and_lee().await;
    for _ in 0..100 {
        assert_eq!(app.me(&kim).await.0, StatusCode::OK);
    }
    let response = app.respond("GET", "/me", Some(&kim), None).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMITED");
    assert_eq!(
        app.me(&lee).await.0,
        StatusCode::OK,
        "another user has their own budget"
    );
    app.manual_clock()
        .advance(Duration::seconds(retry_after as i64));
    assert_eq!(app.me(&kim).await.0, StatusCode::OK);
}

#[tokio::test]
async fn auth_endpoints_are_limited_per_client_ip() {
    let app = spawn().await;
    for _ in 0..30 {
        assert_eq!(
            app.login("nobody@clinic.kr", "whatever1").await.0.as_u16() / 100,
            4
        );
    }
    let credentials = json!({ "email": "x@y.kr", "password": "whatever1" });
    let response = app
        .respond("POST", "/auth/login", None, Some(credentials))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn one_account_cannot_see_or_end_another_accounts_sessions() {
    let (app, kim, lee) = kim_and_lee().await;
    let (_, kim_sessions) = app.call_as(&kim, "GET", "/auth/sessions", None).await;
    let kim_session = kim_sessions["data"][0]["id"].as_str().unwrap().to_owned();
    let (_, lee_sessions) = app.call_as(&lee, "GET", "/auth/sessions", None).await;
    assert!(!lee_sessions.to_string().contains(&kim_session));

    let session = format!("/auth/sessions/{kim_session}");
    assert_eq!(
        app.delete(&session, &lee).await,
        StatusCode::NOT_FOUND,
        "never 403: the resource does not exist for lee"
    );
    assert_eq!(app.me(&kim).await.0, StatusCode::OK);

    assert_eq!(app.delete(&session, &kim).await, StatusCode::NO_CONTENT);
    assert_eq!(app.me(&kim).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = app.call_as(&lee, "GET", "/nothing-here", None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
}

fn base64_url_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

#[tokio::test]
async fn logout_works_even_when_the_account_is_rate_limited() {
    let app = spawn_app().await;
    let mut limited = false;
    for _ in 0..200 {
        let (status, _) = app.call("GET", "/me", None).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "the per-user limit applies");
    let (status, body) = app.call("POST", "/auth/logout", None).await;
    assert!(status.is_success(), "{status}: {body}");
    // The session is gone: the token no longer signs in (401, not 429).
    let (status, _) = app.call("GET", "/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
