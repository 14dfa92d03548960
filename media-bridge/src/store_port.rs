//! The bridge's port onto the write side ([`CallPort`] over the Call aggregate): the script to
//! speak, outcomes, opt-outs, recording consent, failures and the live transcript become
//! commands on the call.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use commands::accounts::{AccountSettings, Suppressions};
use commands::cqrs::{load, load_terms};
use commands::{Clock, CommandContext, Commands, EventStore};
use domain::call::{
    Call, CallCommand, CallResult, CallStatus, ConversationEndReason, RecordingCommand, Speaker,
    TranscriptSource,
};
use domain::campaign::CampaignTerms;
use domain::script::prompt::{agent_prompt, dynamic};
use domain::script::variables::{BUSINESS_NAME, Sources};
use projections::ScriptList;
use serde_json::Value;
use uuid::Uuid;

use crate::bridge::{CallPort, EndReason, PortError, ReportedOutcome, Session, TranscriptLine};
use crate::twilio::TwilioClient;

/// A failure of the store or the read model, kept as its message.
fn store_error(error: impl std::fmt::Display) -> PortError {
    PortError::Store(error.to_string())
}

/// The bridge's view of the write side.
pub struct StorePort {
    store: EventStore,
    calls: Commands<Call>,
    clock: Arc<dyn Clock>,
    twilio: TwilioClient,
}

impl StorePort {
    /// A port over `store`.
    pub fn new(store: EventStore, clock: Arc<dyn Clock>, twilio: TwilioClient) -> Self {
        Self {
            calls: Commands::new(store.clone(), ()),
            store,
            clock,
            twilio,
        }
    }

    async fn call(&self, call_id: Uuid) -> Result<Call, PortError> {
        load::<Call>(&self.store, &call_id.to_string())
            .await
            .map_err(store_error)?
            .ok_or(PortError::UnknownCall)
    }

    async fn campaign(&self, call: &Call) -> Result<CampaignTerms, PortError> {
        load_terms(&self.store, &call.campaign_id().to_string())
            .await
            .map_err(store_error)?
            .ok_or(PortError::CampaignGone)
    }

    /// Runs `command` as the voice agent's doing.
    async fn run(&self, call_id: Uuid, command: CallCommand) -> Result<(), PortError> {
        self.run_as(call_id, command, "elevenlabs").await
    }

    async fn run_as(
        &self,
        call_id: Uuid,
        command: CallCommand,
        source: &str,
    ) -> Result<(), PortError> {
        let context = CommandContext::new(source);
        self.calls
            .execute(&call_id.to_string(), command, &context)
            .await?;
        Ok(())
    }

    /// The bridge's live transcript, kept as the call's transcript of the current attempt.
    async fn record_transcript(
        &self,
        call_id: Uuid,
        transcript: &[TranscriptLine],
    ) -> Result<(), PortError> {
        if transcript.is_empty() {
            return Ok(());
        }
        let call = self.call(call_id).await?;
        let attempt = call.results().current();
        let conversation_id = call
            .results()
            .attempt(attempt)
            .and_then(|a| a.conversation_id.clone());
        let lines = transcript
            .iter()
            .map(|line| {
                let role = if line.role == "agent" {
                    Speaker::Agent
                } else {
                    Speaker::User
                };
                domain::call::TranscriptLine::new(role, line.text.clone())
            })
            .collect();
        let command = CallCommand::RecordTranscript {
            attempt,
            lines,
            source: TranscriptSource::Bridge,
            conversation_id,
            at: self.clock.now(),
        };
        // The bridge heard it, not the agent: the command's source says so.
        self.run_as(call_id, command, "media-bridge").await
    }
}

#[async_trait]
impl CallPort for StorePort {
    async fn session(&self, call_id: Uuid, call_sid: &str) -> Result<Session, PortError> {
        let call = self.call(call_id).await?;
        if call.provider_call_sid().is_some_and(|sid| sid != call_sid)
            || !matches!(
                call.status(),
                Some(CallStatus::Calling | CallStatus::InProgress)
            )
        {
            return Err(PortError::NotLiveAttempt);
        }
        // The stream can start before the `answered` callback is in.
        if call.status() == Some(CallStatus::Calling) {
            let at = self.clock.now();
            self.run(call_id, CallCommand::RecordAnswered { at })
                .await?;
        }
        let campaign = self.campaign(&call).await?;
        if campaign.settings.recording {
            // The stream starts only after the notice played: the callee stayed on the line.
            let at = self.clock.now();
            let consent = CallCommand::Recording(RecordingCommand::GiveConsent { at });
            if let Err(error) = self.run(call_id, consent).await {
                tracing::warn!(%call_id, %error, "could not record the recording consent");
            }
        }
        let script = ScriptList::find_version(
            self.store.db().pool(),
            call.owner_id(),
            campaign.script_id,
            campaign.script_version,
        )
        .await
        .map_err(store_error)?
        .ok_or(PortError::ScriptNotReady)?;
        // One resolver for every value: the contact, its context, the campaign's values, the
        // business profile. The texts keep `{{name}}` and the values travel beside them.
        let account = AccountSettings::load(self.store.db().pool(), &call.owner_id().to_string())
            .await
            .map_err(store_error)?;
        let business = account.business_profile();
        let sources = Sources {
            contact_name: call.contact_name(),
            contact_context: call.context(),
            campaign: &campaign.variables,
            business: &business,
        };
        let mut values = sources
            .resolve(&script.content)
            .map_err(PortError::MissingValues)?;
        let business_name = sources
            .value(BUSINESS_NAME)
            .ok_or_else(|| PortError::MissingValues(vec![BUSINESS_NAME.to_owned()]))?;
        values.insert(BUSINESS_NAME.to_owned(), business_name);
        let mut dynamic_variables: BTreeMap<String, Value> = values
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect();
        dynamic_variables.insert("call_id".into(), Value::String(call_id.to_string()));
        Ok(Session {
            prompt: agent_prompt(&script.content),
            first_message: dynamic(script.content.greeting.trim()),
            dynamic_variables,
            recording: campaign.settings.recording,
        })
    }

