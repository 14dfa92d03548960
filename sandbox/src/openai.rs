//! An OpenAI-compatible Chat Completions server on loopback.
//!
//! It checks what OpenAI checks for this use — the Bearer key, a `json_schema` response format
//! that keeps the strict rules, a user message — and answers in OpenAI's response shape. The
//! words come from an [`Author`] the caller passes in (the composition root passes one over the
//! offline writer and summarizer), so the real adapter gets a real script over real HTTP while the
//! sandbox itself knows only the wire format and the domain's script shape.
//!
//! The model name picks a behaviour, so each test can provoke one failure:
//!
//! | model | answer |
//! |---|---|
//! | `sandbox-refusal` | always a refusal (`content: null`, `refusal: "…"`) |
//! | `sandbox-refusal-once` | a refusal, then a script once the client sends a repair |
//! | `sandbox-truncated` | always `finish_reason: "length"` with the JSON cut in half |
//! | `sandbox-truncated-once` | cut off, then a script after a repair |
//! | `sandbox-invalid` | always schema-valid JSON that breaks the script rules |
//! | `sandbox-invalid-once` | rule-breaking first, a valid script after a repair |
//! | `sandbox-garbage` | always text that is not JSON |
//! | `sandbox-429` | always 429 with `Retry-After: 30` |
//! | `sandbox-429-once` | the first call 429 with `Retry-After: 1` / `retry-after-ms: 100`, then success |
//! | `sandbox-500-once` | the first call 500, then success |
//! | `sandbox-slow` | sleeps 30 s before answering (past any client timeout) |
//! | anything else | a script |
//!
//! A request with the `call_summary` schema gets a summary of the transcript it carries instead
//! (what the offline summarizer reads from it), with the same failures by model name.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use domain::script::ScriptContent;
use protocols::openai::script::ScriptBrief;
use protocols::openai::summary::{self as summary_wire, SummaryAnswer, SummaryBrief};
use protocols::openai::{
    AssistantMessage, ChatCompletion, ChatRequest, Choice, ErrorBody, Usage, check_strict_format,
};

use crate::loopback::{self, Served};

/// The key the sandbox accepts unless told otherwise.
pub const API_KEY: &str = "sk-sandbox-openai";
/// How long `sandbox-slow` waits before answering.
pub const SLOW_FOR: Duration = Duration::from_secs(30);

/// What the stand-in model writes: the sandbox reads the user message into a brief, the author
/// answers it, and the sandbox wraps the answer (or a provoked failure) as OpenAI would.
pub trait Author: Send + Sync + 'static {
    /// The script a model would write for `brief`.
    fn write_script(&self, brief: &ScriptBrief) -> ScriptContent;
    /// The summary a model would write for `brief`.
    fn summarize(&self, brief: &SummaryBrief) -> SummaryAnswer;
}

/// What a model name asks the sandbox to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Succeed,
    Refuse { once: bool },
    Truncate { once: bool },
    BreakRules { once: bool },
    Garbage,
    RateLimit { once: bool },
    ServerError,
    Slow,
}

impl Behaviour {
    fn of(model: &str) -> Self {
        match model {
            "sandbox-refusal" => Self::Refuse { once: false },
            "sandbox-refusal-once" => Self::Refuse { once: true },
            "sandbox-truncated" => Self::Truncate { once: false },
            "sandbox-truncated-once" => Self::Truncate { once: true },
            "sandbox-invalid" => Self::BreakRules { once: false },
            "sandbox-invalid-once" => Self::BreakRules { once: true },
            "sandbox-garbage" => Self::Garbage,
            "sandbox-429" => Self::RateLimit { once: false },
            "sandbox-429-once" => Self::RateLimit { once: true },
            "sandbox-500-once" => Self::ServerError,
            "sandbox-slow" => Self::Slow,
            _ => Self::Succeed,
        }
    }
}

struct Shared {
    api_key: String,
    requests: AtomicUsize,
    /// Calls seen per model, for the `-once` failures that are not about the content.
    per_model: Mutex<HashMap<String, usize>>,
    received: Mutex<Vec<ChatRequest>>,
    author: Arc<dyn Author>,
}

/// A running sandbox; stops when dropped.
pub struct SandboxServer {
    server: Served,
    shared: Arc<Shared>,
}

