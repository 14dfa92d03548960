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
        out
    }
}
