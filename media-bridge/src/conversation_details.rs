//! ElevenLabs conversation details (PROTOCOLS §E): `GET {base}/v1/convai/conversations/{id}`
//! with `xi-api-key`, read after the call for the provider's transcript and cost.

use std::time::Duration;

use domain::call::{Speaker, TranscriptLine};
use serde::Deserialize;

use crate::bridge::ElevenLabsConfig;

/// The parts of the details this service uses; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConversationDetails {
    pub conversation_id: String,
    /// `initiated`, `in-progress`, `processing`, `done` or `failed`.
    pub status: String,
    #[serde(default)]
    pub transcript: Vec<DetailsLine>,
    #[serde(default)]
    pub metadata: DetailsMetadata,
}

/// One turn of the provider's transcript.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DetailsLine {
    /// `agent` or `user`.
    pub role: String,
    /// Null for turns that were only tool calls.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub time_in_call_secs: Option<f64>,
}

/// `metadata` of the details.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DetailsMetadata {
    #[serde(default)]
    pub call_duration_secs: Option<f64>,
    /// Credits charged.
    #[serde(default)]
    pub cost: Option<f64>,
    /// The charge in US dollars, when the account reports it.
    #[serde(default)]
    pub cost_fiat: Option<f64>,
}

impl ConversationDetails {
    /// Whether the provider has finished with the conversation (its transcript and cost are final).
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed")
    }

    /// The transcript as lines (turns without words are left out).
    pub fn lines(&self) -> Vec<TranscriptLine> {
        self.transcript
            .iter()
            .filter_map(|line| {
                let text = line.message.as_deref()?.trim();
                if text.is_empty() {
                    return None;
                }
                let role = match line.role.as_str() {
                    "agent" => Speaker::Agent,
                    "user" => Speaker::User,
                    _ => return None,
                };
                Some(TranscriptLine {
                    role,
                    text: text.to_owned(),
                    time_in_call_secs: line
                        .time_in_call_secs
                        .filter(|secs| secs.is_finite() && *secs >= 0.0)
                        .map(|secs| secs as u32),
                })
            })
            .collect()
    }

    /// The voice cost in micro-dollars: `cost_fiat` when given, else the duration at
    /// `rate_per_minute` US dollars (per started second).
    pub fn cost_micros(&self, rate_per_minute: f64) -> i64 {
        if let Some(fiat) = self
            .metadata
            .cost_fiat
            .filter(|c| c.is_finite() && *c >= 0.0)
        {
            return (fiat * 1_000_000.0).round() as i64;
        }
        let secs = self
            .metadata
            .call_duration_secs
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(0.0)
            .ceil();
        (secs / 60.0 * rate_per_minute * 1_000_000.0).round() as i64
    }
}

/// Why the details could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DetailsError {
    /// Not (yet) known to the provider.
    #[error("conversation {0} not found")]
    NotFound(String),
    #[error("the voice provider answered HTTP {status}: {message}")]
    Provider { status: u16, message: String },
    #[error("cannot reach the voice provider: {0}")]
    Unreachable(String),
}

impl DetailsError {
    /// Whether trying again later may help.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::NotFound(_) | Self::Unreachable(_) => true,
            Self::Provider { status, .. } => *status == 429 || *status >= 500,
        }
    }
}

/// Reads conversation details.
#[derive(Clone)]
pub struct DetailsClient {
    http: reqwest::Client,
    config: ElevenLabsConfig,
}

impl DetailsClient {
    /// A client for the agent in `config`.
    pub fn new(config: ElevenLabsConfig) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            config,
        }
    }

    /// One fetch of a conversation's details.
    pub async fn fetch(&self, conversation_id: &str) -> Result<ConversationDetails, DetailsError> {
        let id: String = form_urlencoded::byte_serialize(conversation_id.as_bytes()).collect();
        let url = format!(
            "{}/v1/convai/conversations/{id}",
            self.config.api_base.trim_end_matches('/')
        );
        let response = self
            .http
            .get(url)
            .header("xi-api-key", &self.config.api_key)
            .send()
            .await
            .map_err(|e| DetailsError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(DetailsError::NotFound(conversation_id.to_owned()));
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(DetailsError::Provider {
                status: status.as_u16(),
                message: body.chars().take(300).collect(),
            });
        }
        response.json().await.map_err(|e| DetailsError::Provider {
            status: status.as_u16(),
            message: format!("unreadable details: {}", e.without_url()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_parse_from_the_provider_shape_and_price_the_call() {
        let body = serde_json::json!({
            "agent_id": "a", "conversation_id": "conv_1", "status": "done",
            "transcript": [
                {"role": "agent", "message": "안녕하세요", "time_in_call_secs": 0},
                {"role": "user", "message": null, "time_in_call_secs": 2, "tool_calls": []},
                {"role": "user", "message": "네 ", "time_in_call_secs": 3.5}
            ],
            "metadata": {"call_duration_secs": 90, "cost": 900},
            "analysis": {"call_successful": "success"}
        });
        let details: ConversationDetails = serde_json::from_value(body).unwrap();
        assert!(details.is_final());
        assert_eq!(
            details.lines(),
            vec![
                TranscriptLine {
                    role: Speaker::Agent,
                    text: "안녕하세요".into(),
                    time_in_call_secs: Some(0)
                },
                TranscriptLine {
                    role: Speaker::User,
                    text: "네".into(),
                    time_in_call_secs: Some(3)
                },
            ]
        );
        // No cost_fiat: 90 s at $0.10 per minute.
        assert_eq!(details.cost_micros(0.10), 150_000);
        let mut with_fiat = details.clone();
        with_fiat.metadata.cost_fiat = Some(0.0453);
        assert_eq!(with_fiat.cost_micros(0.10), 45_300);
    }
}
