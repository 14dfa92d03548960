//! Building and running the server: the store, the bus, the providers, the workers under their
//! supervisor, and the router.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use api::AppState;
use api::rate_limit::RateLimiter;
use api::signed_url::UrlSigner;
use api::state::{AuthState, FileServices};
use axum::Router;
use commands::dial_queue::{DIAL_CHECKPOINT, DialPlacer};
use commands::dialer::{InMemoryTelephony, Telephony};
use commands::recordings::{RecordingCipher, RecordingFiles};
use commands::relay::RELAY_CHECKPOINT;
use commands::script_writer::{OfflineWriter, OpenAiConfig, OpenAiWriter, ScriptWriter};
use commands::services::webhooks::WebhookService;
use commands::webhooks::guard::Guard;
use commands::webhooks::sender::Sender;
use commands::{
    CancellationToken, Clock, Commands, Db, EventBus, EventStore, Metrics, Relay, SystemClock,
};
use media_bridge::conversation_details::DetailsClient;
use projections::campaign_reads::CampaignReadModels;
use projections::dialer_view::ReadModelView;
use projections::post_call_work::PostCallWork;
use projections::reports::ReportFiles;
use projections::{CampaignList, ProjectionRunner, ScriptList};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use workers::dial_consumer::{DialQueueConfig, NatsDialQueue, StoreDialQueue};
use workers::dialer::{DIALER_LOCK, Dialer};
use workers::post_call::{POST_CALL_LOCK, PostCallProviders, PostCallWorker, WorkerTiming};
use workers::reconciler::{RECONCILER_LOCK, ReconcileTiming, Reconciler};
use workers::recordings::{RECORDINGS_LOCK, RETENTION_LOCK, RecordingsWorker, RetentionWorker};
use workers::relay::RelayWorker;
use workers::voicemail::{VOICEMAIL_CHECKPOINT, VoicemailWorker};
use workers::webhooks::{WEBHOOKS_LOCK, WebhookWorker};
use workers::{Supervisor, Worker};

use crate::adapters::{ElevenLabsConversations, ReportRetention, TwilioPorts};
use crate::config::{Config, Role};
use crate::providers::Providers;

/// How often the recordings and retention workers look for work.
const RECORDINGS_POLL: Duration = Duration::from_millis(500);

