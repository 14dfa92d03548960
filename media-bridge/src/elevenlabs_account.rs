//! The ElevenLabs account: the subscription's credits, checked before a campaign starts.

use crate::bridge::ElevenLabsConfig;
use protocols::elevenlabs::Subscription;

/// Why the subscription could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ElevenLabsError {
    /// ElevenLabs answered with an error status.
    #[error("ElevenLabs answered HTTP {status}")]
    Api { status: u16 },
    /// ElevenLabs could not be reached or answered something unreadable.
    #[error("ElevenLabs unavailable: {0}")]
    Unavailable(String),
}

/// Reads the account behind an API key.
#[derive(Debug, Clone)]
pub struct ElevenLabsAccount {
    http: reqwest::Client,
    config: ElevenLabsConfig,
}

impl ElevenLabsAccount {
    /// The account of `config`'s key.
    pub fn new(config: ElevenLabsConfig) -> Self {
        Self {
            http: ElevenLabsConfig::http_client(),
            config,
        }
    }

    /// `GET /v1/user/subscription`.
    pub async fn subscription(&self) -> Result<Subscription, ElevenLabsError> {
        let response = self
            .config
            .get(&self.http, "/v1/user/subscription")
            .await
            .map_err(ElevenLabsError::Unavailable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ElevenLabsError::Api {
                status: status.as_u16(),
            });
        }
        response
            .json()
            .await
            .map_err(|e| ElevenLabsError::Unavailable(format!("unreadable subscription: {e}")))
    }
}
