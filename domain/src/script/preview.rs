//! The readable preview an owner checks before calling (the PRD's screen 2).

use std::fmt::Write as _;

use super::{Language, NextStep, ScriptContent};

struct Labels {
    greeting: &'static str,
    purpose: &'static str,
    flow: &'static str,
    expected: &'static str,
    yes: &'static str,
    no: &'static str,
    either: &'static str,
    closing: &'static str,
    variables: &'static str,
    end: &'static str,
}

const KO: Labels = Labels {
    greeting: "인사",
    purpose: "목적",
    flow: "흐름",
    expected: "예상 응답",
    yes: "긍정",
    no: "부정",
    either: "다음",
    closing: "마무리",
    variables: "변수",
    end: "마무리",
};

const EN: Labels = Labels {
    greeting: "Greeting",
    purpose: "Purpose",
    flow: "Flow",
    expected: "Expected",
    yes: "yes",
    no: "no",
    either: "next",
    closing: "Closing",
    variables: "Variables",
    end: "closing",
};

/// Renders a script as the text shown under "generated script": greeting, purpose, the numbered
/// flow with its branches, closing and variables, labelled in `language`.
///
/// ```text
/// 인사: "안녕하세요, {businessName}입니다."
///
/// 목적: "{customerName}님, 내일 {appointmentTime}에 예약이 있으셔서 확인차 연락드렸습니다."
///
/// 흐름:
/// 1. "예정대로 방문 가능하실까요?"
///    예상 응답: "네, 갈게요" / "시간을 바꾸고 싶어요"
///    → 긍정: 마무리
///    → 부정: 2번
/// ```
pub fn preview(content: &ScriptContent, language: Language) -> String {
    let labels = match language {
        Language::Ko => &KO,
        Language::En => &EN,
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{}: \"{}\"", labels.greeting, content.greeting.trim());
    let _ = writeln!(out);
    let _ = writeln!(out, "{}: \"{}\"", labels.purpose, content.purpose.trim());
    let _ = writeln!(out);
    let _ = writeln!(out, "{}:", labels.flow);
    for step in &content.main_flow {
        let _ = writeln!(out, "{}. \"{}\"", step.step, step.action.trim());
        let responses: Vec<String> = step
            .expected_responses
            .iter()
            .map(|response| format!("\"{}\"", response.trim()))
            .collect();
        if !responses.is_empty() {
            let _ = writeln!(out, "   {}: {}", labels.expected, responses.join(" / "));
        }
        let NextStep { positive, negative } = step.next_step;
        if positive == negative {
            let _ = writeln!(
                out,
                "   → {}: {}",
                labels.either,
                target(positive, language, labels)
            );
        } else {
            let _ = writeln!(
                out,
                "   → {}: {}",
                labels.yes,
                target(positive, language, labels)
            );
            let _ = writeln!(
                out,
                "   → {}: {}",
                labels.no,
                target(negative, language, labels)
            );
        }
    }
    let _ = writeln!(out);
    let _ = write!(out, "{}: \"{}\"", labels.closing, content.closing.trim());
    let variables = content.variable_names();
    if !variables.is_empty() {
        let braced: Vec<String> = variables.iter().map(|name| format!("{{{name}}}")).collect();
        let _ = write!(out, "\n\n{}: {}", labels.variables, braced.join(", "));
    }
    out
}

fn target(step: Option<u32>, language: Language, labels: &Labels) -> String {
    match (step, language) {
        (None, _) => labels.end.to_owned(),
        (Some(n), Language::Ko) => format!("{n}번"),
        (Some(n), Language::En) => format!("step {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::FlowStep;
    use crate::testing::script::{GREETING, PURPOSE};

    fn script() -> ScriptContent {
        ScriptContent {
            greeting: GREETING.to_owned(),
            purpose: PURPOSE.to_owned(),
            main_flow: vec![
                FlowStep {
                    step: 1,
                    action: "예정대로 방문 가능하실까요?".to_owned(),
                    expected_responses: vec![
                        "네, 갈게요".to_owned(),
                        "시간을 바꾸고 싶어요".to_owned(),
                    ],
                    next_step: NextStep {
                        positive: None,
                        negative: Some(2),
                    },
                },
                FlowStep {
                    step: 2,
                    action: "원하시는 시간을 말씀해 주세요.".to_owned(),
                    expected_responses: vec![],
                    next_step: NextStep::default(),
                },
            ],
            closing: "감사합니다.".to_owned(),
            variables: vec![
                "{businessName}".to_owned(),
                "customerName".to_owned(),
                "appointmentTime".to_owned(),
            ],
        }
    }

    #[test]
    fn the_korean_preview_reads_like_screen_two() {
        assert_eq!(
            preview(&script(), Language::Ko),
            "인사: \"안녕하세요, {businessName}입니다.\"\n\
             \n\
             목적: \"{customerName}님, 내일 {appointmentTime}에 예약이 있으셔서 확인차 연락드렸습니다.\"\n\
             \n\
             흐름:\n\
             1. \"예정대로 방문 가능하실까요?\"\n   \
             예상 응답: \"네, 갈게요\" / \"시간을 바꾸고 싶어요\"\n   \
             → 긍정: 마무리\n   \
             → 부정: 2번\n\
             2. \"원하시는 시간을 말씀해 주세요.\"\n   \
             → 다음: 마무리\n\
             \n\
             마무리: \"감사합니다.\"\n\
             \n\
             변수: {businessName}, {customerName}, {appointmentTime}"
        );
    }

    #[test]
    fn the_english_preview_uses_english_labels() {
        let text = preview(&script(), Language::En);
        assert!(text.starts_with("Greeting: \"안녕하세요"), "{text}");
        for label in [
            "\n\nPurpose: ",
            "\n\nFlow:\n1. ",
            "   Expected: ",
            "   → yes: closing",
            "   → no: step 2",
            "   → next: closing",
            "\n\nClosing: ",
            "\n\nVariables: {businessName}",
        ] {
            assert!(text.contains(label), "missing {label:?} in\n{text}");
        }
    }
}
