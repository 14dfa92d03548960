//! Checks against the provider accounts before money is spent or a setting is trusted: a port
//! the provider adapters implement (Twilio for caller ids and the balance, ElevenLabs for the
//! credits left).

use async_trait::async_trait;
use serde::Serialize;

/// What a provider account lacks for the calls asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum CreditShortfall {
    /// The Twilio balance, as Twilio reports it, and what the calls need (in its currency).
    Twilio {
        balance: String,
        currency: String,
        required: String,
    },
    /// ElevenLabs credits left, used and granted for the period, and what the calls need.
    Elevenlabs {
        remaining: i64,
        used: i64,
        limit: i64,
        required: i64,
    },
}

/// Why a preflight check refused.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// The Twilio account neither owns nor has verified this caller id.
    #[error("callerId: the Twilio account neither owns nor has verified this number")]
    CallerIdNotVerified { number: String },
    /// A provider account cannot pay for the calls.
    #[error("{message}")]
    CreditsLow {
        message: String,
        shortfall: CreditShortfall,
    },
    /// A provider we must ask first cannot be reached or refused to answer.
    #[error("{message}")]
    Unavailable {
        provider: &'static str,
        message: String,
    },
}

/// The provider accounts, asked before a campaign starts or a caller id is saved.
#[async_trait]
pub trait ProviderAccounts: Send + Sync + 'static {
    /// Refuses a caller id the telephony account neither owns nor has verified.
    async fn check_caller_id(&self, number: &str) -> Result<(), PreflightError>;
    /// Refuses to start `calls` calls the provider accounts cannot pay for.
    async fn check_credits(&self, calls: i64) -> Result<(), PreflightError>;
}
