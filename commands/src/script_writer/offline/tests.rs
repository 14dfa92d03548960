use domain::script::{Language, ScriptContent, preview, validate};

use super::*;

const SEED: &str = "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 \
                    시간 제안해줘. 취소하면 취소 사유도 물어봐줘.";

fn write(input: &str, business: Option<&str>, language: Language) -> ScriptContent {
    let mut request = ScriptRequest::new(input, language);
    request.business_type = business.map(str::to_owned);
    let content = OfflineWriter::compose(&request);
    assert_eq!(validate(&content), Ok(()), "invalid script for {input:?}");
    content
}

/// Fails unless `text` says `words`, showing the whole text.
pub(super) fn assert_says(text: &str, words: &str) {
    assert!(text.contains(words), "{words:?} is not in {text:?}");
}

fn step_containing<'a>(content: &'a ScriptContent, words: &[&str]) -> &'a domain::script::FlowStep {
    content
        .main_flow
        .iter()
        .find(|step| words.iter().all(|word| step.action.contains(word)))
        .unwrap_or_else(|| panic!("no step mentions {words:?}:\n{content:#?}"))
}

#[test]
fn the_seed_request_gives_greeting_confirmation_change_cancellation_and_closing() {
    let content = write(SEED, Some("clinic"), Language::Ko);
    assert_eq!(content.greeting, "안녕하세요, {businessName}입니다.");
    assert_eq!(
        content.purpose,
        "{customerName}님, 내일 {appointmentTime}에 진료 예약이 있으셔서 확인차 연락드렸습니다."
    );
    let confirm = &content.main_flow[0];
    assert_eq!(confirm.action, "예정대로 내원 가능하실까요?");
    assert_eq!(
        confirm.next_step.positive, None,
        "a confirmation ends the call"
    );
    let change_or_cancel = &content.main_flow[confirm.next_step.negative.unwrap() as usize - 1];
    let offer = &content.main_flow[change_or_cancel.next_step.positive.unwrap() as usize - 1];
    assert_says(&offer.action, "{availableTimes}");
    let cancel = &content.main_flow[change_or_cancel.next_step.negative.unwrap() as usize - 1];
    assert!(
        cancel.action.contains("취소") && cancel.action.contains("이유"),
        "{}",
        cancel.action
    );
    assert!(content.closing.contains("감사합니다"));
    assert_eq!(
        content.variables,
        [
            "{businessName}",
            "{customerName}",
            "{appointmentTime}",
            "{availableTimes}"
        ]
    );
}

#[test]
fn the_seed_preview_reads_like_screen_two() {
    let content = write(SEED, Some("clinic"), Language::Ko);
    let text = preview(&content, Language::Ko);
    assert!(
        text.starts_with(
            "인사: \"안녕하세요, {businessName}입니다.\"\n\n목적: \"{customerName}님, 내일"
        ),
        "{text}"
    );
    assert_says(&text, "흐름:\n1. \"예정대로 내원 가능하실까요?\"");
    assert_says(&text, "→ 긍정: 마무리\n   → 부정: 2번");
}

#[test]
fn without_a_reason_requested_a_cancellation_is_simply_taken() {
    let content = write(
        "예약 확인 전화해줘. 변경하고 싶으면 다른 시간 제안해",
        Some("salon"),
        Language::Ko,
    );
    assert_says(&content.purpose, "{appointmentTime}에 시술 예약이");
    assert!(!content.purpose.contains("내일"));
    let cancel = step_containing(&content, &["취소해 드리겠습니다"]);
    assert!(!cancel.action.contains("이유"));
    step_containing(&content, &["{availableTimes}"]);
}

#[test]
fn the_same_request_always_gives_the_same_script() {
    let first = write(SEED, None, Language::Ko);
    for _ in 0..3 {
        assert_eq!(write(SEED, None, Language::Ko), first);
    }
}

#[test]
fn payment_reminders_name_the_amount_and_due_date() {
    let content = write(
        "결제 리마인더 보내줘. 기한이 내일까지야",
        None,
        Language::Ko,
    );
    assert_eq!(
        content.purpose,
        "{customerName}님, 결제 금액 {amount}의 납부 기한이 내일까지라서 미리 안내드리려고 연락드렸습니다."
    );
    step_containing(&content, &["언제쯤 납부"]);
    let content = write(
        "학원 수강료 35만원 이번 달 말까지 납부 안내해줘",
        None,
        Language::Ko,
    );
    assert_says(
        &content.purpose,
        "이번 달 수강료 350,000원의 납부 기한이 이번 달 말까지라서",
    );
    assert_eq!(content.variables, ["{businessName}", "{customerName}"]);
    let content = write(
        "Remind members their payment is due Friday",
        Some("gym"),
        Language::En,
    );
    assert_eq!(
        content.purpose,
        "Hi {customerName}, this is a friendly reminder that this month's membership fee of \
         {amount} is due on Friday."
    );
    let content = write("납부 안내 전화", None, Language::Ko);
    assert_says(&content.purpose, "{dueDate}까지");
}

