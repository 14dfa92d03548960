//! Events recorded by [`Script`](super::Script).

use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
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

impl DomainEvent for ScriptEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ScriptCreated { .. } => "ScriptCreated",
            Self::ScriptEdited { .. } => "ScriptEdited",
            Self::ScriptDeleted { .. } => "ScriptDeleted",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}
