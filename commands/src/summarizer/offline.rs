//! The offline summarizer: extractive, in Korean, from the transcript alone. Deterministic and
//! needs no key; the fallback whenever the model cannot answer.

use async_trait::async_trait;
use domain::call::{CallResult, Speaker};

use super::{CallSummary, Summarizer, SummaryError, SummaryRequest};

/// The rule-based summarizer.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineSummarizer;

/// Longest quote taken from the transcript, in characters.
const QUOTE_CHARS: usize = 80;

/// Phrases of the callee and the outcome they point to, strongest first.
const CUES: &[(CallResult, &[&str])] = &[
    (
        CallResult::OptedOut,
        &["전화하지 마", "연락하지 마", "다시는", "수신 거부"],
    ),
    (
        CallResult::Rescheduled,
        &["바꾸", "변경", "다른 시간", "다른 날", "어렵고", "미루"],
    ),
    (
        CallResult::CallbackRequested,
        &["나중에", "다시 전화", "바빠", "바쁘", "이따"],
    ),
    (
        CallResult::Declined,
        &["취소", "안 갈", "못 갈", "필요 없", "괜찮습니다", "아니요"],
    ),
    (
        CallResult::Success,
        &[
            "네",
            "맞습니다",
            "맞아요",
            "좋아요",
            "갈게요",
            "알겠",
            "확인",
        ],
    ),
];

impl OfflineSummarizer {
    /// The outcome the callee's words point to, if any.
    pub fn classify(words: &str) -> Option<CallResult> {
        CUES.iter()
            .find(|(_, cues)| cues.iter().any(|cue| words.contains(cue)))
            .map(|(result, _)| *result)
    }

    /// The summary of `request`.
    pub fn compose(request: &SummaryRequest) -> CallSummary {
        let said = |speaker: Speaker| -> Vec<&str> {
            request
                .transcript
                .iter()
                .filter(|line| line.role == speaker && !line.text.trim().is_empty())
                .map(|line| line.text.trim())
                .collect()
        };
        let agent = said(Speaker::Agent);
        let user = said(Speaker::User);
        let user_words = user.join(" ");
        let outcome = Self::classify(&user_words);
        let shown = request.reported_result.or(outcome);
        let follow_up_needed = matches!(
            shown,
            Some(CallResult::Rescheduled | CallResult::CallbackRequested)
        ) || matches!(
            outcome,
            Some(CallResult::Rescheduled | CallResult::CallbackRequested)
        ) || user.iter().any(|line| line.contains('?'));
        let summary = if user.is_empty() && agent.is_empty() {
            match request.reported_result {
                Some(CallResult::Voicemail) => {
                    "음성사서함으로 연결되어 고객과 대화하지 못했습니다.".to_owned()
                }
                _ => "통화 내용이 기록되지 않았습니다.".to_owned(),
            }
        } else {
            let mut parts = Vec::new();
            if let Some(first) = agent.first() {
                parts.push(format!("상담원 안내: \"{}\".", quote(first)));
            }
            if user.is_empty() {
                parts.push("고객의 응답은 인식되지 않았습니다.".to_owned());
            } else {
                let answers: Vec<String> = user.iter().map(|line| quote(line)).collect();
                parts.push(format!("고객 응답: \"{}\".", answers.join(" / ")));
            }
            if let Some(result) = shown {
                parts.push(format!("결과: {}.", label(result)));
            }
            if follow_up_needed {
                parts.push("후속 조치가 필요합니다.".to_owned());
            }
            parts.join(" ")
        };
        CallSummary {
            summary,
            outcome,
            follow_up_needed,
            usage: None,
        }
    }
}

/// The Korean name of an outcome.
pub fn label(result: CallResult) -> &'static str {
    match result {
        CallResult::Success => "확인 완료",
        CallResult::Voicemail => "음성사서함",
        CallResult::Declined => "거절 또는 취소",
        CallResult::Rescheduled => "일정 변경 요청",
        CallResult::CallbackRequested => "재통화 요청",
        CallResult::Other => "기타",
        CallResult::OptedOut => "수신 거부",
    }
}

fn quote(text: &str) -> String {
    let text = text.trim().trim_end_matches(['.', '。']);
    if text.chars().count() <= QUOTE_CHARS {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(QUOTE_CHARS).collect();
        format!("{cut}…")
    }
}

#[async_trait]
impl Summarizer for OfflineSummarizer {
    async fn summarize(&self, request: &SummaryRequest) -> Result<CallSummary, SummaryError> {
        Ok(Self::compose(request))
    }

    fn name(&self) -> &'static str {
        "offline"
    }
}

#[cfg(test)]
mod tests {
    use domain::call::TranscriptLine;

    use super::*;

    /// What the offline summarizer writes when the callee said `user`.
    fn summary_of(user: &str, reported: Option<CallResult>) -> CallSummary {
        OfflineSummarizer::compose(&SummaryRequest {
            transcript: vec![
                TranscriptLine::new(Speaker::Agent, "안녕하세요, 김민수님. 행복치과입니다."),
                TranscriptLine::new(Speaker::User, user),
                TranscriptLine::new(Speaker::Agent, "감사합니다."),
            ],
            reported_result: reported,
        })
    }

    #[test]
    fn a_reschedule_quotes_the_callee_and_needs_a_follow_up() {
        let summary = summary_of(
            "그 시간은 어렵고요, 목요일 오후 3시로 바꾸고 싶어요.",
            Some(CallResult::Rescheduled),
        );
        assert_eq!(summary.outcome, Some(CallResult::Rescheduled));
        assert!(summary.follow_up_needed);
        assert_eq!(
            summary.summary,
            "상담원 안내: \"안녕하세요, 김민수님. 행복치과입니다\". 고객 응답: \"그 시간은 어렵고요, \
             목요일 오후 3시로 바꾸고 싶어요\". 결과: 일정 변경 요청. 후속 조치가 필요합니다."
        );
    }

    #[test]
    fn the_outcome_comes_from_the_words_not_from_the_report() {
        let summary = summary_of("네, 맞습니다. 그때 갈게요.", Some(CallResult::Declined));
        assert_eq!(summary.outcome, Some(CallResult::Success));
        assert!(
            summary.summary.contains("결과: 거절 또는 취소."),
            "{}",
            summary.summary
        );
        assert!(!summary.follow_up_needed);
    }

    #[test]
    fn no_words_say_so() {
        let empty = SummaryRequest {
            transcript: vec![],
            reported_result: Some(CallResult::Voicemail),
        };
        let summary = OfflineSummarizer::compose(&empty);
        assert_eq!(
            summary.summary,
            "음성사서함으로 연결되어 고객과 대화하지 못했습니다."
        );
        assert_eq!(summary.outcome, None);
        let opted = summary_of("다시는 전화하지 마세요.", None);
        assert_eq!(opted.outcome, Some(CallResult::OptedOut));
    }
}
