//! Events recorded by [`Call`](super::Call).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    AttemptEnd, CallResult, CancelReason, ConversationEndReason, CostComponent, DiscardReason,
    SummarySource, TranscriptLine, TranscriptSource,
};
use crate::PhoneNumber;
use crate::policy::RetryPolicy;

/// Something that happened to a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CallEvent {
    /// The call was created, waiting to be dialed.
    CallCreated {
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
        /// Retry policy captured from the campaign.
        retry: RetryPolicy,
        /// When it was created.
        created_at: DateTime<Utc>,
    },
    /// The dialer started attempt `attempt`; a bridge places the provider call.
    DialRequested {
        /// Attempt number, from 1.
        attempt: u32,
        /// When it was requested.
        requested_at: DateTime<Utc>,
    },
    /// The provider created its call for the current attempt.
    ProviderCallCreated {
        /// Attempt number.
        attempt: u32,
        /// Provider call id (Twilio `CallSid`).
        provider_call_sid: String,
        /// When it was created.
        created_at: DateTime<Utc>,
    },
    /// The callee answered.
    CallAnswered {
        /// Attempt number.
        attempt: u32,
        /// When they answered.
        answered_at: DateTime<Utc>,
    },
    /// The agent reported an outcome; a later report replaces it.
    OutcomeReported {
        /// Attempt number.
        attempt: u32,
        /// The outcome.
        result: CallResult,
        /// Free-text note from the agent.
        note: Option<String>,
        /// A time the callee proposed instead.
        proposed_time: Option<String>,
        /// When it was reported.
        reported_at: DateTime<Utc>,
    },
    /// An attempt ended; the next event says what follows.
    AttemptEnded {
        /// Attempt number.
        attempt: u32,
        /// How it ended.
        end: AttemptEnd,
        /// Talk time in seconds.
        duration_secs: u32,
        /// When it ended.
        ended_at: DateTime<Utc>,
    },
    /// An answered call ended (final).
    CallCompleted {
        /// The last reported outcome, or `DECLINED` if the callee hung up without one.
        result: CallResult,
        /// Talk time in seconds.
        duration_secs: u32,
        /// When it ended.
        completed_at: DateTime<Utc>,
    },
    /// The attempt failed in a way worth retrying; the call waits until `retry_at`.
    RetryScheduled {
        /// Earliest time for the next dial.
        retry_at: DateTime<Utc>,
        /// Which retry this will be, from 1.
        retry_number: u32,
    },
    /// Nobody answered and no retries are left (final).
    CallFinishedNoAnswer {
        /// Attempts made.
        attempts: u32,
        /// When the last attempt ended.
        finished_at: DateTime<Utc>,
    },
    /// The call failed (final).
    CallFailed {
        /// Why, for people.
        reason: String,
        /// When.
        failed_at: DateTime<Utc>,
    },
    /// The call was cancelled before being answered (final).
    CallCancelled {
        /// When.
        cancelled_at: DateTime<Utc>,
        /// Why (absent on events written before reasons existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<CancelReason>,
    },
    /// Part of the call's cost became known.
    CostRecorded {
        /// Which provider charged it.
        component: CostComponent,
        /// Amount in millionths of a US dollar.
        amount_micros: i64,
        /// When it became known.
        recorded_at: DateTime<Utc>,
    },
    /// The callee heard the recording notice and stayed on the line.
    RecordingConsentGiven {
        /// When the media stream started after the notice.
        given_at: DateTime<Utc>,
    },
    /// The callee objected to the recording (`recordingConsent=false`); nothing of it is kept.
    RecordingConsentRevoked {
        /// When they objected.
        revoked_at: DateTime<Utc>,
    },
    /// The provider finished a recording of the call; it waits at the provider to be fetched.
    RecordingAvailable {
        /// Provider recording id (Twilio `RecordingSid`).
        recording_sid: String,
        /// Length in seconds, when the provider says.
        duration_secs: Option<u32>,
        /// When the callback arrived.
        available_at: DateTime<Utc>,
    },
    /// The recording was fetched, stored encrypted, and deleted at the provider.
    RecordingStored {
        /// Provider recording id.
        recording_sid: String,
        /// Size of the plain audio in bytes.
        bytes: u64,
        /// When it was stored (retention counts from here).
        stored_at: DateTime<Utc>,
    },
    /// The recording was deleted at the provider without being kept.
    RecordingDiscarded {
        /// Provider recording id.
        recording_sid: String,
        /// Why it was not kept.
        reason: DiscardReason,
        /// When.
        discarded_at: DateTime<Utc>,
    },
    /// The stored recording passed its retention period and was deleted.
    RecordingPurged {
        /// Provider recording id.
        recording_sid: String,
        /// When.
        purged_at: DateTime<Utc>,
    },
    /// The voice agent's conversation for an attempt began (its details are fetched later).
    ConversationStarted {
        /// Attempt number.
        attempt: u32,
        /// The voice provider's conversation id.
        conversation_id: String,
        /// When it began.
        started_at: DateTime<Utc>,
    },
    /// A transcript of an attempt's conversation; a later one (the provider's) replaces it.
    TranscriptRecorded {
        /// Attempt number.
        attempt: u32,
        /// The lines, in order.
        lines: Vec<TranscriptLine>,
        /// Who kept it.
        source: TranscriptSource,
        /// The voice provider's conversation id, when known.
        conversation_id: Option<String>,
        /// When it was recorded.
        recorded_at: DateTime<Utc>,
    },
    /// A summary of an answered attempt. Its suggested result never changes the call's result.
    SummaryGenerated {
        /// Attempt number.
        attempt: u32,
        /// The summary, in Korean.
        summary: String,
        /// The outcome the summarizer read from the conversation.
        suggested_result: Option<CallResult>,
        /// Whether someone should follow up with the callee.
        follow_up_needed: bool,
        /// Who wrote it.
        source: SummarySource,
        /// When it was written.
        generated_at: DateTime<Utc>,
    },
    /// The cost of one component of one attempt became known (at most once per both).
    AttemptCostRecorded {
        /// Attempt number.
        attempt: u32,
        /// Which provider charged it.
        component: CostComponent,
        /// Amount in millionths of a US dollar.
        amount_micros: i64,
        /// When it became known.
        recorded_at: DateTime<Utc>,
    },
    /// The conversation with the voice agent ended, and why.
    ConversationEnded {
        /// Attempt number.
        attempt: u32,
        /// Why it ended.
        reason: ConversationEndReason,
        /// The agent socket's close code, when the agent closed it.
        close_code: Option<u16>,
        /// The close reason or failure, for people.
        detail: Option<String>,
        /// When.
        ended_at: DateTime<Utc>,
    },
    /// An answering machine picked up (the outcome is `VOICEMAIL`).
    VoicemailReached {
        /// Attempt number.
        attempt: u32,
        /// Whether the attempt is retried like an unanswered one when it ends.
        retry: bool,
        /// What was done (message left or hung up).
        note: Option<String>,
        /// When it was detected.
        reached_at: DateTime<Utc>,
    },
}

domain_event!(CallEvent, version "1.0", [
    CallCreated, DialRequested, ProviderCallCreated, CallAnswered, OutcomeReported, AttemptEnded,
    CallCompleted, RetryScheduled, CallFinishedNoAnswer, CallFailed, CallCancelled, CostRecorded,
    RecordingConsentGiven, RecordingConsentRevoked, RecordingAvailable, RecordingStored,
    RecordingDiscarded, RecordingPurged, ConversationStarted, TranscriptRecorded, SummaryGenerated,
    AttemptCostRecorded, ConversationEnded, VoicemailReached,
]);
