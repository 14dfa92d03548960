//! `/api/v1/scripts/*`: generate a script from natural language, then save, list, read, edit
//! (each edit a new version) and delete it.
//!
//! What `scriptId` of a generated script is: every generated script is kept at once as a
//! **draft** (a `Script` aggregate in `DRAFT` status, version 1) under that id. A draft can be
//! read, edited and used by a campaign like any script, but `GET /scripts` lists only saved
//! scripts unless `?status=draft|all` is asked for. `POST /scripts` with `scriptId` saves that
//! draft under its id (the version moves on only if the content changed); without it, it saves
//! a new script. Drafts that are never saved stay in the history (with the writer that made
//! them) and out of the default list.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router, middleware};
use commands::script_writer::{ScriptRequest, WriterError};
use commands::{CommandContext, CommandError};
use domain::script::{
    FieldError, FlowStep, Language, MAX_NAME_CHARS, NextStep, ScriptCommand, ScriptContent,
    ScriptError, preview, validate,
};
use projections::Projection;
use projections::script_list::{ScriptList, ScriptRow, ScriptStatus};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiJson, created, ok, timestamp};
use crate::rate_limit;

/// Shortest natural-language request, in characters (PRD).
pub const MIN_INPUT_CHARS: usize = 10;
/// Longest natural-language request, in characters.
pub const MAX_INPUT_CHARS: usize = 2_000;
/// Longest business type, in characters.
pub const MAX_BUSINESS_TYPE_CHARS: usize = 50;
/// How long a write waits for the read model before answering (read-your-writes).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The routes of a signed-in user; `generate` has its own limit of 10 a minute.
pub fn router(state: &AppState) -> Router<AppState> {
    let generate_limit = middleware::from_fn_with_state(
        (state.limiter.clone(), rate_limit::GENERATE),
        rate_limit::per_user,
    );
    Router::new()
        .route(
            "/scripts/generate",
            post(generate).route_layer(generate_limit),
        )
        .route("/scripts", post(save).get(list))
        .route("/scripts/{id}", get(read).put(edit).delete(remove))
}

