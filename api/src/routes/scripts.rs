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

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, middleware};
use commands::script_writer::{ScriptRequest, WriterError};
use commands::{CommandContext, CommandError};
use domain::script::{
    FieldError, FlowStep, Language, MAX_NAME_CHARS, NextStep, ScriptCommand, ScriptContent,
    ScriptError, preview, validate,
};
use openapi::{ErrorBody, Success, tags};
use projections::Projection;
use projections::script_list::{ScriptList, ScriptRow, ScriptStatus};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiJson, ApiQuery, created, ok, timestamp};
use crate::rate_limit::{self, RateLimiter};
use crate::state::AppState;

/// Shortest natural-language request, in characters (PRD).
pub const MIN_INPUT_CHARS: usize = 10;
/// Longest natural-language request, in characters.
pub const MAX_INPUT_CHARS: usize = 2_000;
/// Longest business type, in characters.
pub const MAX_BUSINESS_TYPE_CHARS: usize = 50;
/// How long a write waits for the read model before answering (read-your-writes).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The routes of a signed-in user; `generate` has its own limit of 10 a minute.
pub fn router(limiter: &Arc<RateLimiter>) -> OpenApiRouter<AppState> {
    let generate_limit = middleware::from_fn_with_state(
        (limiter.clone(), rate_limit::GENERATE),
        rate_limit::per_user,
    );
    OpenApiRouter::new()
        .routes(routes!(generate).map(|route| route.route_layer(generate_limit)))
        .routes(routes!(save, list))
        .routes(routes!(read, edit, remove))
}

// ----- request bodies ------------------------------------------------------------------------

/// What the calls should do, in the owner's words (PRD `POST /scripts/generate`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({
    "naturalInput": "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 제안해줘. 취소하면 취소 사유도 물어봐줘.",
    "context": { "businessType": "clinic", "language": "ko" }
}))]
struct GenerateBody {
    /// 10 to 2000 characters.
    #[schema(min_length = 10, max_length = 2000)]
    natural_input: String,
    #[serde(default)]
    context: Option<GenerateContext>,
}

/// Hints for the writer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GenerateContext {
    /// clinic, salon, academy… (at most 50 characters).
    #[serde(default)]
    #[schema(max_length = 50, example = "clinic")]
    business_type: Option<String>,
    /// `ko` (default) or `en`.
    #[serde(default)]
    #[schema(example = "ko")]
    language: Option<String>,
}

/// `generatedScript` as clients send it: the seed's shape, unknown fields refused.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScriptBody {
    greeting: String,
    purpose: String,
    main_flow: Vec<StepBody>,
    closing: String,
    #[serde(default)]
    variables: Vec<String>,
}

/// One step of the conversation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StepBody {
    step: u32,
    action: String,
    #[serde(default)]
    expected_responses: Vec<String>,
    #[serde(default)]
    next_step: Option<NextStepBody>,
}

/// The step after a positive or a negative answer; absent ends the flow.
#[derive(Deserialize, ToSchema)]
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

/// A script to save (PRD `POST /scripts`), optionally the draft `generate` made.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({
    "name": "예약 확인 스크립트",
    "naturalInput": "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 제안해줘.",
    "generatedScript": {
        "greeting": "안녕하세요, {customerName}님. 행복치과입니다.",
        "purpose": "내일 예약을 확인하려고 연락드렸습니다.",
        "mainFlow": [{
            "step": 1,
            "action": "{appointmentTime} 예약이 맞는지 여쭙니다.",
            "expectedResponses": ["네", "변경하고 싶어요"],
            "nextStep": { "positive": 2, "negative": 2 }
        }, {
            "step": 2,
            "action": "감사 인사를 드립니다.",
            "expectedResponses": [],
            "nextStep": {}
        }],
        "closing": "감사합니다. 좋은 하루 보내세요.",
        "variables": ["{customerName}", "{appointmentTime}"]
    }
}))]
struct SaveBody {
    name: String,
    natural_input: String,
    generated_script: ScriptBody,
    /// The draft to save (the `scriptId` `generate` answered); absent = a new script.
    #[serde(default)]
    #[schema(format = Uuid)]
    script_id: Option<String>,
}

