//! The tools: each one reads its arguments (the API's request types where the API has one),
//! calls the same `commands::services` function as the REST handler, and answers the API's
//! JSON body: `{"success": true, "data": …}` or `{"success": false, "error": {code, …}}`.

use api::AppState;
use api::auth::CurrentUser;
use api::error::{ApiError, success_body};
use api::rate_limit;
use api::routes::campaigns::dto::{CallsQuery, CreateCampaign};
use api::routes::reports::{ReportRequest, create_report};
use api::routes::scripts::GenerateBody;
use chrono::{DateTime, Utc};
use commands::services::campaigns::{self, CampaignRef};
use commands::services::scripts::ScriptFilter;
use commands::services::{ServiceContext, calls};
use rmcp::ErrorData;
use rmcp::handler::server::common::{FromContextPart, schema_for_type};
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{CallToolResult, JsonObject};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::CallbotMcp;

/// A campaign of the caller's.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CampaignArgs {
    /// The campaign's id (`id` in the answer of `create_campaign`).
    pub campaign_id: String,
}

/// Which scripts to list.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListScriptsArgs {
    /// `saved` (default), `draft` or `all`.
    #[serde(default)]
    pub status: Option<String>,
}

/// Start now, or at a time.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartArgs {
    /// The campaign's id.
    pub campaign_id: String,
    /// Start at this time (RFC 3339, in the future) instead of now.
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
}

/// A page of a campaign's calls.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListCallsArgs {
    /// The campaign's id.
    pub campaign_id: String,
    #[serde(flatten)]
    pub query: CallsQuery,
}

/// One call.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CallArgs {
    /// The call's id (`id` in `list_calls`).
    pub call_id: String,
}

/// A report of a campaign.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportArgs {
    /// The campaign's id.
    pub campaign_id: String,
    #[serde(flatten)]
    pub report: ReportRequest,
}

/// The arguments as `T`, or `INVALID_INPUT` naming what is wrong (as a JSON body would be).
fn args<T: DeserializeOwned>(arguments: JsonObject) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(arguments))
        .map_err(|error| ApiError::invalid(format!("invalid arguments: {error}")))
}

/// The API's body for an answer.
fn answer<T: serde::Serialize>(result: Result<T, ApiError>) -> CallToolResult {
    match result {
        Ok(data) => CallToolResult::structured(success_body(data)),
        Err(error) => CallToolResult::structured_error(error.body()),
    }
}

fn campaign<'a>(user: &CurrentUser, id: &'a str) -> CampaignRef<'a> {
    CampaignRef {
        owner_id: user.account_id,
        campaign_id: id,
    }
}

/// A tool call's user and its arguments as `T`, read before the tool runs; when either is
/// missing or wrong, the error the tool answers (`UNAUTHORIZED` first, then `INVALID_INPUT`).
pub(crate) struct Call<T>(Result<(CurrentUser, T), ApiError>);

impl<T: DeserializeOwned> FromContextPart<ToolCallContext<'_, CallbotMcp>> for Call<T> {
    fn from_context_part(context: &mut ToolCallContext<'_, CallbotMcp>) -> Result<Self, ErrorData> {
        let arguments = context.arguments.take().unwrap_or_default();
        let user = context.service.user(&context.request_context);
        Ok(Self(user.and_then(|user| Ok((user, args(arguments)?)))))
    }
}

impl<T> Call<T> {
    /// Runs `tool` for the call's user with its arguments and answers the API's body.
    async fn answer<R: serde::Serialize>(
        self,
        tool: impl AsyncFnOnce(CurrentUser, T) -> Result<R, ApiError>,
    ) -> CallToolResult {
        answer(match self.0 {
            Ok((user, arguments)) => tool(user, arguments).await,
            Err(error) => Err(error),
        })
    }
}

