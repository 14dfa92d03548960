//! The general path: any instruction the templates do not fit, turned into what the agent says.
//! The owner's sentence is cut into clauses, each with its act — ask, confirm, tell, request,
//! offer, invite or thank — and the owner's own words (dates, amounts, items, places) kept as
//! written, only made polite (Korean honorifics) or turned to the callee (English pronouns).
//! The first clause is the purpose; each clause that needs an answer becomes a step, and what is
//! only told is said before the next question. A check after a treatment is a follow-up call:
//! how they are, any discomfort, a visit offered.
//!
//! Placeholders appear only for what differs per contact: the callee's name, and a value the
//! owner said differs per person ("각 고객의 예약 시간", "their delivery address").

mod en;
mod ko;

use domain::script::Language;

use super::analysis::Analysis;
use super::{Draft, step};

/// What a clause asks of the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    /// Find something out ("여쭤봐", "ask when …").
    Ask,
    /// Check a fact the business holds ("confirm the pickup time").
    Confirm,
    /// Pass something on ("…라고 안내해", "let them know that …").
    Tell,
    /// Pass on what the callee knew ("remind them that …"); Korean says it as [`Act::Tell`].
    Remind,
    /// Ask the callee to do something ("반납해 달라고 요청해", "ask them to return …").
    Request,
    /// Offer a service ("일정 잡아", "offer a second viewing").
    Offer,
    /// Invite to an event.
    Invite,
    /// Thank the callee.
    Thank,
}

/// One clause of the instruction in the callee's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    act: Act,
    /// The owner's words, made polite and addressed to the callee.
    body: String,
    /// "다시 보고 싶으시면", "if you're still interested".
    condition: Option<String>,
}

/// The instruction as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Reading {
    /// Who is called, as far as it tells what the call is about ("어제 레이저 시술 받으신",
    /// "you had a chemical peel yesterday").
    about: Option<String>,
    clauses: Vec<Clause>,
}

/// A step before numbering: what the agent says and answers it may hear.
struct Turn {
    action: String,
    responses: &'static [&'static str],
}

/// How a script reads in one language.
struct Phrases {
    greeting: &'static str,
    closing: &'static str,
    /// The last question, after others were asked, and when it is the only one.
    anything_else: &'static str,
    any_questions: &'static str,
    anything_else_responses: &'static [&'static str],
    /// Taking a question the agent cannot answer.
    take_question: &'static str,
    take_question_responses: &'static [&'static str],
}

/// The script for `input` when no template fits.
pub fn write(input: &str, analysis: &Analysis, language: Language) -> Draft {
    if !analysis.same_language(language) {
        return match language {
            Language::Ko => ko::without_words(),
            Language::En => en::without_words(),
        };
    }
    let (purpose, turns, phrases) = match language {
        Language::Ko => {
            let reading = ko::read(input);
            let (purpose, turns) = if analysis.follow_up {
                (ko::purpose(&reading), ko::follow_up(input, analysis))
            } else {
                (ko::purpose(&reading), turns(&reading, ko::turn))
            };
            (purpose, turns, &ko::PHRASES)
        }
        Language::En => {
            let reading = en::read(input);
            let turns = if analysis.follow_up {
                en::follow_up(input)
            } else {
                turns(&reading, en::turn)
            };
            (en::purpose(&reading), turns, &en::PHRASES)
        }
    };
    assemble(purpose, turns, phrases, analysis.follow_up)
}

/// The steps: each clause that needs an answer a question, what is told said before it.
fn turns(reading: &Reading, turn: fn(&Clause, bool) -> Option<Turn>) -> Vec<Turn> {
    reading
        .clauses
        .iter()
        .enumerate()
        .filter_map(|(i, clause)| turn(clause, i == 0))
        .collect()
}

/// Numbers the turns, each leading to the next, then the closing question and the hand-over of
/// a question the agent cannot answer. A follow-up's turns carry their own branches.
fn assemble(purpose: String, turns: Vec<Turn>, phrases: &Phrases, follow_up: bool) -> Draft {
    let main_flow = if follow_up {
        turns
            .iter()
            .enumerate()
            .map(|(i, turn)| {
                let (positive, negative) = FOLLOW_UP_BRANCHES[i];
                step(
                    i as u32 + 1,
                    &turn.action,
                    turn.responses,
                    positive,
                    negative,
                )
            })
            .collect()
    } else {
        let mut flow = Vec::new();
        let mut told = String::new();
        for turn in turns {
            if turn.responses.is_empty() {
                // Only told: said before the next question.
                told = join(&told, &turn.action);
                continue;
            }
            let n = flow.len() as u32 + 1;
            let action = join(&told, &turn.action);
            told.clear();
            flow.push(step(n, &action, turn.responses, Some(n + 1), Some(n + 1)));
        }
        let last = flow.len() as u32 + 1;
        let question = if flow.is_empty() {
            phrases.any_questions
        } else {
            phrases.anything_else
        };
        flow.push(step(
            last,
            &join(&told, question),
            phrases.anything_else_responses,
            Some(last + 1),
            None,
        ));
        flow.push(step(
            last + 1,
            phrases.take_question,
            phrases.take_question_responses,
            None,
            None,
        ));
        flow
    };
    Draft {
        greeting: phrases.greeting.to_owned(),
        purpose,
        main_flow,
        closing: phrases.closing.to_owned(),
    }
}

/// A follow-up's four turns: how are you (fine → 3, not → 2); what is wrong and a visit offered
/// (yes → 4, no → 3); glad, call any time; the visit arranged.
const FOLLOW_UP_BRANCHES: [(Option<u32>, Option<u32>); 4] = [
    (Some(3), Some(2)),
    (Some(4), Some(3)),
    (None, None),
    (None, None),
];

fn join(first: &str, second: &str) -> String {
    match (first.is_empty(), second.is_empty()) {
        (true, _) => second.to_owned(),
        (_, true) => first.to_owned(),
        _ => format!("{first} {second}"),
    }
}

/// A per-contact value the owner named, and its placeholder.
fn per_contact(noun: &str, table: &[(&str, &'static str)]) -> Option<&'static str> {
    table
        .iter()
        .find(|(words, _)| noun.contains(words))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests;
