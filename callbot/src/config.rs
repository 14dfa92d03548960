//! Typed configuration from the command line, the environment and `.env`.
//!
//! The embedded default (no `DATABASE_URL`) needs nothing: it keeps SQLite and generated secrets
//! under the data dir. With Postgres, secrets must come from the environment, since every
//! instance has to share them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use commands::NatsConfig;
use projections::reports::ReportFont;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use workers::post_call::Rates;

/// Which workers this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Everything in one process (the default).
    All,
    /// The HTTP API only.
    Api,
    /// The outbox relay and the projections (one active per cluster; others stand by).
    Projector,
    /// The dialer (one active per cluster; others stand by).
    Dialer,
    /// Only the Twilio media socket (`/twilio/media`) and `/healthz`: a bridge process that
    /// holds conversations without serving the REST API.
    Bridge,
}

/// What went wrong reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is required when DATABASE_URL points at Postgres (instances must share it)")]
    Missing { name: &'static str },
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot use the data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    /// `name` is set to something unusable, for `reason`.
    fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name,
            reason: reason.into(),
        }
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub nats: Option<NatsConfig>,
    pub roles: Vec<Role>,
    pub public_base_url: String,
    pub jwt_secret: SecretString,
    pub recording_key: SecretString,
    /// OpenAI, Twilio and ElevenLabs, as far as the environment names them.
    pub providers: ProviderSettings,
    /// `SANDBOX_SPEED`: how much faster than real time simulated calls run (default 1).
    pub sandbox_speed: f64,
    /// `REPORT_FONT_PATH`: a TrueType font file PDF reports are set in instead of the built-in
    /// Korean font.
    pub report_font: ReportFont,
    /// Provider rates for costs the providers do not report (ElevenLabs minutes, LLM tokens).
    pub rates: Rates,
    /// `RATE_LIMIT_SCALE`: every rate limit times this (default 1; tests and contract runs raise it).
    pub rate_limit_scale: f64,
    /// `SHUTDOWN_GRACE_SECONDS`: how long a stopping server lets requests and workers finish
    /// (default 10).
    pub shutdown_grace: std::time::Duration,
    /// `MAX_CALL_SECONDS`: the longest a call may last once connected (default 900); Twilio's
    /// `TimeLimit`, and the reconciler hangs up a call still live past it.
    pub max_call: std::time::Duration,
    /// `TRUSTED_PROXIES`: our reverse proxies (IPs and CIDR networks, comma-separated; default
    /// none), whose `X-Forwarded-For` names the client.
    pub trusted_proxies: api::client_ip::TrustedProxies,
    /// `METRICS_TOKEN`: the bearer token `/metrics` asks for; unset = local requests only.
    pub metrics_token: Option<SecretString>,
    /// How long and how many connections a client may hold (`HTTP_*`).
    pub http: HttpLimits,
    /// `MEDIA_UNVERIFIED_SOCKETS_PER_ADDRESS`: media sockets one client address may hold open
    /// before their `start` is verified (default 64; verified calls are not counted).
    pub media_unverified_per_address: usize,
    /// `MEDIA_START_DEADLINE_SECONDS`: how long a media socket may take to send a verified
    /// `start` (default 15).
    pub media_start_deadline: std::time::Duration,
    /// `MEDIA_THREADS`: threads that run the media sockets, each call on one of them (default
    /// half the cores, at least one; see `media_bridge::media_threads`).
    pub media_threads: usize,
    /// Outbound webhooks: `WEBHOOK_RETRY_SCHEDULE` (pauses in seconds between attempts,
    /// default `30,120,300,900,2400`), `WEBHOOK_DISABLE_AFTER_HOURS` (default 72); private and
    /// loopback receivers only in sandbox mode (no `TWILIO_ACCOUNT_SID`).
    pub webhooks: commands::webhooks::DeliveryPolicy,
}

/// The providers the server talks to; each is `None` when its variables are unset, and its
/// stand-in takes its place.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The OpenAI-compatible API that writes scripts; `None` (no `OPENAI_API_KEY`) = the offline
    /// writer.
    pub openai: Option<OpenAiSettings>,
    /// Twilio when `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN` are set; `None` = the sandbox.
    pub twilio: Option<TwilioSettings>,
    /// The ElevenLabs agent when `ELEVENLABS_API_KEY` is set; `None` = the sandbox.
    pub elevenlabs: Option<ElevenLabsSettings>,
}

