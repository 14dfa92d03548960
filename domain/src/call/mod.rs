//! The `Call` aggregate: one call per contact per campaign, with its dial attempts, retries and
//! final outcome.

mod aggregate;
mod commands;
mod errors;
mod events;
#[cfg(test)]
mod tests;
mod values;

pub use aggregate::Call;
pub use commands::CallCommand;
pub use errors::CallError;
pub use events::CallEvent;
pub use values::{
    AttemptEnd, CallResult, CallStatus, CancelReason, ConversationEndReason, CostComponent,
};
