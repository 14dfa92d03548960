//! `callbot sandbox`: the Twilio, ElevenLabs and OpenAI stand-ins in a process of their own, so a
//! `callbot serve` (or an official SDK) talks to them over the network exactly as it would to the
//! real services. The Twilio stand-in delivers its webhooks and media sockets to the URLs it is
//! given, as Twilio does: the `callbot serve` it calls must be reachable at its
//! `PUBLIC_BASE_URL`.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use commands::CancellationToken;

use crate::providers::OfflineAuthor;

/// Where `callbot sandbox` listens and how fast its simulated time runs.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Port of the Twilio REST stand-in (0: a free one).
    #[arg(long, env = "SANDBOX_TWILIO_PORT", default_value_t = 0)]
    pub twilio_port: u16,
    /// Port of the ElevenLabs stand-in (0: a free one).
    #[arg(long, env = "SANDBOX_ELEVENLABS_PORT", default_value_t = 0)]
    pub elevenlabs_port: u16,
    /// Port of the OpenAI stand-in (0: a free one).
    #[arg(long, env = "SANDBOX_OPENAI_PORT", default_value_t = 0)]
    pub openai_port: u16,
    /// Time factor of the simulated calls: 10 runs a 30 s ring in 3 s.
    #[arg(long, env = "SANDBOX_SPEED", default_value_t = 1.0, value_parser = positive_speed)]
    pub speed: f64,
    /// Address to listen on; loopback unless told (`0.0.0.0` for every interface).
    #[arg(long, env = "SANDBOX_BIND_HOST", default_value = "127.0.0.1")]
    pub bind_host: IpAddr,
}

fn positive_speed(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(speed) if speed.is_finite() && speed > 0.0 && speed <= 1000.0 => Ok(speed),
        _ => Err(format!(
            "{text:?} is not a speed: a number above 0 and at most 1000 (1 = real time)"
        )),
    }
}

/// The three stand-ins, running until dropped.
pub struct Sandboxes {
    pub twilio: sandbox::twilio::TwilioSandbox,
    pub elevenlabs: sandbox::elevenlabs::ElevenLabsSandbox,
    pub openai: sandbox::openai::SandboxServer,
}

impl Sandboxes {
    /// Binds and serves the three stand-ins.
    pub async fn start(args: &SandboxArgs) -> anyhow::Result<Self> {
        let at = |port| SocketAddr::new(args.bind_host, port);
        let options = sandbox::twilio::TwilioSandboxOptions {
            speed: args.speed,
            ..Default::default()
        };
        Ok(Self {
            twilio: sandbox::twilio::spawn_at(at(args.twilio_port), options).await?,
            elevenlabs: sandbox::elevenlabs::spawn_at(at(args.elevenlabs_port), args.speed).await?,
            openai: sandbox::openai::spawn_at(at(args.openai_port), OfflineAuthor::shared())
                .await?,
        })
    }

    /// The environment a `callbot serve` needs to use these stand-ins, one `NAME=value` a line.
    pub fn env_lines(&self) -> Vec<String> {
        [
            ("TWILIO_API_BASE", self.twilio.api_base()),
            ("TWILIO_ACCOUNT_SID", self.twilio.account_sid().to_owned()),
            ("TWILIO_AUTH_TOKEN", self.twilio.auth_token().to_owned()),
            (
                "TWILIO_PHONE_NUMBER",
                sandbox::twilio::PHONE_NUMBER.to_owned(),
            ),
            ("ELEVENLABS_API_BASE", self.elevenlabs.api_base()),
            ("ELEVENLABS_API_KEY", self.elevenlabs.api_key().to_owned()),
            (
                "ELEVENLABS_AGENT_ID",
                sandbox::elevenlabs::AGENT_ID.to_owned(),
            ),
            ("OPENAI_BASE_URL", self.openai.base_url()),
            ("OPENAI_API_KEY", self.openai.api_key().to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
    }
}

/// Runs the stand-ins until SIGTERM or ctrl-c, after printing the environment for
/// `callbot serve` on standard output.
pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let sandboxes = Sandboxes::start(&args).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "# callbot sandbox (speed {}): the environment for `callbot serve`",
        args.speed
    )?;
    for line in sandboxes.env_lines() {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    drop(out);
    let stop = CancellationToken::new();
    tokio::spawn(crate::cli::stop_on_signal(stop.clone()));
    stop.cancelled().await;
    drop(sandboxes);
    Ok(())
}
