//! The live status stream (`GET /api/v1/campaigns/{id}/status`, Server-Sent Events): snapshot,
//! resume with `Last-Event-ID`, many subscribers, a slow subscriber.
//!
//! Calls are driven with domain commands on the Call aggregate (what the Twilio webhooks will
//! send); the app's own dialer dials them, drained by the test between its moves.

use callbot_tests::fixtures::{script, seoul};
use callbot_tests::sse::{Frame, Subscriber};
use callbot_tests::{AppOptions, TestApp, spawn_app_with};
use commands::{Clock, CommandContext};
use domain::call::{AttemptEnd, CallCommand, CallResult};
use projections::call_list::CallList;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Rounds of dialing and answering a campaign may take (one call a round at least).
const MAX_ROUNDS: usize = 100;

/// The app at 10:00 in Seoul (inside the default call window, so its dialer dials) with a draft
/// campaign of `count` contacts and no retries, so a missed call is final at once: the app and
/// the campaign id.
async fn spawn_with_campaign(count: usize) -> (TestApp, String) {
    let app = spawn_app_with(
        AppOptions::default()
            .manual_clock(seoul(10, 0))
            .manual_workers(),
    )
    .await;
    let content = script(
        "안녕하세요, {businessName}입니다.",
        "예약 확인",
        "{customerName}님, 예약 확인 부탁드립니다.",
        &["businessName", "customerName"],
    );
    let script = app.save_script(content).await;
    let contacts: Vec<Value> = (0..count)
        .map(|i| json!({ "phoneNumber": format!("010-7{:03}-{:04}", i / 1000, i % 10000), "name": format!("고객{i}") }))
        .collect();
    let body = json!({
        "name": "예약 확인",
        "scriptId": script,
        "contacts": contacts,
        "settings": { "retry": { "maxRetries": 0, "intervalsSeconds": [60] } }
    });
    let campaign = app.create_campaign_ok(body).await;
    (app, campaign)
}

/// A subscriber to `campaign` that has read its first frame: the subscriber and that frame.
async fn subscribed(app: &TestApp, campaign: &str) -> (Subscriber, Frame) {
    let mut subscriber = app.subscribe(campaign, None).await;
    let first = subscriber.next().await.expect("a first frame");
    (subscriber, first)
}

/// A campaign of `count` contacts run to completed, with its post-call work done: the app and
/// the campaign id.
async fn completed_campaign(count: usize) -> (TestApp, String) {
    let (app, campaign) = spawn_with_campaign(count).await;
    let mut stream = app.subscribe(&campaign, None).await;
    app.start_campaign_ok(&campaign).await;
    drive_to_completion(&app, &campaign).await;
    stream.until_completed().await;
    app.drain_workers().await;
    (app, campaign)
}

async fn call_command(app: &TestApp, call: &str, command: CallCommand) {
    app.state
        .calls
        .execute(call, command, &CommandContext::new("twilio"))
        .await
        .unwrap();
}

/// Answers every call the dialer places (every third one goes unanswered instead) until
/// every call is final: drains the workers (the dialer dials, the consumer places, the relay
/// publishes), answers or misses what is ringing, and again.
async fn drive_to_completion(app: &TestApp, campaign: &str) {
    let pool = app.state.store.db().pool().clone();
    for _ in 0..MAX_ROUNDS {
        app.drain_workers().await;
        let rows = CallList::for_campaign(&pool, campaign).await.unwrap();
        if rows.iter().all(|row| row.is_final()) {
            return;
        }
        let at = app.manual_clock().now();
        for row in rows.iter().filter(|row| row.status.as_str() == "CALLING") {
            if row.seq % 3 == 0 {
                let end = CallCommand::RecordAttemptEnded {
                    end: AttemptEnd::NoAnswer,
                    duration_secs: 0,
                    at,
                };
                call_command(app, &row.id, end).await;
                continue;
            }
            call_command(app, &row.id, CallCommand::RecordAnswered { at }).await;
            let outcome = CallCommand::ReportOutcome {
                result: CallResult::Success,
                note: None,
                proposed_time: None,
                at,
            };
            call_command(app, &row.id, outcome).await;
            let end = CallCommand::RecordAttemptEnded {
                end: AttemptEnd::Completed,
                duration_secs: 45,
                at,
            };
            call_command(app, &row.id, end).await;
        }
    }
    panic!("the campaign's calls were not all final after {MAX_ROUNDS} rounds");
}

#[tokio::test]
async fn a_new_subscriber_gets_a_status_snapshot_that_matches_the_campaign_read_model() {
    let (app, campaign) = spawn_with_campaign(3).await;
    let (_stream, first) = subscribed(&app, &campaign).await;
    assert_eq!(first.event, "status");
    assert_eq!(first.data["campaignId"], campaign.as_str());
    assert_eq!(first.data["status"], "DRAFT");
    let (_, read) = app.get_campaign(&campaign).await;
    assert_eq!(first.data["progress"], read["data"]["progress"]);
    assert_eq!(first.data["progress"]["total"], 3);
    assert_eq!(first.data["progress"]["pending"], 3);
    // The snapshot's id is the campaign's last event (created, then contacts added).
    let history = app.state.store.read_aggregate(&campaign).await.unwrap();
    assert_eq!(first.id, history.last().unwrap().position);
}

