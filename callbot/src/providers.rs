//! The phone and voice providers: Twilio and ElevenLabs with credentials, else their sandboxes
//! started in this process on loopback (the embedded default), with the real adapters pointed
//! at them either way.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use commands::{Clock, EventStore};
use media_bridge::bridge::{Bridge, ElevenLabsConfig};
use media_bridge::twilio::{TwilioClient, TwilioConfig};

use crate::config::{Config, Secret};
use crate::preflight::Preflight;
use crate::routes::twilio::TwilioLink;
use crate::routes::twilio_media::StorePort;

/// The providers of this process.
pub struct Providers {
    pub twilio: TwilioLink,
    pub bridge: Arc<Bridge>,
    /// The voice agent's account (the post-call worker reads conversation details with it).
    pub elevenlabs: ElevenLabsConfig,
    /// The provider accounts, checked before caller ids are saved and campaigns start.
    pub preflight: Arc<Preflight>,
    twilio_sandbox: Option<sandbox::twilio::TwilioSandbox>,
    elevenlabs_sandbox: Option<sandbox::elevenlabs::ElevenLabsSandbox>,
}

impl Providers {
    /// Connects the adapters, starting a sandbox for each provider without credentials.
    pub async fn start(
        config: &Config,
        store: EventStore,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let (twilio_settings, auth_token, twilio_sandbox) = match &config.twilio {
            Some(twilio) => {
                tracing::info!(api_base = %twilio.api_base, "calls are placed with Twilio");
                let settings = TwilioConfig::new(
                    twilio.api_base.clone(),
                    twilio.account_sid.clone(),
                    twilio.auth_token.expose(),
                    twilio.phone_number.clone(),
                    config.public_base_url.clone(),
                );
                (settings, twilio.auth_token.clone(), None)
            }
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
                let token = Secret::new(sandbox.auth_token());
                (settings, token, Some(sandbox))
            }
        };
        let client = TwilioClient::new(twilio_settings).context("setting up the Twilio adapter")?;
        let (elevenlabs, elevenlabs_sandbox) = match &config.elevenlabs {
            Some(el) => {
                tracing::info!(api_base = %el.api_base, "conversations are held by ElevenLabs");
                let settings = ElevenLabsConfig {
                    api_base: el.api_base.clone(),
                    api_key: el.api_key.expose().to_owned(),
                    agent_id: el.agent_id.clone(),
                    voice_id: el.voice_id.clone(),
                };
                (settings, None)
            }
            None => {
                let sandbox = sandbox::elevenlabs::spawn(config.sandbox_speed).await;
                tracing::info!(
                    api_base = %sandbox.api_base(),
                    "no ELEVENLABS_API_KEY: conversations are simulated by the ElevenLabs sandbox"
                );
                let settings = ElevenLabsConfig {
                    api_base: sandbox.api_base(),
                    api_key: sandbox.api_key().to_owned(),
                    agent_id: sandbox::elevenlabs::AGENT_ID.to_owned(),
                    voice_id: None,
                };
                (settings, Some(sandbox))
            }
        };
        let stream_secret = config.jwt_secret.clone();
        let port = Arc::new(StorePort::new(store, clock, client.clone()));
        let preflight = Arc::new(Preflight::new(client.clone(), elevenlabs.clone()));
        let bridge = Arc::new(Bridge::new(
            elevenlabs.clone(),
            client.clone(),
            port,
            stream_secret.expose().as_bytes().to_vec(),
        ));
        Ok(Self {
            twilio: TwilioLink::new(client, auth_token, stream_secret),
            bridge,
            elevenlabs,
            preflight,
            twilio_sandbox,
            elevenlabs_sandbox,
        })
    }

    /// Once the server is bound: the Twilio sandbox delivers its webhooks and media socket to
    /// it (playing the reverse proxy in front of `PUBLIC_BASE_URL`).
    pub fn bound(&self, addr: SocketAddr) {
        if let Some(sandbox) = &self.twilio_sandbox {
            sandbox.deliver_to(addr);
        }
    }

    /// The Twilio sandbox, when this process runs one.
    pub fn twilio_sandbox(&self) -> Option<&sandbox::twilio::TwilioSandbox> {
        self.twilio_sandbox.as_ref()
    }

    /// The ElevenLabs sandbox, when this process runs one.
    pub fn elevenlabs_sandbox(&self) -> Option<&sandbox::elevenlabs::ElevenLabsSandbox> {
        self.elevenlabs_sandbox.as_ref()
    }
}
