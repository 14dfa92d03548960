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

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use commands::services::campaigns::{self, CampaignRef};
use commands::services::campaigns_status::{self, FollowError, Frame};
use futures::StreamExt;
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::UserPath;
use crate::error::ApiError;
use crate::state::AppState;

/// Frame groups (one per event) buffered per subscriber before its task stops reading the bus.
const FRAME_BUFFER: usize = 256;
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The status stream route (its frames' schemas are in `status_doc`).
pub fn router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::new().routes(routes!(status));
    super::status_doc::register_frames(router.get_openapi_mut());
    router
}

/// A frame as an SSE event (`id` only when asked: see [`encode_group`]).
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
    UserPath { user, id }: UserPath,
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
    let state_stopping = state.stopping.clone();
    let (frames, receiver) = mpsc::channel(FRAME_BUFFER);
    tokio::spawn(async move {
        match campaigns_status::follow(state.services, id, resume, frames).await {
            Ok(()) | Err(FollowError::Gone) => {}
            Err(err) => tracing::warn!(error = %err, "status stream ended by a store error"),
        }
    });
    let stream = futures::stream::unfold(
        (receiver, VecDeque::new()),
        |(mut receiver, mut ready)| async move {
            loop {
                if let Some(event) = ready.pop_front() {
                    return Some((Ok::<Event, Infallible>(event), (receiver, ready)));
                }
                ready.extend(encode_group(receiver.recv().await?));
            }
        },
    );
    // A stopping server ends the stream (the client resumes with Last-Event-ID elsewhere).
    let stream = stream.take_until(state_stopping.cancelled_owned());
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// The frames one event caused. Only the last carries the id: a client cut off in the middle of
/// the group resumes from the previous event and gets the whole group again, rather than
/// skipping its rest.
fn encode_group(frames: Vec<Frame>) -> Vec<Event> {
    let last = frames.len().saturating_sub(1);
    frames
        .iter()
        .enumerate()
        .map(|(index, frame)| encode(frame, index == last))
        .collect()
}
