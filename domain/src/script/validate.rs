//! The rules every generated or edited script must keep, reported per field so an editor can
//! point at each problem.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::ScriptContent;
use super::content::bare_variable;

/// Most steps a flow may have.
pub const MAX_STEPS: usize = crate::limits::SCRIPT_STEPS.max;
/// Longest greeting, purpose, closing or step action, in characters.
pub const MAX_TEXT_CHARS: usize = crate::limits::SCRIPT_TEXT.max;
/// Most expected responses per step.
pub const MAX_RESPONSES: usize = crate::limits::SCRIPT_RESPONSES.max;
/// Longest expected response, in characters.
pub const MAX_RESPONSE_CHARS: usize = crate::limits::SCRIPT_RESPONSE.max;
/// Most variables a script may declare.
pub const MAX_VARIABLES: usize = crate::limits::SCRIPT_VARIABLES.max;
/// Longest variable name, in characters.
pub const MAX_VARIABLE_CHARS: usize = crate::limits::SCRIPT_VARIABLE_NAME.max;

/// One broken rule: which field (a JSON path in the request's camelCase shape, arrays indexed
/// from 0, e.g. `mainFlow[1].nextStep.positive`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldError {
    /// Where the problem is.
    pub field: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Checks a script: greeting, purpose and closing present; at least one step, numbered 1, 2, 3…
/// in order; every `nextStep` pointing at an existing step or `null` (the end); every
/// `{variable}` used in any text declared in `variables`; lengths within the limits above.
/// Returns every problem found, not just the first.
pub fn validate(content: &ScriptContent) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut problem = |field: String, message: String| errors.push(FieldError { field, message });

    for (field, text) in [
        ("greeting", &content.greeting),
        ("purpose", &content.purpose),
        ("closing", &content.closing),
    ] {
        check_text(field.to_owned(), text, MAX_TEXT_CHARS, &mut problem);
    }

    let steps = content.main_flow.len();
    if steps == 0 {
        problem("mainFlow".into(), "the flow needs at least one step".into());
    } else if steps > MAX_STEPS {
        problem(
            "mainFlow".into(),
            format!("the flow has {steps} steps; at most {MAX_STEPS} are allowed"),
        );
    }
    for (i, step) in content.main_flow.iter().enumerate() {
        let expected = i + 1;
        if step.step as usize != expected {
            problem(
                format!("mainFlow[{i}].step"),
                format!(
                    "steps are numbered 1, 2, 3… in order: this one should be {expected}, not {}",
                    step.step
                ),
            );
        }
        check_text(
            format!("mainFlow[{i}].action"),
            &step.action,
            MAX_TEXT_CHARS,
            &mut problem,
        );
        if step.expected_responses.len() > MAX_RESPONSES {
            problem(
                format!("mainFlow[{i}].expectedResponses"),
                format!(
                    "{} expected responses; at most {MAX_RESPONSES} are allowed",
                    step.expected_responses.len()
                ),
            );
        }
        for (j, response) in step.expected_responses.iter().enumerate() {
            check_text(
                format!("mainFlow[{i}].expectedResponses[{j}]"),
                response,
                MAX_RESPONSE_CHARS,
                &mut problem,
            );
        }
        for (branch, target) in [
            ("positive", step.next_step.positive),
            ("negative", step.next_step.negative),
        ] {
            if let Some(target) = target
                && (target == 0 || target as usize > steps)
            {
                problem(
                    format!("mainFlow[{i}].nextStep.{branch}"),
                    format!(
                        "points at step {target}, which does not exist (steps are 1 to {steps}; \
                         use null to end the conversation)"
                    ),
                );
            }
        }
    }

    let mut declared = HashSet::new();
    if content.variables.len() > MAX_VARIABLES {
        problem(
            "variables".into(),
            format!(
                "{} variables; at most {MAX_VARIABLES} are allowed",
                content.variables.len()
            ),
        );
    }
    for (k, variable) in content.variables.iter().enumerate() {
        let name = bare_variable(variable);
        if let Err(reason) = check_variable_name(name) {
            problem(format!("variables[{k}]"), reason);
        } else if !declared.insert(name) {
            problem(
                format!("variables[{k}]"),
                format!("{{{name}}} is declared twice"),
            );
        }
    }

    for (field, text) in content.texts() {
        for placeholder in scan_placeholders(text) {
            match placeholder {
                Placeholder::Variable(name) if declared.contains(name) => {}
                Placeholder::Variable(name) => problem(
                    field.clone(),
                    format!("uses {{{name}}}, which is not declared in variables"),
                ),
                Placeholder::Malformed(reason) => problem(field.clone(), reason),
            }
        }
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn check_text(field: String, text: &str, max: usize, problem: &mut impl FnMut(String, String)) {
    let chars = text.chars().count();
    if text.trim().is_empty() {
        problem(field, "must not be empty".into());
    } else if chars > max {
        problem(
            field,
            format!("is {chars} characters long; at most {max} are allowed"),
        );
    }
}

/// A variable name: a letter (any script) or `_` first, then letters, digits or `_`.
fn check_variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("a variable needs a name".into());
    };
    if name.chars().count() > MAX_VARIABLE_CHARS {
        return Err(format!(
            "the variable name is longer than {MAX_VARIABLE_CHARS} characters"
        ));
    }
    let valid =
        (first.is_alphabetic() || first == '_') && chars.all(|c| c.is_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not a valid variable name (letters, digits and _, starting with a \
             letter, e.g. customerName)"
        ))
    }
}

