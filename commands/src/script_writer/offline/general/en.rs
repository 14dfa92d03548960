//! Reading an English instruction and saying it to the callee: "ask them when they'd like …"
//! becomes "I'm calling to ask when you'd like …".

use super::{Act, Clause, Draft, Phrases, Reading, Turn, per_contact};

pub(super) const PHRASES: Phrases = Phrases {
    greeting: "Hello, this is {businessName}.",
    closing: "Thank you for your time. If you have any questions, feel free to give us a call. \
              Have a great day!",
    anything_else: "Is there anything else I can help you with?",
    any_questions: "Do you have any questions about this?",
    anything_else_responses: &["Yes, one question", "No, that's all"],
    take_question: "Of course, go ahead. If I can't answer it right away, someone from our team \
                    will call you back.",
    take_question_responses: &["When will you call back?", "Can you text me the details?"],
};

/// Verbs that open a clause, what they ask of the agent, and whether the callee follows them.
#[rustfmt::skip]
const VERBS: &[(&str, Act, bool)] = &[
    ("ask", Act::Ask, true), ("check", Act::Ask, false), ("find out", Act::Ask, false), ("see", Act::Ask, false),
    ("confirm", Act::Confirm, false), ("verify", Act::Confirm, false),
    ("remind", Act::Remind, true), ("tell", Act::Tell, true), ("let", Act::Tell, true), ("inform", Act::Tell, true),
    ("notify", Act::Tell, true), ("update", Act::Tell, true),
    ("request", Act::Request, false), ("offer", Act::Offer, false), ("suggest", Act::Offer, false),
    ("book", Act::Offer, false), ("schedule", Act::Offer, false), ("arrange", Act::Offer, false),
    ("invite", Act::Invite, true), ("thank", Act::Thank, true),
];
/// Verbs that only say whom to call.
const CALLS: &[&str] = &[
    "call",
    "phone",
    "ring",
    "contact",
    "reach out to",
    "check on",
];
/// Words that end the callee's part after a verb.
#[rustfmt::skip]
const AFTER_CALLEE: &[&str] = &[
    "that", "if", "whether", "when", "what", "how", "where", "which", "why", "to", "for", "about", "of", "know",
];
/// Values the owner may say differ per contact ("their delivery address").
#[rustfmt::skip]
const PER_CONTACT: &[(&str, &str)] = &[
    ("appointment time", "appointmentTime"), ("delivery address", "deliveryAddress"), ("address", "deliveryAddress"),
    ("delivery time", "deliveryTime"), ("balance", "amount"), ("amount", "amount"), ("due date", "dueDate"),
    ("pickup time", "pickupTime"), ("expiry date", "expiryDate"), ("renewal date", "expiryDate"),
];

/// The instruction cut into clauses, addressed to the callee.
pub(super) fn read(input: &str) -> Reading {
    let mut reading = Reading::default();
    let text = input.replace("a.m.", "am").replace("p.m.", "pm");
    for sentence in text.split(['.', ';', '!', '?', '\n']) {
        let mut condition: Option<String> = None;
        for part in parts(sentence) {
            let part = part.trim().trim_start_matches("then ").trim();
            let lower = part.to_lowercase();
            if lower.starts_with("if ") && verb_at(&lower).is_none() {
                condition = Some(to_callee(part));
                continue;
            }
            if let Some(mut clause) = clause(part, &mut reading.about) {
                clause.condition = clause.condition.or(condition.take());
                reading.clauses.push(clause);
            }
        }
    }
    reading
}

