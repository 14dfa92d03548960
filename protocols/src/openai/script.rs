//! The call script over Chat Completions: its strict JSON schema, the prompt, and the user message
//! that carries the owner's request (a [`ScriptBrief`]; the writer converts its own request).

use serde_json::{Value, json};

use super::chat::{ChatMessage, ChatRequest, JsonSchemaFormat};

/// `response_format.json_schema.name` of the script schema.
pub const SCHEMA_NAME: &str = "call_script";

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

/// What the user message says about the script wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptBrief {
    /// The owner's own words.
    pub natural_input: String,
    /// `clinic`, `salon`, … when the owner said.
    pub business_type: Option<String>,
    /// The call language's code (`ko`, `en`). `None` when the message was bare text without the
    /// header: then the reader tells the language from the words; an empty code when the header
    /// has no language line.
    pub language: Option<String>,
}

impl ScriptBrief {
    /// The user message: a header (language, business) and the owner's words.
    pub fn to_message(&self) -> String {
        let code = self.language.as_deref().unwrap_or_default();
        let language = match code {
            "ko" => "ko (Korean)".to_owned(),
            "en" => "en (English)".to_owned(),
            other => other.to_owned(),
        };
        let business = self
            .business_type
            .as_deref()
            .map(str::trim)
            .filter(|business| !business.is_empty())
            .unwrap_or("not given");
        format!(
            "{LANGUAGE_LINE} {language}\n{BUSINESS_LINE} {business}\n\n{REQUEST_LINE}\n{}",
            self.natural_input.trim()
        )
    }

    /// Reads a message written by [`Self::to_message`] back (what a model would understand from
    /// it; the sandbox uses this). Other text is taken as the request itself.
    pub fn from_message(message: &str) -> Self {
        let Some((head, natural_input)) = message.split_once(REQUEST_LINE) else {
            return Self {
                natural_input: message.trim().to_owned(),
                business_type: None,
                language: None,
            };
        };
        let mut brief = Self {
            natural_input: natural_input.trim().to_owned(),
            business_type: None,
            language: Some(String::new()),
        };
        for line in head.lines() {
            if let Some(language) = line.strip_prefix(LANGUAGE_LINE) {
                let code = language.split_whitespace().next().unwrap_or_default();
                brief.language = Some(code.to_owned());
            } else if let Some(business) = line.strip_prefix(BUSINESS_LINE) {
                let business = business.trim();
                if business != "not given" && !business.is_empty() {
                    brief.business_type = Some(business.to_owned());
                }
            }
        }
        brief
    }
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
    let description = "A structured phone-call script.";
    let format = JsonSchemaFormat::strict(SCHEMA_NAME, description, script_schema());
    ChatRequest::structured(model, messages, max_tokens, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_brief_round_trips_through_the_message() {
        let brief = ScriptBrief {
            natural_input: "내일 예약 확인 전화해줘".into(),
            business_type: Some("clinic".into()),
            language: Some("en".into()),
        };
        assert_eq!(ScriptBrief::from_message(&brief.to_message()), brief);
        assert_eq!(
            ScriptBrief::from_message("예약 확인해줘"),
            ScriptBrief {
                natural_input: "예약 확인해줘".into(),
                business_type: None,
                language: None
            }
        );
    }
}
