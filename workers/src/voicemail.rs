//! The voicemail action: when an answering machine picks up (`VoicemailReached`), the campaign's
//! policy is carried out at the phone provider — leave the message, or hang up.
//!
//! The AMD webhook records the verdict and answers Twilio at once; this worker follows the store
//! from its own checkpoint, so the action survives a restart between the two (it used to be a
//! task spawned by the webhook, lost with the process). A failed action is logged and not
//! retried, as before: by then the machine has moved on. Verdicts older than [`STALE_AFTER`]
//! are skipped, so a first start on an old history does not call anyone's finished calls.
//! Single-active (the supervisor holds the lock [`VOICEMAIL_CHECKPOINT`]).

use std::sync::Arc;

use async_trait::async_trait;
use commands::cqrs::{load, load_terms};
use commands::{Clock, EventStore, StoredEvent};
use cqrs_es::Aggregate;
use domain::call::{Call, CallEvent};
use domain::policy::VoicemailAction;

use crate::WorkerError;
use crate::follower::{Follow, Follower};

/// The checkpoint (and lock) of the voicemail worker.
pub const VOICEMAIL_CHECKPOINT: &str = "voicemail_action";
/// A verdict older than this is history, not something to act on.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::minutes(5);

/// Why the provider could not act on a call.
pub type ActionError = Box<dyn std::error::Error + Send + Sync>;

/// The phone provider's call control (Twilio's REST API in production).
#[async_trait]
pub trait CallControl: Send + Sync + 'static {
    /// Plays `message` (the provider's default when `None`) on the live call, then hangs up.
    async fn leave_message(
        &self,
        provider_call_sid: &str,
        message: Option<&str>,
    ) -> Result<(), ActionError>;
    /// Hangs up the live call.
    async fn hang_up(&self, provider_call_sid: &str) -> Result<(), ActionError>;
}

/// What the worker did with one verdict (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    LeftMessage,
    HungUp,
    /// Too old, superseded, or the provider refused.
    Skipped,
}

/// Carries out voicemail policies.
pub type VoicemailWorker = Follower<Voicemail>;

impl VoicemailWorker {
    /// A worker acting through `control`.
    pub fn new(store: EventStore, control: Arc<dyn CallControl>, clock: Arc<dyn Clock>) -> Self {
        let voicemail = Voicemail {
            store: store.clone(),
            control,
            clock,
        };
        Self::following("voicemail", VOICEMAIL_CHECKPOINT, voicemail, store)
    }
}

/// What the voicemail worker does with each verdict.
pub struct Voicemail {
    store: EventStore,
    control: Arc<dyn CallControl>,
    clock: Arc<dyn Clock>,
}

#[async_trait]
impl Follow for Voicemail {
    type Outcome = Action;
    type Error = WorkerError;

    async fn handle(&self, event: &StoredEvent) -> Result<Option<Action>, WorkerError> {
        if event.aggregate_type != Call::TYPE || event.event_type != "VoicemailReached" {
            return Ok(None);
        }
        let Ok(CallEvent::VoicemailReached {
            attempt,
            reached_at,
            ..
        }) = serde_json::from_value::<CallEvent>(event.payload.clone())
        else {
            tracing::warn!(
                position = event.position,
                "unreadable voicemail verdict skipped"
            );
            return Ok(Some(Action::Skipped));
        };
        if self.clock.now() - reached_at >= STALE_AFTER {
            return Ok(Some(Action::Skipped));
        }
        let Some(call) = load::<Call>(&self.store, &event.aggregate_id).await? else {
            return Ok(Some(Action::Skipped));
        };
        let (Some(sid), true) = (call.provider_call_sid(), call.attempts() == attempt) else {
            return Ok(Some(Action::Skipped));
        };
        let policy = load_terms(&self.store, &call.campaign_id().to_string())
            .await?
            .map(|terms| terms.settings.voicemail)
            .unwrap_or_default();
        let call_id = &event.aggregate_id;
        let (result, action) = match policy.action {
            VoicemailAction::LeaveMessage => (
                self.control
                    .leave_message(sid, policy.message.as_deref())
                    .await,
                Action::LeftMessage,
            ),
            VoicemailAction::HangUp => (self.control.hang_up(sid).await, Action::HungUp),
        };
        match result {
            Ok(()) => Ok(Some(action)),
            Err(error) => {
                tracing::warn!(%call_id, %error, "could not apply the voicemail policy");
                Ok(Some(Action::Skipped))
            }
        }
    }
}
