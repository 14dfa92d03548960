//! The audit trail as people read it: a campaign's history (its own events and its calls', in
//! global order) and one way to print an event with its metadata, shared by
//! `GET /api/v1/campaigns/{id}/events` and `callbot events`.

use commands::{EventStore, StoreError, StoredEvent};
use domain::campaign::CampaignEvent;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// The ids of a campaign's calls, from its `ContactsAdded` events.
pub fn call_ids(campaign_events: &[StoredEvent]) -> Vec<String> {
    let mut ids = Vec::new();
    for event in campaign_events {
        if let Ok(CampaignEvent::ContactsAdded { contacts, .. }) =
            serde_json::from_value::<CampaignEvent>(event.payload.clone())
        {
            ids.extend(contacts.iter().map(|c| c.call_id.to_string()));
        }
    }
    ids
}

/// A page of a campaign's and its calls' events after `position`, in global order.
pub async fn campaign_events(
    store: &EventStore,
    campaign_id: &str,
    position: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let campaign = store.read_aggregate(campaign_id).await?;
    let mut ids = call_ids(&campaign);
    ids.push(campaign_id.to_owned());
    store.read_aggregates(&ids, position, limit).await
}

/// One stored event with its metadata, as auditors read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Global position: gap-free, the order of the whole history.
    pub position: i64,
    pub event_id: Uuid,
    #[schema(example = "Campaign")]
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// Position within the aggregate.
    pub sequence: i64,
    #[serde(rename = "type")]
    #[schema(example = "CampaignStarted")]
    pub event_type: String,
    #[schema(example = "1.0")]
    pub version: String,
    /// A user id, or `system`, `twilio`, `elevenlabs`.
    pub actor: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    pub payload: Value,
}

impl From<&StoredEvent> for AuditEntry {
    fn from(event: &StoredEvent) -> Self {
        Self {
            position: event.position,
            event_id: event.event_id,
            aggregate_type: event.aggregate_type.clone(),
            aggregate_id: event.aggregate_id.clone(),
            sequence: event.sequence,
            event_type: event.event_type.clone(),
            version: event.event_version.clone(),
            actor: event.metadata.actor.clone(),
            correlation_id: event.metadata.correlation_id.clone(),
            causation_id: event.metadata.causation_id.clone(),
            recorded_at: commands::store::timestamp(event.recorded_at),
            payload: event.payload.clone(),
        }
    }
}

/// One event for auditors (JSON); the typed form is [`AuditEntry`].
pub fn entry_json(event: &StoredEvent) -> Value {
    serde_json::to_value(AuditEntry::from(event)).expect("an audit entry serializes")
}

/// One event for auditors (text, two lines).
pub fn entry_line(event: &StoredEvent) -> String {
    format!(
        "#{:<6} {} {}/{} seq {} {} v{}  actor={} correlation={} causation={}\n        {}",
        event.position,
        commands::store::timestamp(event.recorded_at),
        event.aggregate_type,
        event.aggregate_id,
        event.sequence,
        event.event_type,
        event.event_version,
        event.metadata.actor,
        event.metadata.correlation_id.as_deref().unwrap_or("-"),
        event.metadata.causation_id.as_deref().unwrap_or("-"),
        event.payload,
    )
}