/// A new version of a script (and optionally a new name).
#[derive(Deserialize, ToSchema)]
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

/// Writes a call script from natural language and keeps it as a draft under `scriptId`
/// (10 a minute per user).
#[utoipa::path(
    post, path = "/scripts/generate", tag = tags::SCRIPTS,
    request_body = GenerateBody,
    responses(
        (status = 200, description = "The script, kept as a draft", body = Success<Generated>),
        (status = 400, description = "`INVALID_INPUT` (e.g. \"Natural input too short\"), `GENERATION_FAILED` (the writer failed; `details.reason`)", body = ErrorBody),
    ),
)]
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

/// Saves a script: a new one, or the draft named by `scriptId`.
#[utoipa::path(
    post, path = "/scripts", tag = tags::SCRIPTS,
    request_body = SaveBody,
    responses(
        (status = 201, description = "Saved", body = Success<ScriptSaved>),
        (status = 400, description = "`INVALID_INPUT`: every problem of the name and script in `details`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such draft", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: the draft is already saved", body = ErrorBody),
    ),
)]
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

/// The account's scripts, newest first.
#[utoipa::path(
    get, path = "/scripts", tag = tags::SCRIPTS,
    params(("status" = Option<String>, Query, description = "`saved` (default), `draft` or `all`", example = "saved")),
    responses(
        (status = 200, description = "Scripts", body = Success<Vec<ScriptSummary>>),
        (status = 400, description = "`INVALID_INPUT`: an unknown parameter or status", body = ErrorBody),
    ),
)]
async fn list(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
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

/// One script, its current version or an older one.
#[utoipa::path(
    get, path = "/scripts/{id}", tag = tags::SCRIPTS,
    params(
        ("id" = Uuid, Path, description = "Script id"),
        ("version" = Option<u32>, Query, description = "An older version (1 is the first)", minimum = 1),
    ),
    responses(
        (status = 200, description = "The script", body = Success<ScriptDetail>),
        (status = 400, description = "`INVALID_INPUT`: a bad version or an unknown parameter", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: no such script or version", body = ErrorBody),
    ),
)]
async fn read(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
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

/// Edits a script: a new version.
#[utoipa::path(
    put, path = "/scripts/{id}", tag = tags::SCRIPTS,
    params(("id" = Uuid, Path, description = "Script id")),
    request_body = EditBody,
    responses(
        (status = 200, description = "The new version", body = Success<ScriptDetail>),
        (status = 400, description = "`INVALID_INPUT`: every problem in `details`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`CONFLICT`: changed at the same time; try again", body = ErrorBody),
    ),
)]
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

/// Deletes a script (campaigns that use it keep their copy).
#[utoipa::path(
    delete, path = "/scripts/{id}", tag = tags::SCRIPTS,
    params(("id" = Uuid, Path, description = "Script id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
    ),
)]
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

// ----- answers, for the document (the handlers build the same JSON; the contract run checks it) --

/// A script written from natural language, kept as a draft.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct Generated {
    /// The draft's id: read, edit, save (`POST /scripts` with `scriptId`) or use it.
    script_id: Uuid,
    natural_input: String,
    generated_script: ScriptContent,
    /// The script as readable text.
    preview: String,
}

/// A saved script.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct ScriptSaved {
    id: Uuid,
    name: String,
    #[schema(format = DateTime)]
    created_at: String,
    version: u32,
    status: ScriptState,
}

/// Whether a script was saved or is still the draft `generate` made.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ScriptState {
    Draft,
    Saved,
}

/// A script in a list.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct ScriptSummary {
    id: Uuid,
    name: String,
    status: ScriptState,
    version: u32,
    natural_input: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// A script with its content.
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
struct ScriptDetail {
    id: Uuid,
    name: String,
    status: ScriptState,
    /// The version shown.
    version: u32,
    natural_input: String,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    generated_script: ScriptContent,
    preview: String,
    language: Language,
    /// Which writer made it (`offline`, `openai`, or null when typed in).
    writer: Option<String>,
    /// The latest version, when an older one was asked for.
    current_version: Option<u32>,
}