/// A server bound to its port with its workers ready to start.
pub struct Application {
    providers: Arc<Providers>,
    listener: TcpListener,
    router: Router,
    state: AppState,
    config: Config,
    supervisor: Supervisor,
    /// The projection runners this process runs (also under the supervisor).
    projections: Vec<Arc<ProjectionRunner>>,
    /// Stops the workers (after the server has stopped taking requests).
    workers_stop: CancellationToken,
}

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
        let campaign_runner = Arc::new(ProjectionRunner::new(
            store.clone(),
            bus.clone(),
            Arc::new(CampaignList),
        ));
        let script_runner = Arc::new(ProjectionRunner::new(
            store.clone(),
            bus.clone(),
            Arc::new(ScriptList),
        ));
        let providers = Providers::start(&config, store.clone(), clock.clone()).await?;
        let files = Arc::new(file_services(&config).context("reading RECORDING_KEY")?);
        // Webhook secrets are kept encrypted with the recordings' key.
        let webhook_cipher = RecordingCipher::from_base64(config.recording_key.expose_secret())
            .context("reading RECORDING_KEY")?;
        let campaigns = Arc::new(Commands::new(store.clone(), ()));
        let calls = Arc::new(Commands::new(store.clone(), ()));
        let services = commands::services::ServiceContext {
            store: store.clone(),
            bus: bus.clone(),
            clock: clock.clone(),
            campaigns: Arc::clone(&campaigns),
            calls: Arc::clone(&calls),
            reads: Arc::new(CampaignReadModels::new(
                store.clone(),
                campaign_runner.handle(),
            )),
            dialer_view: Arc::new(ReadModelView::new(store.clone(), campaign_runner.handle())),
            preflight: Some(providers.preflight.clone()),
        };
        let webhooks = WebhookService::new(
            store.db().pool().clone(),
            clock.clone(),
            webhook_cipher.clone(),
            Guard::new(config.webhooks.allow_private),
        );
        let state = AppState {
            stopping: CancellationToken::new(),
            store: store.clone(),
            bus: bus.clone(),
            metrics: metrics.clone(),
            prometheus: crate::telemetry::prometheus(),
            campaign_list: campaign_runner.handle(),
            limiter: Arc::new(RateLimiter::scaled(clock.clone(), config.rate_limit_scale)),
            clock,
            accounts: Arc::new(Commands::new(store.clone(), ())),
            campaigns,
            calls,
            scripts: Arc::new(Commands::new(store.clone(), ())),
            script_list: script_runner.handle(),
            script_writer: script_writer(&config)?,
            auth: AuthState::with(config.trusted_proxies.clone(), config.metrics_token.clone()),
            jwt_secret: config.jwt_secret.clone(),
            secure_cookies: config.public_base_url.starts_with("https://"),
            twilio: Some(providers.twilio.clone()),
            bridge: Some(providers.bridge.clone()),
            files,
            caller_ids: Some(providers.preflight.clone()),
            services,
            webhooks,
        };
        let workers_stop = CancellationToken::new();
        let mut supervisor = Supervisor::new(metrics);
        let mut projections = Vec::new();
        let db = store.db().clone();
        if config.runs(Role::Projector) {
            let relay =
                RelayWorker::new(Relay::new(store.clone(), bus.clone()), workers_stop.clone());
            supervisor.add_single_active(Arc::new(relay), db.clone(), RELAY_CHECKPOINT);
            projections.extend([script_runner, campaign_runner]);
            // Stores or discards recordings; purges old ones and expired reports.
            let recordings = RecordingsWorker::new(
                store.clone(),
                Arc::new(TwilioPorts(providers.twilio.client.clone())),
                state.files.recordings.clone(),
                state.clock.clone(),
                RECORDINGS_POLL,
            );
            supervisor.add_single_active(Arc::new(recordings), db.clone(), RECORDINGS_LOCK);
            let reports = ReportRetention {
                reports: state.files.reports.clone(),
                store: store.clone(),
            };
            let retention = RetentionWorker::new(
                store.clone(),
                state.files.recordings.clone(),
                Arc::new(reports),
                state.clock.clone(),
                RECORDINGS_POLL,
            );
            supervisor.add_single_active(Arc::new(retention), db.clone(), RETENTION_LOCK);
            // Fans events out to webhook deliveries and sends them.
            let webhooks = WebhookWorker::new(
                store.clone(),
                Sender::new(Guard::new(config.webhooks.allow_private), webhook_cipher),
                config.webhooks.clone(),
                state.clock.clone(),
            );
            supervisor.add_single_active(Arc::new(webhooks), db.clone(), WEBHOOKS_LOCK);
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
            let dialer = Dialer::new(store.clone(), view.clone(), state.clock.clone());
            supervisor.add_single_active(Arc::new(dialer), db.clone(), DIALER_LOCK);
            // Asks Twilio about calls whose callbacks never came (a crash, a lost webhook).
            let timing = ReconcileTiming {
                max_call: config.max_call,
                ..ReconcileTiming::default()
            };
            let reconciler =
                Reconciler::new(state.services.clone(), view, telephony.clone(), timing);
            supervisor.add_single_active(Arc::new(reconciler), db.clone(), RECONCILER_LOCK);
            let placer = DialPlacer::new(store.clone(), telephony, state.clock.clone());
            match &bus {
                // JetStream hands each request to one process: every process consumes.
                EventBus::Nats(nats) => supervisor.add(Arc::new(NatsDialQueue::new(
                    placer,
                    nats.clone(),
                    DialQueueConfig::default(),
                ))),
                EventBus::InProcess(_) => supervisor.add_single_active(
                    Arc::new(StoreDialQueue::new(placer, store.clone())),
                    db.clone(),
                    DIAL_CHECKPOINT,
                ),
            }
            // The post-call queue is a projection of its own, fed beside the worker.
            projections.push(Arc::new(ProjectionRunner::new(
                store.clone(),
                bus.clone(),
                Arc::new(PostCallWork),
            )));
            let post_call_providers = PostCallProviders {
                prices: Arc::new(TwilioPorts(providers.twilio.client.clone())),
                conversations: Arc::new(ElevenLabsConversations(DetailsClient::new(
                    providers.elevenlabs.clone(),
                ))),
                summarizer: summarizer(&config)?,
            };
            let post_call = PostCallWorker::new(
                store.clone(),
                state.clock.clone(),
                post_call_providers,
                config.rates,
                WorkerTiming::default(),
            );
            supervisor.add_single_active(Arc::new(post_call), db.clone(), POST_CALL_LOCK);
            let control = TwilioPorts(providers.twilio.client.clone());
            let voicemail =
                VoicemailWorker::new(store.clone(), Arc::new(control), state.clock.clone());
            supervisor.add_single_active(Arc::new(voicemail), db.clone(), VOICEMAIL_CHECKPOINT);
        }
        // Each projection holds its name as its lock, as its checkpoint is its own.
        for runner in &projections {
            supervisor.add_single_active(runner.clone(), db.clone(), runner.name());
        }
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let mcp_hosts = mcp::allowed_hosts(&config.public_base_url);
        let router = api::routes::router(state.clone())
            .merge(web::router(state.clone()))
            .merge(mcp::router(state.clone(), mcp_hosts));
        providers.bound(listener.local_addr().context("reading the bound address")?);
        Ok(Self {
            providers: Arc::new(providers),
            listener,
            router,
            state,
            config,
            supervisor,
            projections,
            workers_stop,
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

    /// Takes every worker but the projections out of the supervisor: from now on only the
    /// caller runs them (tests drain them with `run_once`, so nothing races a test and no
    /// background dialing, placing or post-call work happens behind its back). The projections
    /// stay supervised, since every read waits for them; see [`Application::projections`].
    pub fn take_workers(&mut self) -> Vec<Arc<dyn Worker>> {
        let projections: Vec<&str> = self.projections.iter().map(|p| p.name()).collect();
        self.supervisor.take(|name| !projections.contains(&name))
    }

    /// The projection runners this process runs. Driving one while the supervisor runs it is
    /// safe: each batch moves the checkpoint from where it was read, so it is applied once.
    pub fn projections(&self) -> Vec<Arc<dyn Worker>> {
        self.projections
            .iter()
            .map(|runner| runner.clone() as Arc<dyn Worker>)
            .collect()
    }

    /// Serves until `shutdown` is cancelled: then takes no new connections, ends the status
    /// streams, lets in-flight requests finish and stops the workers at their next checkpoint,
    /// all within one [`Config::shutdown_grace`] from the stop.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let grace = self.config.shutdown_grace;
        let stopping = self.state.stopping.clone();
        // One grace for the whole stop: the workers get what the requests leave of it.
        let deadline = Arc::new(std::sync::OnceLock::new());
        tokio::spawn({
            let shutdown = shutdown.clone();
            let deadline = deadline.clone();
            async move {
                shutdown.cancelled().await;
                let _ = deadline.set(tokio::time::Instant::now() + grace);
                stopping.cancel();
            }
        });
        let workers = tokio::spawn(self.supervisor.run(self.workers_stop.clone()));
        let router = if self.config.runs(Role::Api) {
            Some(self.router)
        } else if self.config.runs(Role::Bridge) {
            self.state.bridge.clone().map(|bridge| {
                media_bridge::router(bridge).route(
                    "/healthz",
                    axum::routing::get(|| async {
                        axum::Json(serde_json::json!({ "status": "ok" }))
                    }),
                )
            })
        } else {
            None
        };
        match router {
            Some(router) => {
                let serve = crate::http_server::serve(
                    self.listener,
                    router,
                    self.config.http,
                    shutdown.clone(),
                );
                tokio::select! {
                    () = serve => {}
                    // Requests still running `grace` after the stop began are cut off.
                    () = async {
                        shutdown.cancelled().await;
                        tokio::time::sleep(grace).await;
                    } => tracing::warn!(?grace, "requests still running at the end of the grace; stopping anyway"),
                }
            }
            None => shutdown.cancelled().await,
        }
        self.workers_stop.cancel();
        let deadline = deadline
            .get()
            .copied()
            .unwrap_or_else(|| tokio::time::Instant::now() + grace);
        match tokio::time::timeout_at(deadline, workers).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "the supervisor panicked"),
            Err(_) => tracing::warn!(?grace, "workers did not stop within the grace"),
        }
        Ok(())
    }
}

