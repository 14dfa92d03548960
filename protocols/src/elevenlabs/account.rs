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

/// The whole `GET /v1/user/subscription` answer as ElevenLabs writes it (the sandbox's side): the
/// fields we read and every one the official SDKs' `Subscription` model requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionAnswer {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// A number of credits, or `"unlimited"`.
    pub max_credit_limit_extension: serde_json::Value,
    pub can_extend_character_limit: bool,
    pub allowed_to_extend_character_limit: bool,
    pub voice_slots_used: i64,
    pub professional_voice_slots_used: i64,
    pub professional_voice_slots_used_in_workspace: i64,
    pub voice_limit: i64,
    pub voice_add_edit_counter: i64,
    pub professional_voice_limit: i64,
    pub can_extend_voice_limit: bool,
    pub can_use_instant_voice_cloning: bool,
    pub can_use_professional_voice_cloning: bool,
    pub current_overage: Price,
    pub open_invoices: Vec<serde_json::Value>,
    pub has_open_invoices: bool,
}

/// An amount of money: a decimal string and a lower-case currency code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub amount: String,
    pub currency: String,
}

impl SubscriptionAnswer {
    /// A creator plan's answer around `subscription`: no overage, no open invoices.
    pub fn creator(subscription: Subscription) -> Self {
        Self {
            subscription,
            max_credit_limit_extension: serde_json::json!(0),
            can_extend_character_limit: false,
            allowed_to_extend_character_limit: false,
            voice_slots_used: 0,
            professional_voice_slots_used: 0,
            professional_voice_slots_used_in_workspace: 0,
            voice_limit: 30,
            voice_add_edit_counter: 0,
            professional_voice_limit: 1,
            can_extend_voice_limit: false,
            can_use_instant_voice_cloning: true,
            can_use_professional_voice_cloning: true,
            current_overage: Price {
                amount: "0.00".into(),
                currency: "usd".into(),
            },
            open_invoices: Vec::new(),
            has_open_invoices: false,
        }
    }
}

impl Subscription {
    /// Credits left in this period.
    pub fn remaining(&self) -> i64 {
        (self.character_limit - self.character_count).max(0)
    }
}
