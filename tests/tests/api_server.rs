//! The server started in-process: health, readiness and metrics.

use callbot_tests::{AppOptions, Role, free_port, spawn_app_with};

#[tokio::test]
async fn the_embedded_server_is_healthy_ready_and_reports_metrics() {
    let app = spawn_app_with(AppOptions::default().signed_out()).await;

    let health = app.get_raw("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get_raw("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"]["backend"], "sqlite");
    assert_eq!(body["bus"]["kind"], "in-process");

    let metrics = app.get_raw("/metrics").await;
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("callbot_event_store_head 0"), "{text}");
    assert!(text.contains("callbot_relay_lag_events 0"), "{text}");
    assert!(
        text.contains(
            r#"callbot_http_requests_total{method="GET",route="/readyz",status="200"} 1"#
        ),
        "{text}"
    );
    let id = health.headers()["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "a generated request id: {id}"
    );
    let traced = app
        .client
        .get(format!("{}/healthz", app.origin))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "trace-me-42");
    assert!(app.data_dir().join("callbot.db").exists());
    assert!(app.data_dir().join("secrets/JWT_SECRET").exists());

    app.shut_down().await;
}

#[tokio::test]
async fn readiness_fails_while_the_bus_is_unreachable() {
    let port = free_port();
    // Nothing listens on `port`: the client keeps trying in the background.
    let options = AppOptions::default()
        .var("NATS_URL", format!("nats://127.0.0.1:{port}"))
        .signed_out();
    let app = spawn_app_with(options).await;
    let ready = reqwest::get(format!("{}/readyz", app.origin))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["bus"]["status"], "unreachable");
    assert_eq!(body["database"]["status"], "ok");
    app.shut_down().await;
}

#[tokio::test]
async fn a_bridge_process_serves_the_media_socket_and_nothing_of_the_api() {
    let app = spawn_app_with(AppOptions::default().roles(vec![Role::Bridge]).signed_out()).await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.origin)).send();

    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    // A plain GET is no WebSocket handshake: the route is there, the upgrade is refused, and
    // the answer says why.
    let media = get("/twilio/media").await.unwrap();
    assert_eq!(media.status(), 400, "the media socket is served");
    let why = media.text().await.unwrap();
    assert!(why.starts_with("not a WebSocket handshake: "), "{why}");
    for path in ["/api/v1/me", "/readyz", "/metrics", "/openapi.json"] {
        assert_eq!(get(path).await.unwrap().status(), 404, "{path}");
    }
    app.shut_down().await;
}

#[tokio::test]
async fn answers_carry_nosniff_sign_in_answers_are_not_cached_and_docs_cannot_be_framed() {
    let app = spawn_app_with(AppOptions::default()).await;
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let health = app.get_raw("/healthz").await;
    assert_eq!(
        header(&health, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    // Sign-in answers and /me carry a token or personal data: never cached.
    let login = app
        .respond(
            "POST",
            "/auth/login",
            None,
            Some(serde_json::json!({ "email": "nobody@x.kr", "password": "password123" })),
        )
        .await;
    assert_eq!(header(&login, "cache-control").as_deref(), Some("no-store"));
    let me = app.respond("GET", "/me", Some(&app.token), None).await;
    assert_eq!(me.status(), 200);
    assert_eq!(header(&me, "cache-control").as_deref(), Some("no-store"));
    // The reference page: its own CSP and no framing.
    let docs = app.get_raw("/docs/").await;
    assert_eq!(docs.status(), 200);
    let csp = header(&docs, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert_eq!(header(&docs, "x-frame-options").as_deref(), Some("DENY"));
}
