//! The audit trail as `callbot events` prints it (the JSON form is
//! `commands::services::campaigns::AuditEntry`).

use commands::StoredEvent;

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