impl ProviderSettings {
    /// Each provider whose key is set, with its other variables (defaults where it has them).
    fn from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let openai = match var("OPENAI_API_KEY") {
            None => None,
            Some(key) => Some(OpenAiSettings {
                api_key: SecretString::from(key.trim()),
                base_url: http_base(var, "OPENAI_BASE_URL", DEFAULT_OPENAI_BASE_URL)?,
                model: var("OPENAI_MODEL")
                    .map_or_else(|| DEFAULT_OPENAI_MODEL.to_owned(), |m| m.trim().to_owned()),
            }),
        };
        let twilio = match (var("TWILIO_ACCOUNT_SID"), var("TWILIO_AUTH_TOKEN")) {
            (Some(account_sid), Some(auth_token)) => Some(TwilioSettings {
                api_base: http_base(var, "TWILIO_API_BASE", DEFAULT_TWILIO_API_BASE)?,
                phone_number: required(
                    var,
                    "TWILIO_PHONE_NUMBER",
                    "TWILIO_ACCOUNT_SID (the caller id)",
                )?,
                account_sid: account_sid.trim().to_owned(),
                auth_token: SecretString::from(auth_token.trim()),
            }),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "TWILIO_ACCOUNT_SID",
                    "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN go together",
                ));
            }
        };
        let elevenlabs = match var("ELEVENLABS_API_KEY") {
            None => None,
            Some(key) => Some(ElevenLabsSettings {
                api_base: http_base(var, "ELEVENLABS_API_BASE", DEFAULT_ELEVENLABS_API_BASE)?,
                agent_id: required(var, "ELEVENLABS_AGENT_ID", "ELEVENLABS_API_KEY")?,
                api_key: SecretString::from(key.trim()),
                voice_id: var("ELEVENLABS_VOICE_ID").map(|v| v.trim().to_owned()),
            }),
        };
        Ok(Self {
            openai,
            twilio,
            elevenlabs,
        })
    }
}

/// What one client may cost the HTTP server, so slow or half-open connections cannot pile up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HttpLimits {
    /// `HTTP_HEADER_TIMEOUT_SECONDS`: the time to send a request's head (line and headers).
    /// HTTP/1.1 starts it when a connection waits for its next request, so it is also how long
    /// an idle kept-alive connection stays open (default 10).
    pub header_timeout: std::time::Duration,
    /// `HTTP_BODY_TIMEOUT_SECONDS`: the time to send a whole request body, counted from the end
    /// of the head (default 30, the API's request timeout; not streamed answers such as status
    /// streams or the media socket).
    pub body_timeout: std::time::Duration,
    /// `HTTP_MAX_CONNECTIONS`: open connections the server accepts at once; more wait in the
    /// listen backlog (default 1000).
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            max_connections: 1000,
        }
    }
}

/// The Twilio account calls are placed with.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: String,
    pub auth_token: SecretString,
    /// `TWILIO_PHONE_NUMBER`: the caller id unless a campaign sets one.
    pub phone_number: String,
    /// `TWILIO_API_BASE`, default `https://api.twilio.com`, without a trailing slash.
    pub api_base: String,
}

/// The ElevenLabs agent calls are held with.
#[derive(Debug, Clone)]
pub struct ElevenLabsSettings {
    pub api_key: SecretString,
    /// `ELEVENLABS_AGENT_ID`.
    pub agent_id: String,
    /// `ELEVENLABS_VOICE_ID`: overrides the agent's voice when set.
    pub voice_id: Option<String>,
    /// `ELEVENLABS_API_BASE`, default `https://api.elevenlabs.io`.
    pub api_base: String,
}

/// ElevenLabs' API unless `ELEVENLABS_API_BASE` says otherwise.
pub const DEFAULT_ELEVENLABS_API_BASE: &str = "https://api.elevenlabs.io";

/// Twilio's REST API unless `TWILIO_API_BASE` says otherwise.
pub const DEFAULT_TWILIO_API_BASE: &str = "https://api.twilio.com";

/// Where scripts are written when `OPENAI_API_KEY` is set.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    pub api_key: SecretString,
    /// `OPENAI_BASE_URL`, default `https://api.openai.com/v1`, without a trailing slash.
    pub base_url: String,
    /// `OPENAI_MODEL`, default `gpt-4o-mini`.
    pub model: String,
}

/// The OpenAI API unless `OPENAI_BASE_URL` says otherwise.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The model asked for unless `OPENAI_MODEL` says otherwise.
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";

impl Config {
    /// Reads the environment for the given command-line choices; creates the data dir and, in
    /// embedded mode, generates and keeps any missing secret there.
    pub fn load(
        bind: SocketAddr,
        data_dir: PathBuf,
        roles: Vec<Role>,
    ) -> Result<Self, ConfigError> {
        Self::from_lookup(bind, data_dir, roles, |name| std::env::var(name).ok())
    }

