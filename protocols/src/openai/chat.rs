//! The OpenAI Chat Completions wire format with Structured Outputs (PROTOCOLS.md §G): the
//! request, the completion and the error bodies, and the rules strict mode puts on a schema.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

impl ChatRequest {
    /// A request whose answer must be JSON of `format` (Structured Outputs).
    pub fn structured(
        model: &str,
        messages: Vec<ChatMessage>,
        max_tokens: u32,
        format: JsonSchemaFormat,
    ) -> Self {
        Self {
            model: model.to_owned(),
            messages,
            response_format: ResponseFormat {
                kind: "json_schema".to_owned(),
                json_schema: Some(format),
            },
            max_completion_tokens: Some(max_tokens),
        }
    }
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

impl JsonSchemaFormat {
    /// `schema` named `name`, which the answer must match exactly (`strict`).
    pub fn strict(name: &str, description: &str, schema: Value) -> Self {
        Self {
            name: name.to_owned(),
            description: Some(description.to_owned()),
            strict: Some(true),
            schema,
        }
    }
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

/// A schema that strict Structured Outputs refuses; the message is the one OpenAI answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StrictSchemaError(pub String);

/// Checks the rules of strict Structured Outputs on a schema: a valid `name`, and on every
/// object `additionalProperties: false` with every property in `required`.
pub fn check_strict_format(format: &JsonSchemaFormat) -> Result<(), StrictSchemaError> {
    check_format(format).map_err(StrictSchemaError)
}

fn check_format(format: &JsonSchemaFormat) -> Result<(), String> {
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
    let root = &format.schema;
    if root.get("type") != Some(&Value::String("object".into())) {
        return Err("Invalid schema: the root schema must be an object (not anyOf)".into());
    }
    let strict = Strict { root };
    strict.check(root, "schema")?;
    // Definitions are checked once each, where they are defined; a `$ref` only has to resolve.
    for key in ["$defs", "definitions"] {
        if let Some(definitions) = root.get(key).and_then(Value::as_object) {
            for (name, definition) in definitions {
                strict.check(definition, &format!("{key}.{name}"))?;
            }
        }
    }
    Ok(())
}

/// The strict-mode rules for one schema node, with the root its `$ref`s point into.
struct Strict<'a> {
    root: &'a Value,
}

impl Strict<'_> {
    fn check(&self, schema: &Value, path: &str) -> Result<(), String> {
        let Some(object) = schema.as_object() else {
            return Err(format!("Invalid schema: {path} must be an object"));
        };
        if let Some(reference) = object.get("$ref") {
            return self.resolves(reference, path);
        }
        if let Some(branches) = object.get("anyOf") {
            let branches = branches
                .as_array()
                .filter(|branches| !branches.is_empty())
                .ok_or_else(|| format!("Invalid schema: {path}.anyOf must be a non-empty array"))?;
            for (i, branch) in branches.iter().enumerate() {
                self.check(branch, &format!("{path}.anyOf[{i}]"))?;
            }
            return Ok(());
        }
        let types: Vec<&str> = match object.get("type") {
            Some(Value::String(kind)) => vec![kind.as_str()],
            Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
            // A fixed value (`enum`, `const`) needs no type.
            None if object.contains_key("enum") || object.contains_key("const") => return Ok(()),
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
                        "Invalid schema for response_format '{path}': 'required' is required to \
                         be supplied and to be an array including every key in properties. \
                         Missing '{name}'."
                    ));
                }
            }
            for (name, property) in properties {
                self.check(property, &format!("{path}.{name}"))?;
            }
        }
        if types.contains(&"array") {
            let items = object
                .get("items")
                .ok_or_else(|| format!("Invalid schema: {path} is an array without 'items'"))?;
            self.check(items, &format!("{path}[]"))?;
        }
        Ok(())
    }

    /// A `$ref` must point into this schema: `#` (recursion) or a JSON pointer such as
    /// `#/$defs/Step`.
    fn resolves(&self, reference: &Value, path: &str) -> Result<(), String> {
        let target = reference
            .as_str()
            .and_then(|reference| reference.strip_prefix('#'))
            .and_then(|pointer| self.root.pointer(pointer));
        match target {
            Some(_) => Ok(()),
            None => Err(format!(
                "Invalid schema: {path} has a $ref {reference} that does not resolve in the schema"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::script::{SCHEMA_NAME, script_schema};
    use serde_json::json;

    #[test]
    fn the_script_and_summary_schemas_keep_the_strict_rules() {
        for request in [
            crate::openai::script::chat_request("gpt-4o-mini", vec![], 100),
            crate::openai::summary::chat_request("gpt-4o-mini", vec![], 100),
        ] {
            let format = request.response_format.json_schema.as_ref().unwrap();
            check_strict_format(format).unwrap_or_else(|e| panic!("{}: {e}", format.name));
        }
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
        let error = check_strict_format(&format).unwrap_err().0;
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

    /// What the official SDK's `chat.completions.parse` sends for nested Pydantic models with
    /// optional fields (`openai.lib._pydantic.to_strict_json_schema`).
    fn pydantic_schema() -> Value {
        json!({
            "$defs": {
                "NextStep": {"properties": {
                    "positive": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Positive"},
                    "negative": {"anyOf": [{"type": "integer"}, {"type": "null"}], "title": "Negative"}},
                    "required": ["positive", "negative"], "title": "NextStep", "type": "object",
                    "additionalProperties": false},
                "Step": {"properties": {
                    "step": {"title": "Step", "type": "integer"},
                    "action": {"title": "Action", "type": "string"},
                    "nextStep": {"$ref": "#/$defs/NextStep"}},
                    "required": ["step", "action", "nextStep"], "title": "Step", "type": "object",
                    "additionalProperties": false}},
            "properties": {
                "greeting": {"title": "Greeting", "type": "string"},
                "mainFlow": {"items": {"$ref": "#/$defs/Step"}, "title": "Mainflow", "type": "array"}},
            "required": ["greeting", "mainFlow"], "title": "Script", "type": "object",
            "additionalProperties": false
        })
    }

    #[test]
    fn the_strict_checker_takes_the_sdks_defs_refs_and_any_of() {
        let mut format = JsonSchemaFormat {
            name: "Script".to_owned(),
            description: None,
            strict: Some(true),
            schema: pydantic_schema(),
        };
        assert_eq!(check_strict_format(&format).map_err(|e| e.0), Ok(()));
        // A definition is held to the same rules as the root…
        format.schema["$defs"]["NextStep"]["required"] = json!(["positive"]);
        let error = check_strict_format(&format).unwrap_err().0;
        assert!(
            error.contains("$defs.NextStep") && error.contains("Missing 'negative'"),
            "{error}"
        );
        // …a branch of anyOf too, and a $ref must resolve.
        format.schema = pydantic_schema();
        format.schema["$defs"]["NextStep"]["properties"]["positive"]["anyOf"][0] =
            json!({"type": "date"});
        assert!(check_strict_format(&format).is_err());
        format.schema = pydantic_schema();
        format.schema["properties"]["mainFlow"]["items"] = json!({"$ref": "#/$defs/Missing"});
        let error = check_strict_format(&format).unwrap_err().0;
        assert!(error.contains("#/$defs/Missing"), "{error}");
        format.schema = json!({"anyOf": [pydantic_schema()]});
        assert!(
            check_strict_format(&format).is_err(),
            "the root must be an object"
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
