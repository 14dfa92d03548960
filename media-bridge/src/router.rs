//! `GET /twilio/media`: the Media Streams WebSocket, served by the [`Bridge`]. A process that runs
//! only media sockets serves [`router`]; the API process routes its documented handler to
//! [`serve_media`].

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::bridge::Bridge;

/// Where Twilio opens the media socket (the voice webhook's `<Connect><Stream url>`).
pub const MEDIA_PATH: &str = "/twilio/media";

/// The media socket route over `bridge`.
pub fn router(bridge: Arc<Bridge>) -> Router {
    Router::new()
        .route(MEDIA_PATH, get(media))
        .with_state(bridge)
}

async fn media(State(bridge): State<Arc<Bridge>>, upgrade: WebSocketUpgrade) -> Response {
    serve_media(Some(bridge), upgrade).await
}

/// Upgrades to the media socket and hands it to the bridge; 503 when this process runs none.
pub async fn serve_media(bridge: Option<Arc<Bridge>>, upgrade: WebSocketUpgrade) -> Response {
    let Some(bridge) = bridge else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "no media bridge in this process",
        )
            .into_response();
    };
    upgrade.on_upgrade(move |socket| bridge.serve(socket))
}
