//! Results of calls end to end (issue #8): a sandbox campaign dialed by the real dialer through
//! the real Twilio adapter and media bridge, then the post-call worker fetching the Twilio price
//! and the ElevenLabs conversation details and summarizing through the OpenAI sandbox — nothing
//! but HTTP and WebSockets between them — on SQLite and on Postgres + NATS. Also the offline
//! summary when the model fails, `GET /usage`, and the budget caps and alert enforced from the
//! recorded costs.

use std::time::Duration;

use callbot_tests::fixtures::{clinic_script, micros, number, one_cent_daily_budget};
use callbot_tests::{AppOptions, Backend, TestApp, poll_api, spawn_app_with};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Creates and starts a campaign over `numbers` with no retries; returns its id.
async fn start_campaign(app: &TestApp, name: &str, numbers: &[u32], concurrency: u32) -> String {
    let script = app.save_script(clinic_script()).await;
    let contacts: Vec<Value> = numbers
        .iter()
        .map(|nn| json!({ "phoneNumber": number(*nn), "name": format!("고객{nn:02}"), "context": { "appointmentTime": "내일 오후 2시" } }))
        .collect();
    let body = json!({
        "name": name,
        "scriptId": script,
        "contacts": contacts,
        "settings": {
            "maxConcurrency": concurrency,
            "retry": { "maxRetries": 0, "intervalsSeconds": [1] },
            "callWindow": { "start": "00:00", "end": "24:00" }
        }
    });
    let id = app.create_campaign_ok(body).await;
    app.start_campaign_ok(&id).await;
    id
}

/// Creates a campaign and tries to start it; the start's status and body.
async fn start_campaign_expecting_refusal(app: &TestApp) -> (StatusCode, Value) {
    let contacts = json!([{ "phoneNumber": number(40), "name": "고객40" }]);
    let id = app
        .create_clinic_campaign_ok("두 번째", contacts, json!({}))
        .await;
    app.start_campaign(&id).await
}

/// The campaign's calls by their number (NN).
async fn calls_by_number(app: &TestApp, id: &str) -> Vec<(u32, Value)> {
    let (_, calls) = app.list_calls(id, "?pageSize=100").await;
    calls["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|call| {
            let phone = call["phoneNumber"].as_str().unwrap();
            let nn: u32 = phone[phone.len() - 2..].parse().unwrap();
            (nn, call.clone())
        })
        .collect()
}

/// Waits until `done` holds for the call's detail; returns the detail.
async fn wait_for_detail(app: &TestApp, call_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    poll_api("the call's results", Duration::from_secs(90), || async {
        let (status, detail) = app.get_call(call_id).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        done(&detail["data"]).then(|| detail["data"].clone())
    })
    .await
}

/// Every cost component of an answered call is in, and its summary.
fn complete(detail: &Value) -> bool {
    let costs = &detail["costBreakdown"];
    !detail["summary"].is_null()
        && micros(&costs["telephony"]) > 0
        && micros(&costs["voice"]) > 0
        && (detail["summarySource"] == "OFFLINE" || micros(&costs["llm"]) > 0)
}

callbot_tests::app_backend_tests!(answered_calls_get_transcripts_summaries_and_costs);

