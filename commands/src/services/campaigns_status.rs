//! The live dashboard of a campaign, folded from its history: what the status stream sends.
//!
//! Every frame is a pure function of the event history: a [`Dashboard`] folds the campaign's and
//! its calls' events in global order, and each event it applies yields the frames it causes,
//! stamped with that event's global position. A client that comes back after position `n` gets
//! the history up to `n` folded silently and then exactly the frames of the events after `n` —
//! the same frames that it would have seen live. The SSE framing stays in the HTTP route.

use std::collections::HashMap;
use std::time::Duration;

use cqrs_es::Aggregate;
use domain::call::{Call, CallEvent, CallResult, CallStatus};
use domain::campaign::{Campaign, CampaignEvent, CampaignStatus};
use serde::Serialize;
use tokio::sync::mpsc;

use super::ServiceContext;
use super::campaigns::{Progress, call_ids};
use crate::metrics::names;
use crate::{BusMessage, BusSubscription, StoreError, StoredEvent};

/// Events read from the store per batch when catching up.
const CATCH_UP_BATCH: i64 = 500;
/// Looks at the store now and then in case a bus wake-up was lost.
const SAFETY_POLL: Duration = Duration::from_secs(1);
/// How long a frame waits for the campaigns projection to show its event.
const READ_MODEL_WAIT: Duration = Duration::from_secs(2);

/// `event: status`: the campaign's status and progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusFrame {
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub campaign_id: String,
    pub status: CampaignStatus,
    pub progress: Progress,
}

/// `event: call_update`: what the dashboard shows of one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallUpdateFrame {
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub call_id: String,
    pub status: CallStatus,
    /// Absent until the call has a result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<CallResult>,
    /// Talk time in seconds, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    pub attempts: i64,
}

/// `event: completed`: the campaign is over.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CompletedFrame {
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub campaign_id: String,
    pub status: CampaignStatus,
    pub summary: CompletedSummary,
}

/// How the campaign's calls ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CompletedSummary {
    pub total: u64,
    /// Completed with result `SUCCESS`.
    pub success: u64,
    pub completed: u64,
    pub failed: u64,
    pub no_answer: u64,
    pub cancelled: u64,
}

/// What one frame says.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameData {
    Status(StatusFrame),
    CallUpdate(CallUpdateFrame),
    Completed(CompletedFrame),
}

/// One frame of the status stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The global position of the event that caused it.
    pub id: i64,
    pub data: FrameData,
}

impl Frame {
    /// The SSE event name: `status`, `call_update` or `completed`.
    pub fn event(&self) -> &'static str {
        match self.data {
            FrameData::Status(_) => "status",
            FrameData::CallUpdate(_) => "call_update",
            FrameData::Completed(_) => "completed",
        }
    }

    /// The frame's data as JSON.
    pub fn json(&self) -> serde_json::Value {
        let value = match &self.data {
            FrameData::Status(frame) => serde_json::to_value(frame),
            FrameData::CallUpdate(frame) => serde_json::to_value(frame),
            FrameData::Completed(frame) => serde_json::to_value(frame),
        };
        // Plain structs of strings and numbers always serialize.
        value.unwrap_or(serde_json::Value::Null)
    }
}

/// One call as the dashboard tracks it.
#[derive(Debug, Clone, PartialEq)]
struct CallView {
    frame: CallUpdateFrame,
    has_aggregate: bool,
}

/// The campaign as the dashboard sees it, folded from events with the same rules as the
/// `campaign_list` and `call_list` projections (so its counts agree with `GET campaigns/{id}`).
pub struct Dashboard {
    campaign_id: String,
    status: CampaignStatus,
    calls: HashMap<String, CallView>,
    deleted: bool,
    /// The position of the last event of this campaign applied.
    last: i64,
}

impl Dashboard {
    /// An empty dashboard of one campaign.
    pub fn new(campaign_id: &str) -> Self {
        Self {
            campaign_id: campaign_id.to_owned(),
            status: CampaignStatus::Draft,
            calls: HashMap::new(),
            deleted: false,
            last: 0,
        }
    }

    /// True once the campaign was deleted (nothing more will come).
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// True when the event belongs to this campaign or one of its calls.
    pub fn concerns(&self, event: &StoredEvent) -> bool {
        event.aggregate_id == self.campaign_id
            || (event.aggregate_type == Call::TYPE && self.calls.contains_key(&event.aggregate_id))
    }

