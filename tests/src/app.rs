//! `spawn_app()`: the whole server, started in-process on a free port, the way every API and
//! end-to-end test starts it.
//!
//! This is the only module that names the composition root (`Application`, `Config`), so a move
//! of those types changes one `use` line here.

use std::path::Path;
use std::sync::Arc;

pub use api::AppState;
pub use callbot::Role;
pub use callbot::providers::Providers;
use callbot::{Application, Config};
use chrono::{DateTime, Utc};
use commands::{CancellationToken, Clock, ManualClock, SystemClock};
use uuid::Uuid;
use workers::Worker;

use crate::{TestDb, TestNats};

/// The public base URL of the sandbox campaigns (the sandboxes reach the app on its port).
pub const PUBLIC_URL: &str = "https://callbot.example";

/// Rounds of [`TestApp::drain_workers`] before the workers count as never settling.
const DRAIN_ROUNDS: usize = 100;
/// Units of work one worker may do in one round.
const UNITS_PER_ROUND: usize = 1_000;

/// The account every app signs up at start unless told otherwise.
pub const OWNER: &str = "owner@clinic.kr";
/// The password of every account the harness signs up.
pub const PASSWORD: &str = "password123";

/// Where the app keeps its events and which bus it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The embedded default: a SQLite file in the data directory and the in-process bus.
    #[default]
    Sqlite,
    /// A fresh Postgres database and a NATS server of the test's own.
    PostgresAndNats,
}

/// How to start the app. `AppOptions::default()` is the embedded default: SQLite, the system
/// clock, every role, the provider sandboxes, and the owner signed up.
#[derive(Clone, Default)]
pub struct AppOptions {
    backend: Backend,
    clock: Option<Arc<dyn Clock>>,
    manual_clock: Option<Arc<ManualClock>>,
    roles: Option<Vec<Role>>,
    vars: Vec<(String, String)>,
    signed_out: bool,
    twilio_sandbox: bool,
    manual_workers: bool,
}

impl AppOptions {
    /// Sandbox campaigns: the provider sandboxes play calls 40 times faster than real time and
    /// webhooks are signed over [`PUBLIC_URL`].
    pub fn sandbox_calls() -> Self {
        Self::default()
            .sandbox_speed(40)
            .public_base_url(PUBLIC_URL)
    }

    /// Postgres + NATS instead of SQLite.
    pub fn postgres_and_nats(mut self) -> Self {
        self.backend = Backend::PostgresAndNats;
        self
    }

    /// The given backend.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// A clock that moves only when the test moves it ([`TestApp::manual_clock`]); the rate
    /// limiter then refills only when the test moves time.
    pub fn manual_clock(mut self, at: DateTime<Utc>) -> Self {
        let clock = Arc::new(ManualClock::new(at));
        self.clock = Some(clock.clone());
        self.manual_clock = Some(clock);
        self
    }

    /// A clock of the test's own.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self.manual_clock = None;
        self
    }

    /// The roles this process plays (default: all).
    pub fn roles(mut self, roles: Vec<Role>) -> Self {
        self.roles = Some(roles);
        self
    }

    /// An environment variable as the app's configuration sees it.
    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.push((name.to_owned(), value.into()));
        self
    }

    /// How much faster than real time the provider sandboxes play calls.
    pub fn sandbox_speed(self, speed: u32) -> Self {
        self.var("SANDBOX_SPEED", speed.to_string())
    }

    /// The public base URL webhooks and download links are signed over.
    pub fn public_base_url(self, url: &str) -> Self {
        self.var("PUBLIC_BASE_URL", url)
    }

    /// Multiplies every rate limit by `scale`.
    pub fn rate_limit_scale(self, scale: u32) -> Self {
        self.var("RATE_LIMIT_SCALE", scale.to_string())
    }

    /// The OpenAI adapter against the OpenAI sandbox, asking for `model`.
    pub fn openai(self, sandbox: &sandbox::openai::SandboxServer, model: &str) -> Self {
        self.var("OPENAI_API_KEY", sandbox.api_key())
            .var("OPENAI_BASE_URL", sandbox.base_url())
            .var("OPENAI_MODEL", model)
    }

    /// A Twilio sandbox of the test's own, outside the app, with `TWILIO_*` pointing at it
    /// ([`TestApp::twilio`]).
    pub fn twilio_sandbox(mut self) -> Self {
        self.twilio_sandbox = true;
        self
    }

    /// The background workers (relay, dialer, dial consumer, post-call, voicemail, recordings,
    /// retention) do not run by themselves: the test drives them with
    /// [`TestApp::drain_workers`]. The projections keep running, since every read waits for
    /// them.
    pub fn manual_workers(mut self) -> Self {
        self.manual_workers = true;
        self
    }

    /// Nobody signed up: [`TestApp::token`] is empty and [`TestApp::account`] nil.
    pub fn signed_out(mut self) -> Self {
        self.signed_out = true;
        self
    }
}