/// A sentence cut at ", and VERB", " and VERB", ", VERB" and ", then".
fn parts(sentence: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let words: Vec<&str> = sentence.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let rest = words[i..].join(" ").to_lowercase();
        let starts_verb = verb_at(&rest).is_some() || call_at(&rest).is_some();
        let previous = out.last().expect("one").trim_end().to_owned();
        let cut = i > 0
            && (starts_verb
                && (previous.ends_with(',')
                    || previous.ends_with(" and")
                    || previous.ends_with(", then"))
                || previous.ends_with(',') && rest.starts_with("if "));
        if cut {
            let last = out.last_mut().expect("one");
            let trimmed = last
                .trim_end()
                .trim_end_matches(", then")
                .trim_end_matches(" and")
                .trim_end_matches(',')
                .to_owned();
            *last = trimmed;
            out.push(String::new());
        }
        let last = out.last_mut().expect("one");
        if !last.is_empty() {
            last.push(' ');
        }
        last.push_str(word);
    }
    out.retain(|part| !part.trim().is_empty());
    out
}

fn verb_at(lower: &str) -> Option<(&'static str, Act, bool)> {
    VERBS
        .iter()
        .copied()
        .find(|(verb, _, _)| starts_with_word(lower, verb))
}

fn call_at(lower: &str) -> Option<&'static str> {
    CALLS
        .iter()
        .copied()
        .find(|verb| starts_with_word(lower, verb))
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.strip_prefix(word)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ',']))
}

/// One clause; "call X to Y" and "check on X and Y" keep who X is in `about`.
fn clause(part: &str, about: &mut Option<String>) -> Option<Clause> {
    let lower = part.to_lowercase();
    if let Some(call) = call_at(&lower) {
        let rest = part[call.len()..].trim();
        let (callee, then) = match rest.to_lowercase().find(" to ") {
            Some(at) if verb_at(&rest.to_lowercase()[at + 4..]).is_some() => {
                (&rest[..at], Some(&rest[at + 4..]))
            }
            _ => (rest, None),
        };
        if about.is_none() {
            *about = relative(callee);
        }
        return then.and_then(|then| clause(then, about));
    }
    let (verb, act, takes_callee) = verb_at(&lower)?;
    let mut rest = part[verb.len()..].trim().to_owned();
    if takes_callee {
        let words: Vec<&str> = rest.split_whitespace().collect();
        let end = words
            .iter()
            .position(|w| AFTER_CALLEE.contains(&w.to_lowercase().as_str()))
            .unwrap_or(words.len().min(1));
        if about.is_none() {
            *about = relative(&words[..end].join(" "));
        }
        rest = words[end..].join(" ");
    }
    let mut act = act;
    let mut body = to_callee(&rest);
    if verb == "let" {
        body = body.trim_start_matches("know").trim().to_owned();
    }
    if act == Act::Ask && body.starts_with("to ") {
        act = Act::Request;
        body = body[3..].to_owned();
    }
    if act == Act::Confirm && starts_question(&body) {
        act = Act::Ask;
    }
    let (body, condition) = split_condition(&body);
    (!body.is_empty()).then_some(Clause {
        act,
        body,
        condition,
    })
}

/// "everyone who viewed the flat" → "you viewed the flat"; `None` without such a clause.
fn relative(callee: &str) -> Option<String> {
    let lower = callee.to_lowercase();
    let at = [" who ", " whose ", " that "]
        .iter()
        .find_map(|marker| lower.find(marker).map(|at| (at, *marker)))?;
    let clause = &callee[at.0 + at.1.len()..];
    let subject = if at.1 == " whose " { "your" } else { "you" };
    Some(to_callee(&format!("{subject} {clause}")))
}

/// "offer a second viewing if they're interested" → ("offer …", "if you're interested").
fn split_condition(body: &str) -> (String, Option<String>) {
    match body.find(" if ") {
        Some(at) if !starts_question(body) => (
            body[..at].trim().to_owned(),
            Some(body[at + 1..].trim().to_owned()),
        ),
        _ => (body.trim().to_owned(), None),
    }
}

fn starts_question(body: &str) -> bool {
    [
        "if ", "whether ", "when ", "what ", "how ", "where ", "which ", "why ", "who ",
    ]
    .iter()
    .any(|w| body.starts_with(w))
}

