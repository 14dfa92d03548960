//! The status stream in the OpenAPI document: what each SSE frame's `data` holds (the same types
//! `commands::services::campaigns_status` builds the frames from).

use commands::services::campaigns::Progress;
use commands::services::campaigns_status::{
    CallUpdateFrame, CompletedFrame, CompletedSummary, StatusFrame,
};
use domain::call::{CallResult, CallStatus};
use domain::campaign::CampaignStatus;
use utoipa::PartialSchema;
use utoipa::openapi::OpenApi;

/// The 200 answer's description.
pub const STREAM: &str = "A `text/event-stream` that stays open. Frames:\n\n\
- `event: status`, data `StatusFrame`: first on connect (the current state), then whenever the \
  campaign's status or progress changes;\n\
- `event: call_update`, data `CallUpdateFrame`: a call's status, result, duration or attempts \
  changed;\n\
- `event: completed`, data `CompletedFrame`: the campaign is over (completed or cancelled).\n\n\
Each event's `id` is the global position of the event that caused it: reconnect with \
`Last-Event-ID` to get exactly the frames after it. A comment line is sent every 15 s to keep the \
connection open.";

/// An example of the stream (PRD shapes).
pub const EXAMPLE: &str = "event: status\n\
data: {\"campaignId\":\"0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10\",\"status\":\"RUNNING\",\"progress\":{\"total\":10,\"completed\":3,\"inProgress\":1,\"pending\":6,\"failed\":0,\"noAnswer\":0,\"cancelled\":0,\"finished\":3,\"successRate\":1.0}}\n\
id: 42\n\n\
event: call_update\n\
data: {\"callId\":\"0193a4c2-7b1f-7000-8000-000000000456\",\"status\":\"COMPLETED\",\"result\":\"SUCCESS\",\"duration\":45,\"attempts\":1}\n\
id: 57\n\n\
event: completed\n\
data: {\"campaignId\":\"0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10\",\"status\":\"COMPLETED\",\"summary\":{\"total\":10,\"success\":8,\"completed\":8,\"failed\":1,\"noAnswer\":1,\"cancelled\":0}}\n\
id: 90\n\n";

/// Adds the frame schemas to the document (the stream's body is text, so no operation names
/// them).
pub fn register_frames(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        ("StatusFrame", StatusFrame::schema()),
        ("CallUpdateFrame", CallUpdateFrame::schema()),
        ("CompletedFrame", CompletedFrame::schema()),
        ("CompletedSummary", CompletedSummary::schema()),
        ("Progress", Progress::schema()),
        ("CampaignStatus", CampaignStatus::schema()),
        ("CallStatus", CallStatus::schema()),
        ("CallResult", CallResult::schema()),
    ] {
        components.schemas.insert(name.to_owned(), schema);
    }
}