/// Recording and report files under the data dir, links signed with a key derived from
/// `JWT_SECRET`.
fn file_services(config: &Config) -> Result<FileServices, commands::recordings::CipherError> {
    let cipher = RecordingCipher::from_base64(config.recording_key.expose_secret())?;
    Ok(FileServices {
        recordings: RecordingFiles::new(&config.data_dir, cipher),
        reports: ReportFiles::new(&config.data_dir, config.report_font.clone()),
        signer: UrlSigner::new(config.jwt_secret.expose_secret().as_bytes()),
        public_base_url: config.public_base_url.clone(),
    })
}

/// The script writer: the OpenAI-compatible API when a key is configured, else the offline one.
fn script_writer(config: &Config) -> anyhow::Result<Arc<dyn ScriptWriter>> {
    let Some(openai) = &config.providers.openai else {
        tracing::info!("no OPENAI_API_KEY: scripts are written by the offline writer");
        return Ok(Arc::new(OfflineWriter));
    };
    let settings = OpenAiConfig::new(
        openai.api_key.expose_secret(),
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
    let Some(openai) = &config.providers.openai else {
        return Ok(None);
    };
    let settings = OpenAiConfig::new(
        openai.api_key.expose_secret(),
        openai.base_url.clone(),
        openai.model.clone(),
    )
    .with_budget(commands::summarizer::openai::DEFAULT_BUDGET);
    let summarizer = commands::summarizer::OpenAiSummarizer::new(settings)
        .context("setting up the OpenAI summarizer")?;
    Ok(Some(Arc::new(summarizer)))
}
