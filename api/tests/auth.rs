//! Accounts and the security policies, through the HTTP API.

use std::sync::Arc;

use callbot::{Application, Config, Role};
use chrono::{Duration, Utc};
use commands::{CancellationToken, ManualClock};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct TestApp {
    base: String,
    client: reqwest::Client,
    clock: Arc<ManualClock>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl TestApp {
    async fn spawn() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::from_lookup(
            "127.0.0.1:0".parse().unwrap(),
            dir.path().to_path_buf(),
            vec![Role::All],
            |_| None,
        )
        .unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let app = Application::build_with_clock(config, clock.clone())
            .await
            .unwrap();
        let base = format!("http://127.0.0.1:{}/api/v1", app.port());
        let stop = CancellationToken::new();
        tokio::spawn(app.run_until_stopped(stop.clone()));
        Self {
            base,
            client: reqwest::Client::new(),
            clock,
            stop,
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn register(&self, email: &str) {
        let (status, body) = self
            .post(
                "/auth/register",
                None,
                json!({ "email": email, "password": "password123" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            "/auth/login",
            None,
            json!({ "email": email, "password": password }),
        )
        .await
    }

    async fn token(&self, email: &str) -> String {
        let (status, body) = self.login(email, "password123").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["accessToken"].as_str().unwrap().to_owned()
    }

    async fn status_of_me(&self, token: &str) -> StatusCode {
        self.get("/me", token).await.0
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn registration_validates_and_normalizes_input() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({ "email": " Kim@Clinic.KR ", "password": "password123" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["email"], "kim@clinic.kr");
    assert!(body["meta"]["timestamp"].is_string());

    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({ "email": "kim@clinic.kr", "password": "password123" }),
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::CONFLICT, "CONFLICT"));

    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({ "email": "lee@clinic.kr", "password": "short" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "WEAK_PASSWORD")
    );
    assert_eq!(
        body["error"]["details"]["missing"],
        json!(["at least 8 characters", "a digit"])
    );

    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({ "email": "not-an-email", "password": "password123" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "INVALID_INPUT")
    );

    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({ "email": "a@b.kr", "password": "password123", "admin": true }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "INVALID_INPUT")
    );
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
    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({ "email": huge, "password": "password123" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );
}

#[tokio::test]
async fn login_gives_a_bearer_token_and_an_http_only_cookie_for_the_same_session() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    let response = app
        .client
        .post(format!("{}/auth/login", app.base))
        .json(&json!({ "email": "KIM@clinic.kr", "password": "password123" }))
        .send()
        .await
        .unwrap();
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

    let (status, me) = app.get("/me", token).await;
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

    let no_token = app
        .client
        .get(format!("{}/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    let body: Value = no_token.json().await.unwrap();
    assert_eq!(code(&body), "UNAUTHORIZED");
}

#[tokio::test]
async fn tampered_expired_foreign_and_unsigned_tokens_are_refused() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    let token = app.token("kim@clinic.kr").await;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let claims: Value = serde_json::from_slice(&base64_url_decode(&parts[1])).unwrap();

    let mut tampered = claims.clone();
    tampered["sub"] = json!(uuid::Uuid::new_v4().to_string());
    parts[1] = base64_url_encode(&serde_json::to_vec(&tampered).unwrap());
    assert_eq!(
        app.status_of_me(&parts.join(".")).await,
        StatusCode::UNAUTHORIZED
    );

    let unsigned = format!(
        "{}.{}.",
        base64_url_encode(br#"{"alg":"none","typ":"JWT"}"#),
        base64_url_encode(&serde_json::to_vec(&claims).unwrap())
    );
    assert_eq!(app.status_of_me(&unsigned).await, StatusCode::UNAUTHORIZED);

    let key = jsonwebtoken::EncodingKey::from_secret(b"some other key");
    let foreign = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
    assert_eq!(app.status_of_me(&foreign).await, StatusCode::UNAUTHORIZED);

    let mut expired = claims.clone();
    expired["exp"] = json!(Utc::now().timestamp() - 3600);
    let secret = std::fs::read_to_string(app._dir.path().join("secrets/JWT_SECRET")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_secret(secret.trim().as_bytes());
    let stale = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &expired, &key).unwrap();
    assert_eq!(app.status_of_me(&stale).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.status_of_me("garbage").await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.status_of_me(&token).await, StatusCode::OK);
}

#[tokio::test]
async fn a_fourth_login_ends_the_oldest_session() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(app.token("kim@clinic.kr").await);
        app.clock.advance(Duration::seconds(1));
    }
    assert_eq!(app.status_of_me(&tokens[0]).await, StatusCode::UNAUTHORIZED);
    for token in &tokens[1..] {
        assert_eq!(app.status_of_me(token).await, StatusCode::OK);
    }
    let (_, sessions) = app.get("/auth/sessions", &tokens[3]).await;
    let sessions = sessions["data"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
}

#[tokio::test]
async fn a_password_change_ends_every_session_at_once() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    let (this, other) = (
        app.token("kim@clinic.kr").await,
        app.token("kim@clinic.kr").await,
    );
    let (status, body) = app
        .post(
            "/auth/password",
            Some(&this),
            json!({ "currentPassword": "wrong-one1", "newPassword": "newpass456" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "INVALID_INPUT")
    );
    let (status, body) = app
        .post(
            "/auth/password",
            Some(&this),
            json!({ "currentPassword": "password123", "newPassword": "weak" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "WEAK_PASSWORD")
    );
    let (status, body) = app
        .post(
            "/auth/password",
            Some(&this),
            json!({ "currentPassword": "password123", "newPassword": "newpass456" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["sessionsEnded"], 2);
    assert_eq!(app.status_of_me(&other).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.status_of_me(&this).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login("kim@clinic.kr", "password123").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("kim@clinic.kr", "newpass456").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes_and_unknown_emails_answer_alike() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
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
    app.clock.advance(Duration::minutes(14));
    assert_eq!(
        app.login("kim@clinic.kr", "password123").await.0,
        StatusCode::LOCKED
    );
    app.clock.advance(Duration::minutes(2));
    assert_eq!(
        app.login("kim@clinic.kr", "password123").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn sessions_expire_a_day_after_the_last_request_and_activity_extends_them() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    let token = app.token("kim@clinic.kr").await;
    app.clock.advance(Duration::hours(23));
    assert_eq!(app.status_of_me(&token).await, StatusCode::OK);
    app.clock.advance(Duration::hours(23));
    assert_eq!(
        app.status_of_me(&token).await,
        StatusCode::OK,
        "activity extended it"
    );
    app.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    assert_eq!(app.status_of_me(&token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    let token = app.token("kim@clinic.kr").await;
    let (status, _) = app.post("/auth/logout", Some(&token), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(app.status_of_me(&token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_api_limits_each_user_to_100_requests_a_minute_with_retry_after() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    app.register("lee@clinic.kr").await;
    let (kim, lee) = (
        app.token("kim@clinic.kr").await,
        app.token("lee@clinic.kr").await,
    );
    for _ in 0..100 {
        assert_eq!(app.status_of_me(&kim).await, StatusCode::OK);
    }
    let response = app
        .client
        .get(format!("{}/me", app.base))
        .bearer_auth(&kim)
        .send()
        .await
        .unwrap();
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
        app.status_of_me(&lee).await,
        StatusCode::OK,
        "another user has their own budget"
    );
    app.clock.advance(Duration::seconds(retry_after as i64));
    assert_eq!(app.status_of_me(&kim).await, StatusCode::OK);
}

#[tokio::test]
async fn auth_endpoints_are_limited_per_client_ip() {
    let app = TestApp::spawn().await;
    for _ in 0..30 {
        assert_eq!(
            app.login("nobody@clinic.kr", "whatever1").await.0.as_u16() / 100,
            4
        );
    }
    let response = app
        .client
        .post(format!("{}/auth/login", app.base))
        .json(&json!({ "email": "x@y.kr", "password": "whatever1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn one_account_cannot_see_or_end_another_accounts_sessions() {
    let app = TestApp::spawn().await;
    app.register("kim@clinic.kr").await;
    app.register("lee@clinic.kr").await;
    let (kim, lee) = (
        app.token("kim@clinic.kr").await,
        app.token("lee@clinic.kr").await,
    );
    let (_, kim_sessions) = app.get("/auth/sessions", &kim).await;
    let kim_session = kim_sessions["data"][0]["id"].as_str().unwrap().to_owned();
    let (_, lee_sessions) = app.get("/auth/sessions", &lee).await;
    assert!(!lee_sessions.to_string().contains(&kim_session));

    let response = app
        .client
        .delete(format!("{}/auth/sessions/{kim_session}", app.base))
        .bearer_auth(&lee)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "never 403: the resource does not exist for lee"
    );
    assert_eq!(app.status_of_me(&kim).await, StatusCode::OK);

    let own = app
        .client
        .delete(format!("{}/auth/sessions/{kim_session}", app.base))
        .bearer_auth(&kim)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.status_of_me(&kim).await, StatusCode::UNAUTHORIZED);
    let (status, body) = app.get("/nothing-here", &lee).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
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
