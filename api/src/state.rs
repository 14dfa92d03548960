//! What request handlers share. The composition root (`callbot`) builds it.

use std::sync::Arc;

use commands::script_writer::ScriptWriter;
use commands::{Clock, Commands, EventBus, EventStore, Metrics};
use domain::account::Account;
use domain::call::Call;
use domain::campaign::Campaign;
use domain::script::Script;
use metrics_exporter_prometheus::PrometheusHandle;
use projections::ProjectionHandle;
use secrecy::SecretString;

use crate::auth::AuthState;
use crate::files::FileServices;
use crate::rate_limit::RateLimiter;
use crate::routes::twilio::TwilioLink;

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
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
}
