use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::DomainEvent;
use cqrs_es::test::TestFramework;
use serde_json::json;
use uuid::Uuid;

use super::*;

type Fixture = TestFramework<Script>;

const OWNER: Uuid = Uuid::from_u128(0x0A);

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, minute, 0).unwrap()
}

fn content(greeting: &str) -> ScriptContent {
    ScriptContent {
        greeting: greeting.to_owned(),
        purpose: "예약 확인".to_owned(),
        main_flow: vec![FlowStep {
            step: 1,
            action: "예약 시간을 안내하고 확인을 요청".to_owned(),
            expected_responses: vec!["네".to_owned(), "변경하고 싶어요".to_owned()],
            next_step: NextStep {
                positive: None,
                negative: Some(2),
            },
        }],
        closing: "감사합니다".to_owned(),
        variables: vec!["고객명".to_owned()],
    }
}

fn created() -> ScriptEvent {
    ScriptEvent::ScriptCreated {
        owner_id: OWNER,
        name: "예약 확인".to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content: content("안녕하세요"),
        version: 1,
        created_at: t(0),
    }
}

fn create(name: &str) -> ScriptCommand {
    ScriptCommand::CreateScript {
        owner_id: OWNER,
        name: name.to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content: content("안녕하세요"),
        at: t(0),
    }
}

fn edit(name: Option<&str>) -> ScriptCommand {
    ScriptCommand::EditScript {
        name: name.map(str::to_owned),
        content: content("반갑습니다"),
        at: t(5),
    }
}

#[test]
fn creating_a_script_records_version_one() {
    Fixture::with(())
        .given_no_previous_events()
        .when(create("  예약 확인 "))
        .then_expect_events(vec![created()]);
}

#[test]
fn creating_a_script_twice_is_refused() {
    Fixture::with(())
        .given(vec![created()])
        .when(create("예약 확인"))
        .then_expect_error(ScriptError::AlreadyExists);
}

#[test]
fn creating_a_script_without_a_name_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(create("   "))
        .then_expect_error(ScriptError::EmptyName);
}

#[test]
fn creating_a_script_with_an_overlong_name_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(create(&"가".repeat(201)))
        .then_expect_error(ScriptError::NameTooLong);
}

#[test]
fn editing_a_script_bumps_the_version_and_keeps_the_name() {
    Fixture::with(())
        .given(vec![created()])
        .when(edit(None))
        .then_expect_events(vec![ScriptEvent::ScriptEdited {
            version: 2,
            name: "예약 확인".to_owned(),
            content: content("반갑습니다"),
            edited_at: t(5),
        }]);
}

#[test]
fn editing_a_script_can_rename_it() {
    Fixture::with(())
        .given(vec![
            created(),
            ScriptEvent::ScriptEdited {
                version: 2,
                name: "예약 확인".to_owned(),
                content: content("안녕"),
                edited_at: t(1),
            },
        ])
        .when(edit(Some("예약 변경 안내")))
        .then_expect_events(vec![ScriptEvent::ScriptEdited {
            version: 3,
            name: "예약 변경 안내".to_owned(),
            content: content("반갑습니다"),
            edited_at: t(5),
        }]);
}

#[test]
fn renaming_a_script_to_an_empty_name_is_refused() {
    Fixture::with(())
        .given(vec![created()])
        .when(edit(Some("")))
        .then_expect_error(ScriptError::EmptyName);
}

#[test]
fn editing_a_script_that_was_never_created_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(edit(None))
        .then_expect_error(ScriptError::NotFound);
}

#[test]
fn editing_a_deleted_script_is_refused() {
    Fixture::with(())
        .given(vec![
            created(),
            ScriptEvent::ScriptDeleted { deleted_at: t(2) },
        ])
        .when(edit(None))
        .then_expect_error(ScriptError::Deleted);
}

#[test]
fn deleting_a_script_is_recorded() {
    Fixture::with(())
        .given(vec![created()])
        .when(ScriptCommand::DeleteScript { at: t(9) })
        .then_expect_events(vec![ScriptEvent::ScriptDeleted { deleted_at: t(9) }]);
}

#[test]
fn deleting_a_script_that_was_never_created_is_refused() {
    Fixture::with(())
        .given_no_previous_events()
        .when(ScriptCommand::DeleteScript { at: t(9) })
        .then_expect_error(ScriptError::NotFound);
}

#[test]
fn deleting_a_script_twice_is_refused() {
    Fixture::with(())
        .given(vec![
            created(),
            ScriptEvent::ScriptDeleted { deleted_at: t(2) },
        ])
        .when(ScriptCommand::DeleteScript { at: t(9) })
        .then_expect_error(ScriptError::Deleted);
}

#[test]
fn script_content_uses_the_seed_camel_case_shape() {
    let json = json!({
        "greeting": "안녕하세요",
        "purpose": "예약 확인",
        "mainFlow": [{
            "step": 1,
            "action": "예약 시간을 안내하고 확인을 요청",
            "expectedResponses": ["네", "변경하고 싶어요"],
            "nextStep": { "positive": null, "negative": 2 }
        }],
        "closing": "감사합니다",
        "variables": ["고객명"]
    });
    let parsed: ScriptContent = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(parsed, content("안녕하세요"));
    assert_eq!(serde_json::to_value(&parsed).unwrap(), json);
}

#[test]
fn script_events_have_stable_names() {
    let event = ScriptEvent::ScriptDeleted { deleted_at: t(2) };
    assert_eq!(event.event_type(), "ScriptDeleted");
    assert_eq!(event.event_version(), "1.0");
    assert_eq!(created().event_type(), "ScriptCreated");
}
