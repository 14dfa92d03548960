//! The MCP server: the API's campaign use cases as tools for AI assistants (Model Context
//! Protocol, on the official Rust SDK `rmcp`).
//!
//! It is a front door of its own, like `web`: a crate over `api` that reuses the API's request
//! types, its error table and its translation functions, and calls the same
//! `commands::services` functions as the REST handlers, so a tool answers exactly what the
//! matching route answers (the success or error body, codes included).
//!
//! Two transports:
//! - [`router`]: streamable HTTP at `/mcp` in `callbot serve`, behind the API's bearer token
//!   (the same sign-in middleware, the whole-API rate limit included); each request is
//!   stateless, so any API process answers any request.
//! - [`serve_stdio`]: `callbot mcp`, one account's server on standard input and output.

use std::sync::Arc;

use api::AppState;
use api::auth::CurrentUser;
use api::error::ApiError;
use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, ServiceExt, tool_handler};

mod tools;

pub use tools::{CallArgs, CampaignArgs, ListCallsArgs, ListScriptsArgs, ReportArgs, StartArgs};

/// The path of the HTTP transport.
pub const PATH: &str = "/mcp";

/// What the server tells an assistant about itself.
const INSTRUCTIONS: &str = "Auto CallBot places AI phone calls for a small business. Typical \
    flow: generate_script (from the owner's words) -> create_campaign (scriptId and the contacts) \
    -> start_campaign -> campaign_status until COMPLETED -> list_calls / get_call for \
    transcripts and summaries -> create_report. Every answer is the REST API's body: \
    {\"success\": true, \"data\": …} or {\"success\": false, \"error\": {\"code\", \"message\", \
    \"details\"}}.";

/// The tools over one process's state, for one user (stdio) or for each request's (HTTP).
#[derive(Clone)]
pub struct CallbotMcp {
    state: AppState,
    /// `Some` for the stdio server; HTTP requests carry their user.
    user: Option<CurrentUser>,
}

impl CallbotMcp {
    /// The server of `user` (stdio).
    pub fn for_user(state: AppState, user: CurrentUser) -> Self {
        Self {
            state,
            user: Some(user),
        }
    }

    /// The server whose user is each HTTP request's signed-in user.
    pub fn per_request(state: AppState) -> Self {
        Self { state, user: None }
    }
}

#[tool_handler(router = Self::tool_router())]
impl ServerHandler for CallbotMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("callbot", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

/// `/mcp`: the streamable HTTP transport behind a bearer token (a session cookie is not
/// enough: a page elsewhere could make a browser send it). `allowed_hosts` are the `Host`
/// values accepted (DNS-rebinding guard): the public URL's host and loopback.
pub fn router(state: AppState, allowed_hosts: Vec<String>) -> Router {
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(allowed_hosts)
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(api::routes::BODY_LIMIT)
        .with_cancellation_token(state.stopping.child_token());
    let server = CallbotMcp::per_request(state.clone());
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service(PATH, service)
        .layer(middleware::from_fn_with_state(
            state,
            api::auth::require_user,
        ))
        .layer(middleware::from_fn(bearer_only))
}

/// Refuses a request without `Authorization` (401, as the API does), before the sign-in.
async fn bearer_only(request: Request, next: Next) -> Response {
    if request.headers().contains_key(header::AUTHORIZATION) {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

/// The `Host` values `/mcp` accepts: loopback, and the host of `public_base_url` (with and
/// without its port).
pub fn allowed_hosts(public_base_url: &str) -> Vec<String> {
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1", "[::1]"]
        .map(String::from)
        .to_vec();
    let authority = public_base_url
        .split_once("://")
        .map_or(public_base_url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    if !authority.is_empty() {
        hosts.push(authority.to_owned());
        if let Some((host, _port)) = authority.rsplit_once(':')
            && !host.ends_with(']')
        {
            hosts.push(host.to_owned());
        }
    }
    hosts
}

/// Serves `user`'s tools on standard input and output until the client closes them.
pub async fn serve_stdio(state: AppState, user: CurrentUser) -> anyhow::Result<()> {
    let server = CallbotMcp::for_user(state, user)
        .serve(rmcp::transport::stdio())
        .await?;
    server.waiting().await?;
    Ok(())
}

/// The user of `token` (an API bearer token) in this process, or why not.
pub async fn user_of_token(state: &AppState, token: &str) -> Result<CurrentUser, ApiError> {
    api::auth::authenticate(state, token.trim()).await
}
