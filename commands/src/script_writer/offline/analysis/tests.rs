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
    assert_eq!(analysis.when.day, Some(Day::Tomorrow));
    assert_eq!(
        analysis.when.clock,
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
        ("다음 주 월요일은 휴진이라고 안내해줘", Intent::General),
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
            Intent::General,
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
    assert_eq!(payment.when.deadline, Some(Deadline::EndOfMonth));
    assert_eq!(payment.business, Business::Other);
    let payment = analyse("결제 리마인더 보내줘. 기한이 내일까지야", None);
    assert_eq!(payment.when.deadline, Some(Deadline::Day(Day::Tomorrow)));
}

#[test]
fn event_names_keep_the_owners_words() {
    let name = |input: &str| analyse(input, None).event_name;
    assert_eq!(
        name("내일 행사 참석 여부 확인해줘").as_deref(),
        Some("행사")
    );
    assert_eq!(
        name("토요일 학부모 설명회 참석 여부 물어봐줘").as_deref(),
        Some("학부모 설명회")
    );
    assert_eq!(
        name("다음 주 열리는 세미나에 참석하는지").as_deref(),
        Some("세미나")
    );
    assert_eq!(
        name("Ask if they will attend our spring open house").as_deref(),
        Some("spring open house")
    );
}

#[test]
fn follow_ups_and_non_appointments_are_told_apart() {
    let check = analyse(
        "어제 레이저 토닝 시술 받은 고객들한테 전화해서 불편한 데 없는지 확인해줘",
        None,
    );
    assert!(check.follow_up);
    assert_eq!(check.intent, Intent::General, "not an appointment");
    for input in [
        "스케일링 받은 지 1년 지난 환자분들께 정기 검진 예약 권유해줘",
        "연체 도서가 있는 회원들에게 반납해 달라고 요청해줘",
        "헌혈 행사에 참여하신 분들께 감사 인사 전해줘",
    ] {
        let analysis = analyse(input, None);
        assert_eq!(analysis.intent, Intent::General, "{input}");
        assert!(!analysis.follow_up, "{input}");
    }
    assert!(
        analyse("관리비를 이번 달 25일까지 납부해 달라고 안내해줘", None)
            .when
            .unread_date
    );
    assert!(!analyse("관리비를 3월 25일까지 납부", None).when.unread_date);
}

#[test]
fn the_business_comes_from_the_context_or_the_request() {
    assert_eq!(
        analyse("예약 확인", Some("salon")).business,
        Business::Salon
    );
    assert_eq!(
        analyse("치과 예약 확인 전화", None).business,
        Business::Dental
    );
    assert_eq!(
        analyse("학원 상담 예약 확인", Some("other")).business,
        Business::Academy
    );
    assert_eq!(
        analyse("Confirm the reservation", Some("restaurant")).business,
        Business::Restaurant
    );
}
