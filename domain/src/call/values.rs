//! Value types of a call: status, result, and how an attempt ended.

use serde::{Deserialize, Serialize};

/// Where a call is (seed enum plus `CANCELLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallStatus {
    /// Waiting to be dialed (first time, or for a retry).
    Pending,
    /// Dial requested; ringing.
    Calling,
    /// Answered; the conversation is going on.
    InProgress,
    /// Answered and ended; see the result.
    Completed,
    /// Could not be completed (provider failure, recognition failures).
    Failed,
    /// Never answered, retries exhausted.
    NoAnswer,
    /// Cancelled before it was answered.
    Cancelled,
}

impl CallStatus {
    /// Whether nothing can change the status any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::NoAnswer | Self::Cancelled
        )
    }
}

wire_names!(CallStatus {
    Pending => "PENDING", Calling => "CALLING", InProgress => "IN_PROGRESS",
    Completed => "COMPLETED", Failed => "FAILED", NoAnswer => "NO_ANSWER", Cancelled => "CANCELLED",
});

/// What came of an answered call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallResult {
    /// The callee confirmed.
    Success,
    /// An answering machine picked up.
    Voicemail,
    /// The callee declined or hung up.
    Declined,
    /// The callee asked for another time.
    Rescheduled,
    /// The callee asked to be called back.
    CallbackRequested,
    /// Anything else.
    Other,
    /// The callee asked never to be called again; the number is suppressed.
    OptedOut,
}

wire_names!(CallResult {
    Success => "SUCCESS", Voicemail => "VOICEMAIL", Declined => "DECLINED",
    Rescheduled => "RESCHEDULED", CallbackRequested => "CALLBACK_REQUESTED", Other => "OTHER",
    OptedOut => "OPTED_OUT",
});

/// How the provider says one dial attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttemptEnd {
    /// Answered, then hung up (by either side).
    Completed,
    /// Rang without an answer.
    NoAnswer,
    /// The line was busy.
    Busy,
    /// The provider could not place or keep the call.
    Failed {
        /// Provider error code, when known.
        code: Option<String>,
        /// Whether trying again may help (outage, rate limit) or not (invalid number).
        retryable: bool,
    },
    /// The call was cancelled before it was answered.
    Canceled,
}

/// Why a call was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CancelReason {
    /// Its campaign was cancelled before it was dialed (again).
    CampaignCancelled,
    /// The number is on the account's do-not-call list.
    Suppressed,
    /// The provider cancelled the attempt.
    Provider,
}

/// Which provider a cost comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CostComponent {
    /// Twilio's price for the call leg.
    Telephony,
    /// ElevenLabs' conversation cost.
    Voice,
    /// LLM tokens (summaries, scripts).
    Llm,
}

/// Why a bridged conversation with the voice agent ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConversationEndReason {
    /// The phone side stopped the stream: the callee hung up or the call ended.
    PhoneHungUp,
    /// The agent closed its socket (the close code says whether normally).
    AgentClosed,
    /// Too many recognition failures in a row.
    RecognitionFailures,
    /// The conversation could not be set up.
    SetupFailed,
}

impl ConversationEndReason {
    /// The wire name, e.g. `"AGENT_CLOSED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneHungUp => "PHONE_HUNG_UP",
            Self::AgentClosed => "AGENT_CLOSED",
            Self::RecognitionFailures => "RECOGNITION_FAILURES",
            Self::SetupFailed => "SETUP_FAILED",
        }
    }
}
