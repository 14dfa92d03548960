//! Reading a Korean instruction and saying it to the callee. Honorifics are added where the owner
//! spoke plainly of the callee (받은 → 받으신, 없는지 → 없으신지, 오라고 → 오시라고).

use super::super::analysis::{Analysis, Business};
use super::super::hangul::{has_final, polite};
use super::{Act, Clause, Draft, Phrases, Reading, Turn, per_contact};

pub(super) const PHRASES: Phrases = Phrases {
    greeting: "안녕하세요, {businessName}입니다.",
    closing: "바쁘신데 시간 내주셔서 감사합니다. 궁금하신 점 있으시면 언제든 편하게 연락 \
              주세요. 좋은 하루 보내세요.",
    anything_else: "혹시 더 궁금하신 점 있으실까요?",
    any_questions: "혹시 궁금하신 점 있으실까요?",
    anything_else_responses: &["네, 하나 여쭤볼게요", "아니요, 괜찮아요"],
    take_question: "네, 말씀해 주세요. 바로 답변드리기 어려운 내용은 담당자가 확인해서 다시 \
                    연락드리겠습니다.",
    take_question_responses: &["언제 다시 연락 주시나요?", "문자로 받을 수 있을까요?"],
};

/// Verb words that say what a clause asks of the agent, by the start of the word.
#[rustfmt::skip]
const ACTS: &[(&str, Act)] = &[
    ("여쭤", Act::Ask), ("여쭈", Act::Ask), ("물어", Act::Ask), ("묻", Act::Ask), ("알아봐", Act::Ask),
    ("체크", Act::Ask), ("파악", Act::Ask), ("확인", Act::Ask),
    ("요청", Act::Request), ("부탁", Act::Request), ("당부", Act::Request),
    ("제안", Act::Offer), ("권유", Act::Offer), ("권해", Act::Offer), ("권하", Act::Offer), ("추천", Act::Offer),
    ("잡아", Act::Offer),
    ("초대", Act::Invite),
    ("안내", Act::Tell), ("알려", Act::Tell), ("알리", Act::Tell), ("전해", Act::Tell), ("전하", Act::Tell),
    ("전달", Act::Tell), ("공지", Act::Tell), ("말해", Act::Tell), ("말씀", Act::Tell), ("연락", Act::Tell),
    ("전화", Act::Tell),
];

/// Who is called, before 에게/께/한테 (with 들 and 님 stripped; any …분 counts too).
#[rustfmt::skip]
const PEOPLE: &[&str] = &[
    "고객", "손님", "회원", "환자", "학부모", "부모", "학생", "보호자", "주민", "이용자", "수강생", "구매자", "주문자",
    "세입자", "임차인", "대상자", "어르신", "사람", "가입자", "계약자", "신청자", "기사",
];

/// Values the owner may say differ per contact, and their placeholders.
#[rustfmt::skip]
const PER_CONTACT: &[(&str, &str)] = &[
    ("예약 시간", "appointmentTime"), ("예약 일시", "appointmentTime"), ("예약 날짜", "appointmentTime"),
    ("배송 주소", "deliveryAddress"), ("주소", "deliveryAddress"), ("배송 시간", "deliveryTime"),
    ("배송 날짜", "deliveryTime"), ("미납 금액", "amount"), ("금액", "amount"), ("납부 기한", "dueDate"),
    ("수령 시간", "pickupTime"), ("만기일", "expiryDate"), ("만료일", "expiryDate"),
];
/// Words saying a value differs per person.
const EACH: &[&str] = &[
    "각",
    "각자",
    "각각",
    "각각의",
    "개별",
    "개별로",
    "개인별",
    "개인별로",
];
/// Nouns that take 하다, so 주문한 → 주문하신 and 연장할 → 연장하실.
#[rustfmt::skip]
const VERBAL_NOUNS: &[&str] = &[
    "주문", "문의", "예약", "신청", "구매", "등록", "방문", "이용", "계약", "가입", "접수", "참여", "참석", "연장", "갱신",
    "결제", "납부", "수령", "반납", "상담", "교체", "설치", "시공", "이사", "변경", "취소", "재등록", "재방문",
];