#[tokio::test]
async fn the_stream_follows_a_campaign_to_completed_with_the_prd_shapes() {
    let (app, campaign) = spawn_with_campaign(6).await;
    let (mut stream, snapshot) = subscribed(&app, &campaign).await;
    app.start_campaign_ok(&campaign).await;
    drive_to_completion(&app, &campaign).await;
    let frames = stream.until_completed().await;

    let ids: Vec<i64> = frames.iter().map(|f| f.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] <= w[1]),
        "ids never go back: {ids:?}"
    );
    assert!(ids[0] > snapshot.id);
    let running = frames
        .iter()
        .find(|f| f.event == "status" && f.data["status"] == "RUNNING")
        .expect("a status frame when the campaign starts");
    assert_eq!(running.data["progress"]["total"], 6);
    let updates: Vec<&Frame> = frames.iter().filter(|f| f.event == "call_update").collect();
    let done: Vec<&&Frame> = updates
        .iter()
        .filter(|f| f.data["status"] == "COMPLETED")
        .collect();
    assert_eq!(done.len(), 4, "seq 1, 2, 4, 5 answered");
    for frame in &done {
        assert_eq!(frame.data["result"], "SUCCESS");
        assert_eq!(frame.data["duration"], 45);
        assert_eq!(frame.data["attempts"], 1);
    }
    assert_eq!(
        updates
            .iter()
            .filter(|f| f.data["status"] == "NO_ANSWER")
            .count(),
        2
    );
    assert!(updates.iter().any(|f| f.data["status"] == "IN_PROGRESS"));
    let completed = frames.last().unwrap();
    assert_eq!(completed.event, "completed");
    assert_eq!(
        completed.data["summary"],
        json!({ "total": 6, "success": 4, "completed": 4, "failed": 0, "noAnswer": 2, "cancelled": 0 })
    );
    // Each frame's id is the position of a real event of this campaign or one of its calls.
    for frame in &frames {
        let event = &app.state.store.read_after(frame.id - 1, 1).await.unwrap()[0];
        assert_eq!(event.position, frame.id);
        if frame.event == "call_update" {
            assert_eq!(event.aggregate_id, frame.data["callId"].as_str().unwrap());
        }
    }
    // The final status agrees with the read model.
    let (_, read) = app.get_campaign(&campaign).await;
    let last_status = frames.iter().rev().find(|f| f.event == "status").unwrap();
    assert_eq!(last_status.data["progress"], read["data"]["progress"]);
    assert_eq!(read["data"]["status"], "COMPLETED");
}

#[tokio::test]
async fn a_client_that_reconnects_with_last_event_id_gets_exactly_the_missed_frames() {
    let (app, campaign) = spawn_with_campaign(9).await;
    let (mut watcher, _) = subscribed(&app, &campaign).await;
    let (mut leaver, _) = subscribed(&app, &campaign).await;
    app.start_campaign_ok(&campaign).await;
    let driving = async { drive_to_completion(&app, &campaign).await };
    // The leaver reads until the first call is done (a group ends with its status frame), then
    // drops the connection mid-campaign.
    let leaving = async {
        let mut seen = Vec::new();
        loop {
            let frame = leaver.next().await.unwrap();
            let done = frame.event == "status" && frame.data["progress"]["completed"] == 1;
            seen.push(frame);
            if done {
                return seen;
            }
        }
    };
    let ((), seen) = tokio::join!(driving, leaving);
    drop(leaver);
    let everything = watcher.until_completed().await;
    let last = seen.last().unwrap().id;

    let mut resumed = app.subscribe(&campaign, Some(last)).await;
    let missed = resumed.until_completed().await;
    assert_eq!(
        [seen.clone(), missed.clone()].concat(),
        everything,
        "no gaps, no repeats"
    );
    assert!(!missed.is_empty() && missed.iter().all(|f| f.id > last));

    // Resuming just before the end replays to `completed`.
    let end = everything.last().unwrap().id;
    let before_end = everything.iter().rev().find(|f| f.id < end).unwrap().id;
    let mut late = app.subscribe(&campaign, Some(before_end)).await;
    let tail = late.until_completed().await;
    let expected: Vec<Frame> = everything
        .iter()
        .filter(|f| f.id > before_end)
        .cloned()
        .collect();
    assert_eq!(tail, expected);
}

