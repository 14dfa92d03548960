//! The `Campaign` aggregate: contacts, lifecycle (draft → running ⇄ paused → completed, scheduled,
//! cancelled, deleted) and which of its calls have finished.
//!
//! Dialing is not decided here: the dialer (a process manager in `commands`) reads campaign events
//! and drives the `Call` aggregates; it reports back with `RecordCallFinished`.

mod aggregate;
mod commands;
mod errors;
mod events;
mod terms;
#[cfg(test)]
mod tests;
mod values;

pub use aggregate::{Campaign, MAX_NAME_CHARS};
pub use commands::CampaignCommand;
pub use errors::CampaignError;
pub use events::CampaignEvent;
pub use terms::CampaignTerms;
pub use values::{CampaignStatus, Contact, PauseReason};