/// The instruction cut into clauses, the callee and the call words taken out.
pub(super) fn read(input: &str) -> Reading {
    let mut reading = Reading::default();
    for piece in input.split(['.', ',', '!', '?', '\n', ';']) {
        for words in clauses(piece) {
            let words = without_audience(words, &mut reading.about);
            if let Some(clause) = clause(&words) {
                reading.clauses.push(clause);
            }
        }
    }
    reading
}

/// A piece cut after each verb + 고 ("확인하고", "알려주고").
fn clauses(piece: &str) -> Vec<Vec<&str>> {
    let mut out = vec![Vec::new()];
    for word in piece.split_whitespace() {
        out.last_mut().expect("one").push(word);
        let ends_a_clause = word.strip_suffix('고').is_some_and(|stem| {
            !stem.ends_with('다') && !stem.ends_with('라') && act(stem).is_some()
        });
        if ends_a_clause {
            out.push(Vec::new());
        }
    }
    out.retain(|words| !words.is_empty());
    out
}

/// The act a verb word names.
fn act(word: &str) -> Option<Act> {
    ACTS.iter()
        .find(|(start, _)| word.starts_with(start))
        .map(|(_, act)| *act)
}

/// The words without "…고객들에게" and without 전화해서 / 연락해서; what the callee is called
/// for ("어제 시술 받은") is kept in `about` when it comes first.
fn without_audience<'a>(words: Vec<&'a str>, about: &mut Option<String>) -> Vec<&'a str> {
    let audience = words.iter().position(|word| is_audience(word));
    let mut rest: Vec<&str> = match audience {
        Some(at) => {
            let before = &words[..at];
            let told_before = before
                .iter()
                .any(|w| w.ends_with('고') || w.ends_with('면'));
            if told_before {
                words
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != at)
                    .map(|(_, w)| *w)
                    .collect()
            } else {
                if !before.is_empty() && about.is_none() {
                    *about = Some(honorific(&before.join(" ")));
                }
                words[at + 1..].to_vec()
            }
        }
        None => words,
    };
    rest.retain(|word| !is_call_word(word));
    rest
}

fn is_audience(word: &str) -> bool {
    let Some(stem) = ["에게", "께", "한테"]
        .iter()
        .find_map(|p| word.strip_suffix(p))
    else {
        return false;
    };
    let stem = stem.trim_end_matches('들');
    let bare = stem.trim_end_matches('님');
    stem.ends_with('분')
        || [stem, bare]
            .iter()
            .any(|s| PEOPLE.iter().any(|p| s.ends_with(p)))
}

fn is_call_word(word: &str) -> bool {
    [
        "전화해서",
        "연락해서",
        "전화드려서",
        "연락드려서",
        "걸어서",
        "전화로",
    ]
    .contains(&word)
}

/// One clause: its act from the last word, the rest as the body.
fn clause(words: &[&str]) -> Option<Clause> {
    let (&verb, body) = words.split_last()?;
    let mut act = act(verb)?;
    let mut body = body.to_vec();
    // "안내 전화해줘", "확인 전화": the act is the word before 전화.
    if (verb.starts_with("전화") || verb.starts_with("연락"))
        && let Some(previous) = body.last().and_then(|w| act_of_noun(w))
    {
        act = previous;
        body.pop();
    }
    let mut text = honorific(&body.join(" "));
    if verb.starts_with("잡아") {
        text = format!("{text} 잡아");
    }
    if text.ends_with("달라고") {
        act = Act::Request;
    } else if text.ends_with("다고") || text.ends_with("라고") || text.ends_with("으니") {
        act = Act::Tell;
    }
    if act == Act::Ask && verb.starts_with("확인") && !text.ends_with('지') {
        act = Act::Confirm;
    }
    let condition = condition(&text);
    if let Some(condition) = &condition {
        text = text[condition.len()..].trim_start().to_owned();
    }
    (!text.trim().is_empty()).then_some(Clause {
        act,
        body: text,
        condition,
    })
}

