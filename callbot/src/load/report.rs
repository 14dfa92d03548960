//! What a load run measured, as JSON and as a table.

use std::time::{Duration, Instant};

use sandbox::load::{LoadTally, StreamStats};
use serde::Serialize;

use super::server::{LogCounts, Sample, TICKS_PER_SECOND};

/// The whole report (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Calls asked for.
    pub calls: u32,
    /// Calls whose stream ran and got at least one frame back.
    pub calls_with_frames: u32,
    /// Calls that never streamed (not placed, not answered, or their socket failed).
    pub calls_without_stream: u32,
    pub seconds: f64,
    /// The server's storage: `sqlite` (embedded) or `postgres`; or `compared: <command>` when
    /// another bridge was measured (`--compare`).
    pub storage: String,
    pub frames: Frames,
    /// Each frame's round trip callee → bridge → echo agent → bridge → callee, in ms.
    pub round_trip_ms: Percentiles,
    /// The same for the frames sent while every call streamed: without a call's first frames,
    /// which wait in its socket while the bridge opens the agent conversation, and without the
    /// calls' ends.
    pub round_trip_steady_ms: Percentiles,
    /// Campaign start → the call's first frame echoed back, in ms.
    pub setup_ms: Percentiles,
    /// Campaign start → the stand-in received the last of the create-call requests, in ms.
    pub dial_path_ms: Option<f64>,
    pub server: ServerUse,
    /// The first few problems the stand-ins saw, one per call.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Frames {
    pub sent: u64,
    pub echoed: u64,
    /// Sent and never echoed back.
    pub dropped: u64,
    /// Echoes that belonged to another call, or came twice.
    pub misrouted: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub count: usize,
}

/// The server process as `/proc` saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerUse {
    /// CPU seconds while any call streamed ÷ call-seconds streamed, as % of one core.
    pub cpu_percent_of_core_per_call: Option<f64>,
    /// CPU seconds in that window.
    pub cpu_seconds_streaming: f64,
    /// The same while every call streamed (after the last one opened, before the first one
    /// ended), so dialing and post-call work stay out: what the media path costs alone.
    pub cpu_percent_of_core_per_call_steady: Option<f64>,
    /// After the sign-ins, once the allocator has returned their memory.
    pub rss_before_mib: f64,
    /// The highest while every call streamed.
    pub rss_streaming_mib: Option<f64>,
    /// (streaming − before) ÷ calls: what a call costs while it is connected.
    pub rss_per_call_streaming_kib: Option<f64>,
    /// The highest of the whole run, dialing and the calls' ends included.
    pub rss_peak_mib: f64,
    /// (peak − before) ÷ calls.
    pub rss_per_call_kib: f64,
    /// SIGTERM → exit, or `None` if it had to be killed.
    pub shutdown_seconds: Option<f64>,
    pub log: LogCounts,
}

/// The percentiles of `values` (any unit; sorted here).
pub fn percentiles(mut values: Vec<f64>) -> Percentiles {
    if values.is_empty() {
        return Percentiles::default();
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
        values[rank - 1]
    };
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
        max: at(1.0),
        count: values.len(),
    }
}

/// What the run gathered, before it becomes a [`Report`].
pub struct Gathered {
    pub calls: u32,
    pub seconds: f64,
    pub storage: String,
    pub started: Instant,
    pub tally: LoadTally,
    pub samples: Vec<Sample>,
    pub rss_before_kib: u64,
    pub shutdown: Option<Duration>,
    pub log: LogCounts,
    pub problems: Vec<String>,
}

