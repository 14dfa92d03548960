//! Call scripts: generate one from natural language (through the [`ScriptWriter`] port), then
//! save, list, read (any version), edit (each edit a new version) and delete it.
//!
//! What `scriptId` of a generated script is: every generated script is kept at once as a
//! **draft** (a `Script` aggregate in `DRAFT` status, version 1) under that id. A draft can be
//! read, edited and used by a campaign like any script, but the default list shows only saved
//! scripts. Saving with `scriptId` saves that draft under its id (the version moves on only if
//! the content changed); without it, it saves a new script. Drafts that are never saved stay in
//! the history (with the writer that made them) and out of the default list.
//!
//! Reads go through the [`ScriptCatalog`] port (the read side implements it); every write
//! waits until the catalog shows it, so a client reads its own writes.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::script::{
    FieldError, Language, MAX_NAME_CHARS, Script, ScriptCommand, ScriptContent, ScriptError,
    preview, validate,
};
use serde::Serialize;
use uuid::Uuid;

use crate::script_writer::{ScriptRequest, ScriptWriter, WriterError};
use crate::{Clock, CommandContext, CommandError, Commands};

/// Shortest natural-language request, in characters (PRD).
pub const MIN_INPUT_CHARS: usize = 10;
/// Longest natural-language request, in characters.
pub const MAX_INPUT_CHARS: usize = domain::limits::SCRIPT_REQUEST.max;
/// Longest business type, in characters.
pub const MAX_BUSINESS_TYPE_CHARS: usize = domain::limits::BUSINESS_TYPE.max;

// ----- the read-side port ---------------------------------------------------------------------

/// A live script at its current version, as the read side shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptRecord {
    pub id: Uuid,
    pub name: String,
    pub status: ScriptState,
    pub version: u32,
    pub content: ScriptContent,
    pub natural_input: String,
    /// The writer that generated it; `None` when saved without generating.
    pub writer: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of a script.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptVersionRecord {
    pub version: u32,
    pub content: ScriptContent,
    pub recorded_at: DateTime<Utc>,
}

/// The read model of scripts (a port: `projections` implements it over its script list).
#[async_trait]
pub trait ScriptCatalog: Send + Sync {
    /// The owner's live script (drafts included); `None` if missing, deleted or another's.
    async fn find(&self, owner: Uuid, id: Uuid) -> Result<Option<ScriptRecord>, CatalogError>;
    /// The owner's live scripts, drafts included, newest first.
    async fn for_owner(&self, owner: Uuid) -> Result<Vec<ScriptRecord>, CatalogError>;
    /// One version of the owner's script.
    async fn find_version(
        &self,
        owner: Uuid,
        id: Uuid,
        version: u32,
    ) -> Result<Option<ScriptVersionRecord>, CatalogError>;
    /// Returns once the catalog shows everything committed so far.
    async fn caught_up(&self) -> Result<(), CatalogError>;
}

/// The read side failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading the script list: {0}")]
    Read(String),
    #[error("the script list did not catch up within {seconds} s (is a projector running?)")]
    Lagging { seconds: u64 },
}

// ----- inputs and answers -----------------------------------------------------------------------

/// What the calls should do, in the owner's words, with hints for the writer.
#[derive(Debug, Clone, Default)]
pub struct GenerateInput {
    pub natural_input: String,
    /// clinic, salon, academy… (at most 50 characters).
    pub business_type: Option<String>,
    /// `ko` (default) or `en`, as typed.
    pub language: Option<String>,
}

/// A script to save, optionally the draft `generate` made.
#[derive(Debug, Clone)]
pub struct SaveInput {
    pub name: String,
    pub natural_input: String,
    pub content: ScriptContent,
    /// The draft to save, as typed; `None` saves a new script.
    pub script_id: Option<String>,
}

/// A new version of a script, optionally renamed.
#[derive(Debug, Clone)]
pub struct EditInput {
    pub name: Option<String>,
    pub content: ScriptContent,
}

/// Which scripts a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScriptFilter {
    #[default]
    Saved,
    Draft,
    All,
}

