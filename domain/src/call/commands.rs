//! Commands accepted by [`Call`](super::Call).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    AttemptEnd, CallResult, CancelReason, ConversationEndReason, CostComponent, RecordingCommand,
    SummarySource, TranscriptLine, TranscriptSource,
};
use crate::PhoneNumber;
use crate::policy::RetryPolicy;

/// What can be asked of a call.
#[derive(Debug, Clone, PartialEq)]
pub enum CallCommand {
    /// Create the call for one contact of a campaign.
    CreateCall {
        /// The campaign it belongs to.
        campaign_id: Uuid,
        /// The account that owns the campaign.
        owner_id: Uuid,
        /// Number to dial.
        phone: PhoneNumber,
        /// Name to address the callee by.
        contact_name: Option<String>,
        /// Script variables for this contact.
        context: Map<String, Value>,
        /// The campaign's retry policy, captured at creation.
        retry: RetryPolicy,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// The dialer picked this call: start the next attempt.
    RequestDial {
        /// When the dialer decided.
        at: DateTime<Utc>,
    },
    /// The provider accepted the dial and gave it an id.
    RecordProviderCall {
        /// Provider call id (Twilio `CallSid`).
        provider_call_sid: String,
        /// When it was created.
        at: DateTime<Utc>,
    },
    /// The callee picked up.
    RecordAnswered {
        /// When they answered.
        at: DateTime<Utc>,
    },
    /// The agent reported an outcome during the conversation; the last one wins.
    ReportOutcome {
        /// The outcome.
        result: CallResult,
        /// Free-text note from the agent.
        note: Option<String>,
        /// A time the callee proposed instead, as they said it.
        proposed_time: Option<String>,
        /// When it was reported.
        at: DateTime<Utc>,
    },
    /// The provider says the current attempt ended.
    RecordAttemptEnded {
        /// How it ended.
        end: AttemptEnd,
        /// Talk time in seconds (0 when never answered).
        duration_secs: u32,
        /// When it ended.
        at: DateTime<Utc>,
    },
    /// Give up on the call now (e.g. five recognition failures in a row).
    FailCall {
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Cancel a call that is not being dialed (never dialed, or waiting for a retry).
    CancelCall {
        /// Why the call will not be made.
        reason: CancelReason,
        /// When.
        at: DateTime<Utc>,
    },
    /// Record what part of the call cost (prices arrive late, also after the call is final).
    RecordCost {
        /// Which provider charged it.
        component: CostComponent,
        /// Amount in millionths of a US dollar.
        amount_micros: i64,
        /// When the price became known.
        at: DateTime<Utc>,
    },
    /// Consent and the life of the call's recording (see [`RecordingCommand`]).
    Recording(RecordingCommand),
    /// The voice agent's conversation for the current attempt began.
    RecordConversation {
        /// The voice provider's conversation id.
        conversation_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Record an attempt's transcript (unchanged words are not recorded again).
    RecordTranscript {
        /// Attempt number.
        attempt: u32,
        /// The lines, in order.
        lines: Vec<TranscriptLine>,
        /// Who kept it.
        source: TranscriptSource,
        /// The voice provider's conversation id, when known.
        conversation_id: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// Record the summary of an answered attempt (once per attempt).
    RecordSummary {
        /// Attempt number.
        attempt: u32,
        /// The summary, in Korean.
        summary: String,
        /// The outcome the summarizer read from the conversation.
        suggested_result: Option<CallResult>,
        /// Whether someone should follow up.
        follow_up_needed: bool,
        /// Who wrote it.
        source: SummarySource,
        /// When.
        at: DateTime<Utc>,
    },
    /// Record one component's cost of one attempt (a repeat for the same pair has no effect).
    RecordAttemptCost {
        /// Attempt number.
        attempt: u32,
        /// Which provider charged it.
        component: CostComponent,
        /// Amount in millionths of a US dollar (not negative).
        amount_micros: i64,
        /// When the price became known.
        at: DateTime<Utc>,
    },
    /// The conversation with the voice agent ended (the bridge says why).
    RecordConversationEnded {
        /// Why it ended.
        reason: ConversationEndReason,
        /// The agent socket's close code, when the agent closed it.
        close_code: Option<u16>,
        /// The close reason or failure, for people.
        detail: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// An answering machine picked up; the campaign's policy says whether to try again.
    RecordVoicemail {
        /// Retry like an unanswered call (`retry_on_voicemail`) instead of completing.
        retry: bool,
        /// What was done (message left or hung up).
        note: Option<String>,
        /// When the machine was detected.
        at: DateTime<Utc>,
    },
}
