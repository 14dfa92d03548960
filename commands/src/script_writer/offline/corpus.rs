//! The offline writer against a corpus of owners' requests from many businesses
//! (`corpus.json`): each script must be valid and on topic. The pass rate is printed and held
//! above a floor, so a rule change that loses topics shows up here.

use std::collections::BTreeSet;

use domain::script::variables::{BUSINESS_HOURS, BUSINESS_NAME, BUSINESS_PHONE, CUSTOMER_NAME};
use domain::script::{Language, ScriptContent, placeholders, validate};
use serde::Deserialize;

use super::OfflineWriter;
use crate::script_writer::ScriptRequest;

/// The share of the corpus that must pass: what the writer achieves (48 of 48; main's writer
/// before the general path passed 9), so a rule change that loses a topic fails here.
const PASS_RATE_FLOOR: f64 = 1.0;

/// One request and what its script must show.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    request: String,
    language: String,
    business: Option<String>,
    /// Only an appointment may get the appointment script (other times offered).
    #[serde(default)]
    appointment: bool,
    /// The purpose names at least one of these, taken from the request.
    keywords: Vec<String>,
    /// Each of the request's facts appears somewhere in the script (`a|b`: either form).
    facts: Vec<String>,
    /// Placeholders allowed beyond the business profile and the callee's name: values that
    /// differ per contact.
    #[serde(default)]
    per_contact: Vec<String>,
}

fn corpus() -> Vec<Entry> {
    serde_json::from_str(include_str!("corpus.json")).expect("corpus.json parses")
}

fn write(entry: &Entry) -> ScriptContent {
    let language = Language::parse(&entry.language).expect("ko or en");
    let mut request = ScriptRequest::new(&entry.request, language);
    request.business_type = entry.business.clone();
    OfflineWriter::compose(&request)
}

/// Why `content` is not a valid, on-topic script for `entry`; empty when it is.
fn problems(entry: &Entry, content: &ScriptContent) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(errors) = validate(content) {
        problems.push(format!("invalid: {}", super::describe(&errors)));
    }
    let purpose = content.purpose.to_lowercase();
    if !entry
        .keywords
        .iter()
        .any(|word| purpose.contains(&word.to_lowercase()))
    {
        problems.push(format!("purpose names none of {:?}", entry.keywords));
    }
    let everything = content
        .texts()
        .map(|(_, text)| text.to_lowercase())
        .collect::<Vec<_>>()
        .join("\n");
    for fact in &entry.facts {
        if !fact
            .split('|')
            .any(|form| everything.contains(&form.to_lowercase()))
        {
            problems.push(format!("the fact {fact:?} is missing"));
        }
    }
    let allowed: BTreeSet<&str> = [CUSTOMER_NAME, BUSINESS_NAME, BUSINESS_PHONE, BUSINESS_HOURS]
        .into_iter()
        .chain(entry.per_contact.iter().map(String::as_str))
        .collect();
    let used: BTreeSet<String> = content
        .texts()
        .flat_map(|(_, text)| placeholders(text).into_iter().map(str::to_owned))
        .collect();
    for name in &used {
        if !allowed.contains(name.as_str()) {
            problems.push(format!(
                "{{{name}}} is no value of a contact or the business"
            ));
        }
    }
    let offers_other_times = used.contains("availableTimes");
    if offers_other_times != entry.appointment {
        problems.push(if entry.appointment {
            "an appointment without the appointment script".to_owned()
        } else {
            "the appointment script for a call that is no appointment".to_owned()
        });
    }
    problems
}

#[test]
fn the_corpus_is_wide_enough() {
    let corpus = corpus();
    let korean = corpus.iter().filter(|e| e.language == "ko").count();
    let english = corpus.iter().filter(|e| e.language == "en").count();
    assert!(corpus.len() >= 40, "{} requests", corpus.len());
    assert!(
        korean >= 25 && english >= 12,
        "{korean} Korean, {english} English"
    );
    assert!(corpus.iter().all(|e| !e.keywords.is_empty()));
}

#[test]
fn scripts_for_the_corpus_are_valid_and_on_topic() {
    let corpus = corpus();
    let mut failures = Vec::new();
    for entry in &corpus {
        let content = write(entry);
        let problems = problems(entry, &content);
        if !problems.is_empty() {
            failures.push(format!(
                "{}\n  purpose: {}\n  step 1: {}\n  {}",
                entry.request,
                content.purpose,
                content.main_flow.first().map_or("", |s| s.action.as_str()),
                problems.join("\n  ")
            ));
        }
    }
    let passed = corpus.len() - failures.len();
    let rate = passed as f64 / corpus.len() as f64;
    println!(
        "offline writer corpus: {passed}/{} valid and on topic ({:.1} %)",
        corpus.len(),
        rate * 100.0
    );
    for failure in &failures {
        println!("FAIL {failure}");
    }
    assert!(
        rate >= PASS_RATE_FLOOR,
        "pass rate {rate:.3} below {PASS_RATE_FLOOR}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn a_generic_script_fails_the_check() {
    let entry = Entry {
        request: "부재중으로 반송 예정인 택배 재배송 날짜 여쭤봐줘".to_owned(),
        language: "ko".to_owned(),
        business: None,
        appointment: false,
        keywords: vec!["재배송".to_owned()],
        facts: vec![],
        per_contact: vec![],
    };
    let mut generic = write(&entry);
    generic.purpose = "{customerName}님, 안내드릴 내용이 있어 연락드렸습니다.".to_owned();
    generic.main_flow[0].action = "{noticeDetails} 궁금하신 점 있으실까요?".to_owned();
    generic.variables.push("{noticeDetails}".to_owned());
    let problems = problems(&entry, &generic);
    assert!(
        problems.iter().any(|p| p.contains("purpose names none")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("{noticeDetails}")),
        "{problems:?}"
    );
}
