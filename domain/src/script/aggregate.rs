//! The [`Script`] aggregate.

use crate::aggregate::{Decided, NameRefused, Sink, display_name};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ScriptCommand, ScriptContent, ScriptError, ScriptEvent, validate};

/// Longest script name, in characters.
pub const MAX_NAME_CHARS: usize = crate::limits::SCRIPT_NAME.max;

/// A versioned call script owned by one account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    created: bool,
    draft: bool,
    deleted: bool,
    owner_id: Uuid,
    name: String,
    version: u32,
    content: ScriptContent,
}

aggregate!(Script, type "script", ScriptCommand, ScriptEvent, ScriptError);

impl Script {
    /// The current version (0 before creation).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The account that owns the script.
    pub fn owner_id(&self) -> Uuid {
        self.owner_id
    }

    /// Whether the script was deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// The current content.
    pub fn content(&self) -> &ScriptContent {
        &self.content
    }

    /// True while the script is a generated draft that was not saved yet.
    pub fn is_draft(&self) -> bool {
        self.draft
    }

    fn ensure_live(&self) -> Result<(), ScriptError> {
        if !self.created {
            Err(ScriptError::NotFound)
        } else if self.deleted {
            Err(ScriptError::Deleted)
        } else {
            Ok(())
        }
    }
}

/// Checks the content keeps every script rule.
fn valid_content(content: &ScriptContent) -> Result<(), ScriptError> {
    validate(content).map_err(ScriptError::InvalidContent)
}

/// Trims the name and checks it is present and not too long.
fn valid_name(name: &str) -> Result<String, ScriptError> {
    display_name(name, MAX_NAME_CHARS).map_err(|refused| match refused {
        NameRefused::Empty => ScriptError::EmptyName,
        NameRefused::TooLong => ScriptError::NameTooLong,
    })
}

impl Script {
    /// Checks `cmd` against the rules and writes the events it causes.
    async fn decide(&mut self, cmd: ScriptCommand, sink: &Sink<Self>) -> Decided<ScriptError> {
        match cmd {
            ScriptCommand::CreateScript {
                owner_id,
                name,
                natural_input,
                content,
                at,
            } => {
                let name = self.check_new(&name, &content)?;
                sink.write(
                    ScriptEvent::ScriptCreated {
                        owner_id,
                        name,
                        natural_input,
                        content,
                        version: 1,
                        created_at: at,
                    },
                    self,
                )
                .await;
            }
            ScriptCommand::DraftScript {
                owner_id,
                name,
                natural_input,
                content,
                writer,
                at,
            } => {
                let name = self.check_new(&name, &content)?;
                sink.write(
                    ScriptEvent::ScriptDrafted {
                        owner_id,
                        name,
                        natural_input,
                        content,
                        version: 1,
                        writer,
                        drafted_at: at,
                    },
                    self,
                )
                .await;
            }
            ScriptCommand::SaveDraft {
                name,
                natural_input,
                content,
                at,
            } => {
                self.ensure_live()?;
                if !self.draft {
                    return Err(ScriptError::AlreadySaved);
                }
                let name = valid_name(&name)?;
                valid_content(&content)?;
                let version = if content == self.content {
                    self.version
                } else {
                    self.version + 1
                };
                sink.write(
                    ScriptEvent::ScriptSaved {
                        version,
                        name,
                        natural_input,
                        content,
                        saved_at: at,
                    },
                    self,
                )
                .await;
            }
            ScriptCommand::EditScript { name, content, at } => {
                self.ensure_live()?;
                valid_content(&content)?;
                let name = match name {
                    Some(name) => valid_name(&name)?,
                    None => self.name.clone(),
                };
                sink.write(
                    ScriptEvent::ScriptEdited {
                        version: self.version + 1,
                        name,
                        content,
                        edited_at: at,
                    },
                    self,
                )
                .await;
            }
            ScriptCommand::DeleteScript { at } => {
                self.ensure_live()?;
                sink.write(ScriptEvent::ScriptDeleted { deleted_at: at }, self)
                    .await;
            }
        }
        Ok(())
    }

    /// Applies one recorded event; it cannot fail.
    fn evolve(&mut self, event: ScriptEvent) {
        let drafted = matches!(event, ScriptEvent::ScriptDrafted { .. });
        let saved = matches!(event, ScriptEvent::ScriptSaved { .. });
        match event {
            ScriptEvent::ScriptCreated {
                owner_id,
                name,
                content,
                version,
                ..
            }
            | ScriptEvent::ScriptDrafted {
                owner_id,
                name,
                content,
                version,
                ..
            } => {
                self.created = true;
                self.draft = drafted;
                self.owner_id = owner_id;
                self.set_text(version, name, content);
            }
            ScriptEvent::ScriptSaved {
                version,
                name,
                content,
                ..
            }
            | ScriptEvent::ScriptEdited {
                version,
                name,
                content,
                ..
            } => {
                // Saving ends the draft; editing a draft keeps it one.
                if saved {
                    self.draft = false;
                }
                self.set_text(version, name, content);
            }
            ScriptEvent::ScriptDeleted { .. } => self.deleted = true,
        }
    }

    /// A version of the text becomes the script's current one.
    fn set_text(&mut self, version: u32, name: String, content: ScriptContent) {
        self.version = version;
        self.name = name;
        self.content = content;
    }

    /// A script is created once, under a valid name, with valid content; returns the trimmed name.
    fn check_new(&self, name: &str, content: &ScriptContent) -> Result<String, ScriptError> {
        if self.created {
            return Err(ScriptError::AlreadyExists);
        }
        let name = valid_name(name)?;
        valid_content(content)?;
        Ok(name)
    }
}
