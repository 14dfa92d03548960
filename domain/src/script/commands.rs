//! Commands accepted by [`Script`](super::Script).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::ScriptContent;

/// What can be asked of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptCommand {
    /// Save a new script (usually generated from the owner's natural-language request).
    CreateScript {
        /// The account that owns it.
        owner_id: Uuid,
        /// Display name.
        name: String,
        /// What the owner typed to generate it.
        natural_input: String,
        /// The structured script.
        content: ScriptContent,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Keep a freshly generated script as a draft (version 1): usable by campaigns and editable,
    /// but not listed among saved scripts until [`ScriptCommand::SaveDraft`].
    DraftScript {
        /// The account that owns it.
        owner_id: Uuid,
        /// Display name until the owner picks one.
        name: String,
        /// What the owner typed to generate it.
        natural_input: String,
        /// The structured script.
        content: ScriptContent,
        /// Which writer produced it (`openai`, `offline`).
        writer: String,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Save a draft under a name, with the owner's changes; bumps the version only when the
    /// content changed.
    SaveDraft {
        /// Display name.
        name: String,
        /// What the owner typed to generate it.
        natural_input: String,
        /// The structured script as the owner saves it.
        content: ScriptContent,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Replace the content, and the name when one is given; bumps the version.
    EditScript {
        /// New display name, or `None` to keep it.
        name: Option<String>,
        /// The new structured script.
        content: ScriptContent,
        /// When the request arrived.
        at: DateTime<Utc>,
    },
    /// Delete the script (campaigns keep the version they captured).
    DeleteScript {
        /// When the request arrived.
        at: DateTime<Utc>,
    },
}