/// Keeps the backend of a Postgres app alive as long as the app.
enum BackendGuard {
    Sqlite,
    Postgres { db: TestDb, _nats: TestNats },
}

/// A running app and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:port/api/v1`.
    pub base: String,
    /// `http://127.0.0.1:port`.
    pub origin: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub providers: Arc<Providers>,
    /// The owner's bearer token (empty when signed out).
    pub token: String,
    /// The owner's account id (nil when signed out).
    pub account: Uuid,
    manual_clock: Option<Arc<ManualClock>>,
    /// The workers taken from the supervisor ([`AppOptions::manual_workers`]).
    manual_workers: Option<Vec<Arc<dyn Worker>>>,
    /// The projection runners (also supervised).
    projections: Vec<Arc<dyn Worker>>,
    twilio: Option<sandbox::twilio::TwilioSandbox>,
    lookup: Vec<(String, String)>,
    stop: CancellationToken,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    dir: tempfile::TempDir,
    _backend: BackendGuard,
}

/// The embedded default app with the owner signed up.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

/// An app started as `options` say.
pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut vars = Vec::new();
    let backend = match options.backend {
        Backend::Sqlite => BackendGuard::Sqlite,
        Backend::PostgresAndNats => {
            let (db, nats) = (TestDb::postgres().await, TestNats::start());
            vars.extend(postgres_vars(&db, &nats));
            BackendGuard::Postgres { db, _nats: nats }
        }
    };
    let twilio = match options.twilio_sandbox {
        true => Some(sandbox::twilio::spawn(Default::default()).await),
        false => None,
    };
    if let Some(twilio) = &twilio {
        vars.extend(twilio_vars(twilio));
    }
    vars.extend(options.vars);
    let roles = options.roles.unwrap_or_else(|| vec![Role::All]);
    let config = config(dir.path(), roles, &vars);
    let clock = options.clock.unwrap_or_else(|| Arc::new(SystemClock));
    let mut app = Application::build_with_clock(config, clock)
        .await
        .expect("the app builds");
    let manual_workers = options.manual_workers.then(|| app.take_workers());
    let projections = app.projections();
    let origin = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let providers = app.providers();
    let stop = CancellationToken::new();
    let server = tokio::spawn(app.run_until_stopped(stop.clone()));
    let mut app = TestApp {
        base: format!("{origin}/api/v1"),
        origin,
        client: reqwest::Client::new(),
        state,
        providers,
        token: String::new(),
        account: Uuid::nil(),
        manual_clock: options.manual_clock,
        manual_workers,
        projections,
        twilio,
        lookup: vars,
        stop,
        server: Some(server),
        dir,
        _backend: backend,
    };
    if !options.signed_out {
        let (token, account) = app.sign_up(OWNER).await;
        app.token = token;
        app.account = account;
    }
    app
}

fn config(data_dir: &Path, roles: Vec<Role>, vars: &[(String, String)]) -> Config {
    Config::from_lookup(
        "127.0.0.1:0".parse().expect("an address"),
        data_dir.to_path_buf(),
        roles,
        |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
    )
    .expect("a valid test configuration")
}

fn postgres_vars(db: &TestDb, nats: &TestNats) -> Vec<(String, String)> {
    vec![
        ("DATABASE_URL".into(), db.url.clone()),
        ("NATS_URL".into(), nats.url()),
        (
            "NATS_STREAM".into(),
            format!("CALLBOT_{}", Uuid::new_v4().simple()),
        ),
        (
            "JWT_SECRET".into(),
            "e2e-jwt-secret-e2e-jwt-secret-e2e-jwt".into(),
        ),
        (
            "RECORDING_KEY".into(),
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=".into(),
        ),
    ]
}

