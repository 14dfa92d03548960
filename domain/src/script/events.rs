//! Events recorded by [`Script`](super::Script).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ScriptContent;

/// Something that happened to a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScriptEvent {
    /// The script was saved for the first time (version 1).
    ScriptCreated {
        /// The account that owns it.
        owner_id: Uuid,
        /// Display name.
        name: String,
        /// What the owner typed to generate it.
        natural_input: String,
        /// The structured script.
        content: ScriptContent,
        /// Always 1.
        version: u32,
        /// When it was created.
        created_at: DateTime<Utc>,
    },
    /// A generated script was kept as a draft (version 1).
    ScriptDrafted {
        /// The account that owns it.
        owner_id: Uuid,
        /// Display name until the owner picks one.
        name: String,
        /// What the owner typed to generate it.
        natural_input: String,
        /// The structured script.
        content: ScriptContent,
        /// Always 1.
        version: u32,
        /// Which writer produced it (`openai`, `offline`).
        writer: String,
        /// When it was generated.
        drafted_at: DateTime<Utc>,
    },
    /// A draft was saved; carries the full name and content (the version moves on only when
    /// the content changed).
    ScriptSaved {
        /// The version after saving.
        version: u32,
        /// Display name.
        name: String,
        /// What the owner typed to generate it.
        natural_input: String,
        /// The content as saved.
        content: ScriptContent,
        /// When it was saved.
        saved_at: DateTime<Utc>,
    },
    /// The script was edited; carries the full new name and content.
    ScriptEdited {
        /// The new version number.
        version: u32,
        /// The name after the edit.
        name: String,
        /// The content after the edit.
        content: ScriptContent,
        /// When it was edited.
        edited_at: DateTime<Utc>,
    },
    /// The script was deleted.
    ScriptDeleted {
        /// When it was deleted.
        deleted_at: DateTime<Utc>,
    },
}

domain_event!(ScriptEvent, version "1.0", [
    ScriptCreated, ScriptDrafted, ScriptSaved, ScriptEdited, ScriptDeleted,
]);
