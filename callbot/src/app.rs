//! Building and running the server: the store, the bus, the background workers and the router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use commands::dial_queue::{DialPlacer, DialQueueConfig, NatsDialQueue, StoreDialQueue};
use commands::dialer::{Dialer, InMemoryTelephony, Telephony};
use commands::script_writer::{OfflineWriter, OpenAiConfig, OpenAiWriter, ScriptWriter};
use commands::{
    CancellationToken, Clock, Commands, Db, EventBus, EventStore, Metrics, Relay, SystemClock,
};
use domain::account::Account;
use domain::call::Call;
use domain::campaign::Campaign;
use domain::script::Script;
use projections::ScriptList;
use projections::dialer_view::ReadModelView;
use projections::{CampaignList, ProjectionHandle, ProjectionRunner};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::auth::AuthState;
use crate::config::{Config, Role, Secret};
use crate::providers::Providers;
use crate::rate_limit::RateLimiter;
use crate::routes;

/// What request handlers share.
#[derive(Clone)]
pub struct AppState {
    pub store: EventStore,
    pub bus: EventBus,
    pub metrics: Arc<Metrics>,
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
    pub jwt_secret: Secret,
    /// Mark cookies `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Twilio (real or sandbox) for the webhooks; `None` refuses every webhook.
    pub twilio: Option<routes::twilio::TwilioLink>,
    /// The media bridge behind `/twilio/media`.
    pub bridge: Option<Arc<media_bridge::bridge::Bridge>>,
    /// Recording and report files and their signed links.
    pub files: Arc<crate::files::FileServices>,
    /// Checks against the provider accounts (caller ids, balances).
    pub preflight: Option<Arc<crate::preflight::Preflight>>,
}

/// A server bound to its port with its workers ready to start.
pub struct Application {
    providers: Arc<Providers>,
    listener: TcpListener,
    router: Router,
    state: AppState,
    config: Config,
    workers: Vec<(&'static str, Worker)>,
}

type Worker = Box<dyn FnOnce(CancellationToken) -> tokio::task::JoinHandle<()> + Send>;

impl Application {
    /// Connects to the database (applying migrations) and the bus, and binds the listener
    /// (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`Application::build`] with a clock of the caller's (tests move time by hand).
    pub async fn build_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::default());
        let db = Db::connect_and_migrate(&config.database_url)
            .await
            .context("opening the event store")?;
        let store = EventStore::open(db, metrics.clone()).await?;
        let bus = match &config.nats {
            Some(nats) => EventBus::nats(nats.clone()).await?,
            None => EventBus::in_process(),
        };
        let campaign_runner =
            ProjectionRunner::new(store.clone(), bus.clone(), Arc::new(CampaignList));
        let script_runner = ProjectionRunner::new(store.clone(), bus.clone(), Arc::new(ScriptList));
        let providers = Providers::start(&config, store.clone(), clock.clone()).await?;
        let files = Arc::new(
            crate::files::FileServices::from_config(&config).context("reading RECORDING_KEY")?,
        );
        let state = AppState {
            store: store.clone(),
            bus: bus.clone(),
            metrics,
            campaign_list: campaign_runner.handle(),
            limiter: Arc::new(RateLimiter::scaled(clock.clone(), config.rate_limit_scale)),
            clock,
            accounts: Arc::new(Commands::new(store.clone(), ())),
            campaigns: Arc::new(Commands::new(store.clone(), ())),
            calls: Arc::new(Commands::new(store.clone(), ())),
            scripts: Arc::new(Commands::new(store.clone(), ())),
            script_list: script_runner.handle(),
            script_writer: script_writer(&config)?,
            auth: AuthState::new(),
            jwt_secret: config.jwt_secret.clone(),
            secure_cookies: config.public_base_url.starts_with("https://"),
            twilio: Some(providers.twilio.clone()),
            bridge: Some(providers.bridge.clone()),
            files,
            preflight: Some(providers.preflight.clone()),
        };
        let mut workers: Vec<(&'static str, Worker)> = Vec::new();
        if config.runs(Role::Projector) {
            let relay = Relay::new(store.clone(), bus.clone());
            workers.push((
                "outbox relay",
                Box::new(move |stop| tokio::spawn(log_exit("outbox relay", relay.run(stop)))),
            ));
            workers.push((
                "script list projection",
                Box::new(move |stop| {
                    tokio::spawn(log_exit("script list projection", script_runner.run(stop)))
                }),
            ));
            workers.push((
                "campaign list projection",
                Box::new(move |stop| {
                    tokio::spawn(log_exit(
                        "campaign list projection",
                        campaign_runner.run(stop),
                    ))
                }),
            ));
        }
        if config.runs(Role::Dialer) {
            let view = Arc::new(ReadModelView::new(
                store.clone(),
                state.campaign_list.clone(),
            ));
            let telephony: Arc<dyn Telephony> = match &state.twilio {
                Some(link) => Arc::new(link.client.clone()),
                None => Arc::new(InMemoryTelephony::default()),
            };
            let dialer = Dialer::new(store.clone(), view, state.clock.clone());
            workers.push((
                "dialer",
                Box::new(move |stop| tokio::spawn(log_exit("dialer", dialer.run(stop)))),
            ));
            let placer = DialPlacer::new(store.clone(), telephony, state.clock.clone());
            let consumer: Worker = match &bus {
                EventBus::Nats(nats) => {
                    let queue =
                        NatsDialQueue::new(placer, nats.clone(), DialQueueConfig::default());
                    Box::new(move |stop| tokio::spawn(log_exit("dial consumer", queue.run(stop))))
                }
                EventBus::InProcess(_) => {
                    let queue = StoreDialQueue::new(placer, store.clone());
                    Box::new(move |stop| tokio::spawn(log_exit("dial consumer", queue.run(stop))))
                }
            };
            workers.push(("dial consumer", consumer));
        }
        if config.runs(Role::Projector) {
            // Stores or discards recordings, purges old ones and expired reports.
            let worker = crate::recordings::RecordingsWorker::new(
                store.clone(),
                providers.twilio.client.clone(),
                state.files.recordings.clone(),
                state.files.reports.clone(),
                state.clock.clone(),
                Duration::from_millis(500),
            );
            workers.push((
                "recordings",
                Box::new(move |stop| tokio::spawn(log_exit("recordings", worker.run(stop)))),
            ));
        }
        if config.runs(Role::Dialer) {
            let worker = crate::results::PostCallWorker::new(
                store.clone(),
                bus.clone(),
                state.clock.clone(),
                providers.twilio.client.clone(),
                media_bridge::conversation_details::DetailsClient::new(
                    providers.elevenlabs.clone(),
                ),
                summarizer(&config)?,
                config.rates,
                crate::results::worker::WorkerTiming::default(),
            );
            workers.push((
                "post-call worker",
                Box::new(move |stop| tokio::spawn(log_exit("post-call worker", worker.run(stop)))),
            ));
        }
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let router = routes::router(state.clone());
        providers.bound(listener.local_addr().context("reading the bound address")?);
        Ok(Self {
            providers: Arc::new(providers),
            listener,
            router,
            state,
            config,
            workers,
        })
    }

