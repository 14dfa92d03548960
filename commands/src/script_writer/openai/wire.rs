//! The OpenAI Chat Completions wire format with Structured Outputs (PROTOCOLS.md §G), the
//! script's strict JSON schema, and the prompt. One place, used by the adapter and by the
//! sandbox that stands in for OpenAI.

use domain::script::Language;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::script_writer::ScriptRequest;

/// `response_format.json_schema.name` of the script schema.
pub const SCHEMA_NAME: &str = "call_script";

/// `POST {base}/chat/completions` request body (the fields this adapter sends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub response_format: ResponseFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
}

/// One message of the conversation sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }

    fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_owned(),
            content: content.into(),
        }
    }
}

/// `response_format`: `{"type":"json_schema","json_schema":{…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<JsonSchemaFormat>,
}

/// `response_format.json_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub strict: Option<bool>,
    pub schema: Value,
}

/// A `chat.completion` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletion {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// One choice of a completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub index: u32,
    pub message: AssistantMessage,
    /// `stop`, `length`, `tool_calls`, `content_filter`, `function_call`.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The assistant's message: `content` and `refusal` are both nullable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantMessage {
    pub role: String,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
}

/// `usage` of a completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub total_tokens: u32,
}

/// An error answer: `{"error":{"message","type","param","code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The `error` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

impl ErrorBody {
    /// An error answer.
    pub fn new(message: impl Into<String>, kind: &str, code: Option<&str>) -> Self {
        Self {
            error: ErrorDetail {
                message: message.into(),
                kind: Some(kind.to_owned()),
                param: None,
                code: code.map(str::to_owned),
            },
        }
    }
}

/// The script's JSON schema in strict mode: every property required, `additionalProperties:
/// false` on every object, "no next step" as `["integer","null"]`.
pub fn script_schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["greeting", "purpose", "mainFlow", "closing", "variables"],
        "properties": {
            "greeting": {
                "type": "string",
                "description": "The agent's first words: a short hello naming the business."
            },
            "purpose": {
                "type": "string",
                "description": "What the agent says next: who it calls and why, in one or two sentences."
            },
            "mainFlow": {
                "type": "array",
                "description": "The conversation steps, numbered 1, 2, 3… in order.",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["step", "action", "expectedResponses", "nextStep"],
                    "properties": {
                        "step": { "type": "integer", "description": "1 for the first step, then 2, 3…" },
                        "action": { "type": "string", "description": "What the agent says in this step, word for word." },
                        "expectedResponses": {
                            "type": "array",
                            "description": "Typical answers of the callee, in their words.",
                            "items": { "type": "string" }
                        },
                        "nextStep": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["positive", "negative"],
                            "properties": {
                                "positive": {
                                    "type": ["integer", "null"],
                                    "description": "Step after a yes/agreeing answer; null ends the conversation (closing)."
                                },
                                "negative": {
                                    "type": ["integer", "null"],
                                    "description": "Step after a no/declining answer; null ends the conversation (closing)."
                                }
                            }
                        }
                    }
                }
            },
            "closing": { "type": "string", "description": "The agent's last words before hanging up." },
            "variables": {
                "type": "array",
                "description": "Every placeholder used in any text, in braces, e.g. \"{customerName}\".",
                "items": { "type": "string" }
            }
        }
    })
}

/// Checks the rules of strict Structured Outputs on a schema: a valid `name`, and on every
/// object `additionalProperties: false` with every property in `required`.
pub fn check_strict_format(format: &JsonSchemaFormat) -> Result<(), String> {
    let name_ok = !format.name.is_empty()
        && format.name.len() <= 64
        && format
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !name_ok {
        return Err(format!(
            "Invalid 'response_format.json_schema.name': '{}'. Expected a string that matches \
             the pattern '^[a-zA-Z0-9_-]+$' with at most 64 characters.",
            format.name
        ));
    }
    if format.strict != Some(true) {
        return Err("response_format.json_schema.strict must be true for this model".into());
    }
    check_strict_schema(&format.schema, "schema")
}

