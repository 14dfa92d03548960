//! Counters and gauges the process exposes at `/metrics` in the Prometheus text format.
//!
//! A handful of atomics is all this needs; a metrics framework would add more than it saves.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Process-wide metrics, shared by the store, the relay, the projections and the HTTP layer.
#[derive(Debug, Default)]
pub struct Metrics {
    events_appended: AtomicU64,
    relay_published: AtomicU64,
    relay_position: AtomicI64,
    projection_positions: Mutex<BTreeMap<String, i64>>,
    http_requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    workers: Mutex<BTreeMap<&'static str, WorkerStatus>>,
}

/// What a supervised background worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Waiting for its single-active lease (another process runs it).
    StandingBy,
    Running,
    /// Failed; restarts after a pause.
    BackingOff,
    Stopped,
}

impl WorkerState {
    /// The state's name in `/readyz` and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandingBy => "standing_by",
            Self::Running => "running",
            Self::BackingOff => "backing_off",
            Self::Stopped => "stopped",
        }
    }

    const ALL: [Self; 4] = [
        Self::StandingBy,
        Self::Running,
        Self::BackingOff,
        Self::Stopped,
    ];
}

/// One worker as the supervisor last reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerStatus {
    pub name: &'static str,
    pub state: WorkerState,
    /// Restarts after an error since the process started.
    pub restarts: u64,
    /// The error that caused the latest restart.
    pub last_error: Option<String>,
}

impl Metrics {
    /// Counts events committed by this process.
    pub fn events_appended(&self, count: u64) {
        self.events_appended.fetch_add(count, Ordering::Relaxed);
    }

    /// Records that the relay has published everything up to `position`.
    pub fn relay_published(&self, count: u64, position: i64) {
        self.relay_published.fetch_add(count, Ordering::Relaxed);
        self.relay_position.store(position, Ordering::Relaxed);
    }

    /// Records where a projection has got to.
    pub fn projection_position(&self, name: &str, position: i64) {
        let mut positions = self.projection_positions.lock().expect("metrics lock");
        positions.insert(name.to_owned(), position);
    }

    /// Counts one answered HTTP request.
    pub fn http_request(&self, method: &str, route: &str, status: u16) {
        let mut requests = self.http_requests.lock().expect("metrics lock");
        *requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
    }

    /// Records a worker's state (the supervisor calls this).
    pub fn worker_state(&self, name: &'static str, state: WorkerState) {
        let mut workers = self.workers.lock().expect("metrics lock");
        workers
            .entry(name)
            .or_insert_with(|| WorkerStatus {
                name,
                state,
                restarts: 0,
                last_error: None,
            })
            .state = state;
    }

    /// Records that a worker failed with `error`; `restarting` counts a restart.
    pub fn worker_failed(&self, name: &'static str, error: String, restarting: bool) {
        let mut workers = self.workers.lock().expect("metrics lock");
        let status = workers.entry(name).or_insert_with(|| WorkerStatus {
            name,
            state: WorkerState::BackingOff,
            restarts: 0,
            last_error: None,
        });
        if restarting {
            status.state = WorkerState::BackingOff;
            status.restarts += 1;
        } else {
            status.state = WorkerState::Stopped;
        }
        status.last_error = Some(error);
    }

    /// Every supervised worker, by name.
    pub fn workers(&self) -> Vec<WorkerStatus> {
        self.workers
            .lock()
            .expect("metrics lock")
            .values()
            .cloned()
            .collect()
    }

    /// Renders everything in the Prometheus text exposition format; `head` is the store's
    /// highest committed position, from which the lags are computed.
    pub fn render(&self, head: i64) -> String {
        let mut out = String::new();
        let relay_position = self.relay_position.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP callbot_events_appended_total Events appended by this process.\n\
             # TYPE callbot_events_appended_total counter\n\
             callbot_events_appended_total {}\n\
             # HELP callbot_event_store_head Highest committed global position.\n\
             # TYPE callbot_event_store_head gauge\n\
             callbot_event_store_head {head}\n\
             # HELP callbot_relay_published_total Events the outbox relay has published.\n\
             # TYPE callbot_relay_published_total counter\n\
             callbot_relay_published_total {}\n\
             # HELP callbot_relay_lag_events Committed events not yet published by this process's relay.\n\
             # TYPE callbot_relay_lag_events gauge\n\
             callbot_relay_lag_events {}",
            self.events_appended.load(Ordering::Relaxed),
            self.relay_published.load(Ordering::Relaxed),
            (head - relay_position).max(0),
        );
        let _ = writeln!(
            out,
            "# HELP callbot_projection_lag_events Committed events a projection has not applied yet.\n\
             # TYPE callbot_projection_lag_events gauge"
        );
        for (name, position) in self
            .projection_positions
            .lock()
            .expect("metrics lock")
            .iter()
        {
            let _ = writeln!(
                out,
                "callbot_projection_lag_events{{projection=\"{name}\"}} {}",
                (head - position).max(0)
            );
        }
        let _ = writeln!(
            out,
            "# HELP callbot_http_requests_total HTTP requests answered.\n\
             # TYPE callbot_http_requests_total counter"
        );
        for ((method, route, status), count) in
            self.http_requests.lock().expect("metrics lock").iter()
        {
            let _ = writeln!(
                out,
                "callbot_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        let workers = self.workers();
        let _ = writeln!(
            out,
            "# HELP callbot_worker_state Whether a background worker is in a state (1) or not (0).\n\
             # TYPE callbot_worker_state gauge"
        );
        for worker in &workers {
            for state in WorkerState::ALL {
                let _ = writeln!(
                    out,
                    "callbot_worker_state{{worker=\"{}\",state=\"{}\"}} {}",
                    worker.name,
                    state.as_str(),
                    u8::from(worker.state == state)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP callbot_worker_restarts_total Restarts of a background worker after an error.\n\
             # TYPE callbot_worker_restarts_total counter"
        );
        for worker in &workers {
            let _ = writeln!(
                out,
                "callbot_worker_restarts_total{{worker=\"{}\"}} {}",
                worker.name, worker.restarts
            );
        }
        out
    }
}
