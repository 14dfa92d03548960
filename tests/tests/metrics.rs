//! `/metrics`: the latency histograms, read back as numbers.
//!
//! The apps of this binary share the process's one recorder, so every assertion compares with a
//! scrape taken before the action (or asks for at least one observation), never an exact count.

use callbot_tests::fixtures::number;
use callbot_tests::{AppOptions, spawn_app, spawn_app_with};
use serde_json::json;

const HTTP: &str = "callbot_http_request_duration_seconds";

#[tokio::test]
async fn http_requests_are_timed_by_method_route_template_and_status() {
    let app = spawn_app().await;
    let campaign = uuid::Uuid::new_v4().to_string();
    let me = [
        ("method", "GET"),
        ("route", "/api/v1/me"),
        ("status", "200"),
    ];
    let one = [
        ("method", "GET"),
        ("route", "/api/v1/campaigns/{id}"),
        ("status", "404"),
    ];
    let unmatched = [("route", "unmatched"), ("status", "404")];
    let before = app.scrape().await;

    let (status, _) = app.call("GET", "/me", None).await;
    assert_eq!(status, 200);
    let (status, _) = app.get_campaign(&campaign).await;
    assert_eq!(status, 404);
    assert_eq!(app.get_raw("/no/such/page").await.status(), 404);
    let after = app.scrape().await;

    for labels in [&me[..], &one, &unmatched] {
        let count = after.histogram_count(HTTP, labels);
        assert!(
            count >= before.histogram_count(HTTP, labels) + 1.0,
            "{labels:?}: {}",
            after.text
        );
        // Every observation is under the +Inf bucket, and the buckets only grow.
        let buckets: Vec<f64> = after
            .matching(&format!("{HTTP}_bucket"), labels)
            .map(|s| s.value)
            .collect();
        assert!(buckets.len() > 1, "{labels:?} has buckets: {}", after.text);
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        let infinite = [labels, &[("le", "+Inf")]].concat();
        assert_eq!(after.sum(&format!("{HTTP}_bucket"), &infinite), count);
        assert!(after.sum(&format!("{HTTP}_sum"), labels) > 0.0);
    }
    // The route is the template: the id in the path never becomes a label.
    assert!(!after.text.contains(&campaign), "{}", after.text);
    // The counter beside the histogram keeps its name and labels.
    assert!(
        after.sum("callbot_http_requests_total", &me)
            >= before.sum("callbot_http_requests_total", &me) + 1.0
    );
    app.shut_down().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sandbox_call_is_timed_at_placement_in_the_bridge_and_on_the_status_stream() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let contacts = json!([{ "phoneNumber": number(1), "name": "고객01" }]);
    let campaign = app
        .create_clinic_campaign_ok("metrics", contacts, json!({}))
        .await;
    let mut stream = app.subscribe(&campaign, None).await;
    // The snapshot comes after the history: from here on the stream is live.
    let snapshot = stream.next().await.expect("a snapshot");
    assert_eq!(snapshot.event, "status");
    let before = app.scrape().await;

    app.start_campaign_ok(&campaign).await;
    let frames = stream.until_completed().await;
    assert!(
        frames.iter().any(|f| f.event == "call_update"),
        "{frames:?}"
    );
    let after = app.scrape().await;

    let grew = |name: &str, labels: &[(&str, &str)]| {
        let (was, is) = (
            before.histogram_count(name, labels),
            after.histogram_count(name, labels),
        );
        assert!(is > was, "{name} {labels:?}: {was} -> {is}\n{}", after.text);
        assert!(after.sum(&format!("{name}_sum"), labels) > 0.0, "{name}");
    };
    grew("callbot_dial_placement_seconds", &[("outcome", "placed")]);
    grew(
        "callbot_bridge_frame_latency_seconds",
        &[("direction", "to_agent")],
    );
    grew(
        "callbot_bridge_frame_latency_seconds",
        &[("direction", "to_twilio")],
    );
    grew("callbot_webhook_to_sse_seconds", &[]);
    // The workers' series come from the same recorder (other apps of this binary set them
    // too, so only their presence is certain): one gauge per state, and the restarts.
    let worker = [("worker", "dial_consumer")];
    assert_eq!(
        after.matching("callbot_worker_state", &worker).count(),
        4,
        "{}",
        after.text
    );
    assert_eq!(
        after
            .matching("callbot_worker_restarts_total", &worker)
            .count(),
        1
    );
    // An open status stream would hold the graceful shutdown.
    drop(stream);
    app.shut_down().await;
}