fn twilio_vars(twilio: &sandbox::twilio::TwilioSandbox) -> Vec<(String, String)> {
    vec![
        ("TWILIO_ACCOUNT_SID".into(), twilio.account_sid().to_owned()),
        ("TWILIO_AUTH_TOKEN".into(), twilio.auth_token().to_owned()),
        (
            "TWILIO_PHONE_NUMBER".into(),
            sandbox::twilio::PHONE_NUMBER.to_owned(),
        ),
        ("TWILIO_API_BASE".into(), twilio.api_base()),
    ]
}

impl TestApp {
    /// What `callbot replay` finds different between the live read models and a rebuild of
    /// them from the store (empty when they agree).
    pub async fn replay_differences(&self) -> Vec<projections::replay::TableDiff> {
        callbot::maintenance::replay_report(&self.database_url(), false)
            .await
            .expect("a replay report")
    }

    /// Fails unless a rebuild from the store gives the live read models exactly, once the
    /// campaign list has applied the store up to `head`.
    pub async fn assert_replay_matches_live_tables(&self, head: i64) {
        let caught_up = self
            .state
            .campaign_list
            .wait_for(head, std::time::Duration::from_secs(30))
            .await;
        assert!(caught_up, "the campaign list never reached {head}");
        let diffs = self.replay_differences().await;
        assert_eq!(diffs, vec![], "replay differs from the live read models");
    }

    /// The app's data directory (the SQLite file, secrets, recordings, reports).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The database the app runs on.
    pub fn database_url(&self) -> String {
        match &self._backend {
            BackendGuard::Sqlite => {
                let file = std::path::absolute(self.dir.path().join("callbot.db"))
                    .expect("an absolute path");
                format!("sqlite://{}", file.display())
            }
            BackendGuard::Postgres { db, .. } => db.url.clone(),
        }
    }

    /// The clock given by [`AppOptions::manual_clock`].
    pub fn manual_clock(&self) -> &Arc<ManualClock> {
        self.manual_clock
            .as_ref()
            .expect("the app was spawned with AppOptions::manual_clock")
    }

    /// The Twilio sandbox given by [`AppOptions::twilio_sandbox`].
    pub fn twilio(&self) -> &sandbox::twilio::TwilioSandbox {
        self.twilio
            .as_ref()
            .expect("the app was spawned with AppOptions::twilio_sandbox")
    }

    /// Another process of the same deployment (same data directory and variables) playing
    /// `roles`; it stops with this app.
    pub async fn spawn_process(&self, roles: Vec<Role>) {
        let config = config(self.dir.path(), roles, &self.lookup);
        let app = Application::build_with_clock(config, self.state.clock.clone())
            .await
            .expect("the second process builds");
        tokio::spawn(app.run_until_stopped(self.stop.clone()));
    }

    /// Drives the projections, then every worker taken by [`AppOptions::manual_workers`], with
    /// `run_once` until idle, round after round, until a whole round does nothing and the
    /// store head has not moved; returns the head then (every projection has applied it). Work
    /// that is not due yet (a retry later by the app's clock) stays for a later drain. Panics
    /// when a worker fails or the workers never settle.
    pub async fn drain_workers(&self) -> i64 {
        let manual = self
            .manual_workers
            .as_ref()
            .expect("the app was spawned with AppOptions::manual_workers");
        let store = &self.state.store;
        for _ in 0..DRAIN_ROUNDS {
            let head = store.head().await.expect("the store head");
            let mut worked = 0;
            for worker in self.projections.iter().chain(manual) {
                worked += workers::drive_to_idle(worker.as_ref(), UNITS_PER_ROUND)
                    .await
                    .unwrap_or_else(|error| panic!("worker {} failed: {error}", worker.name()));
            }
            if worked == 0 && store.head().await.expect("the store head") == head {
                return head;
            }
        }
        panic!("the workers still had work after {DRAIN_ROUNDS} rounds");
    }

    /// Stops the server and waits for it to finish; panics if it ended with an error.
    pub async fn shut_down(mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task")
                .expect("a graceful stop");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