    async fn report_outcome(
        &self,
        call_id: Uuid,
        outcome: ReportedOutcome,
    ) -> Result<(), PortError> {
        let command = CallCommand::ReportOutcome {
            result: outcome.result,
            note: outcome.note,
            proposed_time: outcome.proposed_time,
            at: self.clock.now(),
        };
        self.run(call_id, command).await
    }

    async fn opt_out(&self, call_id: Uuid) -> Result<(), PortError> {
        let call = self.call(call_id).await?;
        let phone = call.phone().ok_or(PortError::NoNumber)?;
        let at = self.clock.now();
        Suppressions::add(
            self.store.db().pool(),
            &call.owner_id().to_string(),
            phone,
            "the callee asked not to be called again",
            at,
        )
        .await
        .map_err(store_error)?;
        let command = CallCommand::ReportOutcome {
            result: CallResult::OptedOut,
            note: Some("asked not to be called again".into()),
            proposed_time: None,
            at,
        };
        self.run(call_id, command).await
    }

    async fn revoke_recording_consent(
        &self,
        call_id: Uuid,
        call_sid: &str,
    ) -> Result<(), PortError> {
        // Recorded first, so nothing is kept even if stopping at Twilio fails.
        let at = self.clock.now();
        let revoke = CallCommand::Recording(RecordingCommand::RevokeConsent { at });
        self.run(call_id, revoke).await?;
        let call = self.call(call_id).await?;
        let campaign = self.campaign(&call).await?;
        if campaign.settings.recording {
            self.twilio.stop_recording(call_sid).await?;
        }
        tracing::info!(%call_id, "the callee objected to the recording; it was stopped and will be discarded");
        Ok(())
    }

    async fn fail(&self, call_id: Uuid, reason: String) -> Result<(), PortError> {
        let at = self.clock.now();
        self.run(call_id, CallCommand::FailCall { reason, at })
            .await
    }

    async fn conversation_started(&self, call_id: Uuid, conversation_id: &str) {
        let command = CallCommand::RecordConversation {
            conversation_id: conversation_id.to_owned(),
            at: self.clock.now(),
        };
        if let Err(error) = self.run(call_id, command).await {
            tracing::warn!(%call_id, %error, "could not record the conversation id");
        }
    }

    async fn ended(&self, call_id: Uuid, reason: &EndReason, transcript: &[TranscriptLine]) {
        let command = conversation_ended(reason, self.clock.now());
        if let Err(error) = self.run(call_id, command).await {
            tracing::warn!(%call_id, %error, "could not record why the conversation ended");
        }
        tracing::info!(
            %call_id,
            %reason,
            agent_lines = transcript.iter().filter(|l| l.role == "agent").count(),
            user_lines = transcript.iter().filter(|l| l.role == "user").count(),
            "conversation ended"
        );
        if let Err(error) = self.record_transcript(call_id, transcript).await {
            tracing::warn!(%call_id, %error, "could not record the transcript");
        }
    }
}

/// The bridge's end reason as a command on the call.
fn conversation_ended(reason: &EndReason, at: chrono::DateTime<chrono::Utc>) -> CallCommand {
    let (reason, close_code, detail) = match reason {
        EndReason::TwilioStopped => (ConversationEndReason::PhoneHungUp, None, None),
        EndReason::AgentClosed { code, reason } => (
            ConversationEndReason::AgentClosed,
            Some(*code),
            Some(reason.clone()).filter(|r| !r.is_empty()),
        ),
        EndReason::RecognitionFailures => (
            ConversationEndReason::RecognitionFailures,
            None,
            Some(reason.to_string()),
        ),
        EndReason::SetupFailed(why) => {
            (ConversationEndReason::SetupFailed, None, Some(why.clone()))
        }
    };
    CallCommand::RecordConversationEnded {
        reason,
        close_code,
        detail,
        at,
    }
}
