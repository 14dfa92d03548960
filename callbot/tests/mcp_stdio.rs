//! `callbot mcp`: the binary serves one account's MCP tools on stdin and stdout.

mod common;

use callbot_tests::fixtures::clinic_script;
use callbot_tests::{McpSession, spawn_app};
use common::callbot;
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbot_mcp_serves_the_tools_of_its_token_on_stdio() {
    let app = spawn_app().await;
    let script = app.save_script(clinic_script()).await;
    let mut command = callbot();
    command
        .arg("mcp")
        .arg("--data-dir")
        .arg(app.data_dir())
        .env("CALLBOT_TOKEN", &app.token)
        .env("RUST_LOG", "warn");
    let transport =
        TokioChildProcess::new(tokio::process::Command::from(command)).expect("callbot mcp starts");
    let mcp = McpSession::new(().serve(transport).await.expect("the handshake"));

    let tools = mcp.tools().await;
    assert_eq!(tools.len(), 11);
    assert!(tools.iter().any(|tool| tool.name == "create_campaign"));
    let scripts = mcp.call_ok("list_scripts", json!({})).await;
    let ids: Vec<&str> = scripts
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids, [script.to_string()]);
    let (failed, missing) = mcp
        .call("get_call", json!({ "callId": "no-such-call" }))
        .await;
    assert!(failed);
    assert_eq!(missing["error"]["code"], "NOT_FOUND");
    mcp.close().await;
}

#[test]
fn callbot_mcp_refuses_a_token_that_names_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let output = callbot()
        .arg("mcp")
        .arg("--data-dir")
        .arg(dir.path())
        .env("CALLBOT_TOKEN", "not-a-token")
        .env("RUST_LOG", "off")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CALLBOT_TOKEN is refused"), "{stderr}");
    assert!(stderr.contains("UNAUTHORIZED"), "{stderr}");
    assert!(output.stdout.is_empty(), "stdout is the protocol's alone");
}
