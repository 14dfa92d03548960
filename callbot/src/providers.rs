//! The phone and voice providers: Twilio and ElevenLabs with credentials, else (with the
//! `sandbox` feature, on by default) their sandboxes started in this process on loopback, with
//! the real adapters pointed at them either way.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use api::state::TwilioLink;
use commands::{Clock, EventStore};
use media_bridge::bridge::{Bridge, ElevenLabsConfig};
use media_bridge::media_threads::MediaThreads;
use media_bridge::provider_accounts::Preflight;
use media_bridge::store_port::StorePort;
use media_bridge::twilio::{TwilioClient, TwilioConfig};
use secrecy::ExposeSecret;

use crate::config::Config;

/// The providers of this process.
pub struct Providers {
    pub twilio: TwilioLink,
    pub bridge: Arc<Bridge>,
    /// The voice agent's account (the post-call worker reads conversation details with it).
    pub elevenlabs: ElevenLabsConfig,
    /// The provider accounts, checked before caller ids are saved and campaigns start.
    pub preflight: Arc<Preflight>,
    #[cfg(feature = "sandbox")]
    twilio_sandbox: Option<sandbox::twilio::TwilioSandbox>,
    #[cfg(feature = "sandbox")]
    elevenlabs_sandbox: Option<sandbox::elevenlabs::ElevenLabsSandbox>,
}

impl Providers {
    /// Connects the adapters, starting a sandbox for each provider without credentials.
    pub async fn start(
        config: &Config,
        store: EventStore,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        #[cfg(feature = "sandbox")]
        let mut twilio_sandbox = None;
        let (twilio_settings, auth_token) = match &config.providers.twilio {
            Some(twilio) => {
                tracing::info!(api_base = %twilio.api_base, "calls are placed with Twilio");
                let settings = TwilioConfig::new(
                    twilio.api_base.clone(),
                    twilio.account_sid.clone(),
                    twilio.auth_token.expose_secret(),
                    twilio.phone_number.clone(),
                    config.public_base_url.clone(),
                );
                (settings, twilio.auth_token.clone())
            }
            #[cfg(feature = "sandbox")]
            None => {
                let options = sandbox::twilio::TwilioSandboxOptions {
                    speed: config.sandbox_speed,
                    ..Default::default()
                };
                let sandbox = sandbox::twilio::spawn(options).await;
                tracing::info!(
                    api_base = %sandbox.api_base(),
                    "no TWILIO_ACCOUNT_SID: calls are simulated by the Twilio sandbox"
                );
                let settings = TwilioConfig::new(
                    sandbox.api_base(),
                    sandbox.account_sid(),
                    sandbox.auth_token(),
                    sandbox::twilio::PHONE_NUMBER,
                    config.public_base_url.clone(),
                );
                let token = secrecy::SecretString::from(sandbox.auth_token());
                twilio_sandbox = Some(sandbox);
                (settings, token)
            }
            #[cfg(not(feature = "sandbox"))]
            None => anyhow::bail!(
                "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required (built without the sandbox)"
            ),
        };
        let mut twilio_settings = twilio_settings;
        twilio_settings.max_call_secs =
            u32::try_from(config.max_call.as_secs()).unwrap_or(u32::MAX);
        let client = TwilioClient::new(twilio_settings).context("setting up the Twilio adapter")?;
        #[cfg(feature = "sandbox")]
        let mut elevenlabs_sandbox = None;
        let elevenlabs = match &config.providers.elevenlabs {
            Some(el) => {
                tracing::info!(api_base = %el.api_base, "conversations are held by ElevenLabs");
                ElevenLabsConfig {
                    api_base: el.api_base.clone(),
                    api_key: el.api_key.expose_secret().into(),
                    agent_id: el.agent_id.clone(),
                    voice_id: el.voice_id.clone(),
                }
            }
            #[cfg(feature = "sandbox")]
            None => {
                let sandbox = sandbox::elevenlabs::spawn(config.sandbox_speed).await;
                tracing::info!(
                    api_base = %sandbox.api_base(),
                    "no ELEVENLABS_API_KEY: conversations are simulated by the ElevenLabs sandbox"
                );
                let settings = ElevenLabsConfig {
                    api_base: sandbox.api_base(),
                    api_key: sandbox.api_key().into(),
                    agent_id: sandbox::elevenlabs::AGENT_ID.to_owned(),
                    voice_id: None,
                };
                elevenlabs_sandbox = Some(sandbox);
                settings
            }
            #[cfg(not(feature = "sandbox"))]
            None => anyhow::bail!("ELEVENLABS_API_KEY is required (built without the sandbox)"),
        };
        let stream_secret = config.jwt_secret.clone();
        let port = Arc::new(StorePort::new(store, clock, client.clone()));
        let preflight = Arc::new(Preflight::new(client.clone(), elevenlabs.clone()));
        let bridge = Arc::new(
            Bridge::new(
                elevenlabs.clone(),
                client.clone(),
                port,
                stream_secret.expose_secret().as_bytes().to_vec(),
            )
            .with_unverified_per_address(config.media_unverified_per_address)
            .with_start_deadline(config.media_start_deadline)
            .with_media_threads(
                MediaThreads::start(config.media_threads).context("starting the media threads")?,
            ),
        );
        Ok(Self {
            twilio: TwilioLink::new(client, auth_token, stream_secret),
            bridge,
            elevenlabs,
            preflight,
            #[cfg(feature = "sandbox")]
            twilio_sandbox,
            #[cfg(feature = "sandbox")]
            elevenlabs_sandbox,
        })
    }