fn act_of_noun(word: &str) -> Option<Act> {
    ["안내", "확인", "요청", "공지"]
        .contains(&word)
        .then(|| act(word))
        .flatten()
}

/// "다시 보고 싶으시면" before an offer; reported clauses keep theirs.
fn condition(text: &str) -> Option<String> {
    if text.ends_with('고') {
        return None;
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words[..words.len().saturating_sub(1)]
        .iter()
        .rposition(|w| w.ends_with('면'))?;
    Some(words[..=at].join(" "))
}

/// Honorifics for what the owner said plainly of the callee, word by word.
pub(super) fn honorific(text: &str) -> String {
    #[rustfmt::skip]
    const ENDINGS: &[(&str, &str)] = &[
        ("있는지", "있으신지"), ("없는지", "없으신지"), ("괜찮은지", "괜찮으신지"), ("하는지", "하시는지"),
        ("오는지", "오시는지"), ("원하는지", "원하시는지"), ("한지", "하신지"), ("받은", "받으신"),
        ("맡긴", "맡기신"), ("올", "오실"), ("갈", "가실"), ("받을", "받으실"), ("오라고", "오시라고"), ("가라고", "가시라고"),
        ("하라고", "하시라고"), ("받으라고", "받으시라고"), ("하면", "하시면"), ("싶으면", "싶으시면"),
        ("오면", "오시면"), ("있으면", "있으시면"), ("없으면", "없으시면"), ("어땠는지", "어떠셨는지"),
    ];
    text.split_whitespace()
        .map(|word| {
            for (plain, polite) in [('한', "하신"), ('할', "하실")] {
                if let Some(noun) = word.strip_suffix(plain)
                    && VERBAL_NOUNS.iter().any(|n| noun.ends_with(n))
                {
                    return format!("{noun}{polite}");
                }
            }
            ENDINGS
                .iter()
                .find_map(|(plain, polite)| {
                    word.strip_suffix(plain)
                        .filter(|stem| !stem.ends_with('시'))
                        .map(|stem| format!("{stem}{polite}"))
                })
                .unwrap_or_else(|| word.to_owned())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// 을 or 를 after `noun`.
fn object(noun: &str) -> String {
    if noun.ends_with(['을', '를', '지']) || noun.ends_with("여부를") {
        return noun.to_owned();
    }
    match noun.chars().last() {
        Some(c) if has_final(c) => format!("{noun}을"),
        Some(c) if ('가'..='힣').contains(&c) => format!("{noun}를"),
        _ => noun.to_owned(),
    }
}

fn without_particle(text: &str) -> &str {
    text.strip_suffix(['을', '를']).unwrap_or(text)
}

/// What the first clause says the call is for.
pub(super) fn purpose(reading: &Reading) -> String {
    let about = reading
        .about
        .as_ref()
        .map(|about| format!("{about} 건으로 "))
        .unwrap_or_default();
    let reason = reading
        .clauses
        .first()
        .map_or_else(|| "안내드릴 내용이 있어 연락드렸습니다".to_owned(), reason);
    format!("{{customerName}}님, {about}{reason}.")
}

fn reason(clause: &Clause) -> String {
    let body = clause.body.as_str();
    match clause.act {
        Act::Ask | Act::Confirm => format!("{} 여쭤보려고 연락드렸습니다", object(body)),
        Act::Tell | Act::Remind => match body.strip_suffix('고').filter(|_| is_reported(body)) {
            Some(reported) => format!("{reported}고 안내드리려고 연락드렸습니다"),
            None if body.contains("감사") => "감사 인사 드리려고 연락드렸습니다".to_owned(),
            None => format!("{} 안내드리려고 연락드렸습니다", topic(body)),
        },
        Act::Request => match body.strip_suffix("달라고") {
            Some(asked) => format!("{} 주시길 부탁드리려고 연락드렸습니다", asked.trim_end()),
            None => format!("{} 부탁드리려고 연락드렸습니다", without_particle(body)),
        },
        Act::Offer | Act::Invite => format!(
            "{} 안내드리려고 연락드렸습니다",
            without_particle(body.trim_end_matches(" 잡아"))
        ),
        Act::Thank => "감사 인사 드리려고 연락드렸습니다".to_owned(),
    }
}

fn is_reported(body: &str) -> bool {
    body.ends_with("다고") || body.ends_with("라고")
}

/// A told noun phrase without "각 고객의" and its particle.
fn topic(body: &str) -> String {
    let each = is_each(body);
    let words: Vec<&str> = body
        .split_whitespace()
        .filter(|w| !(each && (is_each(w) || w.ends_with('의'))))
        .collect();
    without_particle(&words.join(" ")).to_owned()
}

/// The owner said the value differs per person: "각 고객의", "고객별", "회원마다".
fn is_each(text: &str) -> bool {
    text.split_whitespace()
        .any(|w| EACH.contains(&w) || w.ends_with('별') || w.contains("마다"))
}

/// The step a clause gives (`None` when the first clause's news is already in the purpose).
pub(super) fn turn(clause: &Clause, first: bool) -> Option<Turn> {
    let body = clause.body.as_str();
    let condition = clause
        .condition
        .as_ref()
        .map(|c| format!("{} ", honorific(c)))
        .unwrap_or_default();
    let told = |action: String| Turn {
        action,
        responses: &[],
    };
    Some(match clause.act {
        Act::Ask => question(body),
        Act::Confirm => match per_contact(body, PER_CONTACT).filter(|_| is_each(body)) {
            Some(name) => Turn {
                action: format!("등록된 {}이 {{{name}}} 맞으실까요?", topic(body)),
                responses: &["네, 맞아요", "아니요, 바뀌었어요"],
            },
            None if ["의사", "여부", "의향"]
                .iter()
                .any(|w| without_particle(body).ends_with(w)) =>
            {
                question(body)
            }
            None => Turn {
                action: format!("{} 확인 부탁드려도 될까요?", object(body)),
                responses: &["네, 맞아요", "조금 바꾸고 싶어요"],
            },
        },
        Act::Tell | Act::Remind if is_reported(body) => {
            if first {
                return None;
            }
            let reported = body.strip_suffix('고').unwrap_or(body);
            told(polite(reported).map_or_else(|| format!("{reported}."), |s| format!("{s}.")))
        }
        Act::Tell | Act::Remind => match per_contact(body, PER_CONTACT).filter(|_| is_each(body)) {
            Some(name) => told(format!(
                "{{customerName}}님의 {}은 {{{name}}}입니다.",
                topic(body)
            )),
            None if body.contains("감사") => told("진심으로 감사드립니다.".to_owned()),
            None if first => return None,
            None => told(format!("{} 관련해서 알려드립니다.", topic(body))),
        },
        Act::Request => Turn {
            action: match body.strip_suffix("달라고") {
                Some(asked) => format!("{condition}{} 주실 수 있으실까요?", asked.trim_end()),
                None => format!("{condition}{} 가능하실까요?", without_particle(body)),
            },
            responses: &["네, 그렇게 할게요", "조금 어려울 것 같아요"],
        },
        Act::Offer => Turn {
            action: match body.strip_suffix(" 잡아") {
                Some(what) => format!("{condition}{what} 잡아 드릴까요?"),
                None => format!("{condition}{} 도와드릴까요?", without_particle(body)),
            },
            responses: &["네, 부탁드려요", "괜찮아요, 다음에 할게요"],
        },
        Act::Invite => Turn {
            action: format!(
                "{condition}{}에 와 주실 수 있으실까요?",
                without_particle(body)
            ),
            responses: &["네, 갈게요", "이번에는 어려울 것 같아요"],
        },
        Act::Thank => told("진심으로 감사드립니다.".to_owned()),
    })
}

/// The question an ask clause puts: "없으신지" → "없으실까요?", "여부" → "…하실 예정이실까요?".
fn question(body: &str) -> Turn {
    const YES_NO: &[&str] = &["네", "아니요", "잘 모르겠어요"];
    let yes_no = |action: String| Turn {
        action,
        responses: YES_NO,
    };
    for (ending, asked) in [
        ("시는지", "실까요?"),
        ("신지", "실까요?"),
        ("셨는지", "셨을까요?"),
    ] {
        if let Some(stem) = body.strip_suffix(ending) {
            return yes_no(format!("{stem}{asked}"));
        }
    }
    let noun = without_particle(body);
    if let Some(what) = noun.strip_suffix("여부").map(str::trim_end) {
        return yes_no(format!("{what}하실 예정이실까요?"));
    }
    if let Some(what) = noun.strip_suffix("의사").map(str::trim_end) {
        return yes_no(format!("{what}하실 의향이 있으실까요?"));
    }
    if body.ends_with('지') {
        return yes_no(format!("{body} 여쭤봐도 될까요?"));
    }
    let when = ["날짜", "시간", "일정", "언제", "요일"]
        .iter()
        .any(|w| body.contains(w));
    Turn {
        action: format!("{} 말씀해 주시겠어요?", object(body)),
        responses: if when {
            &["다음 주 화요일이 좋아요", "아직 잘 모르겠어요"]
        } else {
            &["네, 말씀드릴게요", "나중에 다시 알려드릴게요"]
        },
    }
}

/// A check after a treatment: how they are, what is wrong, a visit offered.
pub(super) fn follow_up(input: &str, analysis: &Analysis) -> Vec<Turn> {
    const TREATMENTS: &[&str] = &[
        "시술",
        "수술",
        "임플란트",
        "레이저",
        "치료",
        "발치",
        "주사",
        "교정",
        "관리",
        "진료",
        "검사",
    ];
    let treatment = TREATMENTS
        .iter()
        .find(|word| input.contains(*word))
        .map_or("치료", |word| *word);
    let visit = match analysis.business {
        Business::Clinic | Business::Dental => "내원",
        _ => "방문",
    };
    vec![
        Turn {
            action: format!("{treatment} 받으신 뒤로 괜찮으신가요? 혹시 불편하신 점은 없으실까요?"),
            responses: &["네, 괜찮아요", "조금 붓고 아파요", "잘 모르겠어요"],
        },
        Turn {
            action: format!(
                "많이 불편하셨겠어요. 어떤 점이 불편하신지 조금 더 말씀해 주시겠어요? 한번 \
                 보시는 게 좋겠으니, 편하신 때 {visit}하실 수 있게 일정을 잡아 드릴까요?"
            ),
            responses: &["네, 잡아 주세요", "조금 더 지켜볼게요"],
        },
        Turn {
            action: "다행입니다. 혹시 나중에라도 불편하신 점이 생기면 언제든 연락 주세요."
                .to_owned(),
            responses: &["네, 감사합니다"],
        },
        Turn {
            action: "네, 확인해서 가능한 시간으로 다시 연락드리겠습니다. 편하신 요일이나 \
                     시간대가 있으실까요?"
                .to_owned(),
            responses: &["평일 오전이 좋아요", "아무 때나 괜찮아요"],
        },
    ]
}

/// A Korean script for an instruction in another language: nothing of its words can be reused.
pub(super) fn without_words() -> Draft {
    super::assemble(
        "{customerName}님, 요청하신 건으로 몇 가지 확인드리려고 연락드렸습니다.".to_owned(),
        Vec::new(),
        &PHRASES,
        false,
    )
}
