//! `POST /campaigns/{id}/contacts/import`: contacts from a CSV file (the file format is
//! `commands::contacts_import`; this handler only takes the upload and answers).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use commands::contacts_import::ImportLimits;
use commands::services::campaigns as service;
use openapi::{ErrorBody, NotFound, Success, tags};
use utoipa::ToSchema;

use crate::auth::UserPath;
use crate::csv_upload::csv_body;
use crate::error::{ApiError, ok};
use crate::state::AppState;

/// Imports contacts from a CSV file (UTF-8 with or without BOM, or CP949/EUC-KR as Excel saves
/// it; Korean or English headers), as the body or as the multipart part `file`.
#[utoipa::path(
    post, path = "/campaigns/{id}/contacts/import", tag = tags::CAMPAIGNS,
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body(content(
        (String = "text/csv", example = "이름,전화번호,예약시간\n김철수,010-1234-5678,2026-02-06 14:00\n"),
        (CsvUpload = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "Imported, with a report of every rejected row", body = Success<service::ContactsImported>),
        (status = 400, description = "`INVALID_INPUT` (no usable rows, wrong content type, unreadable file), `INVALID_STATE`", body = ErrorBody),
        NotFound,
    ),
)]
pub(super) async fn import_contacts(
    State(state): State<AppState>,
    path: UserPath,
    request: Request,
) -> Result<Response, ApiError> {
    let id = service::owned_id(&state.services, path.campaign()).await?;
    let limits = ImportLimits::default();
    let file = csv_body(request, &limits).await?;
    let imported =
        service::import_contacts(&state.services, path.user.account_id, id, &file, &limits).await?;
    Ok(ok(imported).into_response())
}

/// A CSV upload as a form.
#[derive(ToSchema)]
#[allow(dead_code)]
struct CsvUpload {
    /// The CSV file.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}