impl ScriptFilter {
    /// `saved` (also when absent), `draft` or `all`, any case.
    pub fn parse(status: Option<&str>) -> Result<Self, ScriptsError> {
        match status.map(str::to_ascii_lowercase).as_deref() {
            None | Some("saved") => Ok(Self::Saved),
            Some("draft") => Ok(Self::Draft),
            Some("all") => Ok(Self::All),
            Some(other) => Err(ScriptsError::invalid(
                format!("status \"{other}\" is not one of saved, draft, all"),
                vec![FieldError::new("status", "must be saved, draft or all")],
            )),
        }
    }

    fn shows(self, state: ScriptState) -> bool {
        match self {
            Self::Saved => state == ScriptState::Saved,
            Self::Draft => state == ScriptState::Draft,
            Self::All => true,
        }
    }
}

/// Whether a script was saved or is still the draft `generate` made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScriptState {
    /// Generated and kept, not saved under a name yet (hidden from the default list).
    Draft,
    /// Saved by the owner.
    Saved,
}

impl ScriptState {
    /// The wire and column name: `DRAFT` or `SAVED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Saved => "SAVED",
        }
    }

    /// The state named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "DRAFT" => Some(Self::Draft),
            "SAVED" => Some(Self::Saved),
            _ => None,
        }
    }
}

/// A script written from natural language, kept as a draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Generated {
    /// The draft's id: read, edit, save (`POST /scripts` with `scriptId`) or use it.
    pub script_id: Uuid,
    pub natural_input: String,
    pub generated_script: ScriptContent,
    /// The script as readable text.
    pub preview: String,
}

/// A saved script.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScriptSaved {
    pub id: Uuid,
    pub name: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
    pub version: u32,
    pub status: ScriptState,
}

/// A script in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScriptSummary {
    pub id: Uuid,
    pub name: String,
    pub status: ScriptState,
    pub version: u32,
    pub natural_input: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub updated_at: String,
}

/// A script with its content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScriptDetail {
    pub id: Uuid,
    pub name: String,
    pub status: ScriptState,
    /// The version shown.
    pub version: u32,
    pub natural_input: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub updated_at: String,
    pub generated_script: ScriptContent,
    pub preview: String,
    pub language: Language,
    /// Which writer made it (`offline`, `openai`, or null when typed in).
    pub writer: Option<String>,
    /// The latest version, when an older one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u32>,
}

// ----- errors -----------------------------------------------------------------------------------

/// Why a script use case was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ScriptsError {
    /// Every problem of the request at once, with paths from the body's root.
    #[error("{message}")]
    Invalid {
        message: String,
        errors: Vec<FieldError>,
    },
    /// The writer could not produce a usable script.
    #[error("Failed to generate script")]
    GenerationFailed { reason: String },
    #[error("not found")]
    NotFound,
    /// Already exists, already saved, or changed at the same time.
    #[error("{0}")]
    Conflict(String),
    /// A writer returned a script that breaks the rules (a bug in the writer).
    #[error("the {writer} writer returned an invalid script: {errors:?}")]
    InvalidWriterOutput {
        writer: &'static str,
        errors: Vec<FieldError>,
    },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("event store: {0}")]
    Store(String),
}

impl ScriptsError {
    /// Problems of the request.
    pub fn invalid(message: impl Into<String>, errors: Vec<FieldError>) -> Self {
        Self::Invalid {
            message: message.into(),
            errors,
        }
    }
}

impl From<CommandError<ScriptError>> for ScriptsError {
    fn from(err: CommandError<ScriptError>) -> Self {
        match err {
            CommandError::Rejected(ScriptError::NotFound | ScriptError::Deleted) => Self::NotFound,
            CommandError::Rejected(ScriptError::InvalidContent(errors)) => Self::invalid(
                "the script is invalid",
                errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("generatedScript.{}", e.field), e.message))
                    .collect(),
            ),
            CommandError::Rejected(error @ (ScriptError::EmptyName | ScriptError::NameTooLong)) => {
                Self::invalid(
                    error.to_string(),
                    vec![FieldError::new("name", error.to_string())],
                )
            }
            CommandError::Rejected(
                error @ (ScriptError::AlreadyExists | ScriptError::AlreadySaved),
            ) => Self::Conflict(error.to_string()),
            CommandError::Conflict => {
                Self::Conflict("the script was changed at the same time; try again".into())
            }
            CommandError::Store(detail) => Self::Store(detail.to_string()),
        }
    }
}

