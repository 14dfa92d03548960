//! The audit trail as people read it: a campaign's history (its own events and its calls', in
//! global order) and one way to print an event with its metadata, shared by
//! `GET /api/v1/campaigns/{id}/events` and `callbot events`.

use commands::StoredEvent;
use serde_json::{Value, json};

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
