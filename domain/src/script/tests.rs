use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
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
        purpose: "{고객명}님, 예약 확인차 연락드렸습니다.".to_owned(),
        main_flow: vec![
            FlowStep {
                step: 1,
                action: "예약 시간을 안내하고 확인을 요청".to_owned(),
                expected_responses: vec!["네".to_owned(), "변경하고 싶어요".to_owned()],
                next_step: NextStep {
                    positive: None,
                    negative: Some(2),
                },
            },
            FlowStep {
                step: 2,
                action: "다른 시간을 제안".to_owned(),
                expected_responses: vec![],
                next_step: NextStep::default(),
            },
        ],
        closing: "감사합니다".to_owned(),
        variables: vec!["고객명".to_owned()],
    }
}

fn broken() -> ScriptContent {
    let mut content = content("안녕하세요");
    content.main_flow[0].next_step.negative = Some(7);
    content.closing = " ".to_owned();
    content
}

fn drafted() -> ScriptEvent {
    ScriptEvent::ScriptDrafted {
        owner_id: OWNER,
        name: "내일 예약 고객에게 확인 전화".to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content: content("안녕하세요"),
        version: 1,
        writer: "offline".to_owned(),
        drafted_at: t(0),
    }
}

fn draft(content: ScriptContent) -> ScriptCommand {
    ScriptCommand::DraftScript {
        owner_id: OWNER,
        name: "내일 예약 고객에게 확인 전화".to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content,
        writer: "offline".to_owned(),
        at: t(0),
    }
}

fn save(content: ScriptContent) -> ScriptCommand {
    ScriptCommand::SaveDraft {
        name: " 예약 확인 ".to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content,
        at: t(3),
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
fn creating_an_invalid_script_is_refused_with_every_problem() {
    let errors = validate(&broken()).unwrap_err();
    assert_eq!(errors.len(), 2);
    Fixture::with(())
        .given_no_previous_events()
        .when(ScriptCommand::CreateScript {
            owner_id: OWNER,
            name: "예약 확인".to_owned(),
            natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
            content: broken(),
            at: t(0),
        })
        .then_expect_error(ScriptError::InvalidContent(errors));
}

#[test]
fn editing_a_script_into_an_invalid_one_is_refused() {
    let errors = validate(&broken()).unwrap_err();
    Fixture::with(())
        .given(vec![created()])
        .when(ScriptCommand::EditScript {
            name: None,
            content: broken(),
            at: t(5),
        })
        .then_expect_error(ScriptError::InvalidContent(errors));
}

#[test]
fn drafting_a_generated_script_records_version_one() {
    Fixture::with(())
        .given_no_previous_events()
        .when(draft(content("안녕하세요")))
        .then_expect_events(vec![drafted()]);
}

#[test]
fn drafting_an_invalid_script_is_refused() {
    let errors = validate(&broken()).unwrap_err();
    Fixture::with(())
        .given_no_previous_events()
        .when(draft(broken()))
        .then_expect_error(ScriptError::InvalidContent(errors));
}

#[test]
fn drafting_over_an_existing_script_is_refused() {
    Fixture::with(())
        .given(vec![created()])
        .when(draft(content("안녕하세요")))
        .then_expect_error(ScriptError::AlreadyExists);
}

#[test]
fn saving_an_unchanged_draft_keeps_its_version() {
    Fixture::with(())
        .given(vec![drafted()])
        .when(save(content("안녕하세요")))
        .then_expect_events(vec![ScriptEvent::ScriptSaved {
            version: 1,
            name: "예약 확인".to_owned(),
            natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
            content: content("안녕하세요"),
            saved_at: t(3),
        }]);
}

#[test]
fn saving_a_changed_draft_makes_a_new_version() {
    Fixture::with(())
        .given(vec![drafted()])
        .when(save(content("반갑습니다")))
        .then_expect_events(vec![ScriptEvent::ScriptSaved {
            version: 2,
            name: "예약 확인".to_owned(),
            natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
            content: content("반갑습니다"),
            saved_at: t(3),
        }]);
}

#[test]
fn saving_a_script_that_is_already_saved_is_refused() {
    Fixture::with(())
        .given(vec![created()])
        .when(save(content("안녕하세요")))
        .then_expect_error(ScriptError::AlreadySaved);
    Fixture::with(())
        .given(vec![
            drafted(),
            ScriptEvent::ScriptSaved {
                version: 1,
                name: "예약 확인".to_owned(),
                natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
                content: content("안녕하세요"),
                saved_at: t(3),
            },
        ])
        .when(save(content("안녕하세요")))
        .then_expect_error(ScriptError::AlreadySaved);
}

#[test]
fn saving_a_deleted_or_missing_draft_is_refused() {
    Fixture::with(())
        .given(vec![
            drafted(),
            ScriptEvent::ScriptDeleted { deleted_at: t(2) },
        ])
        .when(save(content("안녕하세요")))
        .then_expect_error(ScriptError::Deleted);
    Fixture::with(())
        .given_no_previous_events()
        .when(save(content("안녕하세요")))
        .then_expect_error(ScriptError::NotFound);
}

#[test]
fn editing_a_draft_bumps_its_version() {
    Fixture::with(())
        .given(vec![drafted()])
        .when(edit(Some("예약 확인")))
        .then_expect_events(vec![ScriptEvent::ScriptEdited {
            version: 2,
            name: "예약 확인".to_owned(),
            content: content("반갑습니다"),
            edited_at: t(5),
        }]);
}

#[test]
fn the_aggregate_tracks_draft_state_and_version() {
    let mut script = Script::default();
    script.apply(drafted());
    assert!(script.is_draft());
    assert_eq!((script.version(), script.owner_id()), (1, OWNER));
    script.apply(ScriptEvent::ScriptSaved {
        version: 2,
        name: "예약 확인".to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content: content("반갑습니다"),
        saved_at: t(3),
    });
    assert!(!script.is_draft());
    assert_eq!(script.version(), 2);
    assert_eq!(script.content().greeting, "반갑습니다");
}

#[test]
fn script_content_uses_the_seed_camel_case_shape() {
    let json = json!({
        "greeting": "안녕하세요",
        "purpose": "{고객명}님, 예약 확인차 연락드렸습니다.",
        "mainFlow": [{
            "step": 1,
            "action": "예약 시간을 안내하고 확인을 요청",
            "expectedResponses": ["네", "변경하고 싶어요"],
            "nextStep": { "positive": null, "negative": 2 }
        }, {
            "step": 2,
            "action": "다른 시간을 제안",
            "expectedResponses": [],
            "nextStep": { "positive": null, "negative": null }
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
    assert_eq!(drafted().event_type(), "ScriptDrafted");
    let saved = ScriptEvent::ScriptSaved {
        version: 1,
        name: "n".to_owned(),
        natural_input: "i".to_owned(),
        content: content("안녕하세요"),
        saved_at: t(3),
    };
    assert_eq!(saved.event_type(), "ScriptSaved");
}
