//! The write side: the event store on Postgres or SQLite with a global position, the outbox
//! relay to NATS JetStream or an in-process bus, and command execution.

pub mod accounts;
mod aggregate_cache;
pub mod budget;
pub mod bus;
pub mod clock;
pub mod contacts_import;
pub mod cqrs;
pub mod db;
pub mod dial_queue;
pub mod dialer;
pub mod leader;
pub mod metrics;
pub mod openai_chat;
pub mod recordings;
pub mod relay;
pub mod script_writer;
pub mod services;
pub mod store;
pub mod summarizer;
pub mod webhooks;

pub use bus::{BusMessage, BusSubscription, EventBus, NatsConfig};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cqrs::{CommandContext, CommandError, Commands};
pub use db::{Backend, Db, DbError};
pub use metrics::{Metrics, WorkerState, WorkerStatus};
pub use relay::Relay;
pub use store::{EventMetadata, EventStore, StoreError, StoredEvent};
pub use tokio_util::sync::CancellationToken;

/// `text` followed by `error`'s causes, each after `: `.
pub(crate) fn with_causes(mut text: String, error: &dyn std::error::Error) -> String {
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
