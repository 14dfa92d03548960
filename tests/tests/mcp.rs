//! The MCP server over its streamable HTTP transport (`/mcp`), driven by the SDK's own client:
//! a sandbox campaign from script to report through the tools, answering the API's bodies.

use std::time::Duration;

use callbot_tests::{AppOptions, McpSession, poll_api, spawn_app_with};
use chrono::Timelike;
use reqwest::StatusCode;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

/// Every tool the server offers.
const TOOLS: [&str; 11] = [
    "generate_script",
    "list_scripts",
    "create_campaign",
    "start_campaign",
    "pause_campaign",
    "resume_campaign",
    "cancel_campaign",
    "campaign_status",
    "list_calls",
    "get_call",
    "create_report",
];

async fn connect(origin: &str, token: &str) -> McpSession {
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{origin}/mcp")).auth_header(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    McpSession::new(().serve(transport).await.expect("the MCP session opens"))
}

/// Values for every variable of a generated script, so no contact misses one.
fn variables_of(script: &Value) -> Value {
    let names = script["generatedScript"]["variables"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let values: serde_json::Map<String, Value> = names
        .iter()
        .filter_map(Value::as_str)
        .map(|name| name.trim_matches(|c| c == '{' || c == '}').to_owned())
        .filter(|name| name != "customerName")
        .map(|name| (name, json!("내일 오후 2시")))
        .collect();
    Value::Object(values)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assistant_runs_a_sandbox_campaign_from_script_to_report() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let mcp = connect(&app.origin, &app.token).await;

    let tools = mcp.tools().await;
    let mut names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    names.sort_unstable();
    let mut expected = TOOLS.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    let create = tools.iter().find(|t| t.name == "create_campaign").unwrap();
    let schema = serde_json::to_value(&create.input_schema).unwrap();
    assert!(schema["properties"]["contacts"].is_object(), "{schema}");

    let script = mcp
        .call_ok(
            "generate_script",
            json!({ "naturalInput": "내일 오후 2시에 예약된 고객들에게 전화해서 예약을 확인해줘." }),
        )
        .await;
    let script_id = script["scriptId"].as_str().unwrap().to_owned();
    let drafts = mcp
        .call_ok("list_scripts", json!({ "status": "draft" }))
        .await;
    assert!(
        drafts
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == script_id),
        "{drafts}"
    );

    let campaign = mcp
        .call_ok(
            "create_campaign",
            json!({
                "name": "내일 예약 확인",
                "scriptId": script_id,
                "contacts": [
                    { "phoneNumber": "010-5550-0101", "name": "김철수" },
                    { "phoneNumber": "010-5550-0102", "name": "이영희" }
                ],
                "variables": variables_of(&script),
                "settings": { "callWindow": { "start": "00:00", "end": "24:00" } }
            }),
        )
        .await;
    let campaign_id = campaign["id"].as_str().unwrap().to_owned();
    let target = json!({ "campaignId": campaign_id });
    mcp.call_ok("start_campaign", target.clone()).await;
    let done = poll_api(
        "the campaign to complete, seen through campaign_status",
        Duration::from_secs(120),
        || async {
            let status = mcp.call_ok("campaign_status", target.clone()).await;
            (status["status"] == "COMPLETED").then_some(status)
        },
    )
    .await;
    assert_eq!(done["progress"]["total"], 2, "{done}");

    let calls = mcp
        .call_ok(
            "list_calls",
            json!({ "campaignId": campaign_id, "pageSize": 10 }),
        )
        .await;
    let items = calls["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{calls}");
    let call_id = items[0]["id"].as_str().unwrap();
    let call = poll_api("the call's summary", Duration::from_secs(60), || async {
        let call = mcp.call_ok("get_call", json!({ "callId": call_id })).await;
        call["summary"].is_string().then_some(call)
    })
    .await;
    assert!(
        call["transcript"].as_array().is_some_and(|t| !t.is_empty()),
        "{call}"
    );

    let report = mcp
        .call_ok(
            "create_report",
            json!({ "campaignId": campaign_id, "format": "csv", "includeTranscripts": true }),
        )
        .await;
    let link = report["downloadUrl"].as_str().unwrap();
    let file = app.fetch_link(link, None).await;
    assert_eq!(file.status(), StatusCode::OK);
    let csv = file.text().await.unwrap();
    assert!(csv.contains("김철수") && csv.contains("이영희"), "{csv}");

    // Errors are the API's: codes and bodies.
    mcp.call_failing("start_campaign", target.clone(), "INVALID_STATE")
        .await;
    let missing = json!({ "campaignId": "not-a-campaign" });
    mcp.call_failing("campaign_status", missing, "NOT_FOUND")
        .await;
    let docx = json!({ "campaignId": campaign_id, "format": "docx" });
    mcp.call_failing("create_report", docx, "INVALID_INPUT")
        .await;
    let unknown = json!({ "status": "saved", "colour": "red" });
    mcp.call_failing("list_scripts", unknown, "INVALID_INPUT")
        .await;

    // Pause, resume and cancel on a campaign whose call window is not open now.
    let closed_hour = (chrono::Utc::now().hour() + 9 + 12) % 24;
    let waiting = mcp
        .call_ok(
            "create_campaign",
            json!({
                "name": "창 밖 캠페인",
                "scriptId": script_id,
                "contacts": [{ "phoneNumber": "010-5550-0103", "name": "박민수" }],
                "variables": variables_of(&script),
                "settings": { "callWindow": {
                    "start": format!("{closed_hour:02}:00"),
                    "end": format!("{closed_hour:02}:30")
                } }
            }),
        )
        .await;
    let waiting = json!({ "campaignId": waiting["id"] });
    mcp.call_ok("start_campaign", waiting.clone()).await;
    assert_eq!(
        mcp.call_ok("pause_campaign", waiting.clone()).await["status"],
        "PAUSED"
    );
    assert_eq!(
        mcp.call_ok("resume_campaign", waiting.clone()).await["status"],
        "RUNNING"
    );
    mcp.call_ok("cancel_campaign", waiting.clone()).await;
    let status = mcp.call_ok("campaign_status", waiting.clone()).await;
    assert_eq!(status["status"], "CANCELLED", "{status}");

    let transcript = mcp.transcript();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-session.json");
    std::fs::write(&path, serde_json::to_string_pretty(&transcript).unwrap()).unwrap();
    mcp.close().await;
}

#[tokio::test]
async fn mcp_needs_the_api_bearer_token() {
    let app = spawn_app_with(AppOptions::default()).await;
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": { "name": "t", "version": "1" } }
    });
    let url = format!("{}/mcp", app.origin);
    let handshake = || app.client.post(&url).json(&initialize);
    let unsigned = handshake().send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    // The session cookie alone is not enough (another site could make a browser send it).
    let cookie = format!("callbot_session={}", app.token);
    let by_cookie = handshake().header("cookie", cookie).send().await.unwrap();
    assert_eq!(by_cookie.status(), StatusCode::UNAUTHORIZED);
    let forged = handshake().bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // With the token, the handshake is answered.
    let signed = handshake()
        .bearer_auth(&app.token)
        .header("accept", "application/json, text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::OK);
}