    fn count(&self, status: CallStatus) -> u64 {
        self.calls
            .values()
            .filter(|c| c.frame.status == status)
            .count() as u64
    }

    fn progress(&self) -> Progress {
        Progress::count(
            self.calls
                .values()
                .map(|c| (c.frame.status, c.frame.result)),
        )
    }

    fn status_frame(&self, id: i64) -> Frame {
        Frame {
            id,
            data: FrameData::Status(StatusFrame {
                campaign_id: self.campaign_id.clone(),
                status: self.status,
                progress: self.progress(),
            }),
        }
    }

    fn completed_frame(&self, id: i64) -> Frame {
        let success = self
            .calls
            .values()
            .filter(|c| {
                c.frame.status == CallStatus::Completed
                    && c.frame.result == Some(CallResult::Success)
            })
            .count() as u64;
        Frame {
            id,
            data: FrameData::Completed(CompletedFrame {
                campaign_id: self.campaign_id.clone(),
                status: self.status,
                summary: CompletedSummary {
                    total: self.calls.len() as u64,
                    success,
                    completed: self.count(CallStatus::Completed),
                    failed: self.count(CallStatus::Failed),
                    no_answer: self.count(CallStatus::NoAnswer),
                    cancelled: self.count(CallStatus::Cancelled),
                },
            }),
        }
    }

    /// What a new subscriber gets first: the current status (and `completed` when the
    /// campaign is over), stamped with the position of the campaign's last event.
    pub fn snapshot(&self) -> Vec<Frame> {
        let mut frames = vec![self.status_frame(self.last)];
        if self.status.is_final() {
            frames.push(self.completed_frame(self.last));
        }
        frames
    }

    /// Applies one event and returns the frames it causes (none for other campaigns' events).
    pub fn apply(&mut self, event: &StoredEvent) -> Vec<Frame> {
        if !self.concerns(event) {
            return Vec::new();
        }
        let before = (self.status, self.progress());
        let mut frames = Vec::new();
        let mut finished = false;
        if event.aggregate_type == Campaign::TYPE {
            finished = self.apply_campaign(event);
        } else if let Some(frame) = self.apply_call(event) {
            frames.push(Frame {
                id: event.position,
                data: FrameData::CallUpdate(frame),
            });
        }
        if (self.status, self.progress()) != before {
            frames.push(self.status_frame(event.position));
        }
        if finished {
            frames.push(self.completed_frame(event.position));
        }
        self.last = event.position;
        frames
    }

    /// Returns true when the campaign ended with this event.
    fn apply_campaign(&mut self, event: &StoredEvent) -> bool {
        let Ok(payload) = serde_json::from_value::<CampaignEvent>(event.payload.clone()) else {
            tracing::warn!(
                position = event.position,
                "unreadable campaign event skipped"
            );
            return false;
        };
        let status = match payload {
            CampaignEvent::ContactsAdded { contacts, .. } => {
                for contact in contacts {
                    let id = contact.call_id.to_string();
                    self.calls.entry(id.clone()).or_insert(CallView {
                        frame: CallUpdateFrame {
                            call_id: id,
                            status: CallStatus::Pending,
                            result: None,
                            duration: None,
                            attempts: 0,
                        },
                        has_aggregate: false,
                    });
                }
                return false;
            }
            CampaignEvent::CampaignScheduled { .. } => CampaignStatus::Scheduled,
            CampaignEvent::CampaignStarted { .. } | CampaignEvent::CampaignResumed { .. } => {
                CampaignStatus::Running
            }
            CampaignEvent::CampaignPaused { .. } => CampaignStatus::Paused,
            CampaignEvent::CampaignCompleted { .. } => CampaignStatus::Completed,
            CampaignEvent::CampaignCancelled { .. } => {
                // As in `call_list`: contacts never dialed are cancelled with the campaign.
                for call in self.calls.values_mut() {
                    if !call.has_aggregate && call.frame.status == CallStatus::Pending {
                        call.frame.status = CallStatus::Cancelled;
                    }
                }
                CampaignStatus::Cancelled
            }
            CampaignEvent::CampaignDeleted { .. } => {
                self.deleted = true;
                return false;
            }
            CampaignEvent::CampaignCreated { .. } | CampaignEvent::CampaignCallFinished { .. } => {
                return false;
            }
        };
        self.status = status;
        status.is_final()
    }

