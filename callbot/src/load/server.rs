//! The server under load: `callbot serve` as a child process pointed at the stand-ins, its
//! address read from its first line (or, to compare, another bridge started by a command on a
//! port given to it), its log scanned, and its CPU and memory read from `/proc`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// What the server's log said that matters under load.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogCounts {
    pub warnings: u64,
    pub errors: u64,
    /// SQLite `database is locked` (codes 5 and 517).
    pub database_locked: u64,
    /// Lines about read models lagging behind the event store.
    pub read_model_lag: u64,
}

/// One reading of the child's `/proc` entries.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    /// utime + stime in clock ticks.
    pub cpu_ticks: u64,
    pub rss_kib: u64,
}

/// A running `callbot serve`.
pub struct Server {
    child: Child,
    pub pid: u32,
    /// `http://127.0.0.1:port`.
    pub base: String,
    pub log: Arc<Mutex<LogCounts>>,
    tail: Arc<Mutex<Vec<String>>>,
}

/// The clock ticks a second `/proc/<pid>/stat` counts in (`getconf CLK_TCK`, 100 on Linux).
pub const TICKS_PER_SECOND: f64 = 100.0;

impl Server {
    /// Starts `bin serve` on a free loopback port with `env`, its log lines appended to
    /// `log_file` when given; returns once it has said where it listens.
    pub async fn start(
        bin: &Path,
        data_dir: &Path,
        env: &[(&str, String)],
        log_file: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(bin);
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("BIND_ADDR")
            .env_remove("DATA_DIR");
        let (mut server, _) = spawn(command, env, log_file).await?;
        let stdout = server.child.stdout.take().context("the server's stdout")?;
        let mut stdout = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(120), stdout.next_line()).await;
        server.base = match first {
            Ok(Ok(Some(line))) => listening_address(&line)
                .with_context(|| format!("the server's first line names no address: {line}"))?,
            _ => {
                let status = server.child.wait().await.ok();
                let tail = server.tail.lock().expect("log lock").join("\n");
                bail!("the server did not start ({status:?}); its log ends:\n{tail}");
            }
        };
        // Keep reading stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        Ok(server)
    }

    /// Starts another bridge, `sh -c "exec <command>"`, with `env` and `PORT` set to a free
    /// loopback port; returns once that port accepts connections. Both of its outputs are its
    /// log.
    pub async fn start_command(
        command_line: &str,
        env: &[(&str, String)],
        log_file: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .context("finding a free port")?
            .port();
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("exec {command_line}"))
            .env("PORT", port.to_string());
        let (mut server, file) = spawn(command, env, log_file).await?;
        let stdout = server.child.stdout.take().context("the bridge's stdout")?;
        tokio::spawn(read_log(
            stdout,
            server.log.clone(),
            server.tail.clone(),
            file,
        ));
        server.base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            server.alive()?;
            if Instant::now() > deadline {
                bail!("`{command_line}` did not listen on port {port} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn ready(&mut self, http: &reqwest::Client) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let answer = http.get(format!("{}/readyz", self.base)).send().await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                return Ok(());
            }
            self.alive()?;
            if Instant::now() > deadline {
                bail!("the server was not ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An error with the log's last lines if the server has exited.
    pub fn alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            let tail = self.tail.lock().expect("log lock").join("\n");
            bail!("the server exited ({status}); its log ends:\n{tail}");
        }
        Ok(())
    }

    /// Stops the server as a service manager does (SIGTERM) and waits for it; how long it took,
    /// or `None` if it had to be killed after `patience`.
    pub async fn stop(mut self, patience: Duration) -> anyhow::Result<Option<Duration>> {
        let started = Instant::now();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("running kill -TERM")?;
        if !sent.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        match tokio::time::timeout(patience, self.child.wait()).await {
            Ok(_) => Ok(Some(started.elapsed())),
            Err(_) => {
                self.child.kill().await?;
                Ok(None)
            }
        }
    }
}

type LogFile = Arc<tokio::sync::Mutex<Option<tokio::fs::File>>>;

/// Spawns `command` with `env` and piped outputs; its stderr is read as its log (counted, kept
/// as a tail, appended to `log_file`, which is returned for its other output). The server's
/// base is not known yet.
async fn spawn(
    mut command: Command,
    env: &[(&str, String)],
    log_file: Option<PathBuf>,
) -> anyhow::Result<(Server, LogFile)> {
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {:?}", command.as_std().get_program()))?;
    let pid = child.id().context("the child has a process id")?;
    let log = Arc::new(Mutex::new(LogCounts::default()));
    let tail = Arc::new(Mutex::new(Vec::new()));
    let file = match log_file {
        Some(path) => Some(
            tokio::fs::File::create(&path)
                .await
                .with_context(|| format!("creating {}", path.display()))?,
        ),
        None => None,
    };
    let file = Arc::new(tokio::sync::Mutex::new(file));
    let stderr = child.stderr.take().context("the child's stderr")?;
    tokio::spawn(read_log(stderr, log.clone(), tail.clone(), file.clone()));
    let server = Server {
        child,
        pid,
        base: String::new(),
        log,
        tail,
    };
    Ok((server, file))
}

/// Reads `output` line by line into the log counts, its tail and the log file.
async fn read_log(
    output: impl tokio::io::AsyncRead + Unpin,
    counts: Arc<Mutex<LogCounts>>,
    lines: Arc<Mutex<Vec<String>>>,
    file: LogFile,
) {
    let mut reader = BufReader::new(output).lines();
    while let Ok(Some(line)) = reader.next_line().await {
        count(&counts, &line);
        if let Some(file) = file.lock().await.as_mut() {
            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
        }
        let mut lines = lines.lock().expect("log lock");
        if lines.len() >= 20 {
            lines.remove(0);
        }
        lines.push(line);
    }
}

/// Process `pid`'s CPU ticks and resident memory now (`None` once it is gone).
pub fn sample(pid: u32) -> Option<Sample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15, the 12th and 13th after the command's name.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())?;
    Some(Sample {
        at: Instant::now(),
        cpu_ticks: ticks(11)? + ticks(12)?,
        rss_kib,
    })
}

/// `http://127.0.0.1:port` from the server's first line (`… listening on http://…`).
fn listening_address(line: &str) -> Option<String> {
    let rest = line.split_once("listening on ")?.1;
    let url = rest.split_whitespace().next()?;
    url.starts_with("http://").then(|| url.to_owned())
}

fn count(counts: &Mutex<LogCounts>, line: &str) {
    let mut counts = counts.lock().expect("log lock");
    if line.contains("WARN") || line.contains("\"level\":\"WARN\"") {
        counts.warnings += 1;
    }
    if line.contains("ERROR") {
        counts.errors += 1;
    }
    if line.contains("database is locked") {
        counts.database_locked += 1;
    }
    if line.contains("lagging") {
        counts.read_model_lag += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_read_from_either_first_line() {
        let embedded = "Auto CallBot is listening on http://127.0.0.1:41234\n  embedded mode";
        assert_eq!(
            listening_address(embedded).as_deref(),
            Some("http://127.0.0.1:41234")
        );
        let shared = "Auto CallBot is listening on http://127.0.0.1:80 (API docs: …)";
        assert_eq!(
            listening_address(shared).as_deref(),
            Some("http://127.0.0.1:80")
        );
        assert_eq!(listening_address("starting"), None);
    }
}