impl SandboxServer {
    /// The base URL to configure as `OPENAI_BASE_URL`, e.g. `http://127.0.0.1:41234/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", loopback::reachable(self.server.addr))
    }

    /// The key it accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// Chat-completion requests received so far (rejected ones included).
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The well-formed request bodies received so far, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.shared.received.lock().expect("sandbox lock").clone()
    }
}

/// Starts a sandbox on `127.0.0.1` with a free port, accepting [`API_KEY`], answering with
/// `author`'s words.
pub async fn spawn(author: Arc<dyn Author>) -> SandboxServer {
    spawn_with_key(API_KEY, author).await
}

/// Starts a sandbox that accepts `api_key`.
pub async fn spawn_with_key(api_key: &str, author: Arc<dyn Author>) -> SandboxServer {
    serve(loopback::bind("OpenAI").await, api_key, author)
}

/// Starts a sandbox on `addr` (port 0: a free one) accepting [`API_KEY`], as `callbot sandbox`
/// does.
pub async fn spawn_at(
    addr: std::net::SocketAddr,
    author: Arc<dyn Author>,
) -> std::io::Result<SandboxServer> {
    Ok(serve(
        loopback::bind_to("OpenAI", addr).await?,
        API_KEY,
        author,
    ))
}

fn serve(bound: loopback::Bound, api_key: &str, author: Arc<dyn Author>) -> SandboxServer {
    let shared = Arc::new(Shared {
        api_key: api_key.to_owned(),
        requests: AtomicUsize::new(0),
        per_model: Mutex::default(),
        received: Mutex::default(),
        author,
    });
    let router = Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .with_state(shared.clone());
    let server = bound.serve(router, "OpenAI");
    SandboxServer { server, shared }
}

fn error(
    status: StatusCode,
    message: impl Into<String>,
    kind: &str,
    code: Option<&str>,
) -> Response {
    (status, axum::Json(ErrorBody::new(message, kind, code))).into_response()
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let number = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    match key {
        None => {
            return error(
                StatusCode::UNAUTHORIZED,
                "You didn't provide an API key. You need to provide your API key in an \
                 Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            );
        }
        Some(key) if key != shared.api_key => {
            return error(
                StatusCode::UNAUTHORIZED,
                "Incorrect API key provided.",
                "invalid_request_error",
                Some("invalid_api_key"),
            );
        }
        Some(_) => {}
    }
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("We could not parse the JSON body of your request: {err}"),
                "invalid_request_error",
                None,
            );
        }
    };
    shared
        .received
        .lock()
        .expect("sandbox lock")
        .push(request.clone());
    if let Err(message) = check_format(&request) {
        return error(
            StatusCode::BAD_REQUEST,
            message.0,
            "invalid_request_error",
            None,
        );
    }
    let Some(user) = request.messages.iter().find(|m| m.role == "user") else {
        return error(
            StatusCode::BAD_REQUEST,
            "messages must contain a user message",
            "invalid_request_error",
            None,
        );
    };
    let behaviour = Behaviour::of(&request.model);
    let calls_for_model = {
        let mut per_model = shared.per_model.lock().expect("sandbox lock");
        let count = per_model.entry(request.model.clone()).or_default();
        *count += 1;
        *count
    };
    // A conversation that already holds an assistant answer is a repair attempt.
    let repairing = request.messages.iter().any(|m| m.role == "assistant");
    let outcomes = if summary_wire::is_summary_request(&request) {
        summary_outcomes(shared.author.as_ref(), &user.content)
    } else {
        script_outcomes(shared.author.as_ref(), &user.content)
    };
    let reply = |content: Option<String>, refusal: Option<String>, finish: &str| {
        completion(number, &request, content, refusal, finish).into_response()
    };
    match behaviour {
        Behaviour::RateLimit { once } if !once || calls_for_model == 1 => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit reached for requests. Please try again shortly.",
                "requests",
                Some("rate_limit_exceeded"),
            );
            let (seconds, millis) = (outcomes.wait)(once);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
            if let Some(millis) = millis {
                response
                    .headers_mut()
                    .insert("retry-after-ms", HeaderValue::from_static(millis));
            }
            response
        }
        Behaviour::ServerError if calls_for_model == 1 => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
        Behaviour::Slow => {
            tokio::time::sleep(SLOW_FOR).await;
            reply(Some(outcomes.valid), None, "stop")
        }
        Behaviour::Refuse { once } if !once || !repairing => reply(
            None,
            Some("I'm sorry, but I can't help with that request.".into()),
            "stop",
        ),
        Behaviour::Truncate { once } if !once || !repairing => {
            let valid = &outcomes.valid;
            let cut: String = valid.chars().take(valid.chars().count() / 2).collect();
            reply(Some(cut), None, "length")
        }
        Behaviour::BreakRules { once } if !once || !repairing => {
            reply(Some(outcomes.broken), None, "stop")
        }
        Behaviour::Garbage => reply(Some(outcomes.garbage.into()), None, "stop"),
        _ => reply(Some(outcomes.valid), None, "stop"),
    }
}

