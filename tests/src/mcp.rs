//! An MCP client for the tests (the SDK's own, `rmcp`), that keeps every request and answer
//! as a session transcript.

use std::sync::Mutex;

use rmcp::model::{CallToolRequestParams, Tool};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};

/// A connected client and what was said so far.
pub struct McpSession {
    client: RunningService<RoleClient, ()>,
    transcript: Mutex<Vec<Value>>,
}

impl McpSession {
    /// A session over a connected client.
    pub fn new(client: RunningService<RoleClient, ()>) -> Self {
        Self {
            client,
            transcript: Mutex::default(),
        }
    }

    /// `tools/list`, every page.
    pub async fn tools(&self) -> Vec<Tool> {
        let tools = self.client.list_all_tools().await.expect("tools/list");
        let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
        self.record(json!({ "method": "tools/list" }), json!({ "tools": names }));
        tools
    }

    /// `tools/call` of `name` with `arguments`: the tool's JSON answer (the API's body) and
    /// whether the tool said it failed.
    pub async fn call(&self, name: &str, arguments: Value) -> (bool, Value) {
        let Value::Object(object) = arguments.clone() else {
            panic!("tool arguments are an object: {arguments}");
        };
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(object);
        let result = self.client.call_tool(params).await.expect("tools/call");
        let body = result
            .structured_content
            .clone()
            .expect("every tool answers structured content");
        let failed = result.is_error.unwrap_or(false);
        self.record(
            json!({ "method": "tools/call", "params": { "name": name, "arguments": arguments } }),
            json!({ "isError": failed, "structuredContent": body }),
        );
        (failed, body)
    }

    /// `tools/call` that must succeed: the answer's `data`.
    pub async fn call_ok(&self, name: &str, arguments: Value) -> Value {
        let (failed, body) = self.call(name, arguments).await;
        assert!(!failed && body["success"] == true, "{name} failed: {body}");
        body["data"].clone()
    }

    /// `tools/call` that must fail with the API's error `code`.
    pub async fn call_failing(&self, name: &str, arguments: Value, code: &str) {
        let (failed, body) = self.call(name, arguments).await;
        assert!(failed, "{name} succeeded: {body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }

    /// The transcript so far, one object per exchange.
    pub fn transcript(&self) -> Vec<Value> {
        self.transcript.lock().expect("transcript lock").clone()
    }

    /// Closes the session.
    pub async fn close(self) {
        self.client.cancel().await.expect("the session closes");
    }

    fn record(&self, request: Value, answer: Value) {
        self.transcript
            .lock()
            .expect("transcript lock")
            .push(json!({ "request": request, "answer": answer }));
    }
}
