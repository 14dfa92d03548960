//! Running commands against aggregates: cqrs-es over our store, with metadata on every event and
//! a bounded retry when another writer got to the aggregate first.

use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use uuid::Uuid;

use crate::aggregate_cache::CachingStore;
use crate::store::{EventMetadata, EventStore, StoreError};

/// How many times a command is tried when it keeps losing the optimistic-concurrency race.
const MAX_ATTEMPTS: usize = 5;

/// Who sends a command and in answer to what; becomes the metadata of every event it causes.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub actor: String,
    pub correlation_id: String,
    pub causation_id: Option<String>,
}

impl CommandContext {
    /// A command started by `actor` (a user id, `system`, `twilio`, `elevenlabs`) with a fresh
    /// correlation id.
    pub fn new(actor: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            correlation_id: Uuid::now_v7().to_string(),
            causation_id: None,
        }
    }

    /// The same flow, caused by `causation_id` (usually an event id).
    pub fn caused_by(&self, causation_id: impl Into<String>) -> Self {
        Self {
            causation_id: Some(causation_id.into()),
            ..self.clone()
        }
    }

    fn metadata(&self) -> EventMetadata {
        EventMetadata {
            actor: self.actor.clone(),
            correlation_id: Some(self.correlation_id.clone()),
            causation_id: self.causation_id.clone(),
        }
    }
}

/// Why a command did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused it (a business rule).
    #[error(transparent)]
    Rejected(E),
    /// Other writers kept winning the race for this aggregate.
    #[error("the aggregate kept changing underneath the command")]
    Conflict,
    /// The store failed.
    #[error("event store failure: {0}")]
    Store(String),
}

/// Executes commands of one aggregate type, keeping the aggregates it ran recently in memory.
pub struct Commands<A: Aggregate> {
    framework: CqrsFramework<A, CachingStore<A>>,
}

impl<A> Commands<A>
where
    A: Aggregate,
    A::Command: Clone,
{
    /// Commands of `A` against `store`, with the aggregate's services.
    pub fn new(store: EventStore, services: A::Services) -> Self {
        Self {
            framework: CqrsFramework::new(CachingStore::new(store), Vec::new(), services),
        }
    }

    /// Runs `command` on aggregate `id`, retrying a bounded number of times on conflicts.
    #[tracing::instrument(skip_all, fields(aggregate = A::TYPE, id, actor = %context.actor))]
    pub async fn execute(
        &self,
        id: &str,
        command: A::Command,
        context: &CommandContext,
    ) -> Result<(), CommandError<A::Error>> {
        let metadata = context.metadata().to_map();
        for attempt in 1..=MAX_ATTEMPTS {
            match self
                .framework
                .execute_with_metadata(id, command.clone(), metadata.clone())
                .await
            {
                Ok(()) => return Ok(()),
                Err(AggregateError::AggregateConflict) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(aggregate = A::TYPE, id, attempt, "conflict; retrying");
                }
                Err(AggregateError::AggregateConflict) => return Err(CommandError::Conflict),
                Err(AggregateError::UserError(err)) => return Err(CommandError::Rejected(err)),
                Err(other) => return Err(CommandError::Store(other.to_string())),
            }
        }
        Err(CommandError::Conflict)
    }
}

/// Rebuilds an aggregate from its events (for reads that need the write model's own view);
/// `None` when it has no events.
pub async fn load<A: Aggregate>(store: &EventStore, id: &str) -> Result<Option<A>, StoreError> {
    let events = store.read_aggregate(id).await?;
    let mut aggregate = A::default();
    let mut found = false;
    for event in events.into_iter().filter(|e| e.aggregate_type == A::TYPE) {
        let payload: A::Event =
            serde_json::from_value(event.payload).map_err(|e| StoreError::Corrupt {
                position: event.position,
                reason: e.to_string(),
            })?;
        aggregate.apply(payload);
        found = true;
    }
    Ok(found.then_some(aggregate))
}