#[tool_router(vis = "pub(crate)")]
impl CallbotMcp {
    #[tool(
        description = "Write a call script from natural language (Korean or English) and keep it \
                       as a draft. Answers the script and its `scriptId`, which `create_campaign` \
                       takes. 10 a minute.",
        input_schema = schema_for_type::<GenerateBody>()
    )]
    async fn generate_script(&self, call: Call<GenerateBody>) -> CallToolResult {
        call.answer(async |user, body| {
            let state = &self.state;
            state
                .limiter
                .check(rate_limit::GENERATE, &user.account_id.to_string())?;
            Ok(state
                .script_service()
                .generate(user.account_id, body.into_input())
                .await?)
        })
        .await
    }

    #[tool(
        description = "The account's scripts, newest first (`status`: saved, draft or all).",
        input_schema = schema_for_type::<ListScriptsArgs>(),
        annotations(read_only_hint = true)
    )]
    async fn list_scripts(&self, call: Call<ListScriptsArgs>) -> CallToolResult {
        call.answer(async |user, query| {
            let filter = ScriptFilter::parse(query.status.as_deref())?;
            Ok(self
                .state
                .script_service()
                .list(user.account_id, filter)
                .await?)
        })
        .await
    }

    #[tool(
        description = "Create a campaign in DRAFT with its contacts inline (phone numbers in \
                       E.164 or Korean domestic form, each with optional `name` and `context` \
                       values for the script's variables). Answers the campaign with its `id`.",
        input_schema = schema_for_type::<CreateCampaign>()
    )]
    async fn create_campaign(&self, call: Call<CreateCampaign>) -> CallToolResult {
        call.answer(async |user, body| {
            let input = body.into_input(user.account_id);
            Ok(campaigns::create(&self.state.services, input).await?)
        })
        .await
    }

    #[tool(
        description = "Start a campaign now, or schedule it with `scheduledAt`. Refused over \
                       budget or without contacts. 5 a minute.",
        input_schema = schema_for_type::<StartArgs>()
    )]
    async fn start_campaign(&self, call: Call<StartArgs>) -> CallToolResult {
        call.answer(async |user, start| {
            let campaign = campaign(&user, &start.campaign_id);
            campaigns::owned_id(&self.state.services, campaign).await?;
            self.state
                .limiter
                .check(rate_limit::START, &user.account_id.to_string())?;
            Ok(campaigns::start(&self.state.services, campaign, start.scheduled_at).await?)
        })
        .await
    }

    #[tool(
        description = "Pause a running campaign; calls in progress finish.",
        input_schema = schema_for_type::<CampaignArgs>()
    )]
    async fn pause_campaign(&self, call: Call<CampaignArgs>) -> CallToolResult {
        self.on_campaign(call, campaigns::pause).await
    }

    #[tool(
        description = "Resume a paused campaign.",
        input_schema = schema_for_type::<CampaignArgs>()
    )]
    async fn resume_campaign(&self, call: Call<CampaignArgs>) -> CallToolResult {
        self.on_campaign(call, campaigns::resume).await
    }

    #[tool(
        description = "Cancel a campaign: calls in progress finish, waiting calls are cancelled.",
        input_schema = schema_for_type::<CampaignArgs>(),
        annotations(destructive_hint = true)
    )]
    async fn cancel_campaign(&self, call: Call<CampaignArgs>) -> CallToolResult {
        self.on_campaign(call, campaigns::cancel).await
    }

    #[tool(
        description = "A campaign's status with its progress (calls by status and result, \
                       success rate, ETA) and settings.",
        input_schema = schema_for_type::<CampaignArgs>(),
        annotations(read_only_hint = true)
    )]
    async fn campaign_status(&self, call: Call<CampaignArgs>) -> CallToolResult {
        self.on_campaign(call, campaigns::detail).await
    }

    #[tool(
        description = "A campaign's calls in dialing order, filtered by status or result, paged.",
        input_schema = schema_for_type::<ListCallsArgs>(),
        annotations(read_only_hint = true)
    )]
    async fn list_calls(&self, call: Call<ListCallsArgs>) -> CallToolResult {
        call.answer(async |user, list| {
            let campaign = campaign(&user, &list.campaign_id);
            Ok(calls::list(&self.state.services, campaign, list.query.into()).await?)
        })
        .await
    }

    #[tool(
        description = "One call: its transcript, summary, outcome, cost and how it ended.",
        input_schema = schema_for_type::<CallArgs>(),
        annotations(read_only_hint = true)
    )]
    async fn get_call(&self, call: Call<CallArgs>) -> CallToolResult {
        call.answer(async |user, call| {
            Ok(calls::detail(&self.state.services, user.account_id, &call.call_id).await?)
        })
        .await
    }

    #[tool(
        description = "Render a campaign's report (`format` csv or pdf) and answer a signed \
                       download link valid for 24 hours.",
        input_schema = schema_for_type::<ReportArgs>()
    )]
    async fn create_report(&self, call: Call<ReportArgs>) -> CallToolResult {
        call.answer(async |user, report| {
            create_report(
                &self.state,
                user.account_id,
                &report.campaign_id,
                report.report,
            )
            .await
        })
        .await
    }
}

impl CallbotMcp {
    /// The user the tools act for: the stdio server's own, or the one the bearer token of
    /// this HTTP request named.
    fn user(&self, context: &RequestContext<RoleServer>) -> Result<CurrentUser, ApiError> {
        if let Some(user) = self.user {
            return Ok(user);
        }
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CurrentUser>())
            .copied()
            .ok_or(ApiError::Unauthorized)
    }

    /// Runs `use_case` on the campaign a campaign tool names, for its user, and answers it.
    async fn on_campaign<T, E>(
        &self,
        call: Call<CampaignArgs>,
        use_case: impl AsyncFnOnce(&ServiceContext, CampaignRef<'_>) -> Result<T, E>,
    ) -> CallToolResult
    where
        T: serde::Serialize,
        ApiError: From<E>,
    {
        call.answer(async |user, target| {
            let campaign = campaign(&user, &target.campaign_id);
            Ok(use_case(&self.state.services, campaign).await?)
        })
        .await
    }

    /// The state the tools run on.
    pub fn state(&self) -> &AppState {
        &self.state
    }
}