// ----- request bodies ------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GenerateBody {
    natural_input: String,
    #[serde(default)]
    context: Option<GenerateContext>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GenerateContext {
    #[serde(default)]
    business_type: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

/// `generatedScript` as clients send it: the seed's shape, unknown fields refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScriptBody {
    greeting: String,
    purpose: String,
    main_flow: Vec<StepBody>,
    closing: String,
    #[serde(default)]
    variables: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StepBody {
    step: u32,
    action: String,
    #[serde(default)]
    expected_responses: Vec<String>,
    #[serde(default)]
    next_step: Option<NextStepBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextStepBody {
    #[serde(default)]
    positive: Option<u32>,
    #[serde(default)]
    negative: Option<u32>,
}

impl From<ScriptBody> for ScriptContent {
    fn from(body: ScriptBody) -> Self {
        Self {
            greeting: body.greeting,
            purpose: body.purpose,
            main_flow: body
                .main_flow
                .into_iter()
                .map(|step| FlowStep {
                    step: step.step,
                    action: step.action,
                    expected_responses: step.expected_responses,
                    next_step: step
                        .next_step
                        .map_or_else(NextStep::default, |next| NextStep {
                            positive: next.positive,
                            negative: next.negative,
                        }),
                })
                .collect(),
            closing: body.closing,
            variables: body.variables,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SaveBody {
    name: String,
    natural_input: String,
    generated_script: ScriptBody,
    /// The draft to save (the `scriptId` `generate` answered); absent = a new script.
    #[serde(default)]
    script_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EditBody {
    #[serde(default)]
    name: Option<String>,
    generated_script: ScriptBody,
}

// ----- checks --------------------------------------------------------------------------------

fn invalid(message: impl Into<String>, errors: Vec<FieldError>) -> ApiError {
    ApiError::InvalidInput {
        message: message.into(),
        details: Some(json!(errors)),
    }
}

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

/// Refuses a body with any problem, naming every field at once.
fn refuse_if_any(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        return Ok(());
    }
    let message = match errors.len() {
        1 => format!("{}", errors[0]),
        n => format!("{n} problems: {}", errors[0]),
    };
    Err(invalid(message, errors))
}

fn command_error(err: CommandError<ScriptError>) -> ApiError {
    match err {
        CommandError::Rejected(ScriptError::NotFound | ScriptError::Deleted) => ApiError::NotFound,
        CommandError::Rejected(ScriptError::InvalidContent(errors)) => invalid(
            "the script is invalid",
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("generatedScript.{}", e.field), e.message))
                .collect(),
        ),
        CommandError::Rejected(error @ (ScriptError::EmptyName | ScriptError::NameTooLong)) => {
            invalid(
                error.to_string(),
                vec![FieldError::new("name", error.to_string())],
            )
        }
        CommandError::Rejected(
            error @ (ScriptError::AlreadyExists | ScriptError::AlreadySaved),
        ) => ApiError::Conflict(error.to_string()),
        CommandError::Conflict => {
            ApiError::Conflict("the script was changed at the same time; try again".into())
        }
        CommandError::Store(detail) => ApiError::internal(detail),
    }
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound)
}

// ----- helpers -------------------------------------------------------------------------------

impl AppState {
    /// Waits until the script list shows everything committed so far. Follows this process's
    /// projection runner, and the stored checkpoint for when another process projects.
    async fn scripts_settled(&self) -> Result<(), ApiError> {
        let head = self.store.head().await.map_err(ApiError::internal)?;
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            if self
                .script_list
                .wait_for(head, Duration::from_millis(200))
                .await
            {
                return Ok(());
            }
            let stored = self
                .store
                .checkpoint(ScriptList.name())
                .await
                .map_err(ApiError::internal)?;
            if stored >= head {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::internal(
                    "the script list did not catch up within 10 s (is a projector running?)",
                ));
            }
        }
    }

    async fn owned_script(&self, user: &CurrentUser, id: &str) -> Result<ScriptRow, ApiError> {
        let id = parse_id(id)?;
        ScriptList::find(self.store.db().pool(), user.account_id, id)
            .await
            .map_err(ApiError::internal)?
            .ok_or(ApiError::NotFound)
    }

    async fn run_script_command(
        &self,
        user: &CurrentUser,
        id: Uuid,
        command: ScriptCommand,
    ) -> Result<(), ApiError> {
        let context = CommandContext::new(user.account_id.to_string());
        self.scripts
            .execute(&id.to_string(), command, &context)
            .await
            .map_err(command_error)?;
        self.scripts_settled().await
    }
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

fn summary(row: &ScriptRow) -> Value {
    json!({
        "id": row.id,
        "name": row.name,
        "status": row.status.as_str(),
        "version": row.version,
        "naturalInput": row.natural_input,
        "createdAt": timestamp(row.created_at),
        "updatedAt": timestamp(row.updated_at),
    })
}

fn detail(row: &ScriptRow) -> Value {
    let mut body = summary(row);
    body["generatedScript"] = json!(row.content);
    body["preview"] = json!(preview(&row.content, row.content.language()));
    body["language"] = json!(row.content.language());
    body["writer"] = json!(row.writer);
    body
}

// ----- handlers ------------------------------------------------------------------------------

#[tracing::instrument(skip_all, fields(account = %user.account_id))]
async fn generate(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<GenerateBody>,
) -> Result<Response, ApiError> {
    let context = body.context.unwrap_or(GenerateContext {
        business_type: None,
        language: None,
    });
    let chars = body.natural_input.trim().chars().count();
    if chars < MIN_INPUT_CHARS {
        return Err(invalid(
            "Natural input too short",
            input_errors("naturalInput", &body.natural_input, MIN_INPUT_CHARS),
        ));
    }
    let mut errors = input_errors("naturalInput", &body.natural_input, MIN_INPUT_CHARS);
    let language = match context.language.as_deref() {
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
    let business_type = context
        .business_type
        .map(|business| business.trim().to_owned())
        .filter(|business| !business.is_empty());
    if let Some(business) = &business_type
        && business.chars().count() > MAX_BUSINESS_TYPE_CHARS
    {
        errors.push(FieldError::new(
            "context.businessType",
            format!("at most {MAX_BUSINESS_TYPE_CHARS} characters"),
        ));
    }
    refuse_if_any(errors)?;

    let natural_input = body.natural_input.trim().to_owned();
    let request = ScriptRequest {
        natural_input: natural_input.clone(),
        business_type,
        language,
    };
    let writer = state.script_writer.name();
    let written = state.script_writer.write(&request).await.map_err(|err| {
        tracing::warn!(writer, error = %err, "script generation failed");
        ApiError::GenerationFailed {
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
    })?;
    if let Err(errors) = validate(&written.content) {
        // Writers only return valid scripts; never keep one that is not.
        return Err(ApiError::internal(format!(
            "the {writer} writer returned an invalid script: {errors:?}"
        )));
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
        owner_id: user.account_id,
        name: draft_name(&natural_input),
        natural_input: natural_input.clone(),
        content: written.content.clone(),
        writer: writer.to_owned(),
        at: state.clock.now(),
    };
    state.run_script_command(&user, script_id, command).await?;
    Ok(ok(json!({
        "scriptId": script_id,
        "naturalInput": natural_input,
        "generatedScript": written.content,
        "preview": preview(&written.content, language),
    }))
    .into_response())
}

#[tracing::instrument(skip_all, fields(account = %user.account_id))]
async fn save(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiJson(body): ApiJson<SaveBody>,
) -> Result<Response, ApiError> {
    let content = ScriptContent::from(body.generated_script);
    let mut errors = name_errors(&body.name);
    errors.extend(input_errors("naturalInput", &body.natural_input, 0));
    errors.extend(script_errors(&content));
    refuse_if_any(errors)?;
    let now = state.clock.now();
    let (id, command) = match body.script_id {
        Some(draft) => {
            let draft = state.owned_script(&user, &draft).await?;
            if draft.status != ScriptStatus::Draft {
                return Err(ApiError::Conflict(
                    "this script is already saved; change it with PUT /api/v1/scripts/{id}".into(),
                ));
            }
            let command = ScriptCommand::SaveDraft {
                name: body.name,
                natural_input: body.natural_input.trim().to_owned(),
                content,
                at: now,
            };
            (draft.id, command)
        }
        None => {
            let command = ScriptCommand::CreateScript {
                owner_id: user.account_id,
                name: body.name,
                natural_input: body.natural_input.trim().to_owned(),
                content,
                at: now,
            };
            (Uuid::now_v7(), command)
        }
    };
    state.run_script_command(&user, id, command).await?;
    let row = state.owned_script(&user, &id.to_string()).await?;
    Ok(created(json!({
        "id": row.id,
        "name": row.name,
        "createdAt": timestamp(row.created_at),
        "version": row.version,
        "status": row.status.as_str(),
    }))
    .into_response())
}

async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if let Some(unknown) = query.keys().find(|key| key.as_str() != "status") {
        return Err(invalid(
            format!("unknown query parameter \"{unknown}\""),
            vec![FieldError::new(
                unknown.clone(),
                "is not a parameter of this list",
            )],
        ));
    }
    let wanted = match query
        .get("status")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("saved") => Some(ScriptStatus::Saved),
        Some("draft") => Some(ScriptStatus::Draft),
        Some("all") => None,
        Some(other) => {
            return Err(invalid(
                format!("status \"{other}\" is not one of saved, draft, all"),
                vec![FieldError::new("status", "must be saved, draft or all")],
            ));
        }
    };
    let rows = ScriptList::for_owner(state.store.db().pool(), user.account_id, true)
        .await
        .map_err(ApiError::internal)?;
    let items: Vec<Value> = rows
        .iter()
        .filter(|row| wanted.is_none_or(|status| row.status == status))
        .map(summary)
        .collect();
    Ok(ok(items).into_response())
}

async fn read(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let row = state.owned_script(&user, &id).await?;
    if let Some(unknown) = query.keys().find(|key| key.as_str() != "version") {
        return Err(invalid(
            format!("unknown query parameter \"{unknown}\""),
            vec![FieldError::new(unknown.clone(), "is not a parameter here")],
        ));
    }
    let Some(version) = query.get("version") else {
        return Ok(ok(detail(&row)).into_response());
    };
    let version: u32 = version.parse().map_err(|_| {
        invalid(
            "version must be a positive whole number",
            vec![FieldError::new(
                "version",
                "must be a positive whole number",
            )],
        )
    })?;
    let old = ScriptList::find_version(state.store.db().pool(), user.account_id, row.id, version)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::NotFound)?;
    let mut body = detail(&ScriptRow {
        version: old.version,
        content: old.content,
        updated_at: old.recorded_at,
        ..row.clone()
    });
    body["currentVersion"] = json!(row.version);
    Ok(ok(body).into_response())
}

#[tracing::instrument(skip_all, fields(account = %user.account_id, script = %id))]
async fn edit(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Response, ApiError> {
    let row = state.owned_script(&user, &id).await?;
    let content = ScriptContent::from(body.generated_script);
    let mut errors = body.name.as_deref().map(name_errors).unwrap_or_default();
    errors.extend(script_errors(&content));
    refuse_if_any(errors)?;
    let command = ScriptCommand::EditScript {
        name: body.name,
        content,
        at: state.clock.now(),
    };
    state.run_script_command(&user, row.id, command).await?;
    let row = state.owned_script(&user, &id).await?;
    Ok(ok(detail(&row)).into_response())
}

#[tracing::instrument(skip_all, fields(account = %user.account_id, script = %id))]
async fn remove(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = state.owned_script(&user, &id).await?;
    let command = ScriptCommand::DeleteScript {
        at: state.clock.now(),
    };
    state.run_script_command(&user, row.id, command).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
