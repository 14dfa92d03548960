//! The script list behind `commands::services::scripts::ScriptCatalog`: the application
//! service reads scripts and waits for its writes through this adapter.

use std::time::Duration;

use async_trait::async_trait;
use commands::EventStore;
use commands::services::scripts::{CatalogError, ScriptCatalog, ScriptRecord, ScriptVersionRecord};
use uuid::Uuid;

use crate::campaign_reads::wait_for_projection;
use crate::runner::{Projection, ProjectionHandle};
use crate::script_list::ScriptList;

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

#[async_trait]
impl ScriptCatalog for ScriptListCatalog {
    async fn find(&self, owner: Uuid, id: Uuid) -> Result<Option<ScriptRecord>, CatalogError> {
        ScriptList::find(self.store.db().pool(), owner, id)
            .await
            .map_err(read_error)
    }

    async fn for_owner(&self, owner: Uuid) -> Result<Vec<ScriptRecord>, CatalogError> {
        ScriptList::for_owner(self.store.db().pool(), owner, true)
            .await
            .map_err(read_error)
    }

    async fn find_version(
        &self,
        owner: Uuid,
        id: Uuid,
        version: u32,
    ) -> Result<Option<ScriptVersionRecord>, CatalogError> {
        ScriptList::find_version(self.store.db().pool(), owner, id, version)
            .await
            .map_err(read_error)
    }

    /// Follows this process's runner, and the stored checkpoint for when another process
    /// projects.
    async fn caught_up(&self) -> Result<(), CatalogError> {
        let head = self.store.head().await.map_err(read_error)?;
        let name = ScriptList.name();
        if wait_for_projection(&self.store, &self.runner, name, head, SETTLE_TIMEOUT).await {
            Ok(())
        } else {
            Err(CatalogError::Lagging {
                seconds: SETTLE_TIMEOUT.as_secs(),
            })
        }
    }
}
