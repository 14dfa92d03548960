//! Event names and notices, in the owner's own words.

use domain::script::Language;

use super::super::hangul;

/// Event words, longest first so "오픈 하우스" wins over "하우스".
#[rustfmt::skip]
pub(super) const EVENT_NAMES_KO: &[&str] = &[
    "오픈 하우스", "설명회", "세미나", "워크숍", "워크샵", "간담회", "발표회", "시사회", "바자회", "개업식", "기념식", "시상식", "동창회",
    "특강", "강연", "축제", "파티", "모임", "행사",
];
#[rustfmt::skip]
pub(super) const EVENT_NAMES_EN: &[&str] = &[
    "open house", "info session", "orientation", "conference", "celebration", "seminar", "workshop",
    "webinar", "party", "gala", "fair", "meeting", "event",
];

/// Words that end a name phrase when they come before the event word.
#[rustfmt::skip]
pub(super) const NOT_A_NAME_KO: &[&str] = &[
    "오늘", "내일", "모레", "이번", "다음", "주", "고객", "고객들", "회원", "회원들", "분들",
];
pub(super) const NAME_ENDINGS_KO: &[char] = &[
    '는', '은', '을', '를', '에', '게', '께', '의', '고', '서', '한', '할', '된', '될', '던', '인',
    '와', '과', '도', '만', '요', '로', '일', '시', '분',
];

pub(super) fn event_name(lower: &str, language: Language) -> Option<String> {
    match language {
        Language::Ko => {
            let (at, word) = EVENT_NAMES_KO
                .iter()
                .filter_map(|word| lower.find(word).map(|at| (at, *word)))
                .min_by_key(|(at, word)| (*at, usize::MAX - word.len()))?;
            let tokens_before: Vec<&str> = lower[..at].split_whitespace().collect();
            // The event word may be glued to a prefix ("학부모설명회").
            let glued = if lower[..at].ends_with(char::is_whitespace) {
                ""
            } else {
                tokens_before.last().copied().unwrap_or("")
            };
            let mut name = format!("{glued}{word}");
            let previous = if glued.is_empty() {
                tokens_before.last()
            } else {
                tokens_before
                    .len()
                    .checked_sub(2)
                    .and_then(|i| tokens_before.get(i))
            };
            if let Some(previous) = previous
                && previous.chars().all(|c| c.is_alphanumeric())
                && !previous.chars().any(|c| c.is_ascii_digit())
                && !NOT_A_NAME_KO.contains(previous)
                && !previous.ends_with("요일")
                && !previous.ends_with(NAME_ENDINGS_KO)
            {
                name = format!("{previous} {name}");
            }
            Some(name)
        }
        Language::En => {
            let (at, word) = EVENT_NAMES_EN
                .iter()
                .filter_map(|word| lower.find(word).map(|at| (at, *word)))
                .min_by_key(|(at, _)| *at)?;
            let stop = [
                "the",
                "a",
                "an",
                "our",
                "my",
                "your",
                "their",
                "for",
                "to",
                "at",
                "on",
                "in",
                "of",
                "this",
                "next",
                "attend",
                "attending",
                "about",
                "whether",
                "confirm",
                "check",
                "if",
                "will",
                "be",
                "and",
                "tomorrow's",
                "today's",
                "tomorrow",
                "today",
                "invite",
                "them",
                "customers",
                "members",
                "call",
                "upcoming",
            ];
            let mut words: Vec<&str> = lower[..at]
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .rev()
                .take(2)
                .take_while(|w| !stop.contains(w) && w.chars().all(char::is_alphabetic))
                .collect();
            words.reverse();
            words.push(word);
            Some(words.join(" "))
        }
    }
}

/// Verbs that carry a notice: "…라고 안내해줘", "…다고 알려줘".
#[rustfmt::skip]
pub(super) const TELL_KO: &[&str] = &[
    "안내", "알려", "알리", "전해", "전달", "말해", "말씀", "공지", "얘기", "이야기",
];
/// Where the notice clause starts: after the instruction to call.
#[rustfmt::skip]
pub(super) const CLAUSE_STARTS_KO: &[&str] = &[
    ",", ".", "!", "?", "\n", "전화해서 ", "전화해 ", "연락해서 ", "연락해 ", "전화 걸어서 ", "에게 ", "한테 ", "께 ",
];

/// Where the last clause of `before` starts (after its last clause boundary).
fn clause_start(before: &str) -> usize {
    CLAUSE_STARTS_KO
        .iter()
        .filter_map(|boundary| before.rfind(boundary).map(|i| i + boundary.len()))
        .max()
        .unwrap_or(0)
}

/// The notice, when the owner reported it ("…휴진이라고 안내해줘", "tell them that …").
pub(super) fn notice(input: &str) -> Option<String> {
    korean_notice(input).or_else(|| english_notice(input))
}

pub(super) fn korean_notice(input: &str) -> Option<String> {
    for (at, _) in input.match_indices('고') {
        let after = input[at + '고'.len_utf8()..].trim_start();
        if !TELL_KO.iter().any(|verb| after.starts_with(verb)) {
            continue;
        }
        let before = &input[..at];
        let start = clause_start(before);
        let clause = before[start..].trim();
        if clause.chars().count() < 2 {
            continue;
        }
        if let Some(sentence) = hangul::polite(clause) {
            return Some(format!("{sentence}."));
        }
    }
    None
}

pub(super) fn english_notice(input: &str) -> Option<String> {
    let lower = input.to_lowercase();
    let at = lower.find(" that ")?;
    let before = &lower[..at];
    if ![
        "tell", "let", "inform", "remind", "notify", "know", "announce",
    ]
    .iter()
    .any(|verb| before.contains(verb))
    {
        return None;
    }
    let rest = input[at + " that ".len()..].trim();
    let end = rest.find(['.', '!', '?', '\n']).unwrap_or(rest.len());
    let sentence = rest[..end].trim();
    let mut chars = sentence.chars();
    let first = chars.next()?;
    Some(format!("{}{}.", first.to_uppercase(), chars.as_str()))
}

/// What a notice is about, when the owner only named it ("다음 주 월요일 휴진 안내해줘").
pub(super) fn notice_topic(input: &str) -> Option<String> {
    for verb in ["안내", "공지", "알림"] {
        let Some(at) = input.find(verb) else { continue };
        let before = &input[..at];
        let start = clause_start(before);
        let topic = before[start..]
            .trim()
            .trim_end_matches(['을', '를', '에', ' ']);
        if topic.chars().count() >= 2 && !topic.ends_with('고') {
            return Some(topic.to_owned());
        }
    }
    None
}