#[test]
fn event_calls_ask_for_attendance_and_companions() {
    let content = write("내일 행사 참석 여부 확인해줘", None, Language::Ko);
    assert_eq!(
        content.purpose,
        "{customerName}님, 내일 열리는 행사 참석 여부를 여쭤보려고 연락드렸습니다."
    );
    assert_eq!(content.main_flow[0].action, "참석 가능하실까요?");
    step_containing(&content, &["함께 오시는 분"]);
    let content = write(
        "토요일 오후 3시 학부모 설명회 참석 여부 물어봐줘",
        Some("academy"),
        Language::Ko,
    );
    assert_says(
        &content.purpose,
        "토요일 오후 3시에 열리는 학부모 설명회 참석 여부",
    );
    // Unnamed and undated (here: named only in Korean) is said plainly, not left as a
    // placeholder no contact carries.
    let content = write("행사 참석 확인", None, Language::En);
    assert_eq!(
        content.purpose,
        "Hi {customerName}, I'm calling to see if you'll be joining us for our upcoming event."
    );
    assert_eq!(content.variables, ["{businessName}", "{customerName}"]);
    let content = write("행사 참석 확인", None, Language::Ko);
    assert_eq!(
        content.purpose,
        "{customerName}님, 이번 행사 참석 여부를 여쭤보려고 연락드렸습니다."
    );
}

#[test]
fn notices_are_passed_on_in_the_agents_words() {
    let content = write(
        "고객들에게 전화해서 다음 주 월요일은 휴진이라고 안내해줘",
        Some("clinic"),
        Language::Ko,
    );
    assert_eq!(
        content.purpose,
        "{customerName}님, 다음 주 월요일은 휴진이라고 안내드리려고 연락드렸습니다."
    );
    assert_eq!(content.main_flow[0].action, "혹시 궁금하신 점 있으실까요?");
    let content = write("다음 주 월요일 휴진 안내해줘", None, Language::Ko);
    assert_eq!(
        content.purpose,
        "{customerName}님, 다음 주 월요일 휴진 안내드리려고 연락드렸습니다."
    );
    // Nothing to pass on: still no content-free {noticeDetails}.
    let content = write("전화 좀 돌려줘요 부탁합니다", None, Language::Ko);
    assert_eq!(content.variables, ["{businessName}", "{customerName}"]);
    let content = write(
        "Let everyone know that we are closed next Monday.",
        None,
        Language::En,
    );
    assert_eq!(
        content.purpose,
        "Hi {customerName}, I'm calling to let you know that we are closed next Monday."
    );
    assert_eq!(
        content.main_flow[0].action,
        "Do you have any questions about this?"
    );
}

#[test]
fn english_appointments_read_naturally() {
    let content = write(
        "Call tomorrow's patients at 2pm to confirm; offer another time if they want to \
         change, and ask why if they cancel",
        Some("clinic"),
        Language::En,
    );
    assert_eq!(content.greeting, "Hello, this is {businessName}.");
    assert_eq!(
        content.purpose,
        "Hi {customerName}, I'm calling to confirm your appointment tomorrow at {appointmentTime}."
    );
    step_containing(&content, &["openings at {availableTimes}"]);
    step_containing(&content, &["reason for cancelling"]);
    let korean_request_in_english = write(SEED, Some("restaurant"), Language::En);
    assert!(
        korean_request_in_english
            .purpose
            .contains("your reservation tomorrow")
    );
}

#[test]
fn every_intent_and_language_validates_for_many_requests() {
    let inputs = [
        SEED,
        "예약 확인",
        "결제 안내 50,000원 3월 5일까지",
        "이번 주 토요일 바자회 참석 여부",
        "매장 이전 안내",
        "공지",
        "Confirm appointments for next Tuesday at 10:30 am",
        "Invoice reminder, $45 due by the end of the month",
        "RSVP for the gala on March 3",
        "{weird} braces } and { stuff",
        "",
    ];
    for input in inputs {
        for language in [Language::Ko, Language::En] {
            for business in [None, Some("clinic"), Some("restaurant"), Some("fitness")] {
                let content = write(input, business, language);
                assert_eq!(content.language(), language, "{input}");
            }
        }
    }
}

#[tokio::test]
async fn the_writer_returns_a_valid_script_without_usage() {
    let written = OfflineWriter
        .write(&ScriptRequest::new(SEED, Language::Ko).for_business("clinic"))
        .await
        .unwrap();
    assert_eq!(written.usage, None);
    assert_eq!(written.content, write(SEED, Some("clinic"), Language::Ko));
    assert_eq!(OfflineWriter.name(), "offline");
}