/// What the model-named behaviours answer for one kind of request (a script or a call summary).
struct Outcomes {
    /// The author's answer, as JSON.
    valid: String,
    /// JSON of the right shape that breaks the kind's rules.
    broken: String,
    /// Chatty prose instead of JSON.
    garbage: &'static str,
    /// `Retry-After` seconds and `retry-after-ms` of a rate limit, once or always.
    wait: fn(bool) -> (&'static str, Option<&'static str>),
}

/// A script for the brief in the user message; the broken one points at a missing step and
/// drops a variable.
fn script_outcomes(author: &dyn Author, user_message: &str) -> Outcomes {
    let script = author.write_script(&ScriptBrief::from_message(user_message));
    let mut broken = script.clone();
    if let Some(first) = broken.main_flow.first_mut() {
        first.next_step.negative = Some(99);
    }
    broken.variables.pop();
    Outcomes {
        valid: serde_json::to_string(&script).expect("a script serializes"),
        broken: serde_json::to_string(&broken).expect("a script serializes"),
        garbage: "Sure! Here is your script: greeting first, then…",
        wait: |once| {
            if once {
                ("1", Some("100"))
            } else {
                ("30", Some("30000"))
            }
        },
    }
}

/// A summary of the transcript in the user message (what the offline summarizer reads from it);
/// a rate limit always asks for one second, so post-call work retries soon.
fn summary_outcomes(author: &dyn Author, user_message: &str) -> Outcomes {
    let answer = author.summarize(&SummaryBrief::from_message(user_message));
    Outcomes {
        valid: serde_json::to_string(&answer).expect("a summary serializes"),
        broken: serde_json::json!({"summary": "", "outcome": "MAYBE", "followUpNeeded": false})
            .to_string(),
        garbage: "Sure! The customer seemed happy, I think.",
        wait: |_| ("1", None),
    }
}

/// Why OpenAI would refuse the request's format (its message is the 400 answer's).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct FormatError(String);

impl From<&str> for FormatError {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

fn check_format(request: &ChatRequest) -> Result<(), FormatError> {
    if request.model.trim().is_empty() {
        return Err("you must provide a model parameter".into());
    }
    if request.messages.is_empty() {
        return Err("[] is too short - 'messages'".into());
    }
    if request.response_format.kind != "json_schema" {
        return Err(FormatError(format!(
            "this endpoint expects response_format.type 'json_schema', got '{}'",
            request.response_format.kind
        )));
    }
    let format = request
        .response_format
        .json_schema
        .as_ref()
        .ok_or("Missing required parameter: 'response_format.json_schema'.")?;
    check_strict_format(format).map_err(|error| FormatError(error.0))
}

/// Roughly a token per four characters, as OpenAI's rule of thumb.
fn tokens(text: &str) -> u32 {
    text.chars().count().div_ceil(4) as u32
}

fn completion(
    number: usize,
    request: &ChatRequest,
    content: Option<String>,
    refusal: Option<String>,
    finish_reason: &str,
) -> axum::Json<ChatCompletion> {
    let prompt_tokens = request
        .messages
        .iter()
        .map(|m| tokens(&m.content))
        .sum::<u32>()
        + 8;
    let completion_tokens = tokens(content.as_deref().or(refusal.as_deref()).unwrap_or(""));
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    axum::Json(ChatCompletion {
        id: format!("chatcmpl-sandbox{number:06}"),
        object: "chat.completion".into(),
        created,
        model: request.model.clone(),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage {
                role: "assistant".into(),
                content,
                refusal,
            },
            finish_reason: Some(finish_reason.into()),
        }],
        usage: Some(Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }),
    })
}
