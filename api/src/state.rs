//! What request handlers share, and the small pieces it is made of. The composition root
//! (`callbot`) builds it. It names no route, handler, extractor or error: of this crate only the
//! rate limiter, the URL signer and the trusted proxies, which name nothing else of the crate
//! (leaves, so no import loop runs through it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use commands::recordings::RecordingFiles;
use commands::script_writer::ScriptWriter;
use commands::services::accounts::UnknownEmailLockouts;
use commands::{Clock, Commands, EventBus, EventStore, Metrics};
use domain::account::Account;
use domain::call::Call;
use domain::campaign::Campaign;
use domain::script::Script;
use media_bridge::twilio::TwilioClient;
use metrics_exporter_prometheus::PrometheusHandle;
use projections::ProjectionHandle;
use projections::reports::ReportFiles;
use protocols::twilio::StatusCallback;
use secrecy::SecretString;

use crate::client_ip::TrustedProxies;
use crate::rate_limit::RateLimiter;
use crate::signed_url::UrlSigner;

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Cancelled when the server begins to stop: long-lived answers (the status streams) end
    /// then, so the graceful stop can finish (their clients resume with Last-Event-ID).
    pub stopping: commands::CancellationToken,
    pub store: EventStore,
    pub bus: EventBus,
    /// The workers' states and the positions behind the lag gauges (`/readyz`, `/metrics`).
    pub metrics: Arc<Metrics>,
    /// The process's Prometheus recorder: every counter, gauge and histogram (`/metrics`).
    pub prometheus: PrometheusHandle,
    pub campaign_list: ProjectionHandle,
    pub clock: Arc<dyn Clock>,
    pub limiter: Arc<RateLimiter>,
    pub accounts: Arc<Commands<Account>>,
    pub campaigns: Arc<Commands<Campaign>>,
    pub calls: Arc<Commands<Call>>,
    pub scripts: Arc<Commands<Script>>,
    pub script_list: ProjectionHandle,
    /// Writes scripts from natural language: OpenAI with a key, else the offline writer.
    pub script_writer: Arc<dyn ScriptWriter>,
    pub auth: Arc<AuthState>,
    pub jwt_secret: SecretString,
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Twilio (real or sandbox) for the webhooks; `None` refuses every webhook.
    pub twilio: Option<TwilioLink>,
    /// The media bridge behind `/twilio/media`.
    pub bridge: Option<Arc<media_bridge::bridge::Bridge>>,
    /// Recording and report files and their signed links.
    pub files: Arc<FileServices>,
    /// Checks a new caller id against the provider account (`None`: no provider configured).
    pub caller_ids: Option<Arc<dyn commands::services::settings::CallerIdCheck>>,
    /// The campaign and call application services' dependencies.
    pub services: commands::services::ServiceContext,
    /// The account's outbound webhook endpoints and their delivery logs.
    pub webhooks: commands::services::webhooks::WebhookService,
}

/// Shared pieces the auth routes need.
pub struct AuthState {
    /// Lockouts of emails without an account, shared by every request of the process.
    pub unknown_emails: Arc<UnknownEmailLockouts>,
    /// Our reverse proxies, whose `X-Forwarded-For` names the client (`TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// The bearer token `/metrics` asks for (`METRICS_TOKEN`); without one, only local
    /// requests are answered.
    pub metrics_token: Option<SecretString>,
}

impl AuthState {
    /// Fresh state: no trusted proxy, no metrics token.
    pub fn new() -> Arc<Self> {
        Self::with(TrustedProxies::default(), None)
    }

    /// Fresh state with these proxies and metrics token.
    pub fn with(trusted_proxies: TrustedProxies, metrics_token: Option<SecretString>) -> Arc<Self> {
        Arc::new(Self {
            unknown_emails: Arc::default(),
            trusted_proxies: Arc::new(trusted_proxies),
            metrics_token,
        })
    }
}

impl AppState {
    /// The client's address of a request that reached us from `peer` (see [`TrustedProxies`]).
    pub fn client_ip(
        &self,
        peer: std::net::SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        self.auth.trusted_proxies.client_ip(peer.ip(), headers)
    }
}

/// Recording and report storage and links (built by the composition root from its config).
#[derive(Debug, Clone)]
pub struct FileServices {
    pub recordings: RecordingFiles,
    pub reports: ReportFiles,
    pub signer: UrlSigner,
    /// `PUBLIC_BASE_URL`, the origin of download links.
    pub public_base_url: String,
}

impl FileServices {
    /// The absolute URL of a signed path.
    pub fn absolute(&self, signed_path: &str) -> String {
        format!("{}{signed_path}", self.public_base_url)
    }
}

/// What the webhooks need of Twilio: the adapter (for hang-ups and TwiML updates), the token
/// that signs its requests, and the secret for per-call stream tokens.
#[derive(Clone)]
pub struct TwilioLink {
    pub client: TwilioClient,
    pub auth_token: SecretString,
    pub stream_secret: SecretString,
    /// The highest `SequenceNumber` seen per `CallSid` (stale progress is dropped).
    sequences: Arc<Mutex<HashMap<String, u32>>>,
}

impl TwilioLink {
    /// A link over `client`, checking signatures with `auth_token`.
    pub fn new(
        client: TwilioClient,
        auth_token: SecretString,
        stream_secret: SecretString,
    ) -> Self {
        Self {
            client,
            auth_token,
            stream_secret,
            sequences: Arc::default(),
        }
    }

    /// Whether this callback is older than one already handled for its call (terminal
    /// callbacks always pass: handling them twice is harmless).
    pub(crate) fn is_stale(&self, callback: &StatusCallback) -> bool {
        let Some(sequence) = callback.sequence_number else {
            return false;
        };
        let mut seen = self.sequences.lock().expect("sequence map poisoned");
        let highest = seen.entry(callback.call_sid.clone()).or_insert(sequence);
        let stale = sequence < *highest && !callback.call_status.is_terminal();
        *highest = (*highest).max(sequence);
        if callback.call_status.is_terminal() {
            // Nothing follows a terminal event; keep the map small.
            seen.remove(&callback.call_sid);
        }
        stale
    }
}
