use std::sync::Mutex;

use async_trait::async_trait;
use tokio::time::Instant;

use super::*;

/// Fails its first `failures` units, then is idle until stopped; remembers when it was called.
struct Flaky {
    failures: u32,
    calls: Mutex<Vec<Instant>>,
    called: tokio::sync::Notify,
}

impl Flaky {
    fn new(failures: u32) -> Arc<Self> {
        Arc::new(Self {
            failures,
            calls: Mutex::default(),
            called: tokio::sync::Notify::new(),
        })
    }

    fn calls(&self) -> Vec<Instant> {
        self.calls.lock().unwrap().clone()
    }

    async fn wait_for_calls(&self, count: usize) {
        while self.calls().len() < count {
            self.called.notified().await;
        }
    }
}

#[async_trait]
impl Worker for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    async fn run_once(&self) -> Result<Progress, WorkerError> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(Instant::now());
            calls.len() as u32
        };
        self.called.notify_waiters();
        if call <= self.failures {
            return Err(WorkerError::Nats(format!("failure {call}")));
        }
        Ok(Progress::Idle)
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        stop.cancelled().await;
    }
}

fn status(metrics: &Metrics, name: &str) -> commands::WorkerStatus {
    metrics
        .workers()
        .into_iter()
        .find(|w| w.name == name)
        .expect("the worker is reported")
}

#[tokio::test(start_paused = true)]
async fn a_failing_worker_is_restarted_with_growing_pauses_and_its_restarts_are_visible() {
    // This thread's own recorder: the runtime is single-threaded, so every task reports to it.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let exported = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let metrics = Arc::new(Metrics::default());
    let worker = Flaky::new(2);
    let backoff = Backoff {
        initial: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    let mut supervisor = Supervisor::new(metrics.clone()).with_backoff(backoff);
    supervisor.add(worker.clone());
    let stop = CancellationToken::new();
    let running = tokio::spawn(supervisor.run(stop.clone()));

    worker.wait_for_calls(3).await;

    let calls = worker.calls();
    assert_eq!(calls[1] - calls[0], Duration::from_secs(1));
    assert_eq!(calls[2] - calls[1], Duration::from_secs(2));
    let reported = status(&metrics, "flaky");
    assert_eq!(reported.restarts, 2);
    assert_eq!(reported.last_error.as_deref(), Some("NATS: failure 2"));
    tokio::task::yield_now().await;
    assert_eq!(status(&metrics, "flaky").state, WorkerState::Running);
    let rendered = exported.render();
    assert!(rendered.contains("callbot_worker_restarts_total{worker=\"flaky\"} 2"));
    assert!(rendered.contains("callbot_worker_state{worker=\"flaky\",state=\"running\"} 1"));

    stop.cancel();
    running.await.unwrap();
    assert_eq!(status(&metrics, "flaky").state, WorkerState::Stopped);
    assert_eq!(worker.calls().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn stop_ends_a_worker_that_is_backing_off() {
    let metrics = Arc::new(Metrics::default());
    let worker = Flaky::new(u32::MAX);
    let mut supervisor = Supervisor::new(metrics.clone());
    supervisor.add(worker.clone());
    let stop = CancellationToken::new();
    let running = tokio::spawn(supervisor.run(stop.clone()));

    worker.wait_for_calls(1).await;
    tokio::task::yield_now().await;
    assert_eq!(status(&metrics, "flaky").state, WorkerState::BackingOff);
    stop.cancel();
    running.await.unwrap();

    assert_eq!(status(&metrics, "flaky").state, WorkerState::Stopped);
    assert_eq!(worker.calls().len(), 1);
}

#[test]
fn backoff_doubles_up_to_its_cap() {
    let backoff = Backoff {
        initial: Duration::from_millis(500),
        max: Duration::from_secs(3),
    };
    let delays: Vec<_> = (1..=5).map(|n| backoff.delay(n)).collect();
    assert_eq!(
        delays,
        [500, 1000, 2000, 3000, 3000].map(Duration::from_millis)
    );
}

#[tokio::test]
async fn drive_to_idle_stops_at_the_first_idle_unit() {
    struct Countdown(Mutex<u32>);
    #[async_trait]
    impl Worker for Countdown {
        fn name(&self) -> &'static str {
            "countdown"
        }
        async fn run_once(&self) -> Result<Progress, WorkerError> {
            let mut left = self.0.lock().unwrap();
            if *left == 0 {
                return Ok(Progress::Idle);
            }
            *left -= 1;
            Ok(Progress::Worked)
        }
        async fn wait_for_work(&self, stop: &CancellationToken) {
            stop.cancelled().await;
        }
    }
    let worker = Countdown(Mutex::new(3));
    assert_eq!(crate::drive_to_idle(&worker, 100).await.unwrap(), 3);
}
