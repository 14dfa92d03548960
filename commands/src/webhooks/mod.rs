//! Outbound webhooks' mechanism: the event types an endpoint can subscribe to, the `whsec_`
//! signing secret and the Standard Webhooks signature, the retry schedule, the SSRF guard
//! ([`guard`]), the tables of endpoints and deliveries ([`deliveries`]), the mapping of stored
//! events to webhook events ([`events`]) and the HTTP sender ([`sender`]).
//!
//! Deliveries come from the event log: the webhooks worker (`workers::webhooks`) follows the
//! store from its checkpoint and writes one delivery per event and subscribed endpoint in the
//! checkpoint's transaction, then sends the due ones. A delivery keeps its id (`webhook-id`)
//! through every attempt and redelivery, so a receiver can drop repeats: delivery is at least
//! once.

pub mod deliveries;
pub mod events;
pub mod guard;
pub mod sender;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// What happened, as a webhook's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum WebhookEventType {
    /// An answered call ended, with its outcome.
    #[serde(rename = "call.completed")]
    CallCompleted,
    /// A call failed, or nobody answered and no retries are left.
    #[serde(rename = "call.failed")]
    CallFailed,
    #[serde(rename = "campaign.started")]
    CampaignStarted,
    /// Paused by the owner or by a budget cap (`data.reason`).
    #[serde(rename = "campaign.paused")]
    CampaignPaused,
    #[serde(rename = "campaign.completed")]
    CampaignCompleted,
    /// A call's recording was stored (encrypted) and deleted at the provider.
    #[serde(rename = "recording.stored")]
    RecordingStored,
    /// The month's spend reached the account's alert threshold (once a month).
    #[serde(rename = "budget.alert")]
    BudgetAlert,
}

impl WebhookEventType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [Self; 7] = [
        Self::CallCompleted,
        Self::CallFailed,
        Self::CampaignStarted,
        Self::CampaignPaused,
        Self::CampaignCompleted,
        Self::RecordingStored,
        Self::BudgetAlert,
    ];

    /// The type as written on the wire and stored (`call.completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallCompleted => "call.completed",
            Self::CallFailed => "call.failed",
            Self::CampaignStarted => "campaign.started",
            Self::CampaignPaused => "campaign.paused",
            Self::CampaignCompleted => "campaign.completed",
            Self::RecordingStored => "recording.stored",
            Self::BudgetAlert => "budget.alert",
        }
    }

    /// The type written as `text`, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// The prefix of every signing secret (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret.
const SECRET_BYTES: usize = 32;

/// A fresh `whsec_…` secret: 32 random bytes, base64.
pub fn generate_secret() -> SecretString {
    let mut key = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut key);
    SecretString::from(format!("{SECRET_PREFIX}{}", BASE64.encode(key)))
}

/// Why a secret cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is `whsec_` followed by base64")]
pub struct BadSecret;

/// The `webhook-signature` header of one attempt: `v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body` keyed with the secret's base64-decoded bytes after `whsec_`.
pub fn sign(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, BadSecret> {
    let encoded = secret
        .expose_secret()
        .strip_prefix(SECRET_PREFIX)
        .ok_or(BadSecret)?;
    let key = BASE64.decode(encoded).map_err(|_| BadSecret)?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// How deliveries are retried and when a failing endpoint is disabled.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    /// The pause before each retry; a delivery is tried once plus once per entry, then dead.
    pub retry_schedule: Vec<Duration>,
    /// An endpoint whose deliveries have failed (without a success) this long is disabled.
    pub disable_after: Duration,
    /// Private, loopback and link-local receivers and plain `http` are allowed (sandbox mode
    /// only: real providers mean a real deployment).
    pub allow_private: bool,
}

/// The default pauses between attempts: 6 attempts over about an hour.
pub const DEFAULT_RETRY_SCHEDULE: [Duration; 5] = [
    Duration::from_secs(30),
    Duration::from_secs(2 * 60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(40 * 60),
];

/// The default time a failing endpoint keeps being tried: three days.
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            retry_schedule: DEFAULT_RETRY_SCHEDULE.to_vec(),
            disable_after: DEFAULT_DISABLE_AFTER,
            allow_private: false,
        }
    }
}

impl DeliveryPolicy {
    /// Attempts a delivery gets before it is dead.
    pub fn max_attempts(&self) -> usize {
        self.retry_schedule.len() + 1
    }

    /// The pause after failed attempt number `attempts` (from 1), or `None` when that was the
    /// last one.
    pub fn retry_after(&self, attempts: usize) -> Option<Duration> {
        self.retry_schedule.get(attempts.checked_sub(1)?).copied()
    }
}

