//! Given/when/then tables of a script's life: create, draft, save, edit, delete.

use cqrs_es::{Aggregate, DomainEvent};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::testing::{Then, check_all, json_of, t};

const OWNER: Uuid = Uuid::from_u128(0x0A);

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

fn create(name: &str, content: ScriptContent) -> ScriptCommand {
    ScriptCommand::CreateScript {
        owner_id: OWNER,
        name: name.to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content,
        at: t(0),
    }
}

fn edit(name: Option<&str>, content: ScriptContent) -> ScriptCommand {
    ScriptCommand::EditScript {
        name: name.map(str::to_owned),
        content,
        at: t(5),
    }
}

/// Edited to version `version` under `name`, greeting `greeting`, at `minute`.
fn edited(version: u32, name: &str, greeting: &str, minute: i64) -> ScriptEvent {
    ScriptEvent::ScriptEdited {
        version,
        name: name.to_owned(),
        content: content(greeting),
        edited_at: t(minute),
    }
}

/// Saved as version `version` with greeting `greeting`.
fn saved(version: u32, greeting: &str) -> ScriptEvent {
    ScriptEvent::ScriptSaved {
        version,
        name: "예약 확인".to_owned(),
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        content: content(greeting),
        saved_at: t(3),
    }
}

fn deleted(minute: i64) -> ScriptEvent {
    ScriptEvent::ScriptDeleted {
        deleted_at: t(minute),
    }
}

/// The refusal of content that breaks the rules of `validate`.
fn invalid_content() -> Then<Script> {
    Err(ScriptError::InvalidContent(
        validate(&broken()).unwrap_err(),
    ))
}

#[test]
fn create_edit_and_delete() {
    use ScriptError::*;
    let hello = || content("안녕하세요");
    let welcome = || content("반갑습니다");
    let delete = || ScriptCommand::DeleteScript { at: t(9) };
    let two_names = vec![created(), edited(2, "예약 확인", "안녕", 1)];
    check_all::<Script>([
        (
            "creating_a_script_records_version_one",
            vec![],
            create("  예약 확인 ", hello()),
            Ok(vec![created()]),
        ),
        (
            "creating_a_script_twice_is_refused",
            vec![created()],
            create("예약 확인", hello()),
            Err(AlreadyExists),
        ),
        (
            "creating_a_script_without_a_name_is_refused",
            vec![],
            create("   ", hello()),
            Err(EmptyName),
        ),
        (
            "creating_a_script_with_an_overlong_name_is_refused",
            vec![],
            create(&"가".repeat(201), hello()),
            Err(NameTooLong),
        ),
        (
            "creating_an_invalid_script_is_refused_with_every_problem",
            vec![],
            create("예약 확인", broken()),
            invalid_content(),
        ),
        (
            "editing_a_script_bumps_the_version_and_keeps_the_name",
            vec![created()],
            edit(None, welcome()),
            Ok(vec![edited(2, "예약 확인", "반갑습니다", 5)]),
        ),
        (
            "editing_a_script_can_rename_it",
            two_names,
            edit(Some("예약 변경 안내"), welcome()),
            Ok(vec![edited(3, "예약 변경 안내", "반갑습니다", 5)]),
        ),
        (
            "renaming_a_script_to_an_empty_name_is_refused",
            vec![created()],
            edit(Some(""), welcome()),
            Err(EmptyName),
        ),
        (
            "editing_a_script_that_was_never_created_is_refused",
            vec![],
            edit(None, welcome()),
            Err(NotFound),
        ),
        (
            "editing_a_deleted_script_is_refused",
            vec![created(), deleted(2)],
            edit(None, welcome()),
            Err(Deleted),
        ),
        (
            "editing_a_script_into_an_invalid_one_is_refused",
            vec![created()],
            edit(None, broken()),
            invalid_content(),
        ),
        (
            "deleting_a_script_is_recorded",
            vec![created()],
            delete(),
            Ok(vec![deleted(9)]),
        ),
        (
            "deleting_a_script_that_was_never_created_is_refused",
            vec![],
            delete(),
            Err(NotFound),
        ),
        (
            "deleting_a_script_twice_is_refused",
            vec![created(), deleted(2)],
            delete(),
            Err(Deleted),
        ),
    ]);
}

#[test]
fn draft_and_save() {
    use ScriptError::*;
    let hello = || content("안녕하세요");
    check_all::<Script>([
        (
            "drafting_a_generated_script_records_version_one",
            vec![],
            draft(hello()),
            Ok(vec![drafted()]),
        ),
        (
            "drafting_an_invalid_script_is_refused",
            vec![],
            draft(broken()),
            invalid_content(),
        ),
        (
            "drafting_over_an_existing_script_is_refused",
            vec![created()],
            draft(hello()),
            Err(AlreadyExists),
        ),
        (
            "saving_an_unchanged_draft_keeps_its_version",
            vec![drafted()],
            save(hello()),
            Ok(vec![saved(1, "안녕하세요")]),
        ),
        (
            "saving_a_changed_draft_makes_a_new_version",
            vec![drafted()],
            save(content("반갑습니다")),
            Ok(vec![saved(2, "반갑습니다")]),
        ),
        (
            "saving_a_script_that_is_already_saved_is_refused",
            vec![created()],
            save(hello()),
            Err(AlreadySaved),
        ),
        (
            "saving_a_draft_that_is_already_saved_is_refused",
            vec![drafted(), saved(1, "안녕하세요")],
            save(hello()),
            Err(AlreadySaved),
        ),
        (
            "saving_a_deleted_draft_is_refused",
            vec![drafted(), deleted(2)],
            save(hello()),
            Err(Deleted),
        ),
        (
            "saving_a_missing_draft_is_refused",
            vec![],
            save(hello()),
            Err(NotFound),
        ),
        (
            "editing_a_draft_bumps_its_version",
            vec![drafted()],
            edit(Some("예약 확인"), content("반갑습니다")),
            Ok(vec![edited(2, "예약 확인", "반갑습니다", 5)]),
        ),
    ]);
}

#[test]
fn validation_reports_every_problem() {
    assert_eq!(validate(&broken()).unwrap_err().len(), 2);
}

#[test]
fn the_aggregate_tracks_draft_state_and_version() {
    let mut script = Script::default();
    script.apply(drafted());
    assert!(script.is_draft());
    assert_eq!((script.version(), script.owner_id()), (1, OWNER));
    script.apply(saved(2, "반갑습니다"));
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
    assert_eq!(json_of(&parsed), json);
}

#[test]
fn script_events_have_stable_names() {
    let event = deleted(2);
    assert_eq!(event.event_type(), "ScriptDeleted");
    assert_eq!(event.event_version(), "1.0");
    assert_eq!(created().event_type(), "ScriptCreated");
    assert_eq!(drafted().event_type(), "ScriptDrafted");
    assert_eq!(saved(1, "안녕하세요").event_type(), "ScriptSaved");
}