    /// The phone and voice providers (and their sandboxes, when simulated).
    pub fn providers(&self) -> Arc<Providers> {
        self.providers.clone()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Shared state (tests drive commands and wait on projections through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight requests finish and stops the
    /// workers at their next checkpoint.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let workers_stop = CancellationToken::new();
        let mut workers = JoinSet::new();
        for (name, start) in self.workers {
            tracing::debug!(worker = name, "starting");
            let handle = start(workers_stop.clone());
            workers.spawn(async move {
                let _ = handle.await;
            });
        }
        let serve = if self.config.runs(Role::Api) {
            Some(
                axum::serve(
                    self.listener,
                    self.router
                        .into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown.clone().cancelled_owned()),
            )
        } else {
            None
        };
        match serve {
            Some(serve) => serve.await.context("serving HTTP")?,
            None => shutdown.cancelled().await,
        }
        workers_stop.cancel();
        if tokio::time::timeout(Duration::from_secs(10), async {
            while workers.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!("workers did not stop within 10 s");
        }
        Ok(())
    }
}

async fn log_exit<E: std::fmt::Display>(
    name: &'static str,
    work: impl Future<Output = Result<(), E>>,
) {
    match work.await {
        Ok(()) => tracing::info!(worker = name, "stopped"),
        Err(err) => tracing::error!(worker = name, error = %err, "stopped with an error"),
    }
}

/// The script writer: the OpenAI-compatible API when a key is configured, else the offline one.
fn script_writer(config: &Config) -> anyhow::Result<Arc<dyn ScriptWriter>> {
    let Some(openai) = &config.openai else {
        tracing::info!("no OPENAI_API_KEY: scripts are written by the offline writer");
        return Ok(Arc::new(OfflineWriter));
    };
    let settings = OpenAiConfig::new(
        openai.api_key.expose(),
        openai.base_url.clone(),
        openai.model.clone(),
    );
    let writer = OpenAiWriter::new(settings).context("setting up the OpenAI script writer")?;
    tracing::info!(model = %openai.model, base_url = %openai.base_url, "scripts are written by the OpenAI API");
    Ok(Arc::new(writer))
}

/// The summarizer of finished calls: the OpenAI-compatible API when a key is configured, else
/// none (the offline summaries).
fn summarizer(
    config: &Config,
) -> anyhow::Result<Option<Arc<dyn commands::summarizer::Summarizer>>> {
    let Some(openai) = &config.openai else {
        return Ok(None);
    };
    let settings = OpenAiConfig::new(
        openai.api_key.expose(),
        openai.base_url.clone(),
        openai.model.clone(),
    )
    .with_budget(commands::summarizer::openai::DEFAULT_BUDGET);
    let summarizer = commands::summarizer::OpenAiSummarizer::new(settings)
        .context("setting up the OpenAI summarizer")?;
    Ok(Some(Arc::new(summarizer)))
}