fn check_strict_schema(schema: &Value, path: &str) -> Result<(), String> {
    let Some(object) = schema.as_object() else {
        return Err(format!("Invalid schema: {path} must be an object"));
    };
    let types: Vec<&str> = match object.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => return Err(format!("Invalid schema: {path} has no 'type'")),
    };
    const ALLOWED: [&str; 7] = [
        "object", "array", "string", "integer", "number", "boolean", "null",
    ];
    if let Some(bad) = types.iter().find(|kind| !ALLOWED.contains(kind)) {
        return Err(format!(
            "Invalid schema: {path} has unsupported type '{bad}'"
        ));
    }
    if types.contains(&"object") {
        if object.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(format!(
                "Invalid schema for response_format '{path}': In context=(), \
                 'additionalProperties' is required to be supplied and to be false."
            ));
        }
        let properties = object
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("Invalid schema: {path} has no 'properties'"))?;
        let required: Vec<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for name in properties.keys() {
            if !required.contains(&name.as_str()) {
                return Err(format!(
                    "Invalid schema for response_format '{path}': 'required' is required to be \
                     supplied and to be an array including every key in properties. Missing \
                     '{name}'."
                ));
            }
        }
        for (name, property) in properties {
            check_strict_schema(property, &format!("{path}.{name}"))?;
        }
    }
    if types.contains(&"array") {
        let items = object
            .get("items")
            .ok_or_else(|| format!("Invalid schema: {path} is an array without 'items'"))?;
        check_strict_schema(items, &format!("{path}[]"))?;
    }
    Ok(())
}

/// The instructions every script request starts with.
pub const SYSTEM_PROMPT: &str = "\
You write phone-call scripts for a small business's AI voice agent (clinics, salons, academies, \
restaurants). The owner describes the calls in their own words; you return the script as JSON \
in the given schema.