    /// Once the server is bound: the Twilio sandbox delivers its webhooks and media socket to
    /// it (playing the reverse proxy in front of `PUBLIC_BASE_URL`).
    pub fn bound(&self, addr: SocketAddr) {
        #[cfg(feature = "sandbox")]
        if let Some(sandbox) = &self.twilio_sandbox {
            sandbox.deliver_to(addr);
        }
        #[cfg(not(feature = "sandbox"))]
        let _ = addr;
    }

    /// The Twilio sandbox, when this process runs one.
    #[cfg(feature = "sandbox")]
    pub fn twilio_sandbox(&self) -> Option<&sandbox::twilio::TwilioSandbox> {
        self.twilio_sandbox.as_ref()
    }

    /// The ElevenLabs sandbox, when this process runs one.
    #[cfg(feature = "sandbox")]
    pub fn elevenlabs_sandbox(&self) -> Option<&sandbox::elevenlabs::ElevenLabsSandbox> {
        self.elevenlabs_sandbox.as_ref()
    }
}

/// The OpenAI stand-in's author: the offline writer and summarizer answer what a model would,
/// so the real OpenAI adapters get real scripts and summaries over real HTTP from the sandbox.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineAuthor;

impl OfflineAuthor {
    /// The author as the sandbox takes it.
    pub fn shared() -> Arc<dyn sandbox::openai::Author> {
        Arc::new(Self)
    }
}

impl sandbox::openai::Author for OfflineAuthor {
    fn write_script(
        &self,
        brief: &protocols::openai::script::ScriptBrief,
    ) -> domain::script::ScriptContent {
        let request = commands::script_writer::openai::wire::request_from(brief);
        commands::script_writer::OfflineWriter::compose(&request)
    }

    fn summarize(
        &self,
        brief: &protocols::openai::summary::SummaryBrief,
    ) -> protocols::openai::summary::SummaryAnswer {
        let request = commands::summarizer::wire::request_from(brief);
        let summary = commands::summarizer::OfflineSummarizer::compose(&request);
        protocols::openai::summary::SummaryAnswer {
            summary: summary.summary,
            outcome: summary
                .outcome
                .map_or("UNKNOWN", |result| result.as_str())
                .to_owned(),
            follow_up_needed: summary.follow_up_needed,
        }
    }
}
