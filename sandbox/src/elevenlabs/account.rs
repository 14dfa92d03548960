//! The sandbox's `GET /v1/user/subscription`: credits used and granted this period (`xi-api-key`);
//! tests set them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use protocols::elevenlabs::{Subscription, SubscriptionAnswer};

use super::{Shared, bad_key, key_ok};

/// Credits granted per period unless a test says otherwise.
pub(super) const DEFAULT_LIMIT: i64 = 1_000_000;

impl super::ElevenLabsSandbox {
    /// Sets the credits used and granted this period (default 0 of 1,000,000).
    pub fn set_credits(&self, used: i64, limit: i64) {
        self.shared.credits_used.store(used, Ordering::SeqCst);
        self.shared.credits_limit.store(limit, Ordering::SeqCst);
    }
}

pub(super) async fn subscription(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    if !key_ok(&shared, &headers) {
        return bad_key();
    }
    axum::Json(SubscriptionAnswer::creator(Subscription {
        tier: "creator".to_owned(),
        character_count: shared.credits_used.load(Ordering::SeqCst),
        character_limit: shared.credits_limit.load(Ordering::SeqCst),
        status: Some("active".to_owned()),
        next_character_count_reset_unix: None,
    }))
    .into_response()
}
