//! `/api/v1/scripts/*`: generate a script from natural language, then save, list, read, edit
//! (each edit a new version) and delete it. The rules, and what a draft is, are
//! `commands::services::scripts`; these handlers only translate HTTP.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use commands::services::scripts::{
    EditInput, GenerateInput, Generated, SaveInput, ScriptDetail, ScriptFilter, ScriptSaved,
    ScriptService, ScriptSummary, ScriptsError,
};
use domain::script::{FieldError, FlowStep, NextStep, ScriptContent};
use openapi::{Deleted, ErrorBody, NotFound, Success, tags};
use projections::script_catalog::ScriptListCatalog;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::auth::{SignedIn, UserPath};
use crate::error::{ApiError, ApiJson, ApiQuery, Envelope, created, ok};
use crate::rate_limit::{self, RateLimiter};
use crate::state::AppState;

/// The routes of a signed-in user; `generate` has its own limit of 10 a minute.
pub fn router(limiter: &Arc<RateLimiter>) -> OpenApiRouter<AppState> {
    let generate_limit = middleware::from_fn_with_state(
        (limiter.clone(), rate_limit::GENERATE),
        crate::auth::per_user,
    );
    OpenApiRouter::new()
        .routes(routes!(generate).map(|route| route.route_layer(generate_limit)))
        .routes(routes!(save, list))
        .routes(routes!(read, edit, remove))
}

// ----- request bodies ------------------------------------------------------------------------

/// What the calls should do, in the owner's words (PRD `POST /scripts/generate`).
#[derive(Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({
    "naturalInput": "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 제안해줘. 취소하면 취소 사유도 물어봐줘.",
    "context": { "businessType": "clinic", "language": "ko" }
}))]
pub struct GenerateBody {
    /// What the calls should do, in the owner's words: 10 to 2000 characters.
    #[schema(min_length = 10, max_length = 2000)]
    natural_input: String,
    #[serde(default)]
    context: Option<GenerateContext>,
}

impl GenerateBody {
    /// The service's input.
    pub fn into_input(self) -> GenerateInput {
        let context = self.context.unwrap_or(GenerateContext {
            business_type: None,
            language: None,
        });
        GenerateInput {
            natural_input: self.natural_input,
            business_type: context.business_type,
            language: context.language,
        }
    }
}

/// Hints for the writer.
#[derive(Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GenerateContext {
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

// ----- translation --------------------------------------------------------------------------

impl AppState {
    /// The script use cases over this process's history, script list and writer.
    pub fn script_service(&self) -> ScriptService {
        let catalog = ScriptListCatalog::new(self.store.clone(), self.script_list.clone());
        ScriptService::new(
            self.scripts.clone(),
            Arc::new(catalog),
            self.script_writer.clone(),
            self.clock.clone(),
        )
    }
}

/// Refuses query parameters other than `allowed`.
fn known_params(
    query: &HashMap<String, String>,
    allowed: &str,
    what: &str,
) -> Result<(), ScriptsError> {
    match query.keys().find(|key| key.as_str() != allowed) {
        Some(unknown) => Err(ScriptsError::invalid(
            format!("unknown query parameter \"{unknown}\""),
            vec![FieldError::new(unknown.clone(), what)],
        )),
        None => Ok(()),
    }
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
    SignedIn(state, user): SignedIn,
    ApiJson(body): ApiJson<GenerateBody>,
) -> Result<Envelope<Generated>, ApiError> {
    Ok(ok(state
        .script_service()
        .generate(user.account_id, body.into_input())
        .await?))
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
    SignedIn(state, user): SignedIn,
    ApiJson(body): ApiJson<SaveBody>,
) -> Result<Envelope<ScriptSaved>, ApiError> {
    let input = SaveInput {
        name: body.name,
        natural_input: body.natural_input,
        content: body.generated_script.into(),
        script_id: body.script_id,
    };
    Ok(created(
        state.script_service().save(user.account_id, input).await?,
    ))
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
    SignedIn(state, user): SignedIn,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<Envelope<Vec<ScriptSummary>>, ApiError> {
    known_params(&query, "status", "is not a parameter of this list")?;
    let filter = ScriptFilter::parse(query.get("status").map(String::as_str))?;
    Ok(ok(state
        .script_service()
        .list(user.account_id, filter)
        .await?))
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
    UserPath { user, id }: UserPath,
    ApiQuery(query): ApiQuery<HashMap<String, String>>,
) -> Result<Envelope<ScriptDetail>, ApiError> {
    known_params(&query, "version", "is not a parameter here")?;
    let version = query
        .get("version")
        .map(|version| {
            version.parse::<u32>().map_err(|_| {
                ScriptsError::invalid(
                    "version must be a positive whole number",
                    vec![FieldError::new(
                        "version",
                        "must be a positive whole number",
                    )],
                )
            })
        })
        .transpose()?;
    Ok(ok(state
        .script_service()
        .get(user.account_id, &id, version)
        .await?))
}

/// Edits a script: a new version.
#[utoipa::path(
    put, path = "/scripts/{id}", tag = tags::SCRIPTS,
    params(("id" = Uuid, Path, description = "Script id")),
    request_body = EditBody,
    responses(
        (status = 200, description = "The new version", body = Success<ScriptDetail>),
        (status = 400, description = "`INVALID_INPUT`: every problem in `details`", body = ErrorBody),
        NotFound,
        (status = 409, description = "`CONFLICT`: changed at the same time; try again", body = ErrorBody),
    ),
)]
#[tracing::instrument(skip_all, fields(account = %user.account_id, script = %id))]
async fn edit(
    State(state): State<AppState>,
    UserPath { user, id }: UserPath,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Envelope<ScriptDetail>, ApiError> {
    let input = EditInput {
        name: body.name,
        content: body.generated_script.into(),
    };
    Ok(ok(state
        .script_service()
        .update(user.account_id, &id, input)
        .await?))
}

/// Deletes a script (campaigns that use it keep their copy).
#[utoipa::path(
    delete, path = "/scripts/{id}", tag = tags::SCRIPTS,
    params(("id" = Uuid, Path, description = "Script id")),
    responses(
        Deleted,
        NotFound,
    ),
)]
#[tracing::instrument(skip_all, fields(account = %user.account_id, script = %id))]
async fn remove(
    State(state): State<AppState>,
    UserPath { user, id }: UserPath,
) -> Result<StatusCode, ApiError> {
    state.script_service().delete(user.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
