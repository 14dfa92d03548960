//! The workers' ports, implemented over this build's adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commands::EventStore;
use media_bridge::twilio::TwilioClient;
use protocols::twilio::{self as wire, Verb};
use workers::recordings::ExpiredReports;
use workers::voicemail::{ActionError, CallControl};

/// Twilio's REST API as the voicemail worker's call control.
pub struct TwilioCallControl(pub TwilioClient);

#[async_trait]
impl CallControl for TwilioCallControl {
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
        self.0.update_twiml(provider_call_sid, &xml).await?;
        Ok(())
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
