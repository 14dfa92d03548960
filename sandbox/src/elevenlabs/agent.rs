//! The sandbox's `GET /v1/convai/agents/{agent_id}` (`xi-api-key`): the agent's configuration as
//! ElevenLabs answers it, the parts `callbot doctor` reads. By default it is set up as Auto
//! CallBot needs (µ-law 8000 in and out, the three client tools); tests can misconfigure it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AGENT_ID, Shared, bad_key, detail, key_ok};

/// The client tools Auto CallBot's agent calls.
pub const CLIENT_TOOLS: [&str; 3] = ["report_outcome", "opt_out", "revoke_recording_consent"];

/// How the sandbox agent is set up.
#[derive(Debug, Clone)]
pub(super) struct AgentSetup {
    input_format: String,
    output_format: String,
    client_tools: Vec<String>,
}

impl Default for AgentSetup {
    fn default() -> Self {
        Self {
            input_format: "ulaw_8000".to_owned(),
            output_format: "ulaw_8000".to_owned(),
            client_tools: CLIENT_TOOLS.map(String::from).to_vec(),
        }
    }
}

impl super::ElevenLabsSandbox {
    /// Sets the agent's audio formats (`asr.user_input_audio_format`,
    /// `tts.agent_output_audio_format`; default `ulaw_8000` both).
    pub fn set_agent_audio_formats(&self, input: &str, output: &str) {
        let mut agent = self.shared.agent.lock().expect("sandbox lock");
        agent.input_format = input.to_owned();
        agent.output_format = output.to_owned();
    }

    /// Sets the agent's client tools (default [`CLIENT_TOOLS`]).
    pub fn set_agent_client_tools(&self, tools: &[&str]) {
        self.shared.agent.lock().expect("sandbox lock").client_tools =
            tools.iter().map(|t| (*t).to_owned()).collect();
    }
}

pub(super) async fn agent(
    State(shared): State<Arc<Shared>>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !key_ok(&shared, &headers) {
        return bad_key();
    }
    if agent_id != AGENT_ID {
        return detail(StatusCode::NOT_FOUND, "Agent not found");
    }
    let setup = shared.agent.lock().expect("sandbox lock").clone();
    let tools: Vec<_> = setup
        .client_tools
        .iter()
        .map(|name| {
            json!({
                "type": "client", "name": name, "description": name,
                "expects_response": false, "response_timeout_secs": 20,
                "parameters": { "type": "object", "properties": {} }
            })
        })
        .collect();
    axum::Json(json!({
        "agent_id": AGENT_ID,
        "name": "Auto CallBot sandbox agent",
        "conversation_config": {
            "asr": { "user_input_audio_format": setup.input_format, "provider": "elevenlabs" },
            "tts": { "agent_output_audio_format": setup.output_format, "model_id": "eleven_flash_v2_5" },
            "agent": { "first_message": "", "language": "ko", "prompt": { "prompt": "", "tools": tools } }
        },
        "metadata": { "created_at_unix_secs": 0 }
    }))
    .into_response()
}
