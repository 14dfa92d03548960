//! Rules a [`Script`](super::Script) command can break.

use thiserror::Error;

use super::{FieldError, MAX_NAME_CHARS};

/// Why a script command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScriptError {
    /// A script with this id already exists.
    #[error("the script already exists")]
    AlreadyExists,
    /// No script with this id was created.
    #[error("the script does not exist")]
    NotFound,
    /// The script was deleted.
    #[error("the script was deleted")]
    Deleted,
    /// The name is empty or only whitespace.
    #[error("the script needs a name")]
    EmptyName,
    /// The name is longer than allowed.
    #[error("the script name is too long (at most {max} characters)", max = MAX_NAME_CHARS)]
    NameTooLong,
    /// The content breaks the script rules (see [`validate`](super::validate)).
    #[error("the script is invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidContent(Vec<FieldError>),
    /// Only a draft can be saved; this script is saved already.
    #[error("the script is already saved")]
    AlreadySaved,
}
