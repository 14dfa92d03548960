//! The words people read for the codes the system keeps: statuses and results in Korean (the
//! default) or English, for reports and pages. The codes themselves stay the wire format.

use crate::call::{CallResult, CallStatus};
use crate::campaign::CampaignStatus;
use crate::script::Language;

/// A code shown to people.
pub trait Label {
    /// The word for `self` in `language`.
    fn label(&self, language: Language) -> &'static str;
}

/// Picks the word for `language` from a (Korean, English) pair.
fn pick(language: Language, (ko, en): (&'static str, &'static str)) -> &'static str {
    match language {
        Language::Ko => ko,
        Language::En => en,
    }
}

impl Label for CallStatus {
    fn label(&self, language: Language) -> &'static str {
        pick(
            language,
            match self {
                Self::Pending => ("대기", "Waiting"),
                Self::Calling => ("발신 중", "Dialling"),
                Self::InProgress => ("통화 중", "In progress"),
                Self::Completed => ("완료", "Completed"),
                Self::Failed => ("실패", "Failed"),
                Self::NoAnswer => ("부재중", "No answer"),
                Self::Cancelled => ("취소", "Cancelled"),
            },
        )
    }
}

impl Label for CallResult {
    fn label(&self, language: Language) -> &'static str {
        pick(
            language,
            match self {
                Self::Success => ("성공", "Success"),
                Self::Voicemail => ("음성사서함", "Voicemail"),
                Self::Declined => ("거절", "Declined"),
                Self::Rescheduled => ("일정 변경", "Rescheduled"),
                Self::CallbackRequested => ("재통화 요청", "Call back"),
                Self::Other => ("기타", "Other"),
                Self::OptedOut => ("수신 거부", "Opted out"),
            },
        )
    }
}

impl Label for CampaignStatus {
    fn label(&self, language: Language) -> &'static str {
        pick(
            language,
            match self {
                Self::Draft => ("준비 중", "Draft"),
                Self::Scheduled => ("예약됨", "Scheduled"),
                Self::Running => ("진행 중", "Running"),
                Self::Paused => ("일시정지", "Paused"),
                Self::Completed => ("완료", "Completed"),
                Self::Cancelled => ("취소", "Cancelled"),
            },
        )
    }
}

/// The word for a stored status or result code (`"CALLBACK_REQUESTED"` → 재통화 요청), of a call
/// or a campaign; an unknown code comes back as it is, so nothing is hidden.
pub fn label_code(code: &str, language: Language) -> String {
    let quoted = serde_json::Value::String(code.to_owned());
    if let Ok(result) = serde_json::from_value::<CallResult>(quoted.clone()) {
        return result.label(language).to_owned();
    }
    if let Ok(status) = serde_json::from_value::<CallStatus>(quoted.clone()) {
        return status.label(language).to_owned();
    }
    if let Ok(status) = serde_json::from_value::<CampaignStatus>(quoted) {
        return status.label(language).to_owned();
    }
    code.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_codes_read_as_korean_words_and_unknown_codes_stay() {
        let cases = [
            ("SUCCESS", "성공"),
            ("RESCHEDULED", "일정 변경"),
            ("DECLINED", "거절"),
            ("CALLBACK_REQUESTED", "재통화 요청"),
            ("NO_ANSWER", "부재중"),
            ("VOICEMAIL", "음성사서함"),
            ("OPTED_OUT", "수신 거부"),
            ("FAILED", "실패"),
            ("COMPLETED", "완료"),
            ("PAUSED", "일시정지"),
            ("SOMETHING_NEW", "SOMETHING_NEW"),
        ];
        for (code, word) in cases {
            assert_eq!(label_code(code, Language::Ko), word, "{code}");
        }
        assert_eq!(label_code("CALLBACK_REQUESTED", Language::En), "Call back");
    }

    #[test]
    fn every_campaign_status_has_a_word() {
        use CampaignStatus::*;
        for status in [Draft, Scheduled, Running, Paused, Completed, Cancelled] {
            assert!(!status.label(Language::Ko).is_empty());
            assert_ne!(status.label(Language::Ko), status.label(Language::En));
        }
    }
}
