//! What a projection reads off a stored event: its payload, and the wire names of the values
//! in it. A payload that does not fit is the event's fault, reported as a bad event.

use commands::StoredEvent;
use cqrs_es::Aggregate;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::runner::ProjectionError;

/// `event`'s payload as an event of aggregate `A`; `None` when another aggregate recorded it.
pub(crate) fn payload_of<A: Aggregate>(
    event: &StoredEvent,
) -> Result<Option<A::Event>, ProjectionError> {
    if event.aggregate_type != A::TYPE {
        return Ok(None);
    }
    payload(event).map(Some)
}

/// `event`'s payload as `E`.
pub(crate) fn payload<E: DeserializeOwned>(event: &StoredEvent) -> Result<E, ProjectionError> {
    serde_json::from_value(event.payload.clone()).map_err(|e| ProjectionError::bad_event(event, e))
}

/// The wire name (`"NO_ANSWER"`) of a value from `event`'s payload, as the read models store it.
pub(crate) fn wire_name<T: Serialize>(
    event: &StoredEvent,
    value: &T,
) -> Result<String, ProjectionError> {
    let value = serde_json::to_value(value).map_err(|e| ProjectionError::bad_event(event, e))?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}
