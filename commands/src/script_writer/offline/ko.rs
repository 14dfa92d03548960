//! The Korean scripts. Particles never follow a `{variable}` whose last syllable is unknown:
//! only forms that fit either way (입니다, 님, 에, 에서, 까지, 의) do.

use domain::script::Language;

use super::analysis::{Analysis, Business, Deadline, clock_ko, day_ko};
use super::{Draft, step};

const GREETING: &str = "안녕하세요, {businessName}입니다.";
const CLOSING: &str = "바쁘신데 시간 내주셔서 감사합니다. 궁금하신 점 있으시면 언제든 편하게 \
                       연락 주세요. 좋은 하루 보내세요.";

struct Words {
    /// 진료 예약, 시술 예약…
    booking: &'static str,
    /// 내원, 방문…
    visit: &'static str,
    /// What is paid: 진료비, 이번 달 수강료…
    bill: &'static str,
}

fn words(business: Business) -> Words {
    let (booking, visit, bill) = match business {
        Business::Clinic => ("진료 예약", "내원", "진료비"),
        Business::Dental => ("치료 예약", "내원", "치료비"),
        Business::Salon => ("시술 예약", "방문", "시술 비용"),
        Business::Academy => ("상담 예약", "방문", "이번 달 수강료"),
        Business::Restaurant => ("예약", "방문", "예약금"),
        Business::Fitness => ("수업 예약", "방문", "이번 달 회비"),
        Business::Other => ("예약", "방문", "결제 금액"),
    };
    Words {
        booking,
        visit,
        bill,
    }
}

pub fn appointment(analysis: &Analysis) -> Draft {
    let words = words(analysis.business);
    let when = match analysis.when.day {
        Some(day) => format!("{} {{appointmentTime}}", day_ko(day)),
        None => "{appointmentTime}".to_owned(),
    };
    let cancel = if analysis.ask_cancel_reason {
        step(
            4,
            "네, 예약은 취소해 드리겠습니다. 혹시 취소하시는 이유를 여쭤봐도 될까요? 더 나은 \
             서비스를 위해 참고하겠습니다.",
            &[
                "일정이 생겨서요",
                "몸이 괜찮아져서요",
                "말씀드리기 곤란해요",
            ],
            None,
            None,
        )
    } else {
        step(
            4,
            "네, 예약은 취소해 드리겠습니다. 나중에 다시 예약이 필요하시면 언제든 연락 주세요.",
            &["네, 알겠습니다", "감사합니다"],
            None,
            None,
        )
    };
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!(
            "{{customerName}}님, {when}에 {}이 있으셔서 확인차 연락드렸습니다.",
            words.booking
        ),
        main_flow: vec![
            step(
                1,
                &format!("예정대로 {} 가능하실까요?", words.visit),
                &["네, 갈게요", "시간을 좀 바꾸고 싶어요", "취소할게요"],
                None,
                Some(2),
            ),
            step(
                2,
                "네, 알겠습니다. 다른 시간으로 옮겨 드릴까요, 아니면 이번 예약은 취소해 드릴까요?",
                &["다른 시간으로 바꿔 주세요", "그냥 취소해 주세요"],
                Some(3),
                Some(4),
            ),
            step(
                3,
                "지금 예약 가능한 시간은 {availableTimes}입니다. 이 중에 편하신 시간이 있으실까요?",
                &["두 번째 시간이 좋아요", "그 시간은 다 어려워요"],
                Some(5),
                Some(6),
            ),
            cancel,
            step(
                5,
                "네, 그럼 말씀하신 시간으로 예약을 변경해 두겠습니다. 변경된 내용은 문자로 한 번 \
                 더 보내 드릴게요.",
                &["네, 감사합니다"],
                None,
                None,
            ),
            step(
                6,
                "그러시면 편하신 날짜와 시간을 말씀해 주세요. 확인해서 가능한 시간으로 다시 \
                 연락드리겠습니다.",
                &[
                    "다음 주 화요일 오전이 좋아요",
                    "제가 나중에 다시 전화할게요",
                ],
                None,
                None,
            ),
        ],
        closing: CLOSING.to_owned(),
    }
}

