//! What the process measures, and the state `/readyz` and `/metrics` read.
//!
//! Counters, gauges and histograms go through the `metrics` facade (`counter!`, `gauge!`,
//! `histogram!`): the composition root installs one Prometheus recorder per process and
//! `/metrics` renders it. Without a recorder (tools, unit tests) the facade does nothing.
//!
//! [`Metrics`] keeps only what is state rather than a series: each worker's status (the
//! `/readyz` list), and where the relay and the projections have got to, from which the lags are
//! computed at scrape time against the store's head ([`Metrics::render_lags`]) — the head is a
//! fact of this process's store, read when scraped.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

use crate::leader::LeaseRecord;

/// The names of the series, as Prometheus shows them.
pub mod names {
    pub const EVENTS_APPENDED: &str = "callbot_events_appended_total";
    pub const RELAY_PUBLISHED: &str = "callbot_relay_published_total";
    pub const HTTP_REQUESTS: &str = "callbot_http_requests_total";
    pub const HTTP_REQUEST_DURATION: &str = "callbot_http_request_duration_seconds";
    pub const WORKER_STATE: &str = "callbot_worker_state";
    pub const WORKER_RESTARTS: &str = "callbot_worker_restarts_total";
    pub const WORKER_LEASE_EPOCH: &str = "callbot_worker_lease_epoch";
    pub const WORKER_LEASE_HELD: &str = "callbot_worker_lease_held";
    pub const WORKER_LEASE_LOSSES: &str = "callbot_worker_lease_losses_total";
    pub const DIAL_PLACEMENT: &str = "callbot_dial_placement_seconds";
    pub const WEBHOOK_TO_SSE: &str = "callbot_webhook_to_sse_seconds";
    pub const BRIDGE_FRAME_LATENCY: &str = "callbot_bridge_frame_latency_seconds";
    pub const WEBHOOK_DELIVERIES: &str = "callbot_webhook_deliveries_total";
    pub const WEBHOOK_DELIVERY_LATENCY: &str = "callbot_webhook_delivery_latency_seconds";
}

/// Each histogram's bucket upper bounds, in seconds.
pub const HISTOGRAM_BUCKETS: [(&str, &[f64]); 5] = [
    (
        names::HTTP_REQUEST_DURATION,
        &[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ],
    ),
    // The Twilio client gives up after 15 s.
    (
        names::DIAL_PLACEMENT,
        &[
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0,
        ],
    ),
    // A frame may wait up to 2 s for the campaigns projection.
    (
        names::WEBHOOK_TO_SSE,
        &[
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0,
        ],
    ),
    // One 20 ms audio frame; anything near that is a stall the caller hears.
    (
        names::BRIDGE_FRAME_LATENCY,
        &[
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25,
        ],
    ),
    // From the event's commit to a receiver's 2xx: milliseconds when the first attempt lands,
    // up to the hour the retries span.
    (
        names::WEBHOOK_DELIVERY_LATENCY,
        &[
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
            3600.0,
        ],
    ),
];

/// Gives every series its `# HELP` text (call once the recorder is installed).
pub fn describe() {
    describe_counter!(names::EVENTS_APPENDED, "Events appended by this process.");
    describe_counter!(
        names::RELAY_PUBLISHED,
        "Events the outbox relay has published."
    );
    describe_counter!(names::HTTP_REQUESTS, "HTTP requests answered.");
    describe_histogram!(
        names::HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request (to its headers), by method, route template and status."
    );
    describe_gauge!(
        names::WORKER_STATE,
        "Whether a background worker is in a state (1) or not (0)."
    );
    describe_counter!(
        names::WORKER_RESTARTS,
        "Restarts of a background worker after an error."
    );
    describe_gauge!(
        names::WORKER_LEASE_EPOCH,
        "The epoch of a single-active worker's lease as this process last saw it (bumped by every acquisition)."
    );
    describe_gauge!(
        names::WORKER_LEASE_HELD,
        "Whether this process holds a single-active worker's lease (1) or stands by (0)."
    );
    describe_counter!(
        names::WORKER_LEASE_LOSSES,
        "Times this process found a single-active worker's lease lost while holding it."
    );
    describe_histogram!(
        names::DIAL_PLACEMENT,
        Unit::Seconds,
        "Time to place one call: loading it, Twilio's answer to the create request, recording the outcome."
    );
    describe_histogram!(
        names::WEBHOOK_TO_SSE,
        Unit::Seconds,
        "From a Twilio webhook's event being committed to the status stream handing its frames to a subscriber."
    );
    describe_histogram!(
        names::BRIDGE_FRAME_LATENCY,
        Unit::Seconds,
        "Time an audio frame spends in the media bridge, by direction (one message in 8 per call and direction is timed)."
    );
    describe_counter!(
        names::WEBHOOK_DELIVERIES,
        "Outbound webhook delivery attempts, by outcome (delivered, retrying, dead)."
    );
    describe_histogram!(
        names::WEBHOOK_DELIVERY_LATENCY,
        Unit::Seconds,
        "From an event's commit to the webhook receiver's 2xx, retries included."
    );
}

/// Per-process state behind `/readyz` and the lag gauges of `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    relay_position: AtomicI64,
    projection_positions: Mutex<BTreeMap<String, i64>>,
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
    /// The lease of a single-active worker (`None`: every process runs it).
    pub lease: Option<LeaseStatus>,
}

