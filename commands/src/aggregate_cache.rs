//! Aggregates kept in memory between commands, so a long-lived [`Commands`](crate::Commands)
//! (the dialer's, the services') does not replay a whole history for each command.
//!
//! Without it, every `RecordCallFinished` on a 10,000-contact campaign deserialized the
//! 10,000 contacts of `CampaignCreated` and every `CampaignCallFinished` so far. With it, a
//! command reads only the events appended since the cached state (usually none), and the
//! store's optimistic concurrency still decides: a state another process moved on from is
//! caught up from the store before the command runs, and a lost race evicts it.

use std::collections::HashMap;
use std::sync::Mutex;

use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope};

use crate::store::EventStore;

/// Aggregates one [`CachingStore`] keeps; a campaign of 10,000 contacts takes a few MiB.
const CACHED_AGGREGATES: usize = 32;

/// cqrs-es's event store with a small cache of aggregate states in front.
pub(crate) struct CachingStore<A: Aggregate> {
    inner: PersistedEventStore<EventStore, A>,
    repo: EventStore,
    cache: Mutex<HashMap<String, Cached<A>>>,
}

/// An aggregate's state after the event numbered `sequence`.
struct Cached<A> {
    aggregate: A,
    sequence: usize,
}

impl<A: Aggregate> CachingStore<A> {
    pub(crate) fn new(repo: EventStore) -> Self {
        Self {
            inner: PersistedEventStore::new_event_store(repo.clone()),
            repo,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Takes the cached state out: a command running beside this one loads its own from the
    /// store, so no state is ever shared.
    fn take(&self, id: &str) -> Option<Cached<A>> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    fn keep(&self, id: String, cached: Cached<A>) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED_AGGREGATES && !cache.contains_key(&id) {
            // Which one goes matters little: a miss costs one replay.
            if let Some(evicted) = cache.keys().next().cloned() {
                cache.remove(&evicted);
            }
        }
        cache.insert(id, cached);
    }

    #[cfg(test)]
    fn cached_sequence(&self, id: &str) -> Option<usize> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(id).map(|c| c.sequence)
    }
}

impl<A> cqrs_es::EventStore<A> for CachingStore<A>
where
    A: Aggregate + Send + Sync,
{
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.inner.load_events(aggregate_id).await
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let Some(Cached {
            aggregate,
            sequence,
        }) = self.take(aggregate_id)
        else {
            return self.inner.load_aggregate(aggregate_id).await;
        };
        let mut context = EventStoreAggregateContext {
            aggregate_id: aggregate_id.to_owned(),
            aggregate,
            current_sequence: sequence,
            current_snapshot: None,
        };
        let newer = self
            .repo
            .get_last_events::<A>(aggregate_id, sequence)
            .await?;
        for serialized in newer {
            let envelope = EventEnvelope::<A>::try_from(serialized)?;
            context.current_sequence = envelope.sequence;
            context.aggregate.apply(envelope.payload);
        }
        Ok(context)
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        mut context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let id = context.aggregate_id.clone();
        // The sink applied the new events to the aggregate as the command wrote them, and the
        // event store keeps no snapshot, so commit does not read the aggregate: keep it.
        let aggregate = std::mem::take(&mut context.aggregate);
        let before = context.current_sequence;
        // On an error (a lost race above all) the state is dropped: the next command replays.
        let committed = self.inner.commit(events, context, metadata).await?;
        let sequence = committed.last().map_or(before, |e| e.sequence);
        self.keep(
            id,
            Cached {
                aggregate,
                sequence,
            },
        );
        Ok(committed)
    }
}

#[cfg(test)]
#[path = "aggregate_cache_tests.rs"]
mod tests;