    /// The call's new frame when the event changed what the dashboard shows.
    fn apply_call(&mut self, event: &StoredEvent) -> Option<CallUpdateFrame> {
        let payload = serde_json::from_value::<CallEvent>(event.payload.clone()).ok()?;
        let call = self.calls.get_mut(&event.aggregate_id)?;
        let before = call.frame.clone();
        let view = &mut call.frame;
        match payload {
            CallEvent::CallCreated { .. } => call.has_aggregate = true,
            CallEvent::DialRequested { attempt, .. } => {
                view.status = CallStatus::Calling;
                view.attempts = i64::from(attempt);
            }
            CallEvent::CallAnswered { .. } => view.status = CallStatus::InProgress,
            CallEvent::OutcomeReported { result, .. } => view.result = Some(result),
            CallEvent::AttemptEnded { duration_secs, .. } => {
                view.duration = Some(i64::from(duration_secs));
            }
            CallEvent::CallCompleted {
                result,
                duration_secs,
                ..
            } => {
                view.status = CallStatus::Completed;
                view.result = Some(result);
                view.duration = Some(i64::from(duration_secs));
            }
            CallEvent::RetryScheduled { .. } => view.status = CallStatus::Pending,
            CallEvent::CallFinishedNoAnswer { .. } => view.status = CallStatus::NoAnswer,
            CallEvent::CallFailed { .. } => view.status = CallStatus::Failed,
            CallEvent::CallCancelled { .. } => view.status = CallStatus::Cancelled,
            CallEvent::ProviderCallCreated { .. } | CallEvent::CostRecorded { .. } => {}
            // Recordings are not on the dashboard.
            CallEvent::RecordingConsentGiven { .. }
            | CallEvent::RecordingConsentRevoked { .. }
            | CallEvent::RecordingAvailable { .. }
            | CallEvent::RecordingStored { .. }
            | CallEvent::RecordingDiscarded { .. }
            | CallEvent::RecordingPurged { .. } => {}
            // Results after the call: not part of the live dashboard view.
            CallEvent::ConversationStarted { .. }
            | CallEvent::TranscriptRecorded { .. }
            | CallEvent::SummaryGenerated { .. }
            | CallEvent::AttemptCostRecorded { .. } => {}
            CallEvent::VoicemailReached { .. } => view.result = Some(CallResult::Voicemail),
            CallEvent::ConversationEnded { .. } => {}
        }
        // `has_aggregate` alone is invisible, so `CallCreated` sends nothing.
        (call.frame != before).then(|| call.frame.clone())
    }
}

/// The campaign's and its calls' events up to `head`, in global order.
pub async fn campaign_history(
    ctx: &ServiceContext,
    campaign_id: &str,
    head: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let campaign = ctx.store.read_aggregate(campaign_id).await?;
    let calls = call_ids(&campaign);
    let mut events = ctx.store.read_aggregates(&calls, 0, head).await?;
    events.extend(campaign);
    events.retain(|e| e.position <= head);
    events.sort_by_key(|e| e.position);
    Ok(events)
}

/// Why a subscriber's follow stopped early.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The subscriber went away (its receiver was dropped).
    #[error("subscriber gone")]
    Gone,
}