impl From<WriterError> for ScriptsError {
    fn from(err: WriterError) -> Self {
        Self::GenerationFailed {
            reason: match err {
                WriterError::GenerationFailed { reason } => reason,
                WriterError::TimedOut { budget } => {
                    format!("the model did not answer within {} s", budget.as_secs_f32())
                }
                WriterError::Provider { status, .. } => {
                    format!("the model provider is unavailable (HTTP {status}); try again later")
                }
                WriterError::Unreachable(_) => {
                    "the model provider cannot be reached; try again later".to_owned()
                }
            },
        }
    }
}

// ----- checks -----------------------------------------------------------------------------------

/// The rule problems of a script sent in the body, with paths from the body's root.
fn script_errors(content: &ScriptContent) -> Vec<FieldError> {
    validate(content)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|error| FieldError::new(format!("generatedScript.{}", error.field), error.message))
        .collect()
}

fn name_errors(name: &str) -> Vec<FieldError> {
    let chars = name.trim().chars().count();
    if chars == 0 {
        vec![FieldError::new("name", "must not be empty")]
    } else if chars > MAX_NAME_CHARS {
        vec![FieldError::new(
            "name",
            format!("is {chars} characters long; at most {MAX_NAME_CHARS} are allowed"),
        )]
    } else {
        Vec::new()
    }
}

fn input_errors(field: &str, input: &str, min: usize) -> Vec<FieldError> {
    let chars = input.trim().chars().count();
    if chars < min {
        vec![FieldError::new(
            field,
            format!("needs at least {min} characters (has {chars})"),
        )]
    } else if chars > MAX_INPUT_CHARS {
        vec![FieldError::new(
            field,
            format!("is {chars} characters long; at most {MAX_INPUT_CHARS} are allowed"),
        )]
    } else {
        Vec::new()
    }
}

/// Refuses a request with any problem, naming every field at once.
fn refuse_if_any(errors: Vec<FieldError>) -> Result<(), ScriptsError> {
    if errors.is_empty() {
        return Ok(());
    }
    let message = match errors.len() {
        1 => format!("{}", errors[0]),
        n => format!("{n} problems: {}", errors[0]),
    };
    Err(ScriptsError::invalid(message, errors))
}

/// The writer's language and business type from the hints, or every problem with them.
fn writer_hints(input: &GenerateInput) -> Result<(Language, Option<String>), ScriptsError> {
    let mut errors = input_errors("naturalInput", &input.natural_input, MIN_INPUT_CHARS);
    let language = match input.language.as_deref() {
        None => Language::Ko,
        Some(code) => match code.trim().to_ascii_lowercase().as_str() {
            "ko" => Language::Ko,
            "en" => Language::En,
            _ => {
                errors.push(FieldError::new(
                    "context.language",
                    format!("\"{code}\" is not supported; use \"ko\" or \"en\""),
                ));
                Language::Ko
            }
        },
    };
    let business_type = input
        .business_type
        .as_deref()
        .map(str::trim)
        .filter(|business| !business.is_empty())
        .map(str::to_owned);
    if let Some(business) = &business_type
        && business.chars().count() > MAX_BUSINESS_TYPE_CHARS
    {
        errors.push(FieldError::new(
            "context.businessType",
            format!("at most {MAX_BUSINESS_TYPE_CHARS} characters"),
        ));
    }
    refuse_if_any(errors)?;
    Ok((language, business_type))
}