Rules:
- Write every text in the requested call language: Korean in polite 존댓말 (합쇼체/해요체 as a \
friendly receptionist speaks), English in a warm, natural register. Write exactly what the agent \
says, not instructions about it.
- greeting: a short hello naming the business, e.g. \"안녕하세요, {businessName}입니다.\"
- purpose: who is called and why, e.g. \"{customerName}님, 내일 {appointmentTime}에 예약이 \
있으셔서 확인차 연락드렸습니다.\"
- mainFlow: the steps numbered 1, 2, 3… in order. Each step asks one question. nextStep.positive \
is the step after a yes/agreeing answer, nextStep.negative after a no/declining answer; null \
means the conversation ends with the closing. Cover every branch the owner asked for (for an \
appointment: confirm; on a change, offer other times; on a cancellation, take it and ask the \
reason when the owner asked).
- closing: thanks and goodbye that fit every branch.
- Details that differ per callee are placeholders in braces with camelCase names: \
{customerName}, {businessName}, {appointmentTime}, {availableTimes}, {amount}, {dueDate}, \
{eventName}, {eventDate}. Keep facts the owner stated for everyone (such as \"내일\") as words. \
In Korean, never put a particle that depends on the last syllable (이/가, 은/는, 을/를, 으로/로) \
right after a placeholder; use forms that fit any word (입니다, 님, 에, 에서, 까지, 의).
- variables: every placeholder used in any text, each once, in braces, e.g. \"{customerName}\". \
Use no placeholder you do not declare.";

const LANGUAGE_LINE: &str = "Call language:";
const BUSINESS_LINE: &str = "Business type:";
const REQUEST_LINE: &str = "Owner's request:";

/// The user message for a request.
pub fn user_message(request: &ScriptRequest) -> String {
    let language = match request.language {
        Language::Ko => "ko (Korean)",
        Language::En => "en (English)",
    };
    let business = request
        .business_type
        .as_deref()
        .map(str::trim)
        .filter(|business| !business.is_empty())
        .unwrap_or("not given");
    format!(
        "{LANGUAGE_LINE} {language}\n{BUSINESS_LINE} {business}\n\n{REQUEST_LINE}\n{}",
        request.natural_input.trim()
    )
}

/// Reads a user message written by [`user_message`] back into the request (what a model would
/// understand from it; the sandbox uses this). Other text is taken as the request itself.
pub fn parse_user_message(message: &str) -> ScriptRequest {
    let Some((head, natural_input)) = message.split_once(REQUEST_LINE) else {
        return ScriptRequest::new(message.trim(), Language::detect(message));
    };
    let mut request = ScriptRequest::new(natural_input.trim(), Language::Ko);
    for line in head.lines() {
        if let Some(language) = line.strip_prefix(LANGUAGE_LINE) {
            let code = language.split_whitespace().next().unwrap_or_default();
            request.language = Language::parse(code).unwrap_or_default();
        } else if let Some(business) = line.strip_prefix(BUSINESS_LINE) {
            let business = business.trim();
            if business != "not given" && !business.is_empty() {
                request.business_type = Some(business.to_owned());
            }
        }
    }
    request
}

/// The follow-up asking the model to fix its previous answer.
pub fn repair_message(problem: &str) -> String {
    format!(
        "Your previous answer could not be used: {problem}\nReply again with the complete script \
         as JSON matching the schema, fixing exactly these problems and keeping everything else."
    )
}

/// The request body for a conversation.
pub fn chat_request(model: &str, messages: Vec<ChatMessage>, max_tokens: u32) -> ChatRequest {
    ChatRequest {
        model: model.to_owned(),
        messages,
        response_format: ResponseFormat {
            kind: "json_schema".to_owned(),
            json_schema: Some(JsonSchemaFormat {
                name: SCHEMA_NAME.to_owned(),
                description: Some("A structured phone-call script.".to_owned()),
                strict: Some(true),
                schema: script_schema(),
            }),
        },
        max_completion_tokens: Some(max_tokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_schema_keeps_the_strict_rules() {
        let request = chat_request("gpt-4o-mini", vec![], 100);
        check_strict_format(request.response_format.json_schema.as_ref().unwrap()).unwrap();
    }

    #[test]
    fn the_strict_checker_refuses_loose_schemas() {
        let mut format = JsonSchemaFormat {
            name: SCHEMA_NAME.to_owned(),
            description: None,
            strict: Some(true),
            schema: script_schema(),
        };
        format.schema["properties"]["mainFlow"]["items"]["properties"]["nextStep"]["required"] =
            json!(["positive"]);
        let error = check_strict_format(&format).unwrap_err();
        assert!(error.contains("Missing 'negative'"), "{error}");
        format.schema = script_schema();
        format.schema["additionalProperties"] = json!(true);
        assert!(check_strict_format(&format).is_err());
        format.schema = script_schema();
        format.name = "call script!".to_owned();
        assert!(check_strict_format(&format).is_err());
        format.name = SCHEMA_NAME.to_owned();
        format.strict = None;
        assert!(check_strict_format(&format).is_err());
    }

    #[test]
    fn the_user_message_round_trips() {
        let request =
            ScriptRequest::new("내일 예약 확인 전화해줘", Language::En).for_business("clinic");
        assert_eq!(parse_user_message(&user_message(&request)), request);
        let bare = ScriptRequest::new("Confirm tomorrow's bookings", Language::Ko);
        assert_eq!(parse_user_message(&user_message(&bare)), bare);
        assert_eq!(
            parse_user_message("예약 확인해줘"),
            ScriptRequest::new("예약 확인해줘", Language::Ko)
        );
    }

    #[test]
    fn a_completion_parses_from_openai_json() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "{}", "refusal": null},
                         "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                      "prompt_tokens_details": {"cached_tokens": 0}},
            "system_fingerprint": "fp_1"
        });
        let completion: ChatCompletion = serde_json::from_value(body).unwrap();
        assert_eq!(completion.choices[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(completion.usage.unwrap().total_tokens, 15);
    }
}
