//! The voice agent's instructions, built from a pinned script version: role and business,
//! purpose, the flow with its branches, the closing, the client tools and when to call each, and
//! the language and politeness rules. Per-contact values stay out of the text: every `{name}`
//! becomes the agent's own `{{name}}` dynamic variable, whose value travels beside the prompt.

use std::fmt::Write as _;

use super::{Language, NextStep, ScriptContent, fill};
use crate::script::variables::BUSINESS_NAME;

/// The script's text in the agent's placeholder syntax: `{customerName}` → `{{customerName}}`.
pub fn dynamic(text: &str) -> String {
    fill(text, |name| Some(format!("{{{{{name}}}}}")))
}

struct Words {
    role: &'static str,
    purpose: &'static str,
    flow: &'static str,
    expected: &'static str,
    positive: &'static str,
    negative: &'static str,
    closing_step: &'static str,
    step: &'static str,
    closing: &'static str,
    tools: &'static str,
    tool_lines: [&'static str; 3],
    rules: &'static str,
    rule_lines: [&'static str; 4],
}

const KO: Words = Words {
    role: "당신은 {{businessName}}을(를) 대신해 전화를 거는 AI 상담원입니다. 첫 인사는 이미 했습니다.",
    purpose: "# 통화 목적",
    flow: "# 대화 흐름 (순서대로, 답에 따라 분기)",
    expected: "예상 응답",
    positive: "긍정이면",
    negative: "부정이면",
    closing_step: "마무리",
    step: "번",
    closing: "# 마무리 인사",
    tools: "# 도구 (결과가 정해지면 바로 호출)",
    tool_lines: [
        "- report_outcome: 통화 결과를 알릴 때. result는 SUCCESS, DECLINED, RESCHEDULED, \
         CALLBACK_REQUESTED, OTHER 중 하나. 다른 시간을 원하면 RESCHEDULED와 proposedTime, \
         남길 말은 note.",
        "- opt_out: 상대가 다시 전화하지 말라고 할 때. 사과하고 정중히 끝내세요.",
        "- revoke_recording_consent: 상대가 녹음을 원하지 않는다고 할 때. 녹음을 멈췄다고 알리고 \
         대화를 이어가세요.",
    ],
    rules: "# 말투와 규칙",
    rule_lines: [
        "- 한국어 존댓말로, 한 번에 한두 문장씩 짧게 말하세요.",
        "- 스크립트에 없는 약속, 가격, 의료·법률 판단은 하지 마세요. 모르는 것은 담당자가 다시 \
         연락드린다고 하세요.",
        "- 상대가 바쁘거나 원하지 않으면 억지로 이어가지 말고 마무리하세요.",
        "- 본인 확인이 안 되면 용건을 말하지 말고 마무리하세요.",
    ],
};

const EN: Words = Words {
    role: "You are an AI phone agent calling on behalf of {{businessName}}. You have already \
           said the greeting.",
    purpose: "# Purpose of the call",
    flow: "# Conversation flow (in order, branching on the answer)",
    expected: "Expected answers",
    positive: "if yes",
    negative: "if no",
    closing_step: "closing",
    step: "step ",
    closing: "# Closing",
    tools: "# Tools (call as soon as the result is known)",
    tool_lines: [
        "- report_outcome: to report the result. result is one of SUCCESS, DECLINED, RESCHEDULED, \
         CALLBACK_REQUESTED, OTHER; with RESCHEDULED give proposedTime; anything to pass on goes \
         in note.",
        "- opt_out: when the callee asks not to be called again. Apologise and end politely.",
        "- revoke_recording_consent: when the callee objects to the recording. Say it has \
         stopped and carry on.",
    ],
    rules: "# Tone and rules",
    rule_lines: [
        "- Speak politely, one or two short sentences at a time.",
        "- Promise nothing the script does not say: no prices, no medical or legal advice. For \
         anything else, say someone will call back.",
        "- If the callee is busy or unwilling, do not push: close the call.",
        "- If you cannot confirm you are speaking to the right person, do not say why you call.",
    ],
};

/// The agent's instructions for `content` (a pinned script version, placeholders unfilled).
pub fn agent_prompt(content: &ScriptContent) -> String {
    let words = match content.language() {
        Language::Ko => &KO,
        Language::En => &EN,
    };
    debug_assert!(words.role.contains(&format!("{{{{{BUSINESS_NAME}}}}}")));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{}\n", words.role);
    section(&mut out, words.purpose, &dynamic(content.purpose.trim()));
    let _ = writeln!(out, "{}", words.flow);
    for step in &content.main_flow {
        let _ = writeln!(out, "{}. {}", step.step, dynamic(step.action.trim()));
        if !step.expected_responses.is_empty() {
            let responses: Vec<String> = step
                .expected_responses
                .iter()
                .map(|response| format!("\"{}\"", dynamic(response.trim())))
                .collect();
            let _ = writeln!(out, "   {}: {}", words.expected, responses.join(" / "));
        }
        let _ = writeln!(out, "   → {}", branches(step.next_step, words));
    }
    out.push('\n');
    section(&mut out, words.closing, &dynamic(content.closing.trim()));
    let _ = writeln!(out, "{}", words.tools);
    for line in words.tool_lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\n{}", words.rules);
    for line in words.rule_lines {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// A titled paragraph and a blank line.
fn section(out: &mut String, title: &str, body: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{title}\n{body}\n");
}

/// Where the flow goes after one step, in words.
fn branches(next: NextStep, words: &Words) -> String {
    let target = |step: Option<u32>| match step {
        Some(step) if words.step.ends_with(' ') => format!("{}{step}", words.step),
        Some(step) => format!("{step}{}", words.step),
        None => words.closing_step.to_owned(),
    };
    format!(
        "{} {}, {} {}",
        words.positive,
        target(next.positive),
        words.negative,
        target(next.negative)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::FlowStep;

    fn script(greeting: &str, purpose: &str, action: &str, closing: &str) -> ScriptContent {
        ScriptContent {
            greeting: greeting.into(),
            purpose: purpose.into(),
            main_flow: vec![FlowStep {
                step: 1,
                action: action.into(),
                expected_responses: vec!["네".into(), "{availableTimes} 중에 바꿀게요".into()],
                next_step: NextStep {
                    positive: None,
                    negative: Some(2),
                },
            }],
            closing: closing.into(),
            variables: Vec::new(),
        }
    }

    #[test]
    fn dynamic_turns_single_braces_into_the_agents_double_braces() {
        assert_eq!(
            dynamic("{customerName}님, {appointmentTime} 예약"),
            "{{customerName}}님, {{appointmentTime}} 예약"
        );
    }

    #[test]
    fn the_korean_prompt_carries_role_purpose_flow_closing_tools_and_rules() {
        let prompt = agent_prompt(&script(
            "안녕하세요, {businessName}입니다.",
            "{customerName}님의 {appointmentTime} 예약 확인",
            "예정대로 오실 수 있나요?",
            "감사합니다.",
        ));
        for expected in [
            "{{businessName}}을(를) 대신해",
            "# 통화 목적\n{{customerName}}님의 {{appointmentTime}} 예약 확인",
            "1. 예정대로 오실 수 있나요?",
            "\"{{availableTimes}} 중에 바꿀게요\"",
            "→ 긍정이면 마무리, 부정이면 2번",
            "# 마무리 인사\n감사합니다.",
            "- report_outcome:",
            "- opt_out:",
            "- revoke_recording_consent:",
            "존댓말",
        ] {
            assert!(prompt.contains(expected), "{expected:?} not in\n{prompt}");
        }
        let single = prompt.replace("{{", "").replace("}}", "");
        assert!(
            !single.contains('{'),
            "a single-brace placeholder is left:\n{prompt}"
        );
    }

    #[test]
    fn an_english_script_gets_english_instructions() {
        let mut content = script(
            "Hello, this is {businessName}.",
            "Confirm the appointment",
            "Can you still come?",
            "Thank you.",
        );
        content.main_flow[0].expected_responses = vec!["Yes".into()];
        let prompt = agent_prompt(&content);
        assert!(prompt.contains("on behalf of {{businessName}}"), "{prompt}");
        assert!(
            prompt.contains("→ if yes closing, if no step 2"),
            "{prompt}"
        );
    }
}