/// What a brace in a text turned out to be.
#[derive(Debug, PartialEq, Eq)]
enum Placeholder<'a> {
    Variable(&'a str),
    Malformed(String),
}

/// Finds `{name}` placeholders, and braces that would be read out literally.
fn scan_placeholders(text: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(['{', '}']) {
        if rest[at..].starts_with('}') {
            found.push(Placeholder::Malformed(
                "has a } without a matching {".into(),
            ));
            rest = &rest[at + 1..];
            continue;
        }
        let after = &rest[at + 1..];
        match after.find(['{', '}']) {
            Some(close) if after[close..].starts_with('}') => {
                let name = &after[..close];
                match check_variable_name(name) {
                    Ok(()) => found.push(Placeholder::Variable(name)),
                    Err(_) => found.push(Placeholder::Malformed(format!(
                        "{{{name}}} is not a valid placeholder (use a declared variable such as \
                         {{customerName}})"
                    ))),
                }
                rest = &after[close + 1..];
            }
            _ => {
                found.push(Placeholder::Malformed(
                    "has a { without a matching }".into(),
                ));
                rest = after;
            }
        }
    }
    found
}

/// The variable names a text uses, in order of first use, each once.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for placeholder in scan_placeholders(text) {
        if let Placeholder::Variable(name) = placeholder
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{FlowStep, NextStep};
    use crate::testing::script::{GREETING, PURPOSE};

    fn step(n: u32, action: &str, positive: Option<u32>, negative: Option<u32>) -> FlowStep {
        FlowStep {
            step: n,
            action: action.to_owned(),
            expected_responses: vec!["네".to_owned(), "아니요".to_owned()],
            next_step: NextStep { positive, negative },
        }
    }

    fn good() -> ScriptContent {
        ScriptContent {
            greeting: GREETING.to_owned(),
            purpose: PURPOSE.to_owned(),
            main_flow: vec![
                step(1, "예정대로 방문 가능하실까요?", None, Some(2)),
                step(
                    2,
                    "{availableTimes} 중에 편하신 시간이 있으실까요?",
                    None,
                    None,
                ),
            ],
            closing: "감사합니다. 좋은 하루 보내세요.".to_owned(),
            variables: vec![
                "{businessName}".to_owned(),
                "customerName".to_owned(),
                " {appointmentTime} ".to_owned(),
                "availableTimes".to_owned(),
            ],
        }
    }

    fn fields(content: &ScriptContent) -> Vec<String> {
        validate(content)
            .unwrap_err()
            .into_iter()
            .map(|error| error.field)
            .collect()
    }

    #[test]
    fn a_well_formed_script_passes() {
        assert_eq!(validate(&good()), Ok(()));
    }

    #[test]
    fn empty_greeting_purpose_and_closing_are_reported_by_field() {
        let mut content = good();
        content.greeting = "  ".to_owned();
        content.purpose = String::new();
        content.closing = "\n".to_owned();
        assert_eq!(fields(&content), ["greeting", "purpose", "closing"]);
    }

    #[test]
    fn a_script_needs_at_least_one_step() {
        let mut content = good();
        content.main_flow.clear();
        content.variables.pop();
        let errors = validate(&content).unwrap_err();
        assert_eq!(
            errors,
            [FieldError::new(
                "mainFlow",
                "the flow needs at least one step"
            )]
        );
    }

    #[test]
    fn steps_must_be_numbered_in_order() {
        let mut content = good();
        content.main_flow[0].step = 2;
        content.main_flow[1].step = 1;
        assert_eq!(fields(&content), ["mainFlow[0].step", "mainFlow[1].step"]);
        let errors = validate(&content).unwrap_err();
        assert!(
            errors[0].message.contains("should be 1, not 2"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn next_steps_must_exist_or_end_the_call() {
        let mut content = good();
        content.main_flow[0].next_step.positive = Some(3);
        content.main_flow[1].next_step.negative = Some(0);
        assert_eq!(
            fields(&content),
            [
                "mainFlow[0].nextStep.positive",
                "mainFlow[1].nextStep.negative"
            ]
        );
        content.main_flow[0].next_step.positive = Some(1);
        content.main_flow[1].next_step.negative = None;
        assert_eq!(validate(&content), Ok(()), "a step may repeat itself");
    }

    #[test]
    fn every_used_variable_must_be_declared() {
        let mut content = good();
        content
            .variables
            .retain(|name| !name.contains("availableTimes"));
        content.closing = "{customerName}님, {staffName} 드림".to_owned();
        let errors = validate(&content).unwrap_err();
        assert_eq!(
            errors,
            [
                FieldError::new(
                    "mainFlow[1].action",
                    "uses {availableTimes}, which is not declared in variables"
                ),
                FieldError::new(
                    "closing",
                    "uses {staffName}, which is not declared in variables"
                ),
            ]
        );
    }

    #[test]
    fn variables_used_in_expected_responses_count_too() {
        let mut content = good();
        content.main_flow[0].expected_responses = vec!["{newTime}에 갈게요".to_owned()];
        assert_eq!(fields(&content), ["mainFlow[0].expectedResponses[0]"]);
    }

    #[test]
    fn declared_variables_must_be_names_and_unique() {
        let mut content = good();
        content.variables.push("customer name".to_owned());
        content.variables.push("{customerName}".to_owned());
        content.variables.push("{}".to_owned());
        content.variables.push("고객명".to_owned());
        assert_eq!(
            fields(&content),
            ["variables[4]", "variables[5]", "variables[6]"]
        );
    }

    #[test]
    fn stray_and_malformed_braces_are_reported() {
        let mut content = good();
        content.greeting = "안녕하세요, {businessName 입니다".to_owned();
        content.closing = "감사합니다 }".to_owned();
        content.main_flow[0].action = "{고객 이름}님 맞으세요?".to_owned();
        let errors = validate(&content).unwrap_err();
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("greeting", "has a { without a matching }"),
                (
                    "mainFlow[0].action",
                    "{고객 이름} is not a valid placeholder (use a declared variable such as \
                     {customerName})"
                ),
                ("closing", "has a } without a matching {"),
            ]
        );
    }

    #[test]
    fn lengths_are_limited() {
        let mut content = good();
        content.greeting = "가".repeat(MAX_TEXT_CHARS + 1);
        content.main_flow[0].expected_responses = vec!["네".repeat(MAX_RESPONSE_CHARS + 1)];
        content.main_flow[1].expected_responses = vec!["네".to_owned(); MAX_RESPONSES + 1];
        content
            .main_flow
            .extend((3..=MAX_STEPS as u32 + 1).map(|n| step(n, "확인", None, None)));
        assert_eq!(
            fields(&content),
            [
                "greeting",
                "mainFlow",
                "mainFlow[0].expectedResponses[0]",
                "mainFlow[1].expectedResponses"
            ]
        );
        let mut content = good();
        content.greeting = "가".repeat(MAX_TEXT_CHARS);
        assert_eq!(validate(&content), Ok(()), "the limit itself is allowed");
    }

    #[test]
    fn placeholders_lists_each_name_once_in_order() {
        assert_eq!(
            placeholders("{a}와 {b}, 다시 {a}; {잘못 된} {c"),
            ["a", "b"]
        );
    }

    #[test]
    fn fill_replaces_known_placeholders_only() {
        let filled =
            crate::script::fill(
                "{customerName}님, {appointmentTime}에 {x} {",
                |name| match name {
                    "customerName" => Some("김철수".to_owned()),
                    "appointmentTime" => Some("오후 2시".to_owned()),
                    _ => None,
                },
            );
        assert_eq!(filled, "김철수님, 오후 2시에 {x} {");
    }

    #[test]
    fn the_language_follows_the_text() {
        use crate::script::Language;
        assert_eq!(good().language(), Language::Ko);
        let english = ScriptContent {
            greeting: "Hello, this is {businessName}.".to_owned(),
            purpose: "Confirming your appointment.".to_owned(),
            main_flow: vec![step(1, "Can you make it?", None, None)],
            closing: "Thanks!".to_owned(),
            variables: vec!["businessName".to_owned()],
        };
        let mut english = english;
        english.main_flow[0].expected_responses = vec!["Yes".to_owned()];
        assert_eq!(english.language(), Language::En);
        assert_eq!(Language::parse("ko-KR"), Some(Language::Ko));
        assert_eq!(Language::parse("EN"), Some(Language::En));
        assert_eq!(Language::parse("ja"), None);
        assert_eq!(
            serde_json::to_value(Language::En).unwrap(),
            serde_json::json!("en")
        );
    }
}
