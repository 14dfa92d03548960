use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::*;
use crate::script::FlowStep;

fn script() -> ScriptContent {
    ScriptContent {
        greeting: "안녕하세요, {businessName}입니다. {customerName}님 맞으신가요?".into(),
        purpose: "{appointmentTime} 예약 확인차 연락드렸습니다.".into(),
        main_flow: vec![FlowStep {
            step: 1,
            action: "변경을 원하시면 {availableTimes} 중에서 고르실 수 있어요.".into(),
            expected_responses: vec!["{availableTimes} 괜찮아요".into()],
            ..FlowStep::default()
        }],
        closing: "문의는 {businessPhone}로 주세요.".into(),
        variables: vec!["customerName".into(), "unused".into()],
    }
}

fn context(pairs: Value) -> Map<String, Value> {
    pairs.as_object().cloned().unwrap_or_default()
}

fn business() -> BusinessProfile {
    BusinessProfile {
        name: Some("행복치과".into()),
        phone: Some("02-555-0100".into()),
        hours: None,
    }
}

#[test]
fn required_lists_the_texts_placeholders_once_in_reading_order() {
    assert_eq!(
        required(&script()),
        [
            "businessName",
            "customerName",
            "appointmentTime",
            "availableTimes",
            "businessPhone"
        ]
    );
}

#[test]
fn the_first_source_with_a_value_wins() {
    let context = context(json!({"customerName": "문맥 이름", "businessName": "  ", "slot": 3}));
    let campaign = BTreeMap::from([("slot".to_owned(), "campaign".to_owned())]);
    let business = business();
    let sources = Sources {
        contact_name: Some("홍길동"),
        contact_context: &context,
        campaign: &campaign,
        business: &business,
    };
    let cases = [
        ("customerName", Some("홍길동")),
        // Blank context text falls through to the business profile.
        ("businessName", Some("행복치과")),
        // A number in the context is said as written, before the campaign's value.
        ("slot", Some("3")),
        ("businessHours", None),
        ("nothing", None),
    ];
    for (name, expected) in cases {
        assert_eq!(sources.value(name).as_deref(), expected, "{name}");
    }
}

#[test]
fn resolving_names_every_missing_value_and_rendering_fills_every_text() {
    let context = context(json!({"appointmentTime": "내일 오후 2시"}));
    let empty = BTreeMap::new();
    let business = business();
    let mut sources = Sources {
        contact_name: Some("홍길동"),
        contact_context: &context,
        campaign: &empty,
        business: &business,
    };
    assert_eq!(
        sources.resolve(&script()),
        Err(vec!["availableTimes".to_owned()])
    );

    let campaign = BTreeMap::from([("availableTimes".to_owned(), "3시, 4시".to_owned())]);
    sources.campaign = &campaign;
    let values = sources.resolve(&script()).expect("every value is there");
    let filled = render(&script(), &values);
    assert_eq!(
        filled.greeting,
        "안녕하세요, 행복치과입니다. 홍길동님 맞으신가요?"
    );
    assert_eq!(
        filled.main_flow[0].expected_responses,
        ["3시, 4시 괜찮아요"]
    );
    assert!(
        filled.texts().all(|(_, text)| !text.contains('{')),
        "{filled:?}"
    );
}

#[test]
fn missing_across_counts_every_contact_and_names_a_bounded_few() {
    let with_time = context(json!({"appointmentTime": "2시"}));
    let without = Map::new();
    let campaign = BTreeMap::new();
    let business = BusinessProfile::default();
    let contacts = (0..25).map(|i| {
        let sources = Sources {
            contact_name: (i % 2 == 0).then_some("이름"),
            contact_context: if i == 0 { &with_time } else { &without },
            campaign: &campaign,
            business: &business,
        };
        (format!("contact {i}"), sources)
    });
    let missing = missing_across(&script(), contacts);
    let summary: Vec<(&str, usize, usize)> = missing
        .iter()
        .map(|m| (m.name.as_str(), m.missing_count, m.contacts.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("businessName", 25, MAX_MISSING_CONTACTS),
            ("customerName", 12, 12),
            ("appointmentTime", 24, MAX_MISSING_CONTACTS),
            ("availableTimes", 25, MAX_MISSING_CONTACTS),
            ("businessPhone", 25, MAX_MISSING_CONTACTS),
        ]
    );
    assert_eq!(missing[1].contacts[0], "contact 1");
}
