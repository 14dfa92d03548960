//! The `Call` aggregate: one call per contact per campaign, with its dial attempts, retries and
//! final outcome.

mod aggregate;
mod commands;
mod errors;
mod events;
mod recording;
#[cfg(test)]
mod recording_tests;
mod results;
#[cfg(test)]
mod results_tests;
#[cfg(test)]
mod tests;
mod values;

pub use aggregate::Call;
pub use commands::CallCommand;
pub use errors::CallError;
pub use events::CallEvent;
pub use recording::{DiscardReason, RecordingCommand, RecordingStage, RecordingState};
pub use results::{
    AttemptResults, CallResults, Speaker, SummarySource, TranscriptLine, TranscriptSource,
    same_words,
};
pub use values::{
    AttemptEnd, CallResult, CallStatus, CancelReason, ConversationEndReason, CostComponent,
};
