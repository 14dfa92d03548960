//! What the post-call and recordings workers need from the phone and voice providers: small
//! ports implemented over the real adapters by the composition root (`callbot::adapters`), and
//! by in-memory fakes in tests. The workers know no HTTP client.

use async_trait::async_trait;
use domain::call::TranscriptLine;

/// Why a provider did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again later: not there yet, rate-limited, or unreachable.
    #[error("{0}")]
    Retryable(String),
    /// Refused for good.
    #[error("{0}")]
    Refused(String),
}

impl ProviderError {
    /// Whether trying again later may help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_))
    }
}

/// The phone provider's call prices (Twilio fills them in some time after the call).
#[async_trait]
pub trait CallPrices: Send + Sync + 'static {
    /// The call's price in micro-dollars; `None` while the provider has not set it.
    async fn call_price(&self, call_sid: &str) -> Result<Option<i64>, ProviderError>;
}

/// A conversation as the voice provider reports it after the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    /// The provider's status (`done`, `failed`, `processing`, …).
    pub status: String,
    /// Whether the transcript and the cost are final.
    pub finished: bool,
    /// The provider's transcript.
    pub lines: Vec<TranscriptLine>,
    /// The voice cost in micro-dollars.
    pub cost_micros: i64,
}

/// The voice provider's conversation details.
#[async_trait]
pub trait Conversations: Send + Sync + 'static {
    /// One conversation; its cost is the provider's own, else its duration at
    /// `rate_per_minute` US dollars.
    async fn conversation(
        &self,
        conversation_id: &str,
        rate_per_minute: f64,
    ) -> Result<Conversation, ProviderError>;
}

/// The call recordings waiting at the phone provider.
#[async_trait]
pub trait ProviderRecordings: Send + Sync + 'static {
    /// The recording as a WAV file.
    async fn fetch_wav(&self, recording_sid: &str) -> Result<Vec<u8>, ProviderError>;
    /// Deletes the recording at the provider (one already gone counts as deleted).
    async fn delete(&self, recording_sid: &str) -> Result<(), ProviderError>;
}