    /// Like [`Config::load`], reading variables through `var` (tests pass their own).
    pub fn from_lookup(
        bind: SocketAddr,
        data_dir: PathBuf,
        roles: Vec<Role>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        private_dir(&data_dir).map_err(|source| ConfigError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        let embedded = var("DATABASE_URL").is_none();
        let database_url = var("DATABASE_URL").unwrap_or_else(|| sqlite_url(&data_dir));
        commands::Backend::from_url(&database_url)
            .map_err(|e| ConfigError::invalid("DATABASE_URL", e.to_string()))?;
        let nats = var("NATS_URL").map(|url| {
            let mut nats = NatsConfig::new(url);
            if let Some(stream) = var("NATS_STREAM") {
                nats.stream = stream;
            }
            if let Some(prefix) = var("NATS_SUBJECT_PREFIX") {
                nats.subject_prefix = prefix;
            }
            nats
        });
        let secret =
            |name: &'static str, generate: fn() -> String| -> Result<SecretString, ConfigError> {
                match var(name) {
                    Some(value) => Ok(SecretString::from(value)),
                    None if embedded => persisted_secret(&data_dir, name, generate),
                    None => Err(ConfigError::Missing { name }),
                }
            };
        let jwt_secret = secret("JWT_SECRET", || random_base64(48))?;
        let recording_key = secret("RECORDING_KEY", || random_base64(32))?;
        match BASE64.decode(recording_key.expose_secret().trim()) {
            Ok(key) if key.len() == 32 => {}
            _ => {
                return Err(ConfigError::invalid(
                    "RECORDING_KEY",
                    "must be 32 bytes, base64-encoded (openssl rand -base64 32)",
                ));
            }
        }
        let providers = ProviderSettings::from_lookup(&var)?;
        let sandbox_speed = positive(
            &var,
            "SANDBOX_SPEED",
            "must be a positive number (1 = real time)",
        )?;
        let rates = rates_from_lookup(&var)?;
        let rate_limit_scale = positive(
            &var,
            "RATE_LIMIT_SCALE",
            "must be a positive number (1 = the documented limits)",
        )?;
        let public_base_url = var("PUBLIC_BASE_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        let report_font = ReportFont::from_path(var("REPORT_FONT_PATH").map(PathBuf::from));
        let shutdown_grace = seconds(&var, "SHUTDOWN_GRACE_SECONDS", 10, 1..=600)?;
        let max_call = seconds(&var, "MAX_CALL_SECONDS", 900, 60..=14_400)?;
        let trusted_proxies =
            api::client_ip::TrustedProxies::parse(&var("TRUSTED_PROXIES").unwrap_or_default())
                .map_err(|e| ConfigError::invalid("TRUSTED_PROXIES", e.to_string()))?;
        let metrics_token = var("METRICS_TOKEN").map(|token| SecretString::from(token.trim()));
        let defaults = HttpLimits::default();
        let http = HttpLimits {
            header_timeout: fractional_seconds(&var, "HTTP_HEADER_TIMEOUT_SECONDS", 300.0)?
                .unwrap_or(defaults.header_timeout),
            body_timeout: fractional_seconds(&var, "HTTP_BODY_TIMEOUT_SECONDS", 3600.0)?
                .unwrap_or(defaults.body_timeout),
            max_connections: count(&var, "HTTP_MAX_CONNECTIONS", 1_000_000)?
                .unwrap_or(defaults.max_connections),
        };
        let media_unverified_per_address =
            count(&var, "MEDIA_UNVERIFIED_SOCKETS_PER_ADDRESS", 100_000)?
                .unwrap_or(media_bridge::router::DEFAULT_UNVERIFIED_PER_ADDRESS);
        let media_start_deadline = fractional_seconds(&var, "MEDIA_START_DEADLINE_SECONDS", 600.0)?
            .unwrap_or(media_bridge::bridge::START_DEADLINE);
        let media_threads = count(&var, "MEDIA_THREADS", 256)?
            .unwrap_or_else(media_bridge::media_threads::MediaThreads::default_count);
        // Sandbox mode (calls simulated) allows private and loopback receivers.
        let webhooks =
            commands::webhooks::DeliveryPolicy::from_env(var, providers.twilio.is_none())
                .map_err(|(name, reason)| ConfigError::Invalid { name, reason })?;
        Ok(Self {
            bind,
            data_dir,
            database_url,
            nats,
            roles,
            public_base_url,
            jwt_secret,
            recording_key,
            providers,
            sandbox_speed,
            report_font,
            rates,
            rate_limit_scale,
            shutdown_grace,
            max_call,
            trusted_proxies,
            metrics_token,
            http,
            media_unverified_per_address,
            media_start_deadline,
            media_threads,
            webhooks,
        })
    }

    /// True when this process runs `role` (directly or through `all`).
    pub fn runs(&self, role: Role) -> bool {
        self.roles.contains(&Role::All) || self.roles.contains(&role)
    }

    /// True for the embedded default: SQLite and generated secrets under the data dir.
    pub fn is_embedded(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

/// A whole number of seconds within `range` from `name`, or `default` when unset.
fn seconds(
    var: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<std::time::Duration, ConfigError> {
    let Some(text) = var(name) else {
        return Ok(std::time::Duration::from_secs(default));
    };
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|seconds| range.contains(seconds))
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| {
            ConfigError::invalid(
                name,
                format!(
                    "must be a whole number of seconds from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

/// The provider rates from the environment, defaults for those not set.
pub fn rates_from_lookup(var: &dyn Fn(&str) -> Option<String>) -> Result<Rates, ConfigError> {
    let rate = |name: &'static str, default: f64| -> Result<f64, ConfigError> {
        match var(name) {
            None => Ok(default),
            Some(text) => match text.trim().parse::<f64>() {
                Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
                _ => Err(ConfigError::invalid(
                    name,
                    "must be a non-negative number of US dollars",
                )),
            },
        }
    };
    let defaults = Rates::default();
    Ok(Rates {
        elevenlabs_per_minute: rate("ELEVENLABS_RATE_PER_MINUTE", defaults.elevenlabs_per_minute)?,
        openai_input_per_million: rate("OPENAI_INPUT_RATE", defaults.openai_input_per_million)?,
        openai_output_per_million: rate("OPENAI_OUTPUT_RATE", defaults.openai_output_per_million)?,
    })
}

/// `name`'s URL (`default` when unset), trimmed and without a trailing slash; only http(s).
fn http_base(
    var: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let base = var(name)
        .unwrap_or_else(|| default.to_owned())
        .trim()
        .trim_end_matches('/')
        .to_owned();
    if base.starts_with("http://") || base.starts_with("https://") {
        Ok(base)
    } else {
        Err(ConfigError::invalid(
            name,
            "must be an http:// or https:// URL",
        ))
    }
}

/// `name`, trimmed; refused as required with `with` when unset.
fn required(
    var: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    with: &str,
) -> Result<String, ConfigError> {
    var(name)
        .map(|value| value.trim().to_owned())
        .ok_or_else(|| ConfigError::invalid(name, format!("is required with {with}")))
}

/// `name` as a positive, finite number; 1 when unset.
fn positive(
    var: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    reason: &str,
) -> Result<f64, ConfigError> {
    let Some(text) = var(name) else {
        return Ok(1.0);
    };
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(ConfigError::invalid(name, reason)),
    }
}

/// `name` as a duration in seconds (fractions allowed) from 0.05 to `max`; `None` when unset.
fn fractional_seconds(
    var: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    max: f64,
) -> Result<Option<std::time::Duration>, ConfigError> {
    let Some(text) = var(name) else {
        return Ok(None);
    };
    match text.trim().parse::<f64>() {
        Ok(value) if (0.05..=max).contains(&value) => {
            Ok(Some(std::time::Duration::from_secs_f64(value)))
        }
        _ => Err(ConfigError::invalid(
            name,
            format!("must be a number of seconds from 0.05 to {max}"),
        )),
    }
}

/// `name` as a whole number from 1 to `max`; `None` when unset.
fn count(
    var: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    max: usize,
) -> Result<Option<usize>, ConfigError> {
    let Some(text) = var(name) else {
        return Ok(None);
    };
    match text.trim().parse::<usize>() {
        Ok(value) if (1..=max).contains(&value) => Ok(Some(value)),
        _ => Err(ConfigError::invalid(
            name,
            format!("must be a whole number from 1 to {max}"),
        )),
    }
}

fn sqlite_url(data_dir: &Path) -> String {
    let path = std::path::absolute(data_dir.join("callbot.db"))
        .unwrap_or_else(|_| data_dir.join("callbot.db"));
    format!("sqlite://{}", path.display())
}

fn random_base64(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    BASE64.encode(buffer)
}

/// Reads `<data dir>/secrets/<NAME>`, creating it (readable by the owner only) when missing.
fn persisted_secret(
    data_dir: &Path,
    name: &'static str,
    generate: fn() -> String,
) -> Result<SecretString, ConfigError> {
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    let io_error = |source| ConfigError::DataDir {
        path: path.clone(),
        source,
    };
    if let Ok(value) = std::fs::read_to_string(&path) {
        return Ok(SecretString::from(value.trim()));
    }
    private_dir(&dir).map_err(io_error)?;
    let value = generate();
    write_private(&path, &value).map_err(io_error)?;
    tracing::info!(secret = name, path = %path.display(), "generated a secret for embedded mode");
    Ok(SecretString::from(value))
}

/// Creates `dir` (and its parents) if needed and makes it accessible to its owner only (0700),
/// whatever the umask: the data dir holds the database, the secrets, recordings and reports.
#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(value.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::write(path, value)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