#[tokio::test]
async fn fifty_subscribers_all_see_the_same_frames_through_completed() {
    let (app, campaign) = spawn_with_campaign(10).await;
    let mut subscribers = Vec::new();
    for _ in 0..50 {
        let mut subscriber = app.subscribe(&campaign, None).await;
        assert_eq!(subscriber.next().await.unwrap().event, "status");
        subscribers.push(subscriber);
    }
    app.start_campaign_ok(&campaign).await;
    let readers: Vec<_> = subscribers
        .into_iter()
        .map(|mut s| tokio::spawn(async move { s.until_completed().await }))
        .collect();
    drive_to_completion(&app, &campaign).await;
    let mut all = Vec::new();
    for reader in readers {
        all.push(reader.await.unwrap());
    }
    assert_eq!(all.len(), 50);
    for frames in &all {
        assert_eq!(frames.last().unwrap().event, "completed");
        assert_eq!(frames, &all[0]);
    }
}

#[tokio::test]
async fn a_subscriber_that_does_not_read_delays_nobody_and_still_gets_everything() {
    let (app, campaign) = spawn_with_campaign(40).await;
    // Connected, then never read until the end.
    let mut slow = app.subscribe(&campaign, None).await;
    let (mut fast, _) = subscribed(&app, &campaign).await;
    app.start_campaign_ok(&campaign).await;
    let reader = tokio::spawn(async move { fast.until_completed().await });
    drive_to_completion(&app, &campaign).await;
    let fast_frames = reader.await.unwrap();
    // The campaign ran to the end and the fast subscriber saw all of it while the slow one had
    // read nothing at all.
    assert_eq!(fast_frames.last().unwrap().event, "completed");
    let snapshot = slow.next().await.unwrap();
    assert_eq!(snapshot.event, "status");
    assert_eq!(slow.until_completed().await, fast_frames);
}

#[tokio::test]
async fn another_account_cannot_subscribe_and_a_bad_last_event_id_is_refused() {
    let (app, campaign) = spawn_with_campaign(1).await;
    let (stranger, _) = app.sign_up("other@clinic.kr").await;
    let response = app.subscribe_as(&stranger, &campaign, None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.subscribe_as("", &campaign, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app
        .client
        .get(format!("{}/campaigns/{campaign}/status", app.base))
        .bearer_auth(&app.token)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn replay_rebuilds_identical_read_models_after_a_campaign_and_spots_a_drifted_row() {
    // The post-call worker (summaries, costs) goes on after `completed`; once it and the
    // projections are done, the rebuilt tables equal the live ones.
    let (app, campaign) = completed_campaign(8).await;
    let diffs = app.replay_differences().await;
    assert_eq!(diffs, vec![], "rebuilt tables equal the live ones");
    callbot::maintenance::replay(&app.database_url())
        .await
        .unwrap();

    // A read-model row changed behind the projection's back is reported, with the table.
    sqlx::query("UPDATE call_list SET status = 'FAILED' WHERE campaign_id = $1 AND seq = 2")
        .bind(&campaign)
        .execute(app.state.store.db().pool())
        .await
        .unwrap();
    let diffs = app.replay_differences().await;
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0].table, "call_list");
    assert!(diffs[0].examples[0].contains("status=FAILED"), "{diffs:?}");
    assert!(
        callbot::maintenance::replay(&app.database_url())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_audit_view_pages_a_campaigns_and_its_calls_events_in_order() {
    let (app, campaign) = completed_campaign(3).await;

    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let query = format!("?after={after}&limit=4");
        let (status, body) = app.campaign_events(&app.token, &campaign, &query).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page = body["data"]["events"].as_array().unwrap().clone();
        assert!(page.len() <= 4);
        all.extend(page);
        match body["data"]["nextAfter"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    let positions: Vec<i64> = all
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Exactly the campaign's and its calls' events: compare with the store.
    let rows = CallList::for_campaign(app.state.store.db().pool(), &campaign)
        .await
        .unwrap();
    let mut expected: Vec<i64> = Vec::new();
    for id in rows.iter().map(|r| r.id.clone()).chain([campaign.clone()]) {
        let events = app.state.store.read_aggregate(&id).await.unwrap();
        expected.extend(events.iter().map(|e| e.position));
    }
    expected.sort();
    assert_eq!(positions, expected);
    let created = &all[0];
    assert_eq!(created["type"], "CampaignCreated");
    assert_eq!(created["actor"], app.account.to_string());
    assert!(created["recordedAt"].is_string() && created["eventId"].is_string());
    let answered = all.iter().find(|e| e["type"] == "CallAnswered").unwrap();
    assert_eq!(answered["actor"], "twilio");
    assert_eq!(answered["aggregateType"], "call");

    let (stranger, _) = app.sign_up("auditor@elsewhere.kr").await;
    let (status, _) = app.campaign_events(&stranger, &campaign, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.campaign_events(&app.token, &campaign, "?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_stopping_server_ends_its_status_streams_and_stops() {
    let (app, campaign) = spawn_with_campaign(2).await;
    let mut stream = app.subscribe(&campaign, None).await;
    assert_eq!(stream.next().await.unwrap().event, "status");
    // Before, an open stream held the graceful stop forever.
    tokio::time::timeout(std::time::Duration::from_secs(60), app.shut_down())
        .await
        .expect("the server stopped with a client still subscribed");
    let end = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while stream.next().await.is_some() {}
    })
    .await;
    assert!(end.is_ok(), "the stream ended with the server");
}
