//! The request rules of the script use cases.

use super::*;

#[test]
fn the_list_filter_defaults_to_saved_and_ignores_case() {
    assert_eq!(ScriptFilter::parse(None).unwrap(), ScriptFilter::Saved);
    assert_eq!(
        ScriptFilter::parse(Some("DRAFT")).unwrap(),
        ScriptFilter::Draft
    );
    assert_eq!(ScriptFilter::parse(Some("all")).unwrap(), ScriptFilter::All);
    let err = ScriptFilter::parse(Some("archived")).unwrap_err();
    assert!(
        matches!(&err, ScriptsError::Invalid { errors, .. } if errors[0].field == "status"),
        "{err:?}"
    );
    assert!(ScriptFilter::All.shows(ScriptState::Draft));
    assert!(!ScriptFilter::Saved.shows(ScriptState::Draft));
}

#[test]
fn a_drafts_name_is_the_first_forty_characters_of_the_request() {
    assert_eq!(draft_name("  예약   확인  전화 "), "예약 확인 전화");
    let long = "call every patient booked for tomorrow afternoon and confirm";
    let name = draft_name(long);
    assert!(name.chars().count() <= 40, "{name}");
    assert!(name.starts_with("call every patient booked for tomorrow"));
    assert!(name.ends_with('…'));
}

#[test]
fn every_problem_with_the_writer_hints_is_named_at_once() {
    let input = GenerateInput {
        natural_input: "x".repeat(MAX_INPUT_CHARS + 1),
        business_type: Some("b".repeat(MAX_BUSINESS_TYPE_CHARS + 1)),
        language: Some("fr".to_owned()),
    };
    let err = writer_hints(&input).unwrap_err();
    let ScriptsError::Invalid { message, errors } = err else {
        panic!("not an input error");
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["naturalInput", "context.language", "context.businessType"]
    );
    assert!(message.starts_with("3 problems"), "{message}");
    let hints = GenerateInput {
        natural_input: "내일 예약 고객에게 확인 전화".to_owned(),
        business_type: Some("  ".to_owned()),
        language: Some(" EN ".to_owned()),
    };
    assert_eq!(writer_hints(&hints).unwrap(), (Language::En, None));
}
