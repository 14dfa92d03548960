//! The projection runners as workers: one unit applies the next batch of events after the
//! projection's checkpoint, so the supervisor restarts a projection that failed (a database
//! blip) with the same backoff as every worker, and a test drains it like any other.
//! Single-active: the supervisor holds the projection's name as its lease, and each batch is
//! applied under the lease's fence.

use async_trait::async_trait;
use commands::CancellationToken;
use commands::leader::Fence;
use projections::ProjectionRunner;

use crate::{Progress, Worker, WorkerError};

#[async_trait]
impl Worker for ProjectionRunner {
    fn name(&self) -> &'static str {
        ProjectionRunner::name(self)
    }

    async fn run_once(&self) -> Result<Progress, WorkerError> {
        Ok(Progress::worked_if(self.apply_next_batch().await?))
    }

    async fn wait_for_work(&self, stop: &CancellationToken) {
        self.wait_for_events(stop).await;
    }

    fn fenced_by(&self, fence: Fence) {
        self.fence_with(fence);
    }
}
