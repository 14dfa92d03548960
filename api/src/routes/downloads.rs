//! `/api/v1/downloads/{folder}/{id}?exp=…&sig=…`: the files behind signed links (recordings,
//! reports). No sign-in: the signature is the credential. A forged, altered or malformed link is
//! 404 `NOT_FOUND`; an authentic one past its expiry is 410 `LINK_EXPIRED`.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use openapi::ErrorBody;
use serde::Deserialize;
use utoipa::{IntoParams, IntoResponses};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::error::{ApiError, ApiQuery};
use crate::signed_url::LinkError;
use crate::state::AppState;

/// The download routes of every kind of file.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(super::recordings::download))
        .routes(routes!(super::reports::download))
}

/// The path a link to the file `id` of `folder` (`recordings`, `reports`) signs.
pub fn path(folder: &str, id: &Uuid) -> String {
    format!("/api/v1/downloads/{folder}/{id}")
}

/// `?exp=…&sig=…` of a download link.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    pub exp: Option<String>,
    pub sig: Option<String>,
}

/// What a download link may be refused with, whatever the file.
#[derive(IntoResponses)]
pub enum LinkRefusals {
    #[response(
        status = 404,
        description = "`NOT_FOUND`: a forged or altered link, or the file is gone"
    )]
    NotFound(ErrorBody),
    #[response(
        status = 410,
        description = "`LINK_EXPIRED`: an authentic link past its expiry"
    )]
    Expired(ErrorBody),
}

/// A download route's `{id}` and `?exp=…&sig=…`, not yet checked.
pub struct Link {
    /// The id as the link spells it.
    pub id: String,
    query: LinkQuery,
}

impl FromRequestParts<AppState> for Link {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ApiQuery(query) = ApiQuery::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { id, query })
    }
}

impl Link {
    /// The id, once the signature over `folder`'s path and the expiry check out: a forged,
    /// altered or malformed link is not found, an authentic old one has expired.
    pub fn verified(&self, state: &AppState, folder: &str) -> Result<Uuid, ApiError> {
        let id: Uuid = self.id.parse().map_err(|_| ApiError::NotFound)?;
        state
            .files
            .signer
            .verify(
                &path(folder, &id),
                self.query.exp.as_deref(),
                self.query.sig.as_deref(),
                state.clock.now(),
            )
            .map_err(|error| match error {
                LinkError::Invalid => ApiError::NotFound,
                LinkError::Expired => ApiError::LinkExpired,
            })?;
        Ok(id)
    }
}
