//! Running commands against aggregates: cqrs-es over our store, with metadata on every event and
//! a bounded retry when another writer got to the aggregate first.

use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use domain::campaign::{Campaign, CampaignTerms};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::aggregate_cache::CachingStore;
use crate::store::{EventMetadata, EventStore, StoreError, StoredEvent};

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
        aggregate.apply(payload(event)?);
        found = true;
    }
    Ok(found.then_some(aggregate))
}

/// The terms campaign `id` was created with, from its first event alone; `None` when it has no
/// events. A campaign's later events (10,000 contacts, each call's end) are never read.
pub async fn load_terms(store: &EventStore, id: &str) -> Result<Option<CampaignTerms>, StoreError> {
    let Some(event) = store.read_first(id).await? else {
        return Ok(None);
    };
    if event.aggregate_type != Campaign::TYPE {
        return Ok(None);
    }
    Ok(CampaignTerms::set_by(payload(event)?))
}

/// A stored event's payload as the aggregate's event type.
fn payload<E: DeserializeOwned>(event: StoredEvent) -> Result<E, StoreError> {
    serde_json::from_value(event.payload).map_err(|e| StoreError::Corrupt {
        position: event.position,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;
    use domain::PhoneNumber;
    use domain::campaign::{CampaignCommand, Contact};
    use domain::policy::CampaignSettings;

    use super::*;
    use crate::services::accounts::tests::test_store;

    fn contact(n: u32) -> Contact {
        Contact {
            call_id: Uuid::now_v7(),
            phone: PhoneNumber::parse_kr(&format!("010-5550-{n:04}")).expect("a number"),
            name: None,
            context: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_campaigns_terms_read_from_its_first_event_match_its_whole_history() {
        let (_dir, store) = test_store().await;
        let campaigns = Commands::<Campaign>::new(store.clone(), ());
        let context = CommandContext::new("test");
        let id = Uuid::now_v7().to_string();
        let settings = CampaignSettings {
            recording: true,
            caller_id: Some("+821055500000".into()),
            ..CampaignSettings::default()
        };
        let create = CampaignCommand::CreateCampaign {
            owner_id: Uuid::now_v7(),
            name: "내일 예약 확인".into(),
            script_id: Uuid::now_v7(),
            script_version: 3,
            settings,
            contacts: vec![contact(1)],
            variables: BTreeMap::from([("availableTimes".into(), "오후 3시".into())]),
            at: Utc::now(),
        };
        campaigns.execute(&id, create, &context).await.unwrap();
        let more = CampaignCommand::AddContacts {
            contacts: (2..40).map(contact).collect(),
            at: Utc::now(),
        };
        campaigns.execute(&id, more, &context).await.unwrap();

        let terms = load_terms(&store, &id).await.unwrap().expect("terms");
        let whole = load::<Campaign>(&store, &id)
            .await
            .unwrap()
            .expect("campaign");
        assert_eq!(whole.contacts().len(), 39);
        assert_eq!(terms.owner_id, whole.owner_id());
        assert_eq!((terms.script_id, terms.script_version), whole.script());
        assert_eq!(&terms.settings, whole.settings());
        assert_eq!(&terms.variables, whole.variables());

        assert_eq!(load_terms(&store, "no-such-campaign").await.unwrap(), None);
    }
}
