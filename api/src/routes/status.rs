//! `GET /api/v1/campaigns/{id}/status`: the live dashboard as Server-Sent Events.
//!
//! Every frame is a pure function of the event history (`commands::services::campaigns_status`'s
//! `Dashboard`), stamped with its event's global position as the SSE `id`. A client that comes
//! back with `Last-Event-ID: n` gets the history up to `n` folded silently and then exactly the
//! frames of the events after `n` — the same frames, byte for byte, that it would have seen live.
//!
//! The missed part comes from the store; then each subscriber follows the bus like a
//! projection runner does (next position from the bus, any gap read from the store). Each
//! subscriber runs in its own task with a bounded frame buffer: a slow client only ever fills
//! its own buffer, its bus receiver falls behind, and it is caught up from the store when it
//! reads again — nobody else (no other subscriber, no projection) ever waits for it.

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use commands::services::campaigns::{self, CampaignRef};
use commands::services::campaigns_status::{Dashboard, Frame, campaign_history};
use commands::{BusMessage, BusSubscription, StoreError, StoredEvent};
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::error::ApiError;

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

/// A frame as an SSE event (`id` only when asked: see [`Stream::send`]).
fn encode(frame: &Frame, with_id: bool) -> Event {
    let event = Event::default()
        .event(frame.event())
        .data(frame.json().to_string());
    if with_id {
        event.id(frame.id.to_string())
    } else {
        event
    }
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
    let campaign = CampaignRef {
        owner_id: user.account_id,
        campaign_id: &id,
    };
    campaigns::owned_id(&state.services, campaign).await?;
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
    for event in campaign_history(&state.services, &campaign_id, head).await? {
        stream.deliver(&mut dashboard, &event).await?;
    }
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
        if !self
            .state
            .services
            .reads
            .caught_up(position, READ_MODEL_WAIT)
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
                .send(encode(&frame, index == last))
                .await
                .map_err(|_| FollowError::Gone)?;
        }
        Ok(())
    }
}

async fn next_message(subscription: &mut Option<BusSubscription>) -> Option<BusMessage> {
    match subscription {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}
