//! Sending one delivery attempt: sign it, POST it through the SSRF guard's resolver, and say
//! what came of it. Redirects are not followed (a 3xx is a failure), the answer's body is not
//! read, and every attempt has a deadline.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::SecretString;

use super::deliveries::DueDelivery;
use super::guard::{Guard, GuardError};
use super::{BadSecret, sign};
use crate::recordings::RecordingCipher;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole attempt may take, answer included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The URL or what its host resolves to is not allowed.
    #[error(transparent)]
    Refused(#[from] GuardError),
    /// The stored secret does not open with this `RECORDING_KEY`.
    #[error("the endpoint's secret cannot be read: {0}")]
    Secret(String),
    /// No answer: connection refused, timeout, TLS.
    #[error("no answer: {0}")]
    Unreachable(String),
    /// The receiver answered, but not 2xx.
    #[error("answered {0}")]
    Status(u16),
}

impl SendError {
    /// The receiver's status code, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status(code) => Some(*code),
            _ => None,
        }
    }
}

/// Encrypts an endpoint's secret for its row (`RECORDING_KEY`, AES-256-GCM).
pub fn seal(cipher: &RecordingCipher, secret: &SecretString) -> String {
    use secrecy::ExposeSecret;
    BASE64.encode(cipher.encrypt(secret.expose_secret().as_bytes()))
}

/// Decrypts an endpoint's secret from its row.
pub fn unseal(cipher: &RecordingCipher, sealed: &str) -> Result<SecretString, SendError> {
    let bytes = BASE64
        .decode(sealed)
        .map_err(|e| SendError::Secret(e.to_string()))?;
    let plain = cipher
        .decrypt(&bytes)
        .map_err(|e| SendError::Secret(e.to_string()))?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|e| SendError::Secret(e.to_string()))
}

/// Posts signed deliveries.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    guard: Guard,
    cipher: RecordingCipher,
}

impl Sender {
    /// A sender whose connections go only where `guard` allows.
    pub fn new(guard: Guard, cipher: RecordingCipher) -> Self {
        let client = reqwest::Client::builder()
            .dns_resolver(guard)
            // A proxy would resolve the name itself, past the guard.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ATTEMPT_TIMEOUT)
            .user_agent("callbot-webhooks/1")
            .build()
            .expect("a TLS backend for the webhook client");
        Self {
            client,
            guard,
            cipher,
        }
    }

    /// One attempt of `delivery`, stamped `timestamp` (Unix seconds): the receiver's status on
    /// a 2xx.
    pub async fn send(&self, delivery: &DueDelivery, timestamp: i64) -> Result<u16, SendError> {
        let url = self.guard.check_url(&delivery.url)?;
        let secret = unseal(&self.cipher, &delivery.sealed_secret)?;
        let signature = sign(&secret, &delivery.delivery_id, timestamp, &delivery.body)
            .map_err(|BadSecret| SendError::Secret(BadSecret.to_string()))?;
        let response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.delivery_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone())
            .send()
            .await
            .map_err(|error| match guard_refusal(&error) {
                Some(refused) => SendError::Refused(refused),
                None => SendError::Unreachable(error_chain(&error)),
            })?;
        let status = response.status().as_u16();
        // The body is not read: dropping the response closes the connection.
        drop(response);
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(SendError::Status(status))
        }
    }
}

/// The guard's refusal inside a failed request, if that is why it failed.
fn guard_refusal(error: &reqwest::Error) -> Option<GuardError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<GuardError>() {
            return Some(refused.clone());
        }
        source = current.source();
    }
    None
}

/// An error with its causes, `: `-joined (reqwest's own message alone says little).
fn error_chain(error: &reqwest::Error) -> String {
    crate::with_causes(error.to_string(), error)
}
