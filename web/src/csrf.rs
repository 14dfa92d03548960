//! CSRF protection for every state-changing request of the pages.
//!
//! The token is an HMAC of the session id under the server's signing secret: one per session,
//! nothing to store, useless for any other session. Forms carry it in the hidden field `_csrf`
//! (URL-encoded or multipart), scripts in the `x-csrf-token` header. The session cookie stays
//! `SameSite=Lax` besides.

use api::AppState;
use api::auth::CurrentUser;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use secrecy::ExposeSecret;

use crate::i18n::Lang;

/// The form field that carries the token.
pub const FIELD: &str = "_csrf";
/// The header that carries the token.
pub const HEADER: &str = api::csrf::HEADER;

/// The session's token.
pub fn token(state: &AppState, user: &CurrentUser) -> String {
    api::csrf::token(state.jwt_secret.expose_secret(), user)
}

/// Whether `given` is the session's token (compared in constant time).
pub fn verify(state: &AppState, user: &CurrentUser, given: &str) -> bool {
    api::csrf::verify(state.jwt_secret.expose_secret(), user, given)
}

/// Middleware: a request that changes something (any method but GET and HEAD) needs the
/// session's token, else 403. Runs after sign-in, so the session is known.
pub async fn require(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let lang = Lang::of(None, request.headers());
    let refuse = || crate::message_page(lang, StatusCode::FORBIDDEN, lang.msgs().csrf_failed);
    let Some(user) = request.extensions().get::<CurrentUser>().copied() else {
        return refuse();
    };
    if let Some(given) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if verify(&state, &user, given) {
            next.run(request).await
        } else {
            refuse()
        };
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, crate::FORM_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return crate::message_page(lang, StatusCode::PAYLOAD_TOO_LARGE, lang.msgs().internal);
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let given = field_of(content_type, &bytes).await;
    if given.is_some_and(|given| verify(&state, &user, &given)) {
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    } else {
        refuse()
    }
}

/// The `_csrf` field of a URL-encoded or multipart body.
async fn field_of(content_type: &str, bytes: &Bytes) -> Option<String> {
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return form_urlencoded::parse(bytes)
            .find(|(key, _)| key == FIELD)
            .map(|(_, value)| value.into_owned());
    }
    let boundary = multer::parse_boundary(content_type).ok()?;
    let stream = futures::stream::once(futures::future::ready(Ok::<Bytes, std::io::Error>(
        bytes.clone(),
    )));
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FIELD) {
            return field.text().await.ok();
        }
    }
    None
}
