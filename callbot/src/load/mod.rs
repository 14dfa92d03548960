//! `callbot load`: sizes a deployment by measuring `callbot serve` from outside its process.
//!
//! This process runs the Twilio stand-in (its callees in load mode), an echo agent as the
//! ElevenLabs stand-in and the OpenAI stand-in on loopback, starts `callbot serve` as a child
//! pointed at them, and drives it only through its public API: accounts (5 calls each at most),
//! profile and caller id, a script, a campaign per account, then every campaign started at once.
//! Each answered call streams real-time 20 ms µ-law frames stamped with their send time; the
//! server bridges them to the echo agent and back, and the callee times each round trip. The
//! server's CPU and memory come from `/proc/<pid>`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sandbox::load::LoadCallee;

mod drive;
mod report;
mod server;

pub use report::Report;

/// How long a callee waits after its last frame for the echoes still on their way.
const DRAIN: Duration = Duration::from_secs(2);
/// How often the server's `/proc` entries are read.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// `callbot load` options.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Concurrent calls (ceil(calls / 5) accounts, one campaign each).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=5_000))]
    pub calls: u32,
    /// Seconds each call streams frames once its media socket is up (1 to 3600).
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Time factor for the simulated ringing and consent notice (0.1 to 1000); frames always
    /// flow in real time.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The `callbot` binary to measure (default: this one).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Write the server's log to this file.
    #[arg(long)]
    pub server_log: Option<PathBuf>,
    /// Measure another bridge instead of `callbot serve`, under the same load: a shell command
    /// serving the routes of ElevenLabs' Twilio outbound example (`POST /outbound-call` with
    /// `{"number"}`, its TwiML and media stream) on `$PORT`, pointed at the stand-ins by the
    /// environment this process gives it (`TWILIO_API_BASE`, `ELEVENLABS_API_BASE`, and the
    /// example's own variables). Calls are placed through its `POST /outbound-call`.
    #[arg(long, value_name = "COMMAND")]
    pub compare: Option<String>,
}