async fn answered_calls_get_transcripts_summaries_and_costs(backend: Backend) {
    let openai = sandbox::openai::spawn(callbot::providers::OfflineAuthor::shared()).await;
    let app = spawn_app_with(
        AppOptions::sandbox_calls()
            .backend(backend)
            .openai(&openai, "gpt-4o-mini"),
    )
    .await;
    let id = start_campaign(&app, "예약 확인", &[1, 2, 4, 5], 4).await;
    app.wait_for_campaign(&id, "COMPLETED").await;
    let calls = calls_by_number(&app, &id).await;
    assert_eq!(calls.len(), 4);
    let conversations = app.providers.elevenlabs_sandbox().unwrap().conversations();

    let mut total = 0;
    for (nn, call) in &calls {
        let call_id = call["id"].as_str().unwrap();
        if *nn == 5 {
            // Never answered: no conversation, no summary, no charge.
            let detail = wait_for_detail(&app, call_id, |_| true).await;
            assert_eq!(detail["status"], "NO_ANSWER");
            assert!(detail["summary"].is_null(), "{detail}");
            assert!(detail["transcript"].is_null(), "{detail}");
            continue;
        }
        let detail = wait_for_detail(&app, call_id, complete).await;
        // The transcript is what the provider holds for the conversation, line for line.
        let persona = format!("{nn:02}");
        let conversation = conversations
            .iter()
            .find(|c| c.persona.as_deref() == Some(persona.as_str()))
            .unwrap_or_else(|| panic!("no conversation with {persona}"));
        assert_eq!(
            detail["conversationId"],
            conversation.conversation_id.as_str()
        );
        let lines: Vec<(String, String)> = detail["transcript"]
            .as_array()
            .unwrap_or_else(|| panic!("no transcript: {detail}"))
            .iter()
            .map(|line| {
                (
                    line["role"].as_str().unwrap().to_owned(),
                    line["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(lines, conversation.transcript, "{nn:02}");
        assert!(
            matches!(
                detail["transcriptSource"].as_str(),
                Some("BRIDGE" | "PROVIDER")
            ),
            "{detail}"
        );
        // The summary came from the model, in Korean, from this transcript.
        assert_eq!(detail["summarySource"], "LLM", "{detail}");
        let summary = detail["summary"].as_str().unwrap();
        let callee_said = &conversation
            .transcript
            .iter()
            .find(|(role, _)| role == "user")
            .unwrap()
            .1;
        assert!(
            summary.contains(callee_said.trim_end_matches('.')),
            "{summary} / {callee_said}"
        );
        assert!(summary.contains("고객 응답"), "{summary}");
        // Costs: Twilio's price, the provider's cost_fiat, tokens at the default rates.
        let costs = &detail["costBreakdown"];
        assert_eq!(
            micros(&costs["telephony"]),
            13_500,
            "one started minute at $0.0135"
        );
        let seconds = conversation.transcript.len() as i64 * 3;
        assert_eq!(micros(&costs["voice"]), seconds * 1_500, "{detail}");
        assert!(micros(&costs["llm"]) > 0);
        assert_eq!(
            micros(&costs["total"]),
            micros(&costs["telephony"]) + micros(&costs["voice"]) + micros(&costs["llm"])
        );
        assert_eq!(micros(&detail["cost"]), micros(&costs["total"]));
        total += micros(&costs["total"]);
        // The agent's outcome stands, whatever the summary suggests.
        let (result, follow_up) = match nn {
            1 => ("SUCCESS", false),
            2 => ("RESCHEDULED", true),
            4 => ("CALLBACK_REQUESTED", true),
            _ => unreachable!(),
        };
        assert_eq!(detail["result"], result, "{detail}");
        assert_eq!(detail["suggestedResult"], result, "{detail}");
        assert_eq!(detail["followUpNeeded"], follow_up, "{detail}");
    }
    // The model saw each answered call's transcript once.
    let summaries: Vec<_> = openai
        .requests()
        .into_iter()
        .filter(protocols::openai::summary::is_summary_request)
        .collect();
    assert_eq!(summaries.len(), 3);

    // Usage: the same money by campaign, day and component.
    let (status, usage) = app.call("GET", "/usage", None).await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    let usage = &usage["data"];
    assert_eq!(micros(&usage["total"]["cost"]), total, "{usage}");
    assert_eq!(usage["total"]["calls"], 3, "{usage}");
    assert_eq!(usage["byCampaign"][0]["campaignId"], id.as_str());
    assert_eq!(usage["byCampaign"][0]["name"], "예약 확인");
    assert_eq!(micros(&usage["byCampaign"][0]["cost"]), total);
    let today = projections::call_results::seoul_day(Utc::now());
    assert_eq!(usage["byDay"][0]["date"], today.as_str(), "{usage}");
    assert_eq!(micros(&usage["byComponent"]["telephony"]), 3 * 13_500);
    assert!(micros(&usage["byComponent"]["voice"]) > 0);
    assert!(micros(&usage["byComponent"]["llm"]) > 0);
    assert_eq!(micros(&usage["budget"]["monthSpend"]), total);
    assert_eq!(usage["budget"]["alert"]["crossed"], false);

    // Each component was charged once per attempt, however often the worker looked.
    let head = app.wait_for_workers_finished().await;
    let events = app.state.store.read_after(0, head).await.unwrap();
    let charges = events
        .iter()
        .filter(|e| e.event_type == "AttemptCostRecorded")
        .count();
    assert_eq!(charges, 9, "three components of three answered attempts");

    // Replaying the history into fresh read models gives identical tables (ledger included).
    app.assert_replay_matches_live_tables(head).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_model_leaves_the_offline_summary_and_no_token_cost() {
    let openai = sandbox::openai::spawn(callbot::providers::OfflineAuthor::shared()).await;
    let app = spawn_app_with(AppOptions::sandbox_calls().openai(&openai, "sandbox-garbage")).await;
    let id = start_campaign(&app, "모델 오류", &[2], 1).await;
    app.wait_for_campaign(&id, "COMPLETED").await;
    let calls = calls_by_number(&app, &id).await;
    let call_id = calls[0].1["id"].as_str().unwrap().to_owned();
    let detail = wait_for_detail(&app, &call_id, complete).await;
    assert_eq!(detail["summarySource"], "OFFLINE", "{detail}");
    let summary = detail["summary"].as_str().unwrap();
    assert!(
        summary.contains("목요일 오후 3시로 바꾸고 싶어요"),
        "{summary}"
    );
    assert!(summary.contains("결과: 일정 변경 요청."), "{summary}");
    assert_eq!(detail["followUpNeeded"], true);
    assert_eq!(detail["suggestedResult"], "RESCHEDULED");
    assert_eq!(detail["result"], "RESCHEDULED");
    assert_eq!(micros(&detail["costBreakdown"]["llm"]), 0, "{detail}");
    // The model was asked (and repaired once) before the fallback.
    let asked = openai
        .requests()
        .into_iter()
        .filter(protocols::openai::summary::is_summary_request)
        .count();
    assert_eq!(asked, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recorded_costs_crossing_the_daily_cap_pause_the_campaign_and_refuse_a_start() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    app.put_settings_ok(one_cent_daily_budget()).await;
    let numbers: Vec<u32> = (21..=32).collect();
    let id = start_campaign(&app, "예산 초과", &numbers, 1).await;
    let campaign = app.wait_for_campaign(&id, "PAUSED").await;
    assert_eq!(campaign["pauseReason"], "BUDGET_EXCEEDED", "{campaign}");
    let calls = calls_by_number(&app, &id).await;
    let pending = calls
        .iter()
        .filter(|(_, c)| c["status"] == "PENDING")
        .count();
    assert!(pending > 0, "the cap stopped the campaign before its end");

    // A new start is refused while over the cap.
    let other = start_campaign_expecting_refusal(&app).await;
    assert_eq!(other.0, StatusCode::PAYMENT_REQUIRED, "{}", other.1);
    assert_eq!(
        other.1["error"]["code"], "INSUFFICIENT_CREDITS",
        "{}",
        other.1
    );

    // Usage shows the cap reached and the alert raised once.
    let usage = poll_api(
        "the budget alert in usage",
        Duration::from_secs(30),
        || async {
            let (_, usage) = app.call("GET", "/usage", None).await;
            let alerted = !usage["data"]["budget"]["alert"]["alertedAt"].is_null();
            alerted.then(|| usage["data"].clone())
        },
    )
    .await;
    assert_eq!(usage["budget"]["dailyCapReached"], true, "{usage}");
    assert_eq!(usage["budget"]["alert"]["crossed"], true, "{usage}");
    assert!(micros(&usage["budget"]["todaySpend"]) >= 10_000, "{usage}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn usage_refuses_bad_ranges_naming_the_field() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    for (query, field) in [
        ("?from=2026-13-01", "from"),
        ("?to=yesterday", "to"),
        ("?from=2026-11-02&to=2026-11-01", "from"),
        ("?from=2024-01-01&to=2026-01-01", "to"),
        ("?month=2026-11", "month"),
    ] {
        let (status, body) = app.call("GET", &format!("/usage{query}"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_INPUT", "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{query}: {body}"
        );
    }
    let (status, body) = app
        .call("GET", "/usage?from=2026-11-01&to=2026-11-30", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["from"], "2026-11-01");
    assert_eq!(body["data"]["total"]["cost"], 0.0);
    assert_eq!(body["data"]["byDay"], json!([]));
    // Signed out: refused.
    let response = reqwest::get(format!("{}/usage", app.base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
