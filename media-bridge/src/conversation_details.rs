//! ElevenLabs conversation details (PROTOCOLS §E): `GET {base}/v1/convai/conversations/{id}`
//! with `xi-api-key`, read after the call for the provider's transcript and cost.

use domain::call::{Speaker, TranscriptLine};

use crate::bridge::ElevenLabsConfig;

pub use protocols::elevenlabs::{ConversationDetails, DetailsLine, DetailsMetadata};

/// The provider's transcript as domain lines.
pub trait TranscriptLines {
    /// The transcript as lines (turns without words, and unknown roles, are left out).
    fn lines(&self) -> Vec<TranscriptLine>;
}

impl TranscriptLines for ConversationDetails {
    fn lines(&self) -> Vec<TranscriptLine> {
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
            http: ElevenLabsConfig::http_client(),
            config,
        }
    }

    /// One fetch of a conversation's details.
    pub async fn fetch(&self, conversation_id: &str) -> Result<ConversationDetails, DetailsError> {
        let id: String = form_urlencoded::byte_serialize(conversation_id.as_bytes()).collect();
        let response = self
            .config
            .get(&self.http, &format!("/v1/convai/conversations/{id}"))
            .await
            .map_err(DetailsError::Unreachable)?;
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
    fn the_provider_transcript_becomes_domain_lines() {
        // The wire shape is parsed (and tested) in `protocols`; here only the mapping counts.
        let line = |role: &str, message: Option<&str>, secs: f64| DetailsLine {
            role: role.into(),
            message: message.map(Into::into),
            time_in_call_secs: Some(secs),
        };
        let details = ConversationDetails {
            conversation_id: "conv_1".into(),
            status: "done".into(),
            transcript: vec![
                line("agent", Some("안녕하세요"), 0.0),
                line("user", None, 2.0),
                line("user", Some("네 "), 3.5),
                line("system", Some("unknown role"), 4.0),
            ],
            metadata: DetailsMetadata::default(),
        };
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
    }
}
