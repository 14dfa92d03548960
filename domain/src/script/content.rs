//! The structured script the LLM writes and the owner edits (seed shape, camelCase JSON).

use serde::{Deserialize, Serialize};

use super::Language;

/// A call script: what the agent says first, why it calls, the branching flow, how it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScriptContent {
    /// The first thing the agent says.
    pub greeting: String,
    /// Why the call is made, in one sentence.
    pub purpose: String,
    /// The conversation steps in order.
    #[serde(default)]
    pub main_flow: Vec<FlowStep>,
    /// What the agent says before hanging up.
    pub closing: String,
    /// Placeholders filled per contact, e.g. `{customerName}`, `{appointmentTime}` (the braces are
    /// optional here; the texts use them).
    #[serde(default)]
    pub variables: Vec<String>,
}

/// One step of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FlowStep {
    /// Step number, referenced by [`NextStep`].
    pub step: u32,
    /// What the agent says or does.
    pub action: String,
    /// Answers the agent expects to hear.
    #[serde(default)]
    pub expected_responses: Vec<String>,
    /// Where the conversation goes next.
    #[serde(default)]
    pub next_step: NextStep,
}

/// The step that follows a positive or a negative answer; `None` ends the flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NextStep {
    /// Next step after a positive answer.
    pub positive: Option<u32>,
    /// Next step after a negative answer.
    pub negative: Option<u32>,
}

impl ScriptContent {
    /// The declared variable names without braces (`{customerName}` and `customerName` both
    /// declare `customerName`), in declaration order.
    pub fn variable_names(&self) -> Vec<String> {
        self.variables
            .iter()
            .map(|declared| bare_variable(declared).to_owned())
            .collect()
    }

    /// The language the script is written in: Korean when any of its text holds Hangul.
    pub fn language(&self) -> Language {
        let hangul = self
            .texts()
            .any(|(_, text)| text.chars().any(super::language::is_hangul));
        if hangul { Language::Ko } else { Language::En }
    }

    /// Every spoken or expected text with its field path (`greeting`, `mainFlow[0].action`,
    /// `mainFlow[0].expectedResponses[1]`, …), in reading order.
    pub fn texts(&self) -> impl Iterator<Item = (String, &str)> {
        let head = [
            ("greeting".to_owned(), self.greeting.as_str()),
            ("purpose".to_owned(), self.purpose.as_str()),
        ];
        let steps = self.main_flow.iter().enumerate().flat_map(|(i, step)| {
            std::iter::once((format!("mainFlow[{i}].action"), step.action.as_str())).chain(
                step.expected_responses
                    .iter()
                    .enumerate()
                    .map(move |(j, response)| {
                        (
                            format!("mainFlow[{i}].expectedResponses[{j}]"),
                            response.as_str(),
                        )
                    }),
            )
        });
        head.into_iter().chain(steps).chain(std::iter::once((
            "closing".to_owned(),
            self.closing.as_str(),
        )))
    }
}

/// A declared variable without surrounding braces and whitespace.
pub fn bare_variable(declared: &str) -> &str {
    let trimmed = declared.trim();
    trimmed
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .map_or(trimmed, str::trim)
}

/// Replaces every `{name}` in `text` for which `value` has an answer; other text, unknown
/// placeholders included, stays as it is.
pub fn fill(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if !after[..close].contains('{') => {
                let name = &after[..close];
                match value(name) {
                    Some(replacement) => out.push_str(&replacement),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}
