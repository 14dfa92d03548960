//! The `Script` aggregate: a structured call script an owner generates (kept as a draft), saves,
//! edits (each edit a new version) and deletes; plus the rules a script keeps and its preview.

mod aggregate;
mod commands;
mod content;
mod errors;
mod events;
mod language;
mod preview;
pub mod prompt;
#[cfg(test)]
mod tests;
mod validate;
pub mod variables;

pub use aggregate::{MAX_NAME_CHARS, Script};
pub use commands::ScriptCommand;
pub use content::{FlowStep, NextStep, ScriptContent, bare_variable, fill};
pub use errors::ScriptError;
pub use events::ScriptEvent;
pub use language::Language;
pub use preview::preview;
pub use validate::{
    FieldError, MAX_RESPONSE_CHARS, MAX_RESPONSES, MAX_STEPS, MAX_TEXT_CHARS, MAX_VARIABLE_CHARS,
    MAX_VARIABLES, placeholders, validate,
};
