//! The `callbot` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use commands::{CancellationToken, Db, EventStore};

use crate::app::Application;
use crate::config::{Config, Role};

/// Auto CallBot: AI phone-call campaigns for small businesses.
#[derive(Debug, Parser)]
#[command(name = "callbot", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (API and background workers).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long, env = "DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Print one aggregate's event history with metadata.
    Events {
        /// The aggregate id (a campaign, call, script or account id).
        aggregate_id: String,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        #[arg(long, env = "DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Rebuild every read model from the event store into scratch tables and compare them with
    /// the live ones (exit status 1 when they differ).
    Replay {
        #[arg(long, env = "DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Check the event log's tamper evidence.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Serve the Twilio, ElevenLabs and OpenAI stand-ins in this process until SIGTERM or
    /// ctrl-c, after printing the environment a `callbot serve` needs to use them.
    #[cfg(feature = "sandbox")]
    Sandbox(crate::standalone::SandboxArgs),
    /// Serve the MCP tools on standard input and output for one account (`CALLBOT_TOKEN`, an
    /// API bearer token), with the server and its workers running in this process.
    Mcp {
        /// Address the in-process server (webhooks, media, `/mcp`) listens on; port 0 picks one.
        #[arg(long, env = "MCP_BIND_ADDR", default_value = "127.0.0.1:0")]
        bind: SocketAddr,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Check the configuration and each provider for real (Twilio, ElevenLabs, OpenAI), the
    /// database, NATS, the report font and free disk: ✓ or ✗ with the fix, exit status 1 when
    /// one fails.
    Doctor {
        #[arg(long, env = "DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Measure a `callbot serve` child process under N concurrent calls against the stand-ins:
    /// per-frame round trip, drops, setup time, the dial path, and the server's CPU and memory
    /// per call (README: sizing a deployment).
    #[cfg(feature = "sandbox")]
    Load(crate::load::LoadArgs),
    /// Print the OpenAPI document (`cargo run -- openapi > openapi/openapi.json` refreshes the
    /// committed copy).
    Openapi,
}

/// What `serve` and `mcp` share besides their address: the data dir and the workers.
#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Where the embedded database, generated secrets and recordings live.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Which workers to run; repeat or separate with commas.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    role: Vec<Role>,
}

impl ServerArgs {
    /// The configuration of a server listening on `bind`.
    fn config(self, bind: SocketAddr) -> Result<Config, crate::config::ConfigError> {
        Config::load(bind, self.data_dir, self.role)
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chain; name the first edited, inserted or deleted event (exit status 1).
    Verify {
        #[arg(long, env = "DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { bind, server } => serve(server.config(bind)?).await,
        Command::Migrate { data_dir } => {
            let config = offline_config(data_dir)?;
            Db::connect_and_migrate(&config.database_url).await?;
            println!("migrations applied to {}", redact_url(&config.database_url));
            Ok(())
        }
        Command::Events {
            aggregate_id,
            json,
            data_dir,
        } => {
            let config = offline_config(data_dir)?;
            let db = Db::connect_and_migrate(&config.database_url).await?;
            let store = EventStore::open(db, Default::default()).await?;
            print_events(&store, &aggregate_id, json).await
        }
        Command::Replay { data_dir } => {
            let config = offline_config(data_dir)?;
            crate::maintenance::replay(&config.database_url).await
        }
        Command::Audit {
            action: AuditAction::Verify { data_dir },
        } => {
            let config = offline_config(data_dir)?;
            crate::maintenance::audit_verify(&config.database_url).await
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => crate::standalone::run(args).await,
        Command::Mcp { bind, server } => mcp_stdio(server.config(bind)?).await,
        Command::Doctor { data_dir } => {
            let config = offline_config(data_dir)?;
            let checks = crate::doctor::run(&config).await;
            for check in &checks {
                println!("{}", check.line());
            }
            let failed = checks.iter().filter(|c| c.outcome.is_err()).count();
            if failed > 0 {
                println!("{failed} of {} checks failed", checks.len());
                std::process::exit(1);
            }
            println!("all {} checks passed", checks.len());
            Ok(())
        }
        #[cfg(feature = "sandbox")]
        Command::Load(args) => crate::load::run(args).await,
        Command::Openapi => {
            print!("{}", openapi::to_json(&api::routes::openapi()));
            Ok(())
        }
    }
}

fn offline_config(data_dir: PathBuf) -> anyhow::Result<Config> {
    let unused: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    Ok(Config::load(unused, data_dir, vec![Role::All])?)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config.clone()).await?;
    let url = format!("http://{}", app.local_addr());
    if config.is_embedded() {
        println!(
            "Auto CallBot is listening on {url}\n  embedded mode: SQLite at {}, in-process event bus\n  \
             API docs: {url}/docs (OpenAPI: {url}/openapi.json)\n  \
             health: {url}/healthz  readiness: {url}/readyz  metrics: {url}/metrics",
            config.data_dir.join("callbot.db").display()
        );
    } else {
        println!("Auto CallBot is listening on {url} (API docs: {url}/docs)");
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));
    app.run_until_stopped(shutdown).await
}

/// `callbot mcp`: the application runs as `serve` would (its log on stderr), and the MCP
/// tools of `CALLBOT_TOKEN`'s account are served on stdin/stdout until the client closes them.
async fn mcp_stdio(config: Config) -> anyhow::Result<()> {
    let token = secrecy::SecretString::from(
        std::env::var("CALLBOT_TOKEN")
            .context("CALLBOT_TOKEN must hold an API bearer token (POST /api/v1/auth/login)")?,
    );
    let app = Application::build(config).await?;
    let state = app.state().clone();
    let user = mcp::user_of_token(&state, secrecy::ExposeSecret::expose_secret(&token))
        .await
        .map_err(|error| anyhow::anyhow!("CALLBOT_TOKEN is refused: {}", error.body()))?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    tracing::info!(account = %user.account_id, "serving MCP on stdio");
    let served = tokio::select! {
        served = mcp::serve_stdio(state, user) => served,
        () = stop_on_signal(shutdown.clone()) => Ok(()),
    };
    shutdown.cancel();
    server.await.context("the server task")??;
    served
}

pub(crate) async fn stop_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing requests and stopping workers");
    shutdown.cancel();
}

async fn print_events(store: &EventStore, aggregate_id: &str, json: bool) -> anyhow::Result<()> {
    let events = store
        .read_aggregate(aggregate_id)
        .await
        .context("reading the event store")?;
    if events.is_empty() {
        anyhow::bail!("no events for aggregate {aggregate_id}");
    }
    for event in &events {
        if json {
            println!("{}", serde_json::to_string(event)?);
        } else {
            println!("{}", api::audit::entry_line(event));
        }
    }
    Ok(())
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}