/// The owner's words as said to the callee: they → you, their → your.
fn to_callee(text: &str) -> String {
    #[rustfmt::skip]
    const SWAPS: &[(&str, &str)] = &[
        ("they're", "you're"), ("they'd", "you'd"), ("they'll", "you'll"), ("they've", "you've"),
        ("they", "you"), ("them", "you"), ("their", "your"), ("theirs", "yours"), ("themselves", "yourself"),
        ("customer's", "your"), ("client's", "your"), ("patient's", "your"),
    ];
    text.split_whitespace()
        .map(|word| {
            let core = word.trim_end_matches([',', '.']);
            let tail = &word[core.len()..];
            SWAPS
                .iter()
                .find(|(from, _)| core.eq_ignore_ascii_case(from))
                .map_or_else(|| word.to_owned(), |(_, to)| format!("{to}{tail}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        format!("{}{}", first.to_uppercase(), chars.as_str())
    })
}

/// What the first clause says the call is for.
pub(super) fn purpose(reading: &Reading) -> String {
    let about = reading
        .about
        .as_ref()
        .map(|about| format!("as {about}, "))
        .unwrap_or_default();
    let reason = reading
        .clauses
        .first()
        .map_or_else(|| "go over a few details with you".to_owned(), reason);
    format!("Hi {{customerName}}, {about}I'm calling to {reason}.")
}

fn reason(clause: &Clause) -> String {
    let body = &clause.body;
    match clause.act {
        Act::Ask => format!("ask {body}"),
        Act::Confirm => format!("confirm {body}"),
        Act::Tell => format!("let you know {body}"),
        Act::Remind => match body.strip_prefix("of ") {
            Some(topic) => format!("remind you about {topic}"),
            None => format!("remind you {body}"),
        },
        Act::Request => format!("ask you to {body}"),
        Act::Offer => format!("offer {body}"),
        Act::Invite => format!("invite you {body}"),
        Act::Thank => format!("thank you {body}"),
    }
}

/// The step a clause gives (`None` when the first clause's news is already in the purpose).
pub(super) fn turn(clause: &Clause, first: bool) -> Option<Turn> {
    let body = clause.body.as_str();
    let condition = clause
        .condition
        .as_ref()
        .map(|c| format!("{}, ", capitalised(c)))
        .unwrap_or_default();
    let asked = |action: String, responses: &'static [&'static str]| Turn { action, responses };
    Some(match clause.act {
        Act::Ask => question(body),
        Act::Confirm => {
            match per_contact(body, PER_CONTACT).filter(|_| body.starts_with("your ")) {
                Some(name) => asked(
                    format!("Is {body} still {{{name}}}?"),
                    &["Yes, that's right", "No, it has changed"],
                ),
                None => asked(
                    format!("Does {body} still work for you?"),
                    &["Yes, that works", "Could we change it?"],
                ),
            }
        }
        Act::Tell | Act::Remind if first => return None,
        Act::Tell | Act::Remind => Turn {
            action: format!(
                "{}.",
                capitalised(body.trim_start_matches("that ").trim_end_matches('.'))
            ),
            responses: &[],
        },
        Act::Request => asked(
            format!("{condition}Would you be able to {body}?"),
            &["Yes, I will", "That might be difficult"],
        ),
        Act::Offer => {
            let offered = match body.strip_prefix("to ") {
                Some(service) => format!("me to {service}"),
                None => body.to_owned(),
            };
            let action = if condition.is_empty() {
                format!("Would you like {offered}?")
            } else {
                format!("{condition}would you like {offered}?")
            };
            asked(action, &["Yes, please", "No, thank you"])
        }
        Act::Invite => asked(
            "Will you be able to come?".to_owned(),
            &["Yes, I'll be there", "I can't make it this time"],
        ),
        Act::Thank => Turn {
            action: format!("Thank you so much {body}."),
            responses: &[],
        },
    })
}

/// "if you have any redness" → "Do you have any redness?"; "when you'd like …" → "Could you
/// tell me when you'd like …?".
fn question(body: &str) -> Turn {
    const YES_NO: &[&str] = &["Yes", "No", "I'm not sure yet"];
    let inner = ["if ", "whether "]
        .iter()
        .find_map(|w| body.strip_prefix(w));
    let Some(inner) = inner else {
        let when = body.starts_with("when ") || body.contains(" date") || body.contains(" time");
        let body = body
            .strip_prefix("for ")
            .or_else(|| body.strip_prefix("about "))
            .unwrap_or(body);
        return Turn {
            action: format!("Could you tell me {body}?"),
            responses: if when {
                &["Tuesday morning would be good", "I'm not sure yet"]
            } else {
                &["Sure", "I'd rather not say"]
            },
        };
    };
    let words: Vec<&str> = inner.split_whitespace().collect();
    #[rustfmt::skip]
    const AUXILIARIES: &[(&str, &str)] = &[
        ("will", "Will"), ("would", "Would"), ("can", "Can"), ("could", "Could"), ("should", "Should"),
        ("are", "Are"), ("were", "Were"), ("have", "Do"),
    ];
    let direct = match words.as_slice() {
        ["you'd", rest @ ..] => Some(format!("Would you {}", rest.join(" "))),
        ["you're", rest @ ..] => Some(format!("Are you {}", rest.join(" "))),
        ["you'll", rest @ ..] => Some(format!("Will you {}", rest.join(" "))),
        ["you", verb, rest @ ..] => Some(match AUXILIARIES.iter().find(|(a, _)| a == verb) {
            Some((_, "Do")) | None => format!("Do you {verb} {}", rest.join(" ")),
            Some((_, aux)) => format!("{aux} you {}", rest.join(" ")),
        }),
        _ => words
            .iter()
            .position(|w| AUXILIARIES[..5].iter().any(|(a, _)| a == w))
            .map(|at| {
                let aux = AUXILIARIES
                    .iter()
                    .find(|(a, _)| *a == words[at])
                    .map_or("Will", |(_, c)| c);
                format!(
                    "{aux} {} {}",
                    words[..at].join(" "),
                    words[at + 1..].join(" ")
                )
            }),
    };
    Turn {
        action: direct.map_or_else(
            || format!("Could you let me know {body}?"),
            |d| format!("{}?", d.trim_end()),
        ),
        responses: YES_NO,
    }
}

/// A check after a treatment: how they are, what is wrong, a visit offered.
pub(super) fn follow_up(input: &str) -> Vec<Turn> {
    const TREATMENTS: &[&str] = &[
        "chemical peel",
        "peel",
        "surgery",
        "procedure",
        "laser",
        "injection",
        "filler",
        "extraction",
        "implant",
        "facial",
        "treatment",
    ];
    let lower = input.to_lowercase();
    let treatment = TREATMENTS
        .iter()
        .find(|word| lower.contains(*word))
        .map_or("treatment", |word| *word);
    vec![
        Turn {
            action: format!(
                "How have you been feeling since the {treatment}? Any discomfort at all?"
            ),
            responses: &["I'm fine, thanks", "It's a bit sore", "I'm not sure"],
        },
        Turn {
            action:
                "I'm sorry to hear that. Could you tell me a little more about it? It would be \
                     good to have a look: shall I book you in for a visit?"
                    .to_owned(),
            responses: &["Yes, please", "I'll wait a few days"],
        },
        Turn {
            action: "Glad to hear it. If anything comes up later, just give us a call.".to_owned(),
            responses: &["Thank you"],
        },
        Turn {
            action: "Of course. What day and time would suit you? I'll check and call you back \
                     to confirm."
                .to_owned(),
            responses: &["Weekday mornings", "Any time is fine"],
        },
    ]
}

/// An English script for an instruction in another language: none of its words can be reused.
pub(super) fn without_words() -> Draft {
    super::assemble(
        "Hi {customerName}, I'm calling about your recent request with us.".to_owned(),
        Vec::new(),
        &PHRASES,
        false,
    )
}
