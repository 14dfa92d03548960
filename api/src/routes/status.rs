//! `GET /api/v1/campaigns/{id}/status`: the live dashboard as Server-Sent Events.
//!
//! Every frame is a pure function of the event history: a [`Dashboard`] folds the campaign's and
//! its calls' events in global order, and each event it applies yields the frames it causes,
//! stamped with that event's global position as the SSE `id`. A client that comes back with
//! `Last-Event-ID: n` gets the history up to `n` folded silently and then exactly the frames of
//! the events after `n` — the same frames, byte for byte, that it would have seen live.
//!
//! The missed part comes from the store; then each subscriber follows the bus like a
//! projection runner does (next position from the bus, any gap read from the store). Each
//! subscriber runs in its own task with a bounded frame buffer: a slow client only ever fills
//! its own buffer, its bus receiver falls behind, and it is caught up from the store when it
//! reads again — nobody else (no other subscriber, no projection) ever waits for it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use commands::{BusMessage, BusSubscription, StoreError, StoredEvent};
use cqrs_es::Aggregate;
use domain::call::{Call, CallEvent};
use domain::campaign::{Campaign, CampaignEvent};
use projections::campaign_list::CampaignList;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

/// Frames buffered per subscriber before its task stops reading the bus.
const FRAME_BUFFER: usize = 256;
const CATCH_UP_BATCH: i64 = 500;
/// Looks at the store now and then in case a bus wake-up was lost.
const SAFETY_POLL: Duration = Duration::from_secs(1);
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long a frame waits for the campaigns projection to show its event.
const READ_MODEL_WAIT: Duration = Duration::from_secs(2);

/// The status stream route (its frames' schemas are in `status_doc`).
pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new().routes(routes!(status));
    super::status_doc::register_frames(router.get_openapi_mut());
    router
}

/// One SSE frame before encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The global position of the event that caused it.
    pub id: i64,
    /// `status`, `call_update` or `completed`.
    pub event: &'static str,
    pub data: Value,
}

impl Frame {
    fn encode(&self, with_id: bool) -> Event {
        let event = Event::default()
            .event(self.event)
            .data(self.data.to_string());
        if with_id {
            event.id(self.id.to_string())
        } else {
            event
        }
    }
}

/// What the dashboard shows of one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct CallView {
    call_id: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
    /// Talk time in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    attempts: i64,
    #[serde(skip)]
    has_aggregate: bool,
}

