//! Waiting for a named, concrete condition with a deadline — never for things to look quiet.

use std::time::{Duration, Instant};

use projections::recordings::Recordings;
use sqlx::Row;

use crate::TestApp;

/// How long a test waits for the background workers to finish.
const WORKERS_DEADLINE: Duration = Duration::from_secs(90);

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll(what, timeout, Duration::from_millis(20), check).await
}

/// Like [`eventually`] for checks that go through the API: at a pace that stays under the
/// API's 100 requests a minute per account.
pub async fn poll_api<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll(what, timeout, Duration::from_millis(500), check).await
}

async fn poll<T, F, Fut>(what: &str, timeout: Duration, pace: Duration, mut check: F) -> T
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
        tokio::time::sleep(pace).await;
    }
}

impl TestApp {
    /// Waits until the post-call worker has finished every dial attempt (prices, provider
    /// transcripts and voice costs, summaries and token costs), no recording waits at the
    /// provider, and the read models have applied every event. Returns the store head then:
    /// nothing appends after it until the test acts again. For apps whose workers run by
    /// themselves while sandbox calls play out; an app with [`crate::AppOptions::manual_workers`]
    /// drains them instead ([`TestApp::drain_workers`]).
    pub async fn wait_for_workers_finished(&self) -> i64 {
        let what = "the post-call worker to finish every attempt, the recordings worker to \
                    settle every recording and the read models to reach the store head";
        eventually(what, WORKERS_DEADLINE, || async move {
            let store = &self.state.store;
            let head = store.head().await.expect("the store head");
            let fed = store
                .checkpoint("post_call_work")
                .await
                .expect("the post-call checkpoint");
            let settled = fed >= head
                && self.state.campaign_list.position() >= head
                && self.post_call_work_left().await == 0
                && Recordings::waiting(store.db().pool(), 1)
                    .await
                    .expect("the waiting recordings")
                    .is_empty();
            // A worker that appended meanwhile moved the head: look again.
            let unmoved = store.head().await.expect("the store head") == head;
            (settled && unmoved).then_some(head)
        })
        .await
    }

    /// Attempts on the post-call queue still to be worked on.
    async fn post_call_work_left(&self) -> i64 {
        sqlx::query("SELECT COUNT(*) AS n FROM post_call_work WHERE done = 0")
            .fetch_one(self.state.store.db().pool())
            .await
            .expect("the post-call queue")
            .try_get("n")
            .expect("a count")
    }
}