/// Follows one campaign for one subscriber: the history from the store (folded silently up to
/// `resume`, or up to now followed by a snapshot), then the bus, until the subscriber drops its
/// receiver or the campaign is deleted. Each item sent is the group of frames one event caused.
///
/// A slow subscriber only fills its own channel: its bus receiver falls behind and it is caught
/// up from the store when it reads again — nobody else waits for it.
pub async fn follow(
    ctx: ServiceContext,
    campaign_id: String,
    resume: Option<i64>,
    out: mpsc::Sender<Vec<Frame>>,
) -> Result<(), FollowError> {
    // Subscribe before reading the store, so nothing committed in between is missed.
    let mut subscription = ctx.bus.subscribe().await.ok();
    let head = ctx.store.head().await?;
    let mut dashboard = Dashboard::new(&campaign_id);
    let mut stream = Subscriber {
        ctx: &ctx,
        out: &out,
        // Frames of events at or before this position were already delivered.
        delivered: resume.unwrap_or(head),
        live: false,
    };
    for event in campaign_history(&ctx, &campaign_id, head).await? {
        stream.deliver(&mut dashboard, &event).await?;
    }
    stream.live = true;
    if resume.is_none() {
        stream.wait_for_read_model(head).await;
        stream.send(dashboard.snapshot()).await?;
    }
    let mut position = head;
    let mut poll = tokio::time::interval(SAFETY_POLL);
    while !dashboard.is_deleted() {
        let message = tokio::select! {
            _ = out.closed() => return Err(FollowError::Gone),
            _ = poll.tick() => None,
            message = next_message(&mut subscription) => match message {
                Some(message) => Some(message),
                None => {
                    subscription = ctx.bus.subscribe().await.ok();
                    None
                }
            },
        };
        match message {
            Some(BusMessage::Event(event)) if event.position <= position => {}
            Some(BusMessage::Event(event)) if event.position == position + 1 => {
                stream.deliver(&mut dashboard, &event).await?;
                position = event.position;
            }
            // A gap, a lagged receiver, the timer: read what is missing from the store.
            _ => loop {
                let events = ctx.store.read_after(position, CATCH_UP_BATCH).await?;
                let Some(last) = events.last().map(|e| e.position) else {
                    break;
                };
                for event in &events {
                    stream.deliver(&mut dashboard, event).await?;
                }
                position = last;
            },
        }
    }
    Ok(())
}

struct Subscriber<'a> {
    ctx: &'a ServiceContext,
    out: &'a mpsc::Sender<Vec<Frame>>,
    delivered: i64,
    /// Past the history read at subscription: what it sends now is news.
    live: bool,
}

impl Subscriber<'_> {
    /// Folds the event and sends the frames it causes unless the subscriber already had them.
    async fn deliver(
        &mut self,
        dashboard: &mut Dashboard,
        event: &StoredEvent,
    ) -> Result<(), FollowError> {
        let frames = dashboard.apply(event);
        if event.position <= self.delivered || frames.is_empty() {
            return Ok(());
        }
        self.wait_for_read_model(event.position).await;
        self.delivered = event.position;
        self.send(frames).await?;
        self.measure_webhook_latency(event);
        Ok(())
    }

    /// `callbot_webhook_to_sse_seconds`: from the commit of an event a Twilio webhook caused
    /// (its `recorded_at`, stamped by the store's wall clock when the webhook handler appends
    /// it, a few milliseconds after the request arrived) to its frames being handed to this
    /// subscriber's connection. That spans the bus hop, the wait for the campaigns projection
    /// (frames never run ahead of `GET campaigns/{id}`) and room in the subscriber's buffer —
    /// everything between a call changing and a dashboard seeing it that this server controls.
    /// The stored time is used rather than a timestamp of the request because the status
    /// stream may run in another process than the webhook; only live frames count (the history
    /// replayed to a resuming client would measure how long it was away).
    fn measure_webhook_latency(&self, event: &StoredEvent) {
        // Webhook handlers act as `twilio` (see `provider_callbacks`).
        if !self.live || event.metadata.actor != "twilio" {
            return;
        }
        let elapsed = (chrono::Utc::now() - event.recorded_at).to_std();
        // A clock stepped back between the two stamps: nothing true to record.
        if let Ok(elapsed) = elapsed {
            metrics::histogram!(names::WEBHOOK_TO_SSE).record(elapsed.as_secs_f64());
        }
    }

    /// A frame never shows a state that `GET campaigns/{id}` would not show yet.
    async fn wait_for_read_model(&self, position: i64) {
        if !self.ctx.reads.caught_up(position, READ_MODEL_WAIT).await {
            tracing::debug!(
                position,
                "campaigns projection is behind; sending the frame anyway"
            );
        }
    }

    async fn send(&self, frames: Vec<Frame>) -> Result<(), FollowError> {
        self.out.send(frames).await.map_err(|_| FollowError::Gone)
    }
}

async fn next_message(subscription: &mut Option<BusSubscription>) -> Option<BusMessage> {
    match subscription {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "campaigns_status_tests.rs"]
mod tests;