pub fn payment(analysis: &Analysis) -> Draft {
    let words = words(analysis.business);
    let amount = analysis.amount_in(Language::Ko);
    let due = match analysis.when.deadline {
        Some(Deadline::Day(day)) => day_ko(day),
        Some(Deadline::EndOfWeek) => "이번 주".to_owned(),
        Some(Deadline::EndOfMonth) => "이번 달 말".to_owned(),
        None => "{dueDate}".to_owned(),
    };
    let amount_phrase = format!("{} {amount}", words.bill);
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!(
            "{{customerName}}님, {amount_phrase}의 납부 기한이 {due}까지라서 미리 안내드리려고 \
             연락드렸습니다."
        ),
        main_flow: vec![
            step(
                1,
                "기한 안에 납부 가능하실까요?",
                &["네, 낼게요", "이미 냈어요", "조금 늦어질 것 같아요"],
                Some(2),
                Some(3),
            ),
            step(
                2,
                "확인해 주셔서 감사합니다. 혹시 이미 납부하셨다면 이 안내는 신경 쓰지 않으셔도 \
                 됩니다.",
                &["네, 알겠습니다"],
                None,
                None,
            ),
            step(
                3,
                "괜찮습니다. 혹시 언제쯤 납부가 가능하실지 여쭤봐도 될까요? 말씀해 주시면 \
                 담당자에게 전달해 두겠습니다.",
                &["다음 주 월요일에 낼게요", "월급날 이후에 가능해요"],
                None,
                None,
            ),
        ],
        closing: "바쁘신데 통화 감사합니다. 납부 관련해서 궁금하신 점 있으시면 언제든 연락 \
                  주세요. 좋은 하루 보내세요."
            .to_owned(),
    }
}

pub fn event(analysis: &Analysis) -> Draft {
    // An unnamed or undated event is "이번 행사", never a placeholder no contact carries.
    let name = analysis
        .event_name
        .clone()
        .filter(|_| analysis.same_language(Language::Ko))
        .unwrap_or_else(|| "행사".to_owned());
    let when = match (analysis.when.day, analysis.when.clock) {
        (Some(day), Some(clock)) => format!("{} {}에 열리는", day_ko(day), clock_ko(clock)),
        (Some(day), None) => format!("{} 열리는", day_ko(day)),
        (None, Some(clock)) => format!("{}에 열리는", clock_ko(clock)),
        (None, None) => "이번".to_owned(),
    };
    Draft {
        greeting: GREETING.to_owned(),
        purpose: format!(
            "{{customerName}}님, {when} {name} 참석 여부를 여쭤보려고 연락드렸습니다."
        ),
        main_flow: vec![
            step(
                1,
                "참석 가능하실까요?",
                &[
                    "네, 갈게요",
                    "이번에는 어려울 것 같아요",
                    "아직 잘 모르겠어요",
                ],
                Some(2),
                Some(3),
            ),
            step(
                2,
                "감사합니다. 혹시 함께 오시는 분이 있으시면 몇 분인지 알려주시겠어요? 준비하는 데 \
                 참고하겠습니다.",
                &["저 혼자 가요", "두 명이서 갈게요"],
                None,
                None,
            ),
            step(
                3,
                "아쉽네요. 다음에 비슷한 자리가 있으면 또 안내드려도 괜찮을까요?",
                &["네, 알려주세요", "아니요, 괜찮아요"],
                None,
                None,
            ),
        ],
        closing: "시간 내주셔서 감사합니다. 궁금하신 점 있으시면 언제든 연락 주세요. 좋은 하루 \
                  보내세요."
            .to_owned(),
    }
}
