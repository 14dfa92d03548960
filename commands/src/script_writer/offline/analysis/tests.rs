use super::*;

#[test]
fn the_seed_request_is_an_appointment_tomorrow_at_two_with_a_cancel_reason() {
    let analysis = analyse(
        "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 \
         제안해줘. 취소하면 취소 사유도 물어봐줘.",
        Some("clinic"),
    );
    assert_eq!(analysis.intent, Intent::Appointment);
    assert_eq!(analysis.business, Business::Clinic);
    assert_eq!(analysis.day, Some(Day::Tomorrow));
    assert_eq!(
        analysis.clock,
        Some(Clock {
            hour: 14,
            minute: 0
        })
    );
    assert!(analysis.ask_cancel_reason);
    assert_eq!(analysis.input_language, Language::Ko);
}

#[test]
fn intents_follow_the_keywords() {
    for (input, intent) in [
        (
            "예약 확인 전화해줘. 변경하고 싶으면 다른 시간 제안해",
            Intent::Appointment,
        ),
        ("결제 리마인더 보내줘. 기한이 내일까지야", Intent::Payment),
        ("내일 행사 참석 여부 확인해줘", Intent::Event),
        ("다음 주 월요일은 휴진이라고 안내해줘", Intent::Notice),
        ("예약금 입금 안내 전화 부탁해", Intent::Payment),
        (
            "Call tomorrow's patients to confirm their appointment",
            Intent::Appointment,
        ),
        (
            "Remind members that their payment is due Friday",
            Intent::Payment,
        ),
        (
            "Ask if they will attend our open house on Saturday",
            Intent::Event,
        ),
        (
            "Let everyone know that we are closed next Monday",
            Intent::Notice,
        ),
    ] {
        assert_eq!(analyse(input, None).intent, intent, "{input}");
    }
}

#[test]
fn days_and_times_are_read_in_both_languages() {
    let cases = [
        (
            "모레 오전 10시 반",
            Some(Day::DayAfterTomorrow),
            Some((10, 30)),
        ),
        (
            "다음 주 금요일 저녁 7시",
            Some(Day::Weekday {
                week: Week::Next,
                weekday: 4,
            }),
            Some((19, 0)),
        ),
        (
            "3월 5일 14:30",
            Some(Day::Date { month: 3, day: 5 }),
            Some((14, 30)),
        ),
        ("2시간 동안", None, None),
        ("tomorrow at 2pm", Some(Day::Tomorrow), Some((14, 0))),
        (
            "next Friday at 10:15 a.m.",
            Some(Day::Weekday {
                week: Week::Next,
                weekday: 4,
            }),
            Some((10, 15)),
        ),
        (
            "on March 5th at 3",
            Some(Day::Date { month: 3, day: 5 }),
            Some((15, 0)),
        ),
        ("오늘 3시", Some(Day::Today), Some((15, 0))),
    ];
    for (input, day_expected, clock_expected) in cases {
        let lower = input.to_lowercase();
        assert_eq!(day(&lower), day_expected, "{input}");
        assert_eq!(
            clock(&lower).map(|c| (c.hour, c.minute)),
            clock_expected,
            "{input}"
        );
    }
}

#[test]
fn days_times_and_amounts_render_in_both_languages() {
    assert_eq!(
        clock_ko(Clock {
            hour: 14,
            minute: 0
        }),
        "오후 2시"
    );
    assert_eq!(
        clock_ko(Clock {
            hour: 9,
            minute: 30
        }),
        "오전 9시 30분"
    );
    assert_eq!(
        clock_en(Clock {
            hour: 14,
            minute: 5
        }),
        "2:05 PM"
    );
    assert_eq!(clock_en(Clock { hour: 0, minute: 0 }), "12 AM");
    assert_eq!(
        day_ko(Day::Weekday {
            week: Week::This,
            weekday: 0
        }),
        "이번 주 월요일"
    );
    assert_eq!(day_en(Day::Date { month: 12, day: 24 }), "on December 24");
    assert_eq!(
        amount_text(&Amount::Won(1_250_000), Language::Ko),
        "1,250,000원"
    );
    assert_eq!(amount_text(&Amount::Won(50_000), Language::En), "₩50,000");
}

#[test]
fn amounts_and_deadlines_are_found() {
    assert_eq!(amount("수강료 35만원 납부"), Some(Amount::Won(350_000)));
    assert_eq!(amount("50,000원 결제"), Some(Amount::Won(50_000)));
    assert_eq!(amount("3만 5천원"), Some(Amount::Won(35_000)));
    assert_eq!(
        amount("pay $120.50 by Friday"),
        Some(Amount::Written("$120.50".into()))
    );
    assert_eq!(amount("결제 안내"), None);
    let payment = analyse("이번 달 말까지 회비 납부해 달라고 전화해줘", None);
    assert_eq!(payment.deadline, Some(Deadline::EndOfMonth));
    assert_eq!(payment.business, Business::Other);
    let payment = analyse("결제 리마인더 보내줘. 기한이 내일까지야", None);
    assert_eq!(payment.deadline, Some(Deadline::Day(Day::Tomorrow)));
}

#[test]
fn event_names_keep_the_owners_words() {
    for (input, name) in [
        ("내일 행사 참석 여부 확인해줘", "행사"),
        ("토요일 학부모 설명회 참석 여부 물어봐줘", "학부모 설명회"),
        ("다음 주 열리는 세미나에 참석하는지", "세미나"),
        (
            "Ask if they will attend our spring open house",
            "spring open house",
        ),
    ] {
        assert_eq!(
            analyse(input, None).event_name.as_deref(),
            Some(name),
            "{input}"
        );
    }
}

#[test]
fn reported_notices_become_sentences_and_topics_are_kept() {
    for (input, sentence) in [
        (
            "고객들에게 전화해서 다음 주 월요일은 휴진이라고 안내해줘",
            "다음 주 월요일은 휴진입니다.",
        ),
        (
            "영업시간이 오후 9시까지로 변경된다고 알려줘",
            "영업시간이 오후 9시까지로 변경됩니다.",
        ),
        (
            "Let everyone know that we are closed next Monday.",
            "We are closed next Monday.",
        ),
    ] {
        assert_eq!(
            analyse(input, None).notice.as_deref(),
            Some(sentence),
            "{input}"
        );
    }
    let topic = analyse("고객들에게 다음 주 월요일 휴진 안내해줘", None);
    assert_eq!(topic.notice, None);
    assert_eq!(topic.notice_topic.as_deref(), Some("다음 주 월요일 휴진"));
}

#[test]
fn the_business_comes_from_the_context_or_the_request() {
    for (input, context, business) in [
        ("예약 확인", Some("salon"), Business::Salon),
        ("치과 예약 확인 전화", None, Business::Dental),
        ("학원 상담 예약 확인", Some("other"), Business::Academy),
        (
            "Confirm the reservation",
            Some("restaurant"),
            Business::Restaurant,
        ),
    ] {
        assert_eq!(analyse(input, context).business, business, "{input}");
    }
}