impl DeliveryPolicy {
    /// The policy from `WEBHOOK_RETRY_SCHEDULE` and `WEBHOOK_DISABLE_AFTER_HOURS` as `var`
    /// reads them (defaults when unset); a bad value names its variable and why.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        allow_private: bool,
    ) -> Result<Self, (&'static str, String)> {
        let retry_schedule = match var("WEBHOOK_RETRY_SCHEDULE") {
            Some(text) => {
                parse_retry_schedule(&text).map_err(|reason| ("WEBHOOK_RETRY_SCHEDULE", reason))?
            }
            None => DEFAULT_RETRY_SCHEDULE.to_vec(),
        };
        let disable_after = match var("WEBHOOK_DISABLE_AFTER_HOURS") {
            None => DEFAULT_DISABLE_AFTER,
            Some(text) => match text.trim().parse::<f64>() {
                Ok(hours) if (0.001..=8760.0).contains(&hours) => {
                    Duration::from_secs_f64(hours * 3600.0)
                }
                _ => {
                    let reason = "must be a number of hours from 0.001 to 8760".to_owned();
                    return Err(("WEBHOOK_DISABLE_AFTER_HOURS", reason));
                }
            },
        };
        Ok(Self {
            retry_schedule,
            disable_after,
            allow_private,
        })
    }
}

/// Reads a retry schedule: pauses in seconds (fractions allowed), comma-separated, at most 20.
pub fn parse_retry_schedule(text: &str) -> Result<Vec<Duration>, String> {
    let pauses: Vec<Duration> = text
        .split(',')
        .map(|part| {
            let seconds: f64 = part
                .trim()
                .parse()
                .map_err(|_| format!("`{}` is not a number of seconds", part.trim()))?;
            if !(0.0..=86_400.0).contains(&seconds) {
                return Err(format!("{seconds} s is outside 0..=86400"));
            }
            Ok(Duration::from_secs_f64(seconds))
        })
        .collect::<Result<_, _>>()?;
    if pauses.len() > 20 {
        return Err("at most 20 retries".into());
    }
    Ok(pauses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_vector() {
        // From standard-webhooks' libraries' tests (python/tests/test_webhooks.py).
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_secret_without_its_prefix_cannot_sign() {
        let secret = SecretString::from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(sign(&secret, "id", 1, "{}"), Err(BadSecret));
    }

    #[test]
    fn generated_secrets_sign_and_differ() {
        let (a, b) = (generate_secret(), generate_secret());
        assert!(a.expose_secret().starts_with(SECRET_PREFIX));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(sign(&a, "id", 1, "{}").is_ok());
    }

    #[test]
    fn the_default_schedule_is_six_attempts_over_about_an_hour() {
        let policy = DeliveryPolicy::default();
        assert_eq!(policy.max_attempts(), 6);
        let total: Duration = policy.retry_schedule.iter().sum();
        assert!((55 * 60..=70 * 60).contains(&total.as_secs()), "{total:?}");
        assert_eq!(policy.retry_after(1), Some(Duration::from_secs(30)));
        assert_eq!(policy.retry_after(6), None);
    }

    #[test]
    fn a_schedule_reads_seconds_and_refuses_nonsense() {
        assert_eq!(
            parse_retry_schedule("0.5, 2,60").unwrap(),
            vec![
                Duration::from_millis(500),
                Duration::from_secs(2),
                Duration::from_secs(60)
            ]
        );
        assert!(parse_retry_schedule("1,x").is_err());
        assert!(parse_retry_schedule("-1").is_err());
    }

    #[test]
    fn the_policy_reads_its_variables_and_names_a_bad_one() {
        let vars = |schedule: &'static str, hours: &'static str| {
            move |name: &str| match name {
                "WEBHOOK_RETRY_SCHEDULE" => Some(schedule.to_owned()),
                "WEBHOOK_DISABLE_AFTER_HOURS" => Some(hours.to_owned()),
                _ => None,
            }
        };
        let policy = DeliveryPolicy::from_env(vars("1,2", "0.5"), true).unwrap();
        assert_eq!(policy.max_attempts(), 3);
        assert_eq!(policy.disable_after, Duration::from_secs(1800));
        assert!(policy.allow_private);
        let defaults = DeliveryPolicy::from_env(|_: &str| None, false).unwrap();
        assert_eq!(defaults, DeliveryPolicy::default());
        let bad = DeliveryPolicy::from_env(vars("1", "0"), false).unwrap_err();
        assert_eq!(bad.0, "WEBHOOK_DISABLE_AFTER_HOURS");
        let bad = DeliveryPolicy::from_env(vars("soon", "1"), false).unwrap_err();
        assert_eq!(bad.0, "WEBHOOK_RETRY_SCHEDULE");
    }

    #[test]
    fn event_types_read_back_from_their_names() {
        for kind in WebhookEventType::ALL {
            assert_eq!(WebhookEventType::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(WebhookEventType::parse("call.started"), None);
    }
}
