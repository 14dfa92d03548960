//! The audit trail as people read it: a campaign's history (its own events and its calls', in
//! global order) and one way to print an event with its metadata, shared by
//! `GET /api/v1/campaigns/{id}/events` and `callbot events`.

use commands::{EventStore, StoreError, StoredEvent};
use domain::campaign::CampaignEvent;
use serde_json::{Value, json};

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

/// One event for auditors (JSON).
pub fn entry_json(event: &StoredEvent) -> Value {
    json!({
        "position": event.position,
        "eventId": event.event_id,
        "aggregateType": event.aggregate_type,
        "aggregateId": event.aggregate_id,
        "sequence": event.sequence,
        "type": event.event_type,
        "version": event.event_version,
        "actor": event.metadata.actor,
        "correlationId": event.metadata.correlation_id,
        "causationId": event.metadata.causation_id,
        "recordedAt": commands::store::timestamp(event.recorded_at),
        "payload": event.payload,
    })
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
