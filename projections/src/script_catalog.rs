//! The script list behind `commands::services::scripts::ScriptCatalog`: the application
//! service reads scripts and waits for its writes through this adapter.

use std::time::Duration;

use async_trait::async_trait;
use commands::EventStore;
use commands::services::scripts::{
    CatalogError, ScriptCatalog, ScriptRecord, ScriptState, ScriptVersionRecord,
};
use uuid::Uuid;

use crate::runner::{Projection, ProjectionHandle};
use crate::script_list::{ScriptList, ScriptRow, ScriptStatus};

/// How long a write waits for the read model before giving up.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The script list of this store, followed through this process's projection runner.
#[derive(Clone)]
pub struct ScriptListCatalog {
    store: EventStore,
    runner: ProjectionHandle,
}

impl ScriptListCatalog {
    /// The catalog over `store`, with `runner` the handle of the script list's runner.
    pub fn new(store: EventStore, runner: ProjectionHandle) -> Self {
        Self { store, runner }
    }
}

fn read_error(err: impl std::fmt::Display) -> CatalogError {
    CatalogError::Read(err.to_string())
}

fn record(row: ScriptRow) -> ScriptRecord {
    ScriptRecord {
        id: row.id,
        name: row.name,
        status: match row.status {
            ScriptStatus::Draft => ScriptState::Draft,
            ScriptStatus::Saved => ScriptState::Saved,
        },
        version: row.version,
        content: row.content,
        natural_input: row.natural_input,
        writer: row.writer,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[async_trait]
impl ScriptCatalog for ScriptListCatalog {
    async fn find(&self, owner: Uuid, id: Uuid) -> Result<Option<ScriptRecord>, CatalogError> {
        let row = ScriptList::find(self.store.db().pool(), owner, id)
            .await
            .map_err(read_error)?;
        Ok(row.map(record))
    }

    async fn for_owner(&self, owner: Uuid) -> Result<Vec<ScriptRecord>, CatalogError> {
        let rows = ScriptList::for_owner(self.store.db().pool(), owner, true)
            .await
            .map_err(read_error)?;
        Ok(rows.into_iter().map(record).collect())
    }

    async fn find_version(
        &self,
        owner: Uuid,
        id: Uuid,
        version: u32,
    ) -> Result<Option<ScriptVersionRecord>, CatalogError> {
        let found = ScriptList::find_version(self.store.db().pool(), owner, id, version)
            .await
            .map_err(read_error)?;
        Ok(found.map(|old| ScriptVersionRecord {
            version: old.version,
            content: old.content,
            recorded_at: old.recorded_at,
        }))
    }

    /// Follows this process's runner, and the stored checkpoint for when another process
    /// projects.
    async fn caught_up(&self) -> Result<(), CatalogError> {
        let head = self.store.head().await.map_err(read_error)?;
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            if self.runner.wait_for(head, Duration::from_millis(200)).await {
                return Ok(());
            }
            let stored = self
                .store
                .checkpoint(ScriptList.name())
                .await
                .map_err(read_error)?;
            if stored >= head {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(CatalogError::Lagging {
                    seconds: SETTLE_TIMEOUT.as_secs(),
                });
            }
        }
    }
}