/// Runs the load, prints the table (and writes the JSON); an error when a call got no frames
/// back or a frame was dropped.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    if !(1.0..=3600.0).contains(&args.seconds) {
        bail!("--seconds must be between 1 and 3600, got {}", args.seconds);
    }
    if !(0.1..=1000.0).contains(&args.speed) {
        bail!("--speed must be between 0.1 and 1000, got {}", args.speed);
    }
    let load = Arc::new(LoadCallee::new(
        Duration::from_secs_f64(args.seconds),
        DRAIN,
    ));
    let twilio = sandbox::twilio::spawn(sandbox::twilio::TwilioSandboxOptions {
        speed: args.speed,
        load: Some(load.clone()),
        ..Default::default()
    })
    .await;
    let elevenlabs = sandbox::elevenlabs::spawn_echo().await;
    let openai = sandbox::openai::spawn(crate::providers::OfflineAuthor::shared()).await;
    let data_dir = tempfile::tempdir().context("creating the server's data dir")?;
    let storage = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => "postgres",
        _ => "sqlite",
    };
    let env = [
        ("TWILIO_API_BASE", twilio.api_base()),
        ("TWILIO_ACCOUNT_SID", twilio.account_sid().to_owned()),
        ("TWILIO_AUTH_TOKEN", twilio.auth_token().to_owned()),
        (
            "TWILIO_PHONE_NUMBER",
            sandbox::twilio::PHONE_NUMBER.to_owned(),
        ),
        ("ELEVENLABS_API_BASE", elevenlabs.api_base()),
        ("ELEVENLABS_API_KEY", elevenlabs.api_key().to_owned()),
        (
            "ELEVENLABS_AGENT_ID",
            sandbox::elevenlabs::AGENT_ID.to_owned(),
        ),
        ("OPENAI_BASE_URL", openai.base_url()),
        ("OPENAI_API_KEY", openai.api_key().to_owned()),
        // The stand-in plays the reverse proxy in front of this name: it signs its webhooks
        // for it and delivers them, and opens the media sockets, to the child's own address.
        ("PUBLIC_BASE_URL", "https://callbot-load.example".to_owned()),
        ("RATE_LIMIT_SCALE", "10000".to_owned()),
    ];
    let under_test = match &args.compare {
        Some(command) => format!("compared: {command}"),
        None => storage.to_owned(),
    };
    let mut server = match &args.compare {
        Some(command) => {
            server::Server::start_command(command, &env, args.server_log.clone()).await?
        }
        None => {
            let server_bin = match args.server_bin.clone() {
                Some(bin) => bin,
                None => std::env::current_exe().context("finding this executable")?,
            };
            server::Server::start(&server_bin, data_dir.path(), &env, args.server_log.clone())
                .await?
        }
    };
    let addr = server
        .base
        .trim_start_matches("http://")
        .parse()
        .context("the server's address")?;
    twilio.deliver_to(addr);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let api = drive::Api::new(http.clone(), &server.base);
    let run_id = format!("{:08x}", rand::random::<u32>());
    eprintln!(
        "callbot load: {} calls, {} s each, against {} (pid {})",
        args.calls, args.seconds, server.base, server.pid
    );
    let campaigns = match args.compare {
        Some(_) => Vec::new(),
        None => {
            server.ready(&http).await?;
            api.prepare(&run_id, args.calls, sandbox::twilio::PHONE_NUMBER)
                .await?
        }
    };
    // The sign-ins' Argon2 memory is returned by the allocator within seconds; the baseline is
    // taken once it has been, so the calls are not credited with its return.
    let rss_before_kib = settled_rss(server.pid).await;

    let samples = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn(sample_until_gone(server.pid, samples.clone()));
    let started = Instant::now();
    match args.compare {
        Some(_) => api.place_through_example(&server.base, args.calls).await?,
        None => api.start_all(&campaigns).await?,
    }
    let patience = Duration::from_secs(120)
        + Duration::from_secs_f64(args.seconds * 2.0 + f64::from(args.calls) * 0.2);
    while load.streams_ended() < args.calls as usize && started.elapsed() < patience {
        server.alive()?;
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    let problems: Vec<String> = twilio
        .calls()
        .iter()
        .filter_map(|call| {
            let problem = call
                .stream
                .problem
                .as_ref()
                .or(call.twiml_problem.as_ref())?;
            Some(format!("{}: {problem}", call.sid))
        })
        .take(10)
        .collect();
    let log = server.log.lock().expect("log lock").clone();
    sampler.abort();
    let shutdown = server.stop(Duration::from_secs(60)).await?;
    let samples = samples.lock().expect("samples lock").clone();
    let report = report::Gathered {
        calls: args.calls,
        seconds: args.seconds,
        storage: under_test,
        started,
        tally: load.tally(),
        samples,
        rss_before_kib,
        shutdown,
        log,
        problems,
    }
    .report();
    println!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if report.calls_with_frames < report.calls || report.frames.dropped > 0 {
        bail!(
            "{} of {} calls got frames back, {} frames dropped",
            report.calls_with_frames,
            report.calls,
            report.frames.dropped
        );
    }
    Ok(())
}

/// How long the server's memory may take to settle after the sign-ins.
const SETTLE_AT_MOST: Duration = Duration::from_secs(30);
/// Settled: resident memory has not fallen by more than 1 % over this long.
const SETTLED_FOR: Duration = Duration::from_secs(2);

/// The server's resident memory once it stops falling (at most [`SETTLE_AT_MOST`]), in KiB.
async fn settled_rss(pid: u32) -> u64 {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    let mut recent: Vec<server::Sample> = Vec::new();
    loop {
        ticker.tick().await;
        let Some(sample) = server::sample(pid) else {
            return recent.last().map_or(0, |s| s.rss_kib);
        };
        recent.retain(|s| sample.at.duration_since(s.at) <= SETTLED_FOR);
        recent.push(sample);
        let window = sample.at.duration_since(recent[0].at);
        let highest = recent.iter().map(|s| s.rss_kib).max().unwrap_or(0);
        let settled = window >= SETTLED_FOR - SAMPLE_EVERY && sample.rss_kib * 100 >= highest * 99;
        if settled || started.elapsed() >= SETTLE_AT_MOST {
            return sample.rss_kib;
        }
    }
}

/// Reads the server's `/proc` entries every [`SAMPLE_EVERY`] until it is gone.
async fn sample_until_gone(pid: u32, samples: Arc<Mutex<Vec<server::Sample>>>) {
    let mut ticker = tokio::time::interval(SAMPLE_EVERY);
    loop {
        ticker.tick().await;
        match server::sample(pid) {
            Some(sample) => samples.lock().expect("samples lock").push(sample),
            None => return,
        }
    }
}
