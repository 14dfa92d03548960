//! The campaign's own routes: create, list, read, add contacts, the lifecycle, delete.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use commands::services::campaigns::{
    self as service, CampaignCancelled, CampaignCreated, CampaignDetail, CampaignListItem,
    CampaignStarted, CampaignTransition, ContactsAdded,
};
use openapi::{Deleted, ErrorBody, NotFound, Success, tags};

use super::dto::{self, AddContacts, CreateCampaign, StartCampaign};
use crate::auth::{SignedIn, UserPath};
use crate::error::{ApiError, ApiJson, Envelope, created, ok};
use crate::state::AppState;

/// Creates a campaign in `DRAFT` with its contacts; invalid numbers refuse the whole request.
#[utoipa::path(
    post, path = "/campaigns", tag = tags::CAMPAIGNS,
    request_body = CreateCampaign,
    responses(
        (status = 201, description = "Created", body = Success<CampaignCreated>),
        (status = 400, description = "`INVALID_INPUT` (name, scriptId, settings, variables), `INVALID_PHONE` (each bad contact in `details.contacts`), `MISSING_VARIABLES` (each value the script needs that some contacts lack, with those contacts, in `details.variables`)", body = ErrorBody),
    ),
)]
pub(super) async fn create(
    SignedIn(state, user): SignedIn,
    ApiJson(body): ApiJson<CreateCampaign>,
) -> Result<Envelope<CampaignCreated>, ApiError> {
    let input = body.into_input(user.account_id);
    Ok(created(service::create(&state.services, input).await?))
}

/// The account's campaigns with their progress, newest first.
#[utoipa::path(
    get, path = "/campaigns", tag = tags::CAMPAIGNS,
    responses((status = 200, description = "Campaigns", body = Success<Vec<CampaignListItem>>)),
)]
pub(super) async fn list(
    SignedIn(state, user): SignedIn,
) -> Result<Envelope<Vec<CampaignListItem>>, ApiError> {
    Ok(ok(service::list(&state.services, user.account_id).await?))
}

/// One campaign: progress, ETA and settings.
#[utoipa::path(
    get, path = "/campaigns/{id}", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = Success<CampaignDetail>),
        NotFound,
    ),
)]
pub(super) async fn read(
    State(state): State<AppState>,
    path: UserPath,
) -> Result<Envelope<CampaignDetail>, ApiError> {
    Ok(ok(service::detail(&state.services, path.campaign()).await?))
}

/// Adds contacts (a number already in the campaign is skipped and reported once).
#[utoipa::path(
    post, path = "/campaigns/{id}/contacts", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = AddContacts,
    responses(
        (status = 200, description = "Added", body = Success<ContactsAdded>),
        (status = 400, description = "`INVALID_PHONE` (each bad contact in `details.contacts`), `INVALID_STATE`", body = ErrorBody),
        NotFound,
    ),
)]
pub(super) async fn add_contacts(
    State(state): State<AppState>,
    path: UserPath,
    ApiJson(body): ApiJson<AddContacts>,
) -> Result<Envelope<ContactsAdded>, ApiError> {
    let contacts = dto::contacts(body.contacts);
    let added = service::add_contacts(&state.services, path.campaign(), contacts).await?;
    Ok(ok(added))
}

/// Starts the campaign now or schedules it (5 a minute per user). Refused over budget.
#[utoipa::path(
    post, path = "/campaigns/{id}/start", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body(content = Option<StartCampaign>, description = "Optional; empty starts now"),
    responses(
        (status = 200, description = "Running or scheduled", body = Success<CampaignStarted>),
        (status = 400, description = "`INVALID_STATE` (already running or over), `NO_CONTACTS`, `INVALID_INPUT` (scheduledAt), `MISSING_VARIABLES` (as at creation: the business profile or contacts changed)", body = ErrorBody),
        (status = 402, description = "`INSUFFICIENT_CREDITS`: the daily or monthly budget is spent, or the Twilio balance or ElevenLabs quota is too low for the calls left (`details.provider`)", body = ErrorBody),
        NotFound,
        (status = 503, description = "`PROVIDER_UNAVAILABLE`: Twilio or ElevenLabs could not be asked for the balance", body = ErrorBody),
    ),
)]
pub(super) async fn start(
    State(state): State<AppState>,
    path: UserPath,
    body: Bytes,
) -> Result<Envelope<CampaignStarted>, ApiError> {
    let campaign = path.campaign();
    // A campaign that is not the user's is not found, whatever the body says.
    service::owned_id(&state.services, campaign).await?;
    // The body is optional: nothing or `null` (start now), or {"scheduledAt": …}.
    let body: StartCampaign = if body.iter().all(u8::is_ascii_whitespace) {
        StartCampaign::default()
    } else {
        serde_json::from_slice::<Option<StartCampaign>>(&body)
            .map_err(|e| ApiError::invalid(format!("invalid request body: {e}")))?
            .unwrap_or_default()
    };
    let started = service::start(&state.services, campaign, body.scheduled_at).await?;
    Ok(ok(started))
}

/// Pauses a running campaign; calls in progress finish.
#[utoipa::path(
    post, path = "/campaigns/{id}/pause", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Paused", body = Success<CampaignTransition>),
        (status = 400, description = "`INVALID_STATE`", body = ErrorBody),
        NotFound,
    ),
)]
pub(super) async fn pause(
    State(state): State<AppState>,
    path: UserPath,
) -> Result<Envelope<CampaignTransition>, ApiError> {
    Ok(ok(service::pause(&state.services, path.campaign()).await?))
}

/// Resumes a paused campaign.
#[utoipa::path(
    post, path = "/campaigns/{id}/resume", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Running again", body = Success<CampaignTransition>),
        (status = 400, description = "`INVALID_STATE`", body = ErrorBody),
        NotFound,
    ),
)]
pub(super) async fn resume(
    State(state): State<AppState>,
    path: UserPath,
) -> Result<Envelope<CampaignTransition>, ApiError> {
    Ok(ok(service::resume(&state.services, path.campaign()).await?))
}

/// Cancels the campaign: calls in progress finish, waiting calls are cancelled.
#[utoipa::path(
    post, path = "/campaigns/{id}/cancel", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Cancelled", body = Success<CampaignCancelled>),
        (status = 400, description = "`INVALID_STATE`: already over", body = ErrorBody),
        NotFound,
    ),
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    path: UserPath,
) -> Result<Envelope<CampaignCancelled>, ApiError> {
    Ok(ok(service::cancel(&state.services, path.campaign()).await?))
}

/// Deletes a campaign in `DRAFT`, `COMPLETED` or `CANCELLED`; its contacts' data becomes
/// unreadable.
#[utoipa::path(
    delete, path = "/campaigns/{id}", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        Deleted,
        (status = 400, description = "`INVALID_STATE`: running, paused or scheduled", body = ErrorBody),
        NotFound,
    ),
)]
pub(super) async fn delete(
    State(state): State<AppState>,
    path: UserPath,
) -> Result<StatusCode, ApiError> {
    service::delete(&state.services, path.campaign()).await?;
    Ok(StatusCode::NO_CONTENT)
}