/// The campaign as the dashboard sees it, folded from events with the same rules as the
/// `campaign_list` and `call_list` projections (so its counts agree with `GET campaigns/{id}`).
pub struct Dashboard {
    campaign_id: String,
    status: String,
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
            status: "DRAFT".to_owned(),
            calls: HashMap::new(),
            deleted: false,
            last: 0,
        }
    }

    /// True when the event belongs to this campaign or one of its calls.
    pub fn concerns(&self, event: &StoredEvent) -> bool {
        event.aggregate_id == self.campaign_id
            || (event.aggregate_type == Call::TYPE && self.calls.contains_key(&event.aggregate_id))
    }

    fn is_over(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETED" | "CANCELLED")
    }

    fn count(&self, status: &str) -> usize {
        self.calls.values().filter(|c| c.status == status).count()
    }

    fn successes(&self) -> usize {
        self.calls
            .values()
            .filter(|c| c.status == "COMPLETED" && c.result.as_deref() == Some("SUCCESS"))
            .count()
    }

    fn progress(&self) -> Value {
        let finished = self
            .calls
            .values()
            .filter(|c| {
                matches!(
                    c.status.as_str(),
                    "COMPLETED" | "FAILED" | "NO_ANSWER" | "CANCELLED"
                )
            })
            .count();
        let success = self.successes();
        json!({
            "total": self.calls.len(),
            "completed": self.count("COMPLETED"),
            "inProgress": self.count("CALLING") + self.count("IN_PROGRESS"),
            "pending": self.count("PENDING"),
            "failed": self.count("FAILED"),
            "noAnswer": self.count("NO_ANSWER"),
            "cancelled": self.count("CANCELLED"),
            "finished": finished,
            "successRate": if finished == 0 { 0.0 } else { success as f64 / finished as f64 },
        })
    }

    fn status_frame(&self, id: i64) -> Frame {
        Frame {
            id,
            event: "status",
            data: json!({
                "campaignId": self.campaign_id,
                "status": self.status,
                "progress": self.progress(),
            }),
        }
    }

    fn completed_frame(&self, id: i64) -> Frame {
        Frame {
            id,
            event: "completed",
            data: json!({
                "campaignId": self.campaign_id,
                "status": self.status,
                "summary": {
                    "total": self.calls.len(),
                    "success": self.successes(),
                    "completed": self.count("COMPLETED"),
                    "failed": self.count("FAILED"),
                    "noAnswer": self.count("NO_ANSWER"),
                    "cancelled": self.count("CANCELLED"),
                },
            }),
        }
    }

    /// What a new subscriber gets first: the current status (and `completed` when the
    /// campaign is over), stamped with the position of the campaign's last event.
    pub fn snapshot(&self) -> Vec<Frame> {
        let mut frames = vec![self.status_frame(self.last)];
        if self.is_over() {
            frames.push(self.completed_frame(self.last));
        }
        frames
    }

    /// Applies one event and returns the frames it causes (none for other campaigns' events).
    pub fn apply(&mut self, event: &StoredEvent) -> Vec<Frame> {
        if !self.concerns(event) {
            return Vec::new();
        }
        let before = (self.status.clone(), self.progress());
        let mut frames = Vec::new();
        let mut finished = false;
        if event.aggregate_type == Campaign::TYPE {
            finished = self.apply_campaign(event);
        } else if let Some(view) = self.apply_call(event) {
            frames.push(Frame {
                id: event.position,
                event: "call_update",
                data: serde_json::to_value(view).unwrap_or(Value::Null),
            });
        }
        if (self.status.clone(), self.progress()) != before {
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
                        call_id: id,
                        status: "PENDING".to_owned(),
                        result: None,
                        duration: None,
                        attempts: 0,
                        has_aggregate: false,
                    });
                }
                return false;
            }
            CampaignEvent::CampaignScheduled { .. } => "SCHEDULED",
            CampaignEvent::CampaignStarted { .. } | CampaignEvent::CampaignResumed { .. } => {
                "RUNNING"
            }
            CampaignEvent::CampaignPaused { .. } => "PAUSED",
            CampaignEvent::CampaignCompleted { .. } => "COMPLETED",
            CampaignEvent::CampaignCancelled { .. } => {
                // As in `call_list`: contacts never dialed are cancelled with the campaign.
                for call in self.calls.values_mut() {
                    if !call.has_aggregate && call.status == "PENDING" {
                        call.status = "CANCELLED".to_owned();
                    }
                }
                "CANCELLED"
            }
            CampaignEvent::CampaignDeleted { .. } => {
                self.deleted = true;
                return false;
            }
            CampaignEvent::CampaignCreated { .. } | CampaignEvent::CampaignCallFinished { .. } => {
                return false;
            }
        };
        self.status = status.to_owned();
        matches!(status, "COMPLETED" | "CANCELLED")
    }

    /// The call's new view when the event changed what the dashboard shows.
    fn apply_call(&mut self, event: &StoredEvent) -> Option<CallView> {
        let payload = serde_json::from_value::<CallEvent>(event.payload.clone()).ok()?;
        let call = self.calls.get_mut(&event.aggregate_id)?;
        let before = call.clone();
        match payload {
            CallEvent::CallCreated { .. } => call.has_aggregate = true,
            CallEvent::DialRequested { attempt, .. } => {
                call.status = "CALLING".to_owned();
                call.attempts = i64::from(attempt);
            }
            CallEvent::CallAnswered { .. } => call.status = "IN_PROGRESS".to_owned(),
            CallEvent::OutcomeReported { result, .. } => call.result = Some(text(&result)),
            CallEvent::AttemptEnded { duration_secs, .. } => {
                call.duration = Some(i64::from(duration_secs));
            }
            CallEvent::CallCompleted {
                result,
                duration_secs,
                ..
            } => {
                call.status = "COMPLETED".to_owned();
                call.result = Some(text(&result));
                call.duration = Some(i64::from(duration_secs));
            }
            CallEvent::RetryScheduled { .. } => call.status = "PENDING".to_owned(),
            CallEvent::CallFinishedNoAnswer { .. } => call.status = "NO_ANSWER".to_owned(),
            CallEvent::CallFailed { .. } => call.status = "FAILED".to_owned(),
            CallEvent::CallCancelled { .. } => call.status = "CANCELLED".to_owned(),
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
            CallEvent::VoicemailReached { .. } => call.result = Some("VOICEMAIL".to_owned()),
            CallEvent::ConversationEnded { .. } => {}
        }
        // `has_aggregate` alone is invisible, so `CallCreated` sends nothing.
        let visible = |view: &CallView| {
            (
                view.status.clone(),
                view.result.clone(),
                view.duration,
                view.attempts,
            )
        };
        (visible(call) != visible(&before)).then(|| call.clone())
    }
}

