//! Logs: human-readable lines (coloured only on a terminal) or, with `LOG_FORMAT=json`, one JSON
//! object per line for log collectors. `RUST_LOG` filters; the default is `info,sqlx=warn`.
//!
//! Metrics: one Prometheus recorder per process behind the `metrics` facade ([`prometheus`]);
//! `/metrics` renders it.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use commands::metrics::{HISTOGRAM_BUCKETS, describe};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// How often recorded histogram samples are folded into their buckets between scrapes (they
/// wait in a queue until then).
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// The filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Text lines; ANSI colours when stderr is a terminal.
    Text { ansi: bool },
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// From `LOG_FORMAT` (`json`, else text) and whether stderr is a terminal.
    pub fn from_env(log_format: Option<&str>, terminal: bool) -> Self {
        match log_format.map(str::trim) {
            Some(format) if format.eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Text { ansi: terminal },
        }
    }
}

/// Installs the global subscriber (once, at startup) writing to stderr.
pub fn init() {
    let format = LogFormat::from_env(
        std::env::var("LOG_FORMAT").ok().as_deref(),
        std::io::stderr().is_terminal(),
    );
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text { ansi } => builder.with_ansi(ansi).init(),
    }
}

/// The process's Prometheus recorder, installed as the `metrics` facade's global recorder on
/// first use. Every application built in this process (tests build many) shares it.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install_prometheus).clone()
}

fn install_prometheus() -> PrometheusHandle {
    let mut builder = PrometheusBuilder::new();
    for (name, buckets) in HISTOGRAM_BUCKETS {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
            .expect("bucket lists are not empty");
    }
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if let Err(error) = metrics::set_global_recorder(recorder) {
        // Someone else's recorder gets the measurements; `/metrics` shows only the lag gauges.
        tracing::error!(%error, "a metrics recorder was already installed");
        return handle;
    }
    describe();
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(METRICS_UPKEEP);
                upkeep.run_upkeep();
            }
        });
    if let Err(error) = spawned {
        // Then samples are folded at each scrape only.
        tracing::error!(%error, "cannot start the metrics upkeep thread");
    }
    handle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_and_json_on_request() {
        assert_eq!(
            LogFormat::from_env(None, false),
            LogFormat::Text { ansi: false }
        );
        assert_eq!(
            LogFormat::from_env(None, true),
            LogFormat::Text { ansi: true }
        );
        assert_eq!(LogFormat::from_env(Some("JSON"), true), LogFormat::Json);
        assert_eq!(
            LogFormat::from_env(Some("text"), false),
            LogFormat::Text { ansi: false }
        );
    }
}
