//! Fault injection against real `callbot serve` processes, real Postgres and NATS: kill -9 mid-
//! campaign (embedded, and the active process of a pair), repeated `pg_terminate_backend`, NATS
//! down 30 s, status webhooks failing, SIGTERM with status streams open. Each scenario runs a
//! campaign through the public API and asserts afterwards: the campaign COMPLETED within a bound,
//! every call final, no call dialed more often than its attempts and no attempt placed twice,
//! `audit verify` and `replay` clean, every single-active worker running in exactly one process,
//! and a SIGTERM'd process gone within its grace period. Each prints a line for the closing
//! note (`cargo test -p callbot --test faults -- --nocapture`).
//!
//! The providers are the sandboxes inside each process (speed 20): a process killed takes its
//! simulated calls with it, so what the next process finds at "Twilio" is nothing — the
//! reconciler must record those calls as failed and retryable, and the dialer try them again.

#[path = "common/api.rs"]
mod api;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use api::{Owner, wait_for};
use callbot_tests::{TestDb, TestNats, free_port};
use common::callbot;
use serde_json::{Value, json};
use sqlx::{AnyPool, Row};
use tempfile::TempDir;

/// How long a campaign may take to complete after the fault: the calls themselves take a few
/// seconds at speed 20, but a call whose state the next process only learns after its
/// reconciler's first sweep waits for the reconciler's 90 s look at calls still in flight.
const COMPLETION_BOUND: Duration = Duration::from_secs(180);
/// `SHUTDOWN_GRACE_SECONDS` of every process, and what a SIGTERM'd process is allowed beyond it.
const GRACE_SECS: u64 = 5;
const EXIT_SLACK: Duration = Duration::from_secs(5);
/// Retries per contact: a contact is dialed at most this plus one times.
const MAX_RETRIES: u64 = 2;

/// Scenarios share two cores: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where the processes of one scenario keep their data: embedded (a data directory), or Postgres
/// and NATS shared by every process.
struct Deployment {
    dir: TempDir,
    vars: Vec<(String, String)>,
    db: Option<TestDb>,
    nats: Option<TestNats>,
}