/// An enum value as the API spells it (its serde name).
fn text<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The live dashboard as Server-Sent Events: `status` first, then `call_update`, `status` and
/// finally `completed` (frame schemas: `StatusFrame`, `CallUpdateFrame`, `CompletedFrame`).
#[utoipa::path(
    get, path = "/campaigns/{id}/status", tag = openapi::tags::CAMPAIGNS,
    params(
        ("id" = uuid::Uuid, Path, description = "Campaign id"),
        ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event position (sent by browsers on reconnect)"),
    ),
    responses(
        (status = 200, description = super::status_doc::STREAM, content_type = "text/event-stream",
            body = String, example = json!(super::status_doc::EXAMPLE)),
        (status = 400, description = "`INVALID_INPUT`: Last-Event-ID is not an event position", body = openapi::ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = openapi::ErrorBody),
    ),
)]
#[tracing::instrument(skip(state, user, headers), fields(campaign_id = %id))]
async fn status(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let owner = user.account_id.to_string();
    CampaignList::find(state.store.db().pool(), &owner, &id)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|v| *v >= 0)
                .ok_or_else(|| ApiError::invalid("Last-Event-ID: not an event position"))?,
        ),
    };
    // Subscribe before reading the store, so nothing committed in between is missed.
    let subscription = state.bus.subscribe().await.ok();
    let (frames, receiver) = mpsc::channel(FRAME_BUFFER);
    tokio::spawn(async move {
        match follow(state, id, resume, subscription, frames).await {
            Ok(()) | Err(FollowError::Gone) => {}
            Err(err) => tracing::warn!(error = %err, "status stream ended by a store error"),
        }
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok::<Event, Infallible>(event), receiver))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// Why a subscriber's task stopped early.
#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The client went away.
    #[error("client gone")]
    Gone,
}

/// One subscriber: history from the store, then the bus, until the client leaves.
async fn follow(
    state: AppState,
    campaign_id: String,
    resume: Option<i64>,
    mut subscription: Option<BusSubscription>,
    out: mpsc::Sender<Event>,
) -> Result<(), FollowError> {
    let head = state.store.head().await?;
    let mut dashboard = Dashboard::new(&campaign_id);
    let mut stream = Stream {
        state: &state,
        out: &out,
        // Frames of events at or before this position were already delivered.
        delivered: resume.unwrap_or(head),
    };
    for event in campaign_history(&state, &campaign_id, head).await? {
        stream.deliver(&mut dashboard, &event).await?;
    }
    if resume.is_none() {
        stream.wait_for_read_model(head).await;
        stream.send(dashboard.snapshot()).await?;
    }
    let mut position = head;
    let mut poll = tokio::time::interval(SAFETY_POLL);
    while !dashboard.deleted {
        let message = tokio::select! {
            _ = out.closed() => return Err(FollowError::Gone),
            _ = poll.tick() => None,
            message = next_message(&mut subscription) => match message {
                Some(message) => Some(message),
                None => {
                    subscription = state.bus.subscribe().await.ok();
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
                let events = state.store.read_after(position, CATCH_UP_BATCH).await?;
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

struct Stream<'a> {
    state: &'a AppState,
    out: &'a mpsc::Sender<Event>,
    delivered: i64,
}

impl Stream<'_> {
    /// Folds the event and sends the frames it causes unless the client already had them.
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
        self.send(frames).await
    }

    /// A frame never shows a state that `GET campaigns/{id}` would not show yet.
    async fn wait_for_read_model(&self, position: i64) {
        if !crate::read_models::wait_for_projection(
            &self.state.store,
            &self.state.campaign_list,
            projections::campaign_list::CAMPAIGNS,
            position,
            READ_MODEL_WAIT,
        )
        .await
        {
            tracing::debug!(
                position,
                "campaigns projection is behind; sending the frame anyway"
            );
        }
    }

    /// Sends the frames one event caused. Only the last carries the id: a client cut off in the
    /// middle of the group resumes from the previous event and gets the whole group again,
    /// rather than skipping its rest.
    async fn send(&self, frames: Vec<Frame>) -> Result<(), FollowError> {
        let last = frames.len().saturating_sub(1);
        for (index, frame) in frames.into_iter().enumerate() {
            self.out
                .send(frame.encode(index == last))
                .await
                .map_err(|_| FollowError::Gone)?;
        }
        Ok(())
    }
}

/// The campaign's and its calls' events up to `head`, in global order.
async fn campaign_history(
    state: &AppState,
    campaign_id: &str,
    head: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let campaign = state.store.read_aggregate(campaign_id).await?;
    let calls = crate::audit::call_ids(&campaign);
    let mut events = state.store.read_aggregates(&calls, 0, head).await?;
    events.extend(campaign);
    events.retain(|e| e.position <= head);
    events.sort_by_key(|e| e.position);
    Ok(events)
}

async fn next_message(subscription: &mut Option<BusSubscription>) -> Option<BusMessage> {
    match subscription {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}
