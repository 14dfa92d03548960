//! Waiting for a read model to show a position (read-your-writes), whichever process projects.
//!
//! With the projector in this process its runner's [`ProjectionHandle`] wakes waiters at once.
//! With `--role api` (or while another process holds the projector lock) that handle never
//! moves, so the stored checkpoint — committed with the read model's rows — is polled as well.

use std::time::Duration;

use commands::EventStore;
use projections::ProjectionHandle;
use tokio::time::Instant;

/// How often the stored checkpoint is read while waiting.
pub const CHECKPOINT_POLL: Duration = Duration::from_millis(20);

/// Waits until projection `name` has applied `position`; false after `timeout`.
pub async fn wait_for_projection(
    store: &EventStore,
    handle: &ProjectionHandle,
    name: &str,
    position: i64,
    timeout: Duration,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let step_end = (Instant::now() + CHECKPOINT_POLL).min(deadline);
        // Returns at once when no runner lives in this process.
        if handle
            .wait_for(position, step_end.saturating_duration_since(Instant::now()))
            .await
        {
            return true;
        }
        match store.checkpoint(name).await {
            Ok(stored) if stored >= position => return true,
            Ok(_) => {}
            Err(err) => {
                tracing::debug!(projection = name, error = %err, "cannot read the checkpoint")
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep_until(step_end).await;
    }
}
