//! `GET /v1/user/subscription`: the account's credits, checked before a campaign starts.

use serde::{Deserialize, Serialize};

/// `GET /v1/user/subscription` (the fields we read). ElevenLabs bills agent conversations in
/// credits, and `character_count`/`character_limit` are the period's credits used and granted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    #[serde(default)]
    pub tier: String,
    pub character_count: i64,
    pub character_limit: i64,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub next_character_count_reset_unix: Option<i64>,
}

impl Subscription {
    /// Credits left in this period.
    pub fn remaining(&self) -> i64 {
        (self.character_limit - self.character_count).max(0)
    }
}