impl Gathered {
    pub fn report(self) -> Report {
        let streams = &self.tally.streams;
        let sent: u64 = streams.iter().map(|s| s.frames_sent).sum();
        let echoed: u64 = streams.iter().map(|s| s.frames_echoed).sum();
        let misrouted: u64 = streams.iter().map(|s| s.frames_misrouted).sum();
        let round_trips = streams
            .iter()
            .flat_map(|s| s.round_trips.iter().map(|r| f64::from(r.micros) / 1000.0))
            .collect();
        let setups = streams
            .iter()
            .filter_map(|s| s.first_echo_at)
            .map(|at| ms(at.saturating_duration_since(self.started)))
            .collect();
        let mut placed = self.tally.placed.clone();
        placed.sort();
        let dial_path_ms = (placed.len() >= self.calls as usize)
            .then(|| {
                placed
                    .last()
                    .map(|at| ms(at.saturating_duration_since(self.started)))
            })
            .flatten();
        let with_frames = streams.iter().filter(|s| s.frames_echoed > 0).count() as u32;
        // The streaming window: from the first stream's opening to the last one's end; the
        // call-seconds streamed in it are the sum of each stream's own length.
        let opened = streams.iter().map(|s| s.opened_at).min();
        let ended = streams.iter().map(|s| s.ended_at).max();
        let call_seconds: f64 = streams
            .iter()
            .map(|s| {
                s.ended_at
                    .saturating_duration_since(s.opened_at)
                    .as_secs_f64()
            })
            .sum();
        let cpu_seconds = match (opened, ended) {
            (Some(from), Some(to)) => cpu_between(&self.samples, from, to),
            _ => 0.0,
        };
        // The steady window: every stream open, none ended.
        let last_opened = streams.iter().map(|s| s.opened_at).max();
        let first_ended = streams.iter().map(|s| s.ended_at).min();
        let steady_window = last_opened.zip(first_ended);
        let steady = steady_window.and_then(|(from, to)| {
            cpu_within(&self.samples, from, to)
                .map(|(cpu, seconds)| 100.0 * cpu / (seconds * streams.len() as f64))
        });
        let round_trips_steady = steady_window
            .map(|(from, to)| round_trips_sent_within(streams, from, to))
            .unwrap_or_default();
        let rss_peak = self.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
        let rss_streaming =
            steady_window.and_then(|(from, to)| highest_rss_within(&self.samples, from, to));
        let per_call = |kib: u64| {
            kib.saturating_sub(self.rss_before_kib) as f64 / f64::from(self.calls.max(1))
        };
        let mib = |kib: u64| kib as f64 / 1024.0;
        Report {
            calls: self.calls,
            calls_with_frames: with_frames,
            calls_without_stream: self.calls.saturating_sub(streams.len() as u32),
            seconds: self.seconds,
            storage: self.storage,
            frames: Frames {
                sent,
                echoed,
                dropped: sent.saturating_sub(echoed),
                misrouted,
            },
            round_trip_ms: percentiles(round_trips),
            round_trip_steady_ms: percentiles(round_trips_steady),
            setup_ms: percentiles(setups),
            dial_path_ms,
            server: ServerUse {
                cpu_percent_of_core_per_call: (call_seconds > 0.0)
                    .then(|| 100.0 * cpu_seconds / call_seconds),
                cpu_seconds_streaming: cpu_seconds,
                cpu_percent_of_core_per_call_steady: steady,
                rss_before_mib: mib(self.rss_before_kib),
                rss_streaming_mib: rss_streaming.map(mib),
                rss_per_call_streaming_kib: rss_streaming.map(per_call),
                rss_peak_mib: mib(rss_peak.max(self.rss_before_kib)),
                rss_per_call_kib: per_call(rss_peak),
                shutdown_seconds: self.shutdown.map(|d| d.as_secs_f64()),
                log: self.log,
            },
            problems: self.problems,
        }
    }
}

