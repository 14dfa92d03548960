//! What a careful reviewer checks in a conversation's instructions before the agent speaks:
//! every `{{name}}` has a dynamic variable to fill it (ElevenLabs answers
//! `missing_dynamic_variable` otherwise), and no single-brace `{name}` — a script placeholder
//! the product forgot to fill — is left to be read out to the callee.

use serde_json::{Map, Value};

/// `text` with every `{{name}}` replaced by its dynamic variable, or why it cannot be spoken.
pub fn fill(text: &str, variables: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!("invalid_message: unclosed {{{{ in {text:?}"));
        };
        let name = after[..close].trim();
        match variables.get(name) {
            Some(Value::String(value)) => out.push_str(value),
            Some(Value::Null) | None => {
                return Err(format!("missing_dynamic_variable: {name}"));
            }
            Some(other) => out.push_str(&other.to_string()),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    if let Some(open) = out.find('{')
        && let Some(len) = out[open..].find('}')
    {
        let placeholder = &out[open..=open + len];
        return Err(format!("unfilled_placeholder: {placeholder}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn variables() -> Map<String, Value> {
        json!({"customerName": "홍길동", "slot": 3})
            .as_object()
            .cloned()
            .unwrap()
    }

    #[test]
    fn dynamic_variables_fill_double_braces() {
        assert_eq!(
            fill("{{customerName}}님, {{ slot }}시", &variables()).unwrap(),
            "홍길동님, 3시"
        );
    }

    #[test]
    fn a_placeholder_without_a_value_is_refused() {
        let cases = [
            (
                "{{businessName}}입니다",
                "missing_dynamic_variable: businessName",
            ),
            (
                "안녕하세요, {businessName}입니다",
                "unfilled_placeholder: {businessName}",
            ),
            ("{{customerName", "invalid_message: unclosed"),
        ];
        for (text, reason) in cases {
            let error = fill(text, &variables()).unwrap_err();
            assert!(error.starts_with(reason), "{text}: {error}");
        }
    }
}
