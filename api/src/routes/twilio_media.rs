//! `GET /twilio/media`: the Media Streams WebSocket, served by the media bridge; and the
//! bridge's port onto the Call aggregate (outcomes, opt-outs, failures, the script to speak).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use commands::accounts::Suppressions;
use commands::cqrs::load;
use commands::{Clock, CommandContext, CommandError, Commands, EventStore};
use domain::call::{
    Call, CallCommand, CallResult, CallStatus, ConversationEndReason, RecordingCommand,
};
use domain::campaign::Campaign;
use media_bridge::bridge::{CallPort, EndReason, Session, TranscriptLine};
use media_bridge::twilio::TwilioClient;
use projections::ScriptList;
use serde_json::Value;
use uuid::Uuid;

use crate::state::AppState;

/// The media socket route (documented in `twilio_doc`).
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(super::twilio_doc::media))
}

pub(super) async fn media(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let Some(bridge) = state.bridge.clone() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no media bridge in this process",
        )
            .into_response();
    };
    upgrade.on_upgrade(move |socket| bridge.serve(socket))
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

    async fn call(&self, call_id: Uuid) -> Result<Call, String> {
        load::<Call>(&self.store, &call_id.to_string())
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "unknown call".to_owned())
    }

    async fn run(&self, call_id: Uuid, command: CallCommand) -> Result<(), String> {
        let context = CommandContext::new("elevenlabs");
        match self
            .calls
            .execute(&call_id.to_string(), command, &context)
            .await
        {
            Ok(()) => Ok(()),
            Err(CommandError::Rejected(error)) => Err(error.to_string()),
            Err(other) => Err(other.to_string()),
        }
    }
}

/// Fills `{name}` placeholders from the contact's context.
fn fill(text: &str, variables: &BTreeMap<String, Value>) -> String {
    let mut out = text.to_owned();
    for (name, value) in variables {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("{{{name}}}"), &value);
    }
    out
}

#[async_trait]
impl CallPort for StorePort {
    async fn session(&self, call_id: Uuid, call_sid: &str) -> Result<Session, String> {
        let call = self.call(call_id).await?;
        if call.provider_call_sid().is_some_and(|sid| sid != call_sid)
            || !matches!(
                call.status(),
                Some(CallStatus::Calling | CallStatus::InProgress)
            )
        {
            return Err("the stream is not for the call's live attempt".into());
        }
        // The stream can start before the `answered` callback is in.
        if call.status() == Some(CallStatus::Calling) {
            let at = self.clock.now();
            self.run(call_id, CallCommand::RecordAnswered { at })
                .await?;
        }
        let campaign = load::<Campaign>(&self.store, &call.campaign_id().to_string())
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the call's campaign is gone")?;
        if campaign.settings().recording {
            // The stream starts only after the notice played: the callee stayed on the line.
            let at = self.clock.now();
            let consent = CallCommand::Recording(RecordingCommand::GiveConsent { at });
            if let Err(error) = self.run(call_id, consent).await {
                tracing::warn!(%call_id, %error, "could not record the recording consent");
            }
        }
        let (script_id, version) = campaign.script();
        let script =
            ScriptList::find_version(self.store.db().pool(), call.owner_id(), script_id, version)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("the campaign's script version is not in the read model yet")?;
        let mut variables: BTreeMap<String, Value> = call
            .context()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(name) = call.contact_name() {
            variables.insert("customerName".into(), Value::String(name.to_owned()));
            variables.insert("customer_name".into(), Value::String(name.to_owned()));
        }
        variables.insert("call_id".into(), Value::String(call_id.to_string()));
        let content = serde_json::to_string_pretty(&script.content).map_err(|e| e.to_string())?;
        let prompt = format!(
            "당신은 {business}의 AI 전화 상담원입니다. 한국어로 정중하게 말하고, 아래 스크립트를 따르세요. \
             통화 결과는 report_outcome 도구로 알리고(result: SUCCESS, DECLINED, RESCHEDULED, \
             CALLBACK_REQUESTED, OTHER; 다른 시간을 원하면 proposedTime), 다시 전화하지 말라고 하면 \
             opt_out, 녹음을 원하지 않으면 revoke_recording_consent 를 호출하세요.\n\n스크립트:\n{content}",
            business = campaign.name(),
        );
        Ok(Session {
            prompt: fill(&prompt, &variables),
            first_message: fill(&script.content.greeting, &variables),
            dynamic_variables: variables,
            recording: campaign.settings().recording,
        })
    }

    async fn report_outcome(
        &self,
        call_id: Uuid,
        result: CallResult,
        note: Option<String>,
        proposed_time: Option<String>,
    ) -> Result<(), String> {
        let at = self.clock.now();
        let command = CallCommand::ReportOutcome {
            result,
            note,
            proposed_time,
            at,
        };
        self.run(call_id, command).await
    }

    async fn opt_out(&self, call_id: Uuid) -> Result<(), String> {
        let call = self.call(call_id).await?;
        let phone = call.phone().ok_or("the call has no number")?;
        let at = self.clock.now();
        Suppressions::add(
            self.store.db().pool(),
            &call.owner_id().to_string(),
            phone,
            "the callee asked not to be called again",
            at,
        )
        .await
        .map_err(|e| e.to_string())?;
        let command = CallCommand::ReportOutcome {
            result: CallResult::OptedOut,
            note: Some("asked not to be called again".into()),
            proposed_time: None,
            at,
        };
        self.run(call_id, command).await
    }

    async fn revoke_recording_consent(&self, call_id: Uuid, call_sid: &str) -> Result<(), String> {
        // Recorded first, so nothing is kept even if stopping at Twilio fails.
        let at = self.clock.now();
        let revoke = CallCommand::Recording(RecordingCommand::RevokeConsent { at });
        self.run(call_id, revoke).await?;
        let call = self.call(call_id).await?;
        let campaign = load::<Campaign>(&self.store, &call.campaign_id().to_string())
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the call's campaign is gone")?;
        if campaign.settings().recording {
            self.twilio
                .stop_recording(call_sid)
                .await
                .map_err(|e| e.to_string())?;
        }
        tracing::info!(%call_id, "the callee objected to the recording; it was stopped and will be discarded");
        Ok(())
    }

    async fn fail(&self, call_id: Uuid, reason: String) -> Result<(), String> {
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
        if let Err(error) = crate::results::record_bridge_transcript(
            &self.store,
            &self.calls,
            self.clock.now(),
            call_id,
            transcript,
        )
        .await
        {
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
