//! Checks against the provider accounts before money is spent or a setting is trusted: the
//! caller id must be one Twilio lets calls come from, and a campaign starts only if the Twilio
//! balance and the ElevenLabs credits cover its calls.
//!
//! The estimate per call is deliberately rough and errs high: a call to a Korean mobile
//! number with a minute of talk costs Twilio a few cents ([`TWILIO_MICROS_PER_CALL`] = $0.10),
//! and a minute of agent conversation costs ElevenLabs about a thousand credits
//! ([`ELEVENLABS_CREDITS_PER_CALL`]). ElevenLabs reports credits as the subscription's
//! `character_count` (used) and `character_limit` (granted) for the period; what is left is
//! their difference. A provider that cannot be asked refuses the start (503) rather than
//! letting a campaign run blind.

use media_bridge::bridge::ElevenLabsConfig;
use media_bridge::elevenlabs_account::{ElevenLabsAccount, ElevenLabsError};
use media_bridge::twilio::TwilioClient;
use media_bridge::twilio::client::TwilioError;
use serde_json::json;

use commands::services::settings::{CallerIdCheck, CallerIdError};

use crate::error::ApiError;

/// Twilio balance needed per call still to be made, in micro-dollars.
pub const TWILIO_MICROS_PER_CALL: i64 = 100_000;
/// The Twilio balance below which no campaign starts, in micro-dollars ($1).
pub const TWILIO_MIN_MICROS: i64 = 1_000_000;
/// ElevenLabs credits needed per call still to be made.
pub const ELEVENLABS_CREDITS_PER_CALL: i64 = 1_000;

/// The provider accounts.
#[derive(Debug, Clone)]
pub struct Preflight {
    twilio: TwilioClient,
    elevenlabs: ElevenLabsAccount,
}

impl Preflight {
    /// Checks against the accounts behind these adapters.
    pub fn new(twilio: TwilioClient, elevenlabs: ElevenLabsConfig) -> Self {
        Self {
            twilio,
            elevenlabs: ElevenLabsAccount::new(elevenlabs),
        }
    }

    /// Refuses to start `calls` calls the provider accounts cannot pay for.
    pub async fn check_credits(&self, calls: i64) -> Result<(), ApiError> {
        let calls = calls.max(0);
        let balance = self.twilio.balance().await.map_err(twilio_unavailable)?;
        let Some(available) = balance.micros() else {
            return Err(ApiError::ProviderUnavailable {
                provider: "twilio",
                message: format!("unreadable Twilio balance {:?}", balance.balance),
            });
        };
        let needed = (calls * TWILIO_MICROS_PER_CALL).max(TWILIO_MIN_MICROS);
        if available < needed {
            return Err(ApiError::ProviderCreditsLow {
                message: format!(
                    "the Twilio balance ({} {}) does not cover {calls} calls",
                    balance.balance, balance.currency
                ),
                details: json!({
                    "provider": "twilio",
                    "balance": balance.balance,
                    "currency": balance.currency,
                    "required": format!("{:.2}", needed as f64 / 1_000_000.0),
                }),
            });
        }
        let subscription = self.elevenlabs.subscription().await.map_err(|e| match e {
            ElevenLabsError::Api { status } => ApiError::ProviderUnavailable {
                provider: "elevenlabs",
                message: format!("ElevenLabs refused the subscription request (HTTP {status})"),
            },
            ElevenLabsError::Unavailable(reason) => ApiError::ProviderUnavailable {
                provider: "elevenlabs",
                message: format!("ElevenLabs cannot be reached: {reason}"),
            },
        })?;
        let needed = calls.max(1) * ELEVENLABS_CREDITS_PER_CALL;
        if subscription.remaining() < needed {
            return Err(ApiError::ProviderCreditsLow {
                message: format!(
                    "ElevenLabs has {} credits left, {calls} calls need about {needed}",
                    subscription.remaining()
                ),
                details: json!({
                    "provider": "elevenlabs",
                    "remaining": subscription.remaining(),
                    "used": subscription.character_count,
                    "limit": subscription.character_limit,
                    "required": needed,
                }),
            });
        }
        Ok(())
    }
}

/// Refuses a caller id the Twilio account neither owns nor has verified.
#[async_trait::async_trait]
impl CallerIdCheck for Preflight {
    async fn check_caller_id(&self, number: &str) -> Result<(), CallerIdError> {
        let known = self.twilio.owns_caller_id(number).await.map_err(|error| {
            CallerIdError::Unavailable {
                provider: "twilio",
                message: twilio_trouble(error),
            }
        })?;
        if known {
            return Ok(());
        }
        Err(CallerIdError::NotVerified {
            number: number.to_owned(),
        })
    }
}

fn twilio_unavailable(error: TwilioError) -> ApiError {
    ApiError::ProviderUnavailable {
        provider: "twilio",
        message: twilio_trouble(error),
    }
}

fn twilio_trouble(error: TwilioError) -> String {
    match error {
        TwilioError::Api { status, code, .. } => {
            format!("Twilio refused the account request (HTTP {status}, code {code})")
        }
        TwilioError::Unavailable(reason) => format!("Twilio cannot be reached: {reason}"),
    }
}