/// A single-active worker's lease as this process last saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseStatus {
    /// The lease's epoch, bumped by every acquisition in any process (`None`: not seen yet).
    pub epoch: Option<i64>,
    /// Who holds it, `host:pid` (`None`: nobody seen yet).
    pub holder: Option<String>,
    /// Whether this process holds it (and runs the worker).
    pub held_here: bool,
    /// Times this process found the lease lost while holding it.
    pub losses: u64,
}

impl WorkerStatus {
    fn new(name: &'static str, state: WorkerState) -> Self {
        // Registers the counter, so a worker that never failed shows 0.
        counter!(names::WORKER_RESTARTS, "worker" => name).increment(0);
        Self {
            name,
            state,
            restarts: 0,
            last_error: None,
            lease: None,
        }
    }

    /// The lease, created (standing by, nothing seen) on first use.
    fn lease(&mut self) -> &mut LeaseStatus {
        if self.lease.is_none() {
            counter!(names::WORKER_LEASE_LOSSES, "worker" => self.name).increment(0);
        }
        self.lease.get_or_insert_with(LeaseStatus::default)
    }

    /// Sets the lease's epoch, holder and whether it is held here, and their gauges.
    fn set_lease(&mut self, record: Option<&LeaseRecord>, held_here: bool) {
        let name = self.name;
        let lease = self.lease();
        if let Some(record) = record {
            lease.epoch = Some(record.epoch);
            lease.holder = Some(record.holder.clone());
            gauge!(names::WORKER_LEASE_EPOCH, "worker" => name).set(record.epoch as f64);
        }
        lease.held_here = held_here;
        gauge!(names::WORKER_LEASE_HELD, "worker" => name).set(f64::from(u8::from(held_here)));
    }

    /// Sets the state and its one-of-four gauges.
    fn set(&mut self, state: WorkerState) {
        self.state = state;
        for each in WorkerState::ALL {
            gauge!(names::WORKER_STATE, "worker" => self.name, "state" => each.as_str())
                .set(f64::from(u8::from(each == state)));
        }
    }
}

impl Metrics {
    /// Counts events committed by this process.
    pub fn events_appended(&self, count: u64) {
        counter!(names::EVENTS_APPENDED).increment(count);
    }

    /// Records that the relay has published everything up to `position`.
    pub fn relay_published(&self, count: u64, position: i64) {
        counter!(names::RELAY_PUBLISHED).increment(count);
        self.relay_position.store(position, Ordering::Relaxed);
    }

    /// Records where a projection has got to.
    pub fn projection_position(&self, name: &str, position: i64) {
        let mut positions = self.projection_positions.lock().expect("metrics lock");
        positions.insert(name.to_owned(), position);
    }

    /// Records a worker's state (the supervisor calls this).
    pub fn worker_state(&self, name: &'static str, state: WorkerState) {
        let mut workers = self.workers.lock().expect("metrics lock");
        workers
            .entry(name)
            .or_insert_with(|| WorkerStatus::new(name, state))
            .set(state);
    }

    /// Records that a worker failed with `error`; `restarting` counts a restart.
    pub fn worker_failed(&self, name: &'static str, error: String, restarting: bool) {
        let mut workers = self.workers.lock().expect("metrics lock");
        let status = workers
            .entry(name)
            .or_insert_with(|| WorkerStatus::new(name, WorkerState::BackingOff));
        if restarting {
            status.set(WorkerState::BackingOff);
            status.restarts += 1;
            counter!(names::WORKER_RESTARTS, "worker" => name).increment(1);
        } else {
            status.set(WorkerState::Stopped);
        }
        status.last_error = Some(error);
    }

    /// Records that this process holds the lease of worker `name` (`record`: its epoch and this
    /// process as the holder).
    pub fn lease_held(&self, name: &'static str, record: &LeaseRecord) {
        self.with_worker(name, |status| status.set_lease(Some(record), true));
    }

    /// Records that worker `name` stands by while `record` (when known) holds its lease.
    pub fn lease_seen(&self, name: &'static str, record: Option<&LeaseRecord>) {
        self.with_worker(name, |status| status.set_lease(record, false));
    }

    /// Records that this process found the lease of worker `name` lost while holding it.
    pub fn lease_lost(&self, name: &'static str) {
        self.with_worker(name, |status| {
            status.set_lease(None, false);
            let lease = status.lease();
            // Unknown until the next attempt to take it again sees who holds it.
            lease.holder = None;
            lease.losses += 1;
        });
        counter!(names::WORKER_LEASE_LOSSES, "worker" => name).increment(1);
    }

    fn with_worker(&self, name: &'static str, change: impl FnOnce(&mut WorkerStatus)) {
        let mut workers = self.workers.lock().expect("metrics lock");
        change(
            workers
                .entry(name)
                .or_insert_with(|| WorkerStatus::new(name, WorkerState::StandingBy)),
        );
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

    /// The store's head and the relay's and projections' lags behind it, in the Prometheus
    /// text format; `head` is the store's highest committed position.
    pub fn render_lags(&self, head: i64) -> String {
        let mut out = String::new();
        let relay_position = self.relay_position.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP callbot_event_store_head Highest committed global position.\n\
             # TYPE callbot_event_store_head gauge\n\
             callbot_event_store_head {head}\n\
             # HELP callbot_relay_lag_events Committed events not yet published by this process's relay.\n\
             # TYPE callbot_relay_lag_events gauge\n\
             callbot_relay_lag_events {}\n\
             # HELP callbot_projection_lag_events Committed events a projection has not applied yet.\n\
             # TYPE callbot_projection_lag_events gauge",
            (head - relay_position).max(0),
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
        out
    }
}