/// The round trips (ms) of the frames sent between `from` and `to`.
fn round_trips_sent_within(streams: &[StreamStats], from: Instant, to: Instant) -> Vec<f64> {
    streams
        .iter()
        .flat_map(|s| {
            s.round_trips.iter().filter_map(move |r| {
                let sent = s.opened_at + Duration::from_millis(u64::from(r.sent_after_open_ms));
                (from <= sent && sent <= to).then(|| f64::from(r.micros) / 1000.0)
            })
        })
        .collect()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// CPU seconds between the last sample at or before `from` and the first at or after `to`.
fn cpu_between(samples: &[Sample], from: Instant, to: Instant) -> f64 {
    let start = samples
        .iter()
        .rev()
        .find(|s| s.at <= from)
        .or(samples.first());
    let end = samples.iter().find(|s| s.at >= to).or(samples.last());
    match (start, end) {
        (Some(start), Some(end)) => {
            end.cpu_ticks.saturating_sub(start.cpu_ticks) as f64 / TICKS_PER_SECOND
        }
        _ => 0.0,
    }
}

/// The highest resident memory among the samples between `from` and `to`, in KiB.
fn highest_rss_within(samples: &[Sample], from: Instant, to: Instant) -> Option<u64> {
    samples
        .iter()
        .filter(|s| s.at >= from && s.at <= to)
        .map(|s| s.rss_kib)
        .max()
}

/// CPU seconds and wall seconds between the first sample at or after `from` and the last at
/// or before `to`; `None` when they span less than a second (too few ticks to count).
fn cpu_within(samples: &[Sample], from: Instant, to: Instant) -> Option<(f64, f64)> {
    let start = samples.iter().find(|s| s.at >= from)?;
    let end = samples.iter().rev().find(|s| s.at <= to)?;
    let seconds = end.at.checked_duration_since(start.at)?.as_secs_f64();
    (seconds >= 1.0).then(|| {
        let cpu = end.cpu_ticks.saturating_sub(start.cpu_ticks) as f64 / TICKS_PER_SECOND;
        (cpu, seconds)
    })
}

impl Report {
    /// The report as a table, one measure a line.
    pub fn table(&self) -> String {
        let opt = |v: Option<f64>, decimals: usize, unit: &str| {
            v.map_or("—".to_owned(), |v| format!("{v:.decimals$}{unit}"))
        };
        let p = |p: &Percentiles| format!("p50 {:.2}  p99 {:.2}  max {:.2}", p.p50, p.p99, p.max);
        let server = &self.server;
        [
            format!(
                "calls                     {} ({} with frames back, {} never streamed), {} s each, {}",
                self.calls,
                self.calls_with_frames,
                self.calls_without_stream,
                self.seconds,
                self.storage
            ),
            format!(
                "frames                    {} sent, {} echoed, {} dropped, {} misrouted",
                self.frames.sent, self.frames.echoed, self.frames.dropped, self.frames.misrouted
            ),
            format!("round trip (ms)           {}", p(&self.round_trip_ms)),
            format!(
                "round trip, steady (ms)   {}  (sent while every call streamed)",
                p(&self.round_trip_steady_ms)
            ),
            format!("setup to first echo (ms)  {}", p(&self.setup_ms)),
            format!(
                "dial path                 {} (campaign start → last call placed)",
                opt(self.dial_path_ms.map(|v| v / 1000.0), 2, " s")
            ),
            format!(
                "server CPU                {} of a core per call ({:.1} CPU s while streaming)",
                opt(server.cpu_percent_of_core_per_call, 2, " %"),
                server.cpu_seconds_streaming
            ),
            format!(
                "server CPU, steady        {} of a core per call (every call streaming)",
                opt(server.cpu_percent_of_core_per_call_steady, 2, " %")
            ),
            format!(
                "server memory             {:.1} MiB before calls, {} while every call streamed ({} per call)",
                server.rss_before_mib,
                opt(server.rss_streaming_mib, 1, " MiB"),
                opt(server.rss_per_call_streaming_kib, 0, " KiB"),
            ),
            format!(
                "server memory, peak       {:.1} MiB with dialing and the calls' ends ({:.0} KiB per call)",
                server.rss_peak_mib, server.rss_per_call_kib
            ),
            format!(
                "server shutdown           {}",
                opt(server.shutdown_seconds, 2, " s")
            ),
            format!(
                "server log                {} warnings, {} errors, {} `database is locked`, {} read-model lag",
                server.log.warnings,
                server.log.errors,
                server.log.database_locked,
                server.log.read_model_lag
            ),
        ]
        .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let p = percentiles((1..=100).map(f64::from).collect());
        assert_eq!((p.p50, p.p99, p.max, p.count), (50.0, 99.0, 100.0, 100));
        let one = percentiles(vec![3.0]);
        assert_eq!((one.p50, one.p99, one.max), (3.0, 3.0, 3.0));
        assert_eq!(percentiles(Vec::new()).count, 0);
    }

    #[test]
    fn the_steady_window_counts_only_samples_inside_it() {
        let t0 = Instant::now();
        let at = |ms: u64, cpu_ticks: u64| Sample {
            at: t0 + Duration::from_millis(ms),
            cpu_ticks,
            rss_kib: 0,
        };
        // Setup burns 100 ticks before 1 s, then 10 ticks a second until 4 s, teardown after.
        let samples = [
            at(0, 0),
            at(1000, 100),
            at(2000, 110),
            at(3000, 120),
            at(4000, 130),
            at(5000, 300),
        ];
        let from = t0 + Duration::from_millis(900);
        let to = t0 + Duration::from_millis(4100);
        let (cpu, seconds) = cpu_within(&samples, from, to).expect("three seconds of samples");
        assert_eq!((cpu, seconds), (0.3, 3.0));
        assert_eq!(
            cpu_within(&samples, from, t0 + Duration::from_millis(1500)),
            None
        );
    }

    #[test]
    fn steady_round_trips_are_those_of_frames_sent_while_every_call_streamed() {
        let t0 = Instant::now();
        let stream = |opened_ms: u64, sent_ms: &[u32]| StreamStats {
            call_sid: "CA1".into(),
            opened_at: t0 + Duration::from_millis(opened_ms),
            ended_at: t0 + Duration::from_millis(opened_ms + 5000),
            first_echo_at: None,
            frames_sent: sent_ms.len() as u64,
            frames_echoed: sent_ms.len() as u64,
            frames_misrouted: 0,
            // Each frame's round trip in µs is its send time, to tell them apart.
            round_trips: sent_ms
                .iter()
                .map(|&ms| sandbox::load::RoundTrip {
                    sent_after_open_ms: ms,
                    micros: (opened_ms as u32 + ms) * 1000,
                })
                .collect(),
            problem: None,
        };
        // Out: the early call's first frame (the late one not open yet) and the late call's last
        // (the early one ended).
        let streams = [
            stream(0, &[0, 1000, 2000, 4900]),
            stream(1000, &[0, 20, 1000, 4500]),
        ];
        let within = round_trips_sent_within(
            &streams,
            t0 + Duration::from_millis(1000),
            t0 + Duration::from_millis(5000),
        );
        assert_eq!(within, [1000.0, 2000.0, 4900.0, 1000.0, 1020.0, 2000.0]);
    }

    #[test]
    fn memory_while_streaming_is_the_highest_sample_inside_the_window() {
        let t0 = Instant::now();
        let at = |ms: u64, rss_kib: u64| Sample {
            at: t0 + Duration::from_millis(ms),
            cpu_ticks: 0,
            rss_kib,
        };
        // Dialing and the calls' ends peak outside the window.
        let samples = [
            at(0, 900),
            at(1000, 500),
            at(2000, 520),
            at(3000, 510),
            at(4000, 800),
        ];
        let within = |from: u64, to: u64| {
            highest_rss_within(
                &samples,
                t0 + Duration::from_millis(from),
                t0 + Duration::from_millis(to),
            )
        };
        assert_eq!(within(900, 3100), Some(520));
        assert_eq!(within(1100, 1900), None);
    }
}
