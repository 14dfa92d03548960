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

use crate::bridge::ElevenLabsConfig;
use crate::elevenlabs_account::{ElevenLabsAccount, ElevenLabsError};
use crate::twilio::TwilioClient;
use crate::twilio::client::TwilioError;
use async_trait::async_trait;
use commands::services::preflight::{CreditShortfall, PreflightError, ProviderAccounts};

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

    /// Refuses a caller id the Twilio account neither owns nor has verified.
    pub async fn check_caller_id(&self, number: &str) -> Result<(), PreflightError> {
        let known = self
            .twilio
            .owns_caller_id(number)
            .await
            .map_err(twilio_unavailable)?;
        if known {
            return Ok(());
        }
        Err(PreflightError::CallerIdNotVerified {
            number: number.to_owned(),
        })
    }

    /// Refuses to start `calls` calls the provider accounts cannot pay for.
    pub async fn check_credits(&self, calls: i64) -> Result<(), PreflightError> {
        let calls = calls.max(0);
        let balance = self.twilio.balance().await.map_err(twilio_unavailable)?;
        let Some(available) = balance.micros() else {
            return Err(PreflightError::Unavailable {
                provider: "twilio",
                message: format!("unreadable Twilio balance {:?}", balance.balance),
            });
        };
        let needed = (calls * TWILIO_MICROS_PER_CALL).max(TWILIO_MIN_MICROS);
        if available < needed {
            return Err(PreflightError::CreditsLow {
                message: format!(
                    "the Twilio balance ({} {}) does not cover {calls} calls",
                    balance.balance, balance.currency
                ),
                shortfall: CreditShortfall::Twilio {
                    balance: balance.balance.clone(),
                    currency: balance.currency.clone(),
                    required: format!("{:.2}", needed as f64 / 1_000_000.0),
                },
            });
        }
        let subscription = self.elevenlabs.subscription().await.map_err(|e| match e {
            ElevenLabsError::Api { status } => PreflightError::Unavailable {
                provider: "elevenlabs",
                message: format!("ElevenLabs refused the subscription request (HTTP {status})"),
            },
            ElevenLabsError::Unavailable(reason) => PreflightError::Unavailable {
                provider: "elevenlabs",
                message: format!("ElevenLabs cannot be reached: {reason}"),
            },
        })?;
        let needed = calls.max(1) * ELEVENLABS_CREDITS_PER_CALL;
        if subscription.remaining() < needed {
            return Err(PreflightError::CreditsLow {
                message: format!(
                    "ElevenLabs has {} credits left, {calls} calls need about {needed}",
                    subscription.remaining()
                ),
                shortfall: CreditShortfall::Elevenlabs {
                    remaining: subscription.remaining(),
                    used: subscription.character_count,
                    limit: subscription.character_limit,
                    required: needed,
                },
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ProviderAccounts for Preflight {
    async fn check_caller_id(&self, number: &str) -> Result<(), PreflightError> {
        Preflight::check_caller_id(self, number).await
    }

    async fn check_credits(&self, calls: i64) -> Result<(), PreflightError> {
        Preflight::check_credits(self, calls).await
    }
}

fn twilio_unavailable(error: TwilioError) -> PreflightError {
    PreflightError::Unavailable {
        provider: "twilio",
        message: match error {
            TwilioError::Api { status, code, .. } => {
                format!("Twilio refused the account request (HTTP {status}, code {code})")
            }
            TwilioError::Unavailable(reason) | TwilioError::Unreached(reason) => {
                format!("Twilio cannot be reached: {reason}")
            }
        },
    }
}

/// The settings service's caller id check, answered the same way as the campaign preflight's.
#[async_trait]
impl commands::services::settings::CallerIdCheck for Preflight {
    async fn check_caller_id(
        &self,
        number: &str,
    ) -> Result<(), commands::services::settings::CallerIdError> {
        use commands::services::settings::CallerIdError;
        match Preflight::check_caller_id(self, number).await {
            Ok(()) => Ok(()),
            Err(PreflightError::CallerIdNotVerified { number }) => {
                Err(CallerIdError::NotVerified { number })
            }
            Err(PreflightError::Unavailable { provider, message }) => {
                Err(CallerIdError::Unavailable { provider, message })
            }
            Err(other) => Err(CallerIdError::Unavailable {
                provider: "twilio",
                message: other.to_string(),
            }),
        }
    }
}