impl Deployment {
    fn embedded() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            vars: Vec::new(),
            db: None,
            nats: None,
        }
    }

    async fn cluster() -> Self {
        let (db, nats) = (TestDb::postgres().await, TestNats::start());
        let vars = vec![
            ("DATABASE_URL".to_owned(), db.url.clone()),
            ("NATS_URL".to_owned(), nats.url()),
            (
                "NATS_STREAM".to_owned(),
                format!("CALLBOT_{}", uuid::Uuid::new_v4().simple()),
            ),
            (
                "JWT_SECRET".to_owned(),
                "faults-jwt-secret-faults-jwt-secret-xx".to_owned(),
            ),
            (
                "RECORDING_KEY".to_owned(),
                "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=".to_owned(),
            ),
        ];
        Self {
            dir: tempfile::tempdir().unwrap(),
            vars,
            db: Some(db),
            nats: Some(nats),
        }
    }

    /// The data directory of process `name` (one for all in embedded mode).
    fn data_dir(&self, name: &str) -> PathBuf {
        let dir = match self.db {
            Some(_) => self.dir.path().join(name),
            None => self.dir.path().join("data"),
        };
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Starts `callbot serve` as process `name` and waits until it is ready.
    async fn start(&self, name: &str) -> Node {
        let port = free_port();
        let data_dir = self.data_dir(name);
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = callbot()
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(&data_dir)
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("SANDBOX_SPEED", "20")
            .env("RATE_LIMIT_SCALE", "100")
            .env("SHUTDOWN_GRACE_SECONDS", GRACE_SECS.to_string())
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let node = Node {
            name: name.to_owned(),
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
        };
        node.ready().await;
        node
    }

    /// A pool on the shared database (cluster only).
    async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPool::connect(&self.db.as_ref().expect("a cluster").url)
            .await
            .unwrap()
    }

    /// The log of process `name`, for failure messages (the whole of it is copied to the
    /// target directory's `faults/` folder).
    fn log(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
            .unwrap_or_default();
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("faults");
        if std::fs::create_dir_all(&kept).is_ok() {
            for entry in std::fs::read_dir(self.dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if entry.path().extension().is_some_and(|e| e == "log") {
                    let _ = std::fs::copy(entry.path(), kept.join(entry.file_name()));
                }
            }
        }
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

/// One `callbot serve` process.
struct Node {
    name: String,
    child: Option<Child>,
    base: String,
    data_dir: PathBuf,
}

impl Node {
    async fn ready(&self) {
        let client = reqwest::Client::new();
        let url = format!("{}/readyz", self.base);
        wait_for(
            &format!("{} to be ready", self.name),
            Duration::from_secs(60),
            || {
                let request = client.get(&url).send();
                async move { request.await.ok().filter(|r| r.status() == 200).map(|_| ()) }
            },
        )
        .await;
    }

    /// kill -9.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for the exit: how long it took (panics past the grace period).
    fn terminate(&mut self) -> Duration {
        let mut child = self.child.take().expect("a running process");
        let sent = Instant::now();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let bound = Duration::from_secs(GRACE_SECS) + EXIT_SLACK;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "{} exited with {status:?}", self.name);
                return sent.elapsed();
            }
            if sent.elapsed() > bound {
                child.kill().unwrap();
                panic!("{} still running {bound:?} after SIGTERM", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The single-active workers this process runs, from `/readyz`.
    async fn running_workers(&self) -> Vec<String> {
        let ready: Value = reqwest::get(format!("{}/readyz", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ready["workers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["state"] == "running")
            .map(|w| w["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Owner {
    /// A running campaign of `contacts` numbers: the sandbox's personas by number (answers,
    /// never answers, busy…) and more callees who answer. Its id.
    async fn start_campaign(&self, node: &Node, contacts: usize) -> String {
        let script = self.save_script(&node.base).await;
        let numbers = (1..=contacts).map(|n| match n {
            // 0105 never answers, 0106 is busy: attempts that end without a conversation.
            1..=6 => format!("010-5550-01{n:02}"),
            n => format!("010-7000-{n:04}"),
        });
        let contacts: Vec<Value> = numbers
            .enumerate()
            .map(|(i, phone)| json!({ "phoneNumber": phone, "name": format!("고객{i}") }))
            .collect();
        let campaign = json!({
            "name": "장애 시험",
            "scriptId": script,
            "contacts": contacts,
            "settings": {
                "maxConcurrency": 5,
                "retry": { "maxRetries": MAX_RETRIES, "intervalsSeconds": [1] },
                "callWindow": { "start": "00:00", "end": "24:00" }
            }
        });
        let created = self
            .call(&node.base, "POST", "/campaigns", Some(&campaign))
            .await;
        let id = created["data"]["id"].as_str().unwrap().to_owned();
        self.call(&node.base, "POST", &format!("/campaigns/{id}/start"), None)
            .await;
        id
    }

    async fn calls(&self, node: &Node, campaign: &str) -> Vec<Value> {
        let page = self
            .call(
                &node.base,
                "GET",
                &format!("/campaigns/{campaign}/calls?pageSize=100"),
                None,
            )
            .await;
        page["data"]["items"].as_array().unwrap().clone()
    }

    /// Waits until at least `count` calls are live (ringing or talking) at once.
    async fn wait_for_live_calls(&self, node: &Node, campaign: &str, count: usize) {
        wait_for("calls in flight", Duration::from_secs(60), || async {
            let live = self
                .calls(node, campaign)
                .await
                .iter()
                .filter(|c| c["status"] == "IN_PROGRESS" || c["status"] == "CALLING")
                .count();
            (live >= count).then_some(())
        })
        .await;
    }

    /// Waits until the campaign is COMPLETED: how long that took.
    async fn wait_for_completion(
        &self,
        node: &Node,
        campaign: &str,
        deployment: &Deployment,
    ) -> Duration {
        let started = Instant::now();
        let deadline = started + COMPLETION_BOUND;
        loop {
            let campaign_body = self
                .call(&node.base, "GET", &format!("/campaigns/{campaign}"), None)
                .await;
            if campaign_body["data"]["status"] == "COMPLETED" {
                return started.elapsed();
            }
            if Instant::now() > deadline {
                let calls = self.calls(node, campaign).await;
                panic!(
                    "campaign not COMPLETED within {COMPLETION_BOUND:?}: {}\ncalls: {calls:#?}\nlog:\n{}",
                    campaign_body["data"],
                    deployment.log(&node.name)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asserts every call is final within its attempts; the number of calls not final.
    async fn assert_all_final(&self, node: &Node, campaign: &str, contacts: usize) {
        let calls = self.calls(node, campaign).await;
        assert_eq!(calls.len(), contacts);
        for call in &calls {
            let status = call["status"].as_str().unwrap();
            assert!(
                ["COMPLETED", "FAILED", "NO_ANSWER", "CANCELLED"].contains(&status),
                "a call left hanging: {call}"
            );
            assert!(
                call["attempts"].as_u64().unwrap() <= MAX_RETRIES + 1,
                "{call}"
            );
        }
    }
}

/// The history as stored, checked for double dials: per call, dial requests (attempts) at most
/// the retries plus one, and at most one provider call per attempt.
async fn assert_no_double_dials(pool: &AnyPool) -> usize {
    let rows = sqlx::query(
        "SELECT aggregate_id, event_type FROM events WHERE aggregate_type = 'call' \
         AND event_type IN ('DialRequested', 'ProviderCallCreated')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut per_call: std::collections::HashMap<String, (u64, u64)> = Default::default();
    for row in rows {
        let entry = per_call.entry(row.get::<String, _>(0)).or_default();
        match row.get::<String, _>(1).as_str() {
            "DialRequested" => entry.0 += 1,
            _ => entry.1 += 1,
        }
    }
    for (call, (requested, placed)) in &per_call {
        assert!(
            *requested <= MAX_RETRIES + 1,
            "{call} dialed {requested} times"
        );
        assert!(
            placed <= requested,
            "{call}: {placed} provider calls for {requested} attempts"
        );
    }
    assert!(!per_call.is_empty(), "no dial on record");
    per_call
        .values()
        .map(|(requested, _)| *requested as usize)
        .sum()
}

/// The embedded database of a data directory.
async fn embedded_pool(data_dir: &Path) -> AnyPool {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", data_dir.join("callbot.db").display());
    AnyPool::connect(&url).await.unwrap()
}

/// `audit verify` and `replay` over the deployment's data both succeed.
fn assert_history_clean(deployment: &Deployment, data_dir: &Path) {
    for args in [["audit", "verify"].as_slice(), ["replay"].as_slice()] {
        let output = callbot()
            .args(args)
            .arg("--data-dir")
            .arg(data_dir)
            .envs(
                deployment
                    .vars
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "callbot {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every single-active worker (all but the dial consumer, which every process runs on NATS)
/// runs in exactly one of `nodes`: how many there are.
async fn assert_one_holder_each(nodes: &[&Node]) -> usize {
    let mut holders: std::collections::BTreeMap<String, usize> = Default::default();
    for node in nodes {
        for worker in node.running_workers().await {
            *holders.entry(worker).or_default() += 1;
        }
    }
    holders.remove("dial_consumer");
    for name in [
        "outbox_relay",
        "dialer",
        "reconciler",
        "post_call",
        "campaigns",
    ] {
        assert!(
            holders.contains_key(name),
            "{name} runs nowhere: {holders:?}"
        );
    }
    for (name, count) in &holders {
        assert_eq!(*count, 1, "{name} runs in {count} processes: {holders:?}");
    }
    holders.len()
}

/// After the fault: the campaign completes through `node`, every call is final, each lease has
/// one holder, `node` stops in time on SIGTERM, no call was dialed twice and the history is
/// clean. Prints the scenario's line for the closing note.
async fn settle(
    deployment: &Deployment,
    owner: &Owner,
    node: Node,
    campaign: &str,
    fault_at: Instant,
    scenario: &str,
) {
    let mut node = node;
    owner.wait_for_completion(&node, campaign, deployment).await;
    let took = fault_at.elapsed();
    owner.assert_all_final(&node, campaign, CONTACTS).await;
    let (holders, pool, data_dir) = match &deployment.db {
        Some(_) => {
            let pool = deployment.pool().await;
            let leases = wait_for_leases_held(&node, &pool).await;
            (
                format!("{leases} leases, 1 holder each"),
                pool,
                deployment.data_dir("offline"),
            )
        }
        None => {
            assert_one_holder_each(&[&node]).await;
            let pool = embedded_pool(&node.data_dir).await;
            ("1 process".to_owned(), pool, node.data_dir.clone())
        }
    };
    let shutdown = node.terminate();
    let dials = assert_no_double_dials(&pool).await;
    assert_history_clean(deployment, &data_dir);
    println!(
        "FAULT | {scenario} | fault → COMPLETED {:.1} s | stuck calls 0 | double dials 0 ({dials} dials) | {holders} | SIGTERM → exit {:.2} s",
        took.as_secs_f64(),
        shutdown.as_secs_f64()
    );
}

/// Every connection to the test database but the caller's is ended, as a failover or an
/// administrator would.
async fn terminate_backends(pool: &AnyPool) -> i64 {
    let row = sqlx::query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    row.get::<i64, _>(0)
}

/// Waits until each single-active worker of `node` holds its advisory lock: as many granted
/// advisory locks on the database as the process runs single-active workers, and none running
/// anywhere else.
async fn wait_for_leases_held(node: &Node, pool: &AnyPool) -> usize {
    wait_for("every lease held", Duration::from_secs(30), || async {
        let running = assert_one_holder_each(&[node]).await;
        let locks: i64 = sqlx::query(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
             WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()",
        )
        .fetch_one(pool)
        .await
        .unwrap()
        .get(0);
        (locks == running as i64).then_some(running)
    })
    .await
}

/// A deployment with one process (`name`) and an owner whose campaign is under way, with at
/// least `live` calls in flight.
async fn under_way(deployment: &Deployment, name: &str, live: usize) -> (Node, Owner, String) {
    let node = deployment.start(name).await;
    let owner = Owner::sign_up(&node.base).await;
    let campaign = owner.start_campaign(&node, CONTACTS).await;
    owner.wait_for_live_calls(&node, &campaign, live).await;
    (node, owner, campaign)
}

const CONTACTS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_campaign_embedded_then_restart_completes_it() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let deployment = Deployment::embedded();
    let (mut node, owner, campaign) = under_way(&deployment, "embedded", 3).await;
    node.kill();
    let fault_at = Instant::now();
    let node = deployment.start("embedded").await;
    let scenario = "kill -9, embedded";
    settle(&deployment, &owner, node, &campaign, fault_at, scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_active_process_hands_its_calls_to_the_standby() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let deployment = Deployment::cluster().await;
    let mut active = deployment.start("active").await;
    let standby = deployment.start("standby").await;
    let owner = Owner::sign_up(&active.base).await;
    let campaign = owner.start_campaign(&active, CONTACTS).await;
    owner.wait_for_live_calls(&active, &campaign, 3).await;
    active.kill();
    let scenario = "kill -9 of the active process (standby takes over), Postgres + NATS";
    settle(
        &deployment,
        &owner,
        standby,
        &campaign,
        Instant::now(),
        scenario,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_pg_terminate_backend_loses_no_call_and_every_lease_is_taken_again() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let deployment = Deployment::cluster().await;
    let (node, owner, campaign) = under_way(&deployment, "only", 2).await;
    let pool = deployment.pool().await;
    let fault_at = Instant::now();
    for _ in 0..5 {
        terminate_backends(&pool).await;
        // The next blow lands while the pools reconnect and the leases are taken again.
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let scenario = "pg_terminate_backend ×5";
    settle(&deployment, &owner, node, &campaign, fault_at, scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_for_30_seconds_mid_campaign_is_absorbed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut deployment = Deployment::cluster().await;
    let (node, owner, campaign) = under_way(&deployment, "only", 2).await;
    let fault_at = Instant::now();
    let nats = deployment.nats.as_mut().unwrap();
    nats.stop();
    // The outage itself: the length the issue measured.
    tokio::time::sleep(Duration::from_secs(30)).await;
    nats.restart();
    let scenario = "NATS down 30 s";
    settle(&deployment, &owner, node, &campaign, fault_at, scenario).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_webhooks_failing_on_the_database_are_delivered_again() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let deployment = Deployment::cluster().await;
    let node = deployment.start("only").await;
    let pool = deployment.pool().await;
    // The next eight attempt ends refused by the database: more than the in-process retries
    // absorb, so some webhooks answer 5xx and the sandbox, like Twilio with our connection
    // overrides, delivers them again.
    for statement in [
        "CREATE SEQUENCE blip",
        "CREATE FUNCTION blip() RETURNS trigger AS $$ BEGIN \
         IF NEW.event_type = 'AttemptEnded' AND nextval('blip') <= 8 THEN \
         RAISE EXCEPTION 'database blip'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER blip BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION blip()",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let owner = Owner::sign_up(&node.base).await;
    let fault_at = Instant::now();
    let campaign = owner.start_campaign(&node, CONTACTS).await;
    let scenario = "status webhooks refused by the database (8 appends)";
    settle(&deployment, &owner, node, &campaign, fault_at, scenario).await;
    let refused: i64 = sqlx::query("SELECT last_value FROM blip")
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
    assert!(refused >= 8, "the blip never happened ({refused})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_status_streams_open_exits_in_time_and_the_next_process_finishes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let deployment = Deployment::embedded();
    let (mut node, owner, campaign) = under_way(&deployment, "embedded", 3).await;
    let mut streams = Vec::new();
    for _ in 0..2 {
        let stream = owner
            .client
            .get(format!("{}/api/v1/campaigns/{campaign}/status", node.base))
            .bearer_auth(&owner.token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        streams.push(stream);
    }
    let fault_at = Instant::now();
    let exit = node.terminate();
    // The streams ended with the process (clients resume with Last-Event-ID).
    for mut stream in streams {
        while let Ok(Some(_)) = stream.chunk().await {}
    }
    let node = deployment.start("embedded").await;
    let scenario = format!(
        "SIGTERM with 2 status streams open (exit {:.2} s), embedded",
        exit.as_secs_f64()
    );
    settle(&deployment, &owner, node, &campaign, fault_at, &scenario).await;
}
