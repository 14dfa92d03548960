//! The `Script` aggregate: a structured call script an owner creates, edits and deletes.

mod aggregate;
mod commands;
mod content;
mod errors;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::{MAX_NAME_CHARS, Script};
pub use commands::ScriptCommand;
pub use content::{FlowStep, NextStep, ScriptContent};
pub use errors::ScriptError;
pub use events::ScriptEvent;
