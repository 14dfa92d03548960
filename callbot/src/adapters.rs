//! The workers' ports, implemented over this build's adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commands::EventStore;
use media_bridge::conversation_details::{DetailsClient, TranscriptLines};
use media_bridge::twilio::TwilioClient;
use media_bridge::twilio::client::TwilioError;
use protocols::twilio::{self as wire, Verb};
use std::time::Duration;
use workers::ports::{CallPrices, Conversation, Conversations, ProviderError, ProviderRecordings};
use workers::recordings::ExpiredReports;
use workers::voicemail::{ActionError, CallControl};

/// Twilio's REST API as the workers' phone provider: call control for the voicemail worker,
/// prices for the post-call worker, recordings for the recordings worker.
pub struct TwilioPorts(pub TwilioClient);

fn twilio_error(error: TwilioError) -> ProviderError {
    match error {
        TwilioError::Api { status, .. } if status != 429 && status < 500 => {
            ProviderError::Refused(error.to_string())
        }
        other => ProviderError::Retryable(other.to_string()),
    }
}

#[async_trait]
impl CallPrices for TwilioPorts {
    async fn call_price(&self, call_sid: &str) -> Result<Option<i64>, ProviderError> {
        // One look: the worker's queue brings the next after its backoff.
        self.0
            .fetch_price(call_sid, 1, Duration::ZERO)
            .await
            .map_err(twilio_error)
    }
}

#[async_trait]
impl ProviderRecordings for TwilioPorts {
    async fn fetch_wav(&self, recording_sid: &str) -> Result<Vec<u8>, ProviderError> {
        self.0
            .fetch_recording_wav(recording_sid)
            .await
            .map_err(twilio_error)
    }

    async fn delete(&self, recording_sid: &str) -> Result<(), ProviderError> {
        self.0
            .delete_recording(recording_sid)
            .await
            .map(|_| ())
            .map_err(twilio_error)
    }
}

/// ElevenLabs' conversation details as the post-call worker's conversations.
pub struct ElevenLabsConversations(pub DetailsClient);

#[async_trait]
impl Conversations for ElevenLabsConversations {
    async fn conversation(
        &self,
        conversation_id: &str,
        rate_per_minute: f64,
    ) -> Result<Conversation, ProviderError> {
        let details =
            self.0
                .fetch(conversation_id)
                .await
                .map_err(|error| match error.is_retryable() {
                    true => ProviderError::Retryable(error.to_string()),
                    false => ProviderError::Refused(error.to_string()),
                })?;
        Ok(Conversation {
            finished: details.is_final(),
            lines: details.lines(),
            cost_micros: details.cost_micros(rate_per_minute),
            status: details.status,
        })
    }
}

#[async_trait]
impl CallControl for TwilioPorts {
    async fn leave_message(
        &self,
        provider_call_sid: &str,
        message: Option<&str>,
    ) -> Result<(), ActionError> {
        let text = message
            .unwrap_or(api::routes::twilio::DEFAULT_VOICEMAIL_MESSAGE)
            .to_owned();
        let xml = wire::render_twiml(&[
            Verb::Say {
                language: "ko-KR".into(),
                voice: api::routes::twilio::CONSENT_VOICE.into(),
                text,
            },
            Verb::Hangup,
        ]);
        match self.0.update_twiml(provider_call_sid, &xml).await {
            // The callee's machine hung up first: no one is left to hear the message.
            Err(error) if error.call_already_ended() => Ok(()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn hang_up(&self, provider_call_sid: &str) -> Result<(), ActionError> {
        self.0.hang_up(provider_call_sid).await?;
        Ok(())
    }
}

/// The report files as the retention worker sees them.
pub struct ReportRetention {
    pub reports: projections::reports::ReportFiles,
    pub store: EventStore,
}

#[async_trait]
impl ExpiredReports for ReportRetention {
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, ActionError> {
        Ok(self
            .reports
            .purge_expired(self.store.db().pool(), now)
            .await?)
    }
}