/// A draft's name until the owner picks one: the request's first words.
fn draft_name(input: &str) -> String {
    const MAX: usize = 40;
    let words = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= MAX {
        words
    } else {
        let cut: String = words.chars().take(MAX - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// API times: RFC 3339 UTC with milliseconds.
fn api_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn summary(record: &ScriptRecord) -> ScriptSummary {
    ScriptSummary {
        id: record.id,
        name: record.name.clone(),
        status: record.status,
        version: record.version,
        natural_input: record.natural_input.clone(),
        created_at: api_time(record.created_at),
        updated_at: api_time(record.updated_at),
    }
}

fn detail(record: ScriptRecord, current_version: Option<u32>) -> ScriptDetail {
    let language = record.content.language();
    ScriptDetail {
        id: record.id,
        status: record.status,
        version: record.version,
        created_at: api_time(record.created_at),
        updated_at: api_time(record.updated_at),
        preview: preview(&record.content, language),
        language,
        name: record.name,
        natural_input: record.natural_input,
        generated_script: record.content,
        writer: record.writer,
        current_version,
    }
}

// ----- the service ------------------------------------------------------------------------------

/// The script use cases.
#[derive(Clone)]
pub struct ScriptService {
    scripts: Arc<Commands<Script>>,
    catalog: Arc<dyn ScriptCatalog>,
    writer: Arc<dyn ScriptWriter>,
    clock: Arc<dyn Clock>,
}

impl ScriptService {
    /// The service over the script history, its read model, a writer and a clock.
    pub fn new(
        scripts: Arc<Commands<Script>>,
        catalog: Arc<dyn ScriptCatalog>,
        writer: Arc<dyn ScriptWriter>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            scripts,
            catalog,
            writer,
            clock,
        }
    }

    /// Writes a call script from natural language and keeps it as a draft.
    #[tracing::instrument(skip_all, fields(account = %owner))]
    pub async fn generate(
        &self,
        owner: Uuid,
        input: GenerateInput,
    ) -> Result<Generated, ScriptsError> {
        let chars = input.natural_input.trim().chars().count();
        if chars < MIN_INPUT_CHARS {
            return Err(ScriptsError::invalid(
                "Natural input too short",
                input_errors("naturalInput", &input.natural_input, MIN_INPUT_CHARS),
            ));
        }
        let (language, business_type) = writer_hints(&input)?;
        let natural_input = input.natural_input.trim().to_owned();
        let request = ScriptRequest {
            natural_input: natural_input.clone(),
            business_type,
            language,
        };
        let writer = self.writer.name();
        let written = self.writer.write(&request).await.inspect_err(|err| {
            tracing::warn!(writer, error = %err, "script generation failed");
        })?;
        if let Err(errors) = validate(&written.content) {
            // Writers only return valid scripts; never keep one that is not.
            return Err(ScriptsError::InvalidWriterOutput { writer, errors });
        }
        if let Some(usage) = written.usage {
            tracing::info!(
                writer,
                prompt_tokens = usage.prompt_tokens,
                completion_tokens = usage.completion_tokens,
                "script generated"
            );
        }
        let script_id = Uuid::now_v7();
        let command = ScriptCommand::DraftScript {
            owner_id: owner,
            name: draft_name(&natural_input),
            natural_input: natural_input.clone(),
            content: written.content.clone(),
            writer: writer.to_owned(),
            at: self.clock.now(),
        };
        self.run(owner, script_id, command).await?;
        Ok(Generated {
            script_id,
            natural_input,
            preview: preview(&written.content, language),
            generated_script: written.content,
        })
    }

    /// Saves a script: a new one, or the draft named by `script_id`.
    #[tracing::instrument(skip_all, fields(account = %owner))]
    pub async fn save(&self, owner: Uuid, input: SaveInput) -> Result<ScriptSaved, ScriptsError> {
        let mut errors = name_errors(&input.name);
        errors.extend(input_errors("naturalInput", &input.natural_input, 0));
        errors.extend(script_errors(&input.content));
        refuse_if_any(errors)?;
        let now = self.clock.now();
        let natural_input = input.natural_input.trim().to_owned();
        let (id, command) = match input.script_id {
            Some(draft) => {
                let draft = self.owned(owner, &draft).await?;
                if draft.status != ScriptState::Draft {
                    return Err(ScriptsError::Conflict(
                        "this script is already saved; change it with PUT /api/v1/scripts/{id}"
                            .into(),
                    ));
                }
                let command = ScriptCommand::SaveDraft {
                    name: input.name,
                    natural_input,
                    content: input.content,
                    at: now,
                };
                (draft.id, command)
            }
            None => {
                let command = ScriptCommand::CreateScript {
                    owner_id: owner,
                    name: input.name,
                    natural_input,
                    content: input.content,
                    at: now,
                };
                (Uuid::now_v7(), command)
            }
        };
        self.run(owner, id, command).await?;
        let record = self.owned(owner, &id.to_string()).await?;
        Ok(ScriptSaved {
            id: record.id,
            created_at: api_time(record.created_at),
            version: record.version,
            status: record.status,
            name: record.name,
        })
    }

    /// The owner's scripts, newest first.
    pub async fn list(
        &self,
        owner: Uuid,
        filter: ScriptFilter,
    ) -> Result<Vec<ScriptSummary>, ScriptsError> {
        let records = self.catalog.for_owner(owner).await?;
        Ok(records
            .iter()
            .filter(|record| filter.shows(record.status))
            .map(summary)
            .collect())
    }

    /// One script (`id` as typed), at its current version or an older one.
    pub async fn get(
        &self,
        owner: Uuid,
        id: &str,
        version: Option<u32>,
    ) -> Result<ScriptDetail, ScriptsError> {
        let record = self.owned(owner, id).await?;
        let Some(version) = version else {
            return Ok(detail(record, None));
        };
        let old = self
            .catalog
            .find_version(owner, record.id, version)
            .await?
            .ok_or(ScriptsError::NotFound)?;
        let current = record.version;
        let shown = ScriptRecord {
            version: old.version,
            content: old.content,
            updated_at: old.recorded_at,
            ..record
        };
        Ok(detail(shown, Some(current)))
    }

    /// Edits a script: a new version.
    #[tracing::instrument(skip_all, fields(account = %owner, script = %id))]
    pub async fn update(
        &self,
        owner: Uuid,
        id: &str,
        input: EditInput,
    ) -> Result<ScriptDetail, ScriptsError> {
        let record = self.owned(owner, id).await?;
        let mut errors = input.name.as_deref().map(name_errors).unwrap_or_default();
        errors.extend(script_errors(&input.content));
        refuse_if_any(errors)?;
        let command = ScriptCommand::EditScript {
            name: input.name,
            content: input.content,
            at: self.clock.now(),
        };
        self.run(owner, record.id, command).await?;
        Ok(detail(self.owned(owner, id).await?, None))
    }

    /// Deletes a script (campaigns that use it keep their copy).
    #[tracing::instrument(skip_all, fields(account = %owner, script = %id))]
    pub async fn delete(&self, owner: Uuid, id: &str) -> Result<(), ScriptsError> {
        let record = self.owned(owner, id).await?;
        let command = ScriptCommand::DeleteScript {
            at: self.clock.now(),
        };
        self.run(owner, record.id, command).await
    }

    /// The owner's live script `id` (as typed); anything else is not found.
    async fn owned(&self, owner: Uuid, id: &str) -> Result<ScriptRecord, ScriptsError> {
        let id: Uuid = id.parse().map_err(|_| ScriptsError::NotFound)?;
        self.catalog
            .find(owner, id)
            .await?
            .ok_or(ScriptsError::NotFound)
    }

    /// Runs a command, then waits until the catalog shows it (read-your-writes).
    async fn run(&self, owner: Uuid, id: Uuid, command: ScriptCommand) -> Result<(), ScriptsError> {
        let context = CommandContext::new(owner.to_string());
        self.scripts
            .execute(&id.to_string(), command, &context)
            .await?;
        Ok(self.catalog.caught_up().await?)
    }
}

#[cfg(test)]
#[path = "scripts_tests.rs"]
mod tests;
