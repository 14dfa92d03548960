use domain::script::Language;

use super::super::analysis::analyse;
use super::super::tests::assert_says;
use super::*;

fn reading_ko(input: &str) -> Reading {
    ko::read(input)
}

#[test]
fn a_korean_instruction_is_cut_into_acts_without_the_callee_and_call_words() {
    let reading =
        reading_ko("부재중으로 반송 예정인 택배 고객들에게 전화해서 재배송 희망 날짜를 여쭤봐줘");
    assert_eq!(
        reading.about.as_deref(),
        Some("부재중으로 반송 예정인 택배")
    );
    assert_eq!(
        reading.clauses,
        [Clause {
            act: Act::Ask,
            body: "재배송 희망 날짜를".to_owned(),
            condition: None
        }]
    );
    let reading = reading_ko(
        "지난주 토요일에 아파트 보신 손님들께 연락해서 집은 어떠셨는지 물어보고, 다시 보고 \
         싶으시면 방문 일정 잡아줘",
    );
    let acts: Vec<Act> = reading.clauses.iter().map(|c| c.act).collect();
    assert_eq!(acts, [Act::Ask, Act::Offer]);
    assert_eq!(
        reading.clauses[1].condition.as_deref(),
        Some("다시 보고 싶으시면")
    );
}

#[test]
fn honorifics_are_added_where_the_owner_spoke_plainly() {
    assert_eq!(ko::honorific("어제 시술 받은"), "어제 시술 받으신");
    assert_eq!(ko::honorific("불편한 데 없는지"), "불편한 데 없으신지");
    assert_eq!(
        ko::honorific("연장할 생각 있는지"),
        "연장하실 생각 있으신지"
    );
    assert_eq!(ko::honorific("찾으러 오라고"), "찾으러 오시라고");
    assert_eq!(
        ko::honorific("납부 기한"),
        "납부 기한",
        "a noun keeps its 한"
    );
}

#[test]
fn the_purpose_says_the_owners_instruction_in_the_agents_words() {
    let write_ko = |input: &str| write(input, &analyse(input, None), Language::Ko);
    let draft =
        write_ko("부재중으로 반송 예정인 택배 고객들에게 전화해서 재배송 희망 날짜를 여쭤봐줘");
    assert_eq!(
        draft.purpose,
        "{customerName}님, 부재중으로 반송 예정인 택배 건으로 재배송 희망 날짜를 여쭤보려고 \
         연락드렸습니다."
    );
    assert_eq!(
        draft.main_flow[0].action,
        "재배송 희망 날짜를 말씀해 주시겠어요?"
    );
    let draft = write_ko("연체 도서가 있는 회원들에게 이번 주 금요일까지 반납해 달라고 요청해줘");
    assert!(
        draft
            .purpose
            .ends_with("이번 주 금요일까지 반납해 주시길 부탁드리려고 연락드렸습니다."),
        "{}",
        draft.purpose
    );
    assert_eq!(
        draft.main_flow[0].action,
        "이번 주 금요일까지 반납해 주실 수 있으실까요?"
    );
}

#[test]
fn an_english_instruction_is_turned_to_the_callee() {
    let write_en = |input: &str| write(input, &analyse(input, None), Language::En);
    let draft = write_en(
        "Call customers whose parcels will be returned and ask when they'd like the parcel \
         redelivered",
    );
    assert_eq!(
        draft.purpose,
        "Hi {customerName}, as your parcels will be returned, I'm calling to ask when you'd \
         like the parcel redelivered."
    );
    assert_eq!(
        draft.main_flow[0].action,
        "Could you tell me when you'd like the parcel redelivered?"
    );
    let draft = write_en("Ask parents whether their child will continue tutoring next term");
    assert_eq!(
        draft.main_flow[0].action,
        "Will your child continue tutoring next term?"
    );
}

#[test]
fn a_check_after_a_treatment_asks_how_they_are_and_offers_a_visit() {
    let input = "어제 레이저 토닝 시술 받은 고객들한테 전화해서 불편한 데 없는지 확인해줘";
    let analysis = analyse(input, Some("dermatology"));
    assert!(analysis.follow_up);
    let draft = write(input, &analysis, Language::Ko);
    assert_says(&draft.purpose, "어제 레이저 토닝 시술 받으신 건으로");
    assert!(draft.main_flow[0].action.contains("불편하신 점"));
    let visit = &draft.main_flow[draft.main_flow[0].next_step.negative.unwrap() as usize - 1];
    assert_says(&visit.action, "일정을 잡아 드릴까요");
}

#[test]
fn a_value_said_to_differ_per_contact_is_a_placeholder() {
    let input = "각 고객의 예약 시간을 알려주고 10분 일찍 오시라고 안내해줘";
    let draft = write(input, &analyse(input, None), Language::Ko);
    assert_eq!(
        draft.main_flow[0].action,
        "{customerName}님의 예약 시간은 {appointmentTime}입니다. 10분 일찍 오세요. 혹시 궁금하신 \
         점 있으실까요?"
    );
}
