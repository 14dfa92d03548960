//! Reading the owner's request: what kind of call, for what kind of business, when, how much,
//! and what to announce. Korean and English keywords; everything found is language-neutral so
//! either language can be written from it.

use domain::script::Language;

use super::hangul;

/// The kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Confirm an appointment; offer other times or take a cancellation.
    Appointment,
    /// Remind of a payment and its due date.
    Payment,
    /// Ask whether the callee attends an event.
    Event,
    /// Pass on a notice and take questions.
    Notice,
}

/// The kind of business, for the words it uses (진료 예약, 수강료, reservation…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Business {
    Clinic,
    Dental,
    Salon,
    Academy,
    Restaurant,
    Fitness,
    Other,
}

/// Which week a weekday is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Week {
    This,
    Next,
    Unsaid,
}

/// A day the owner named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    Today,
    Tomorrow,
    DayAfterTomorrow,
    /// Monday = 0 … Sunday = 6.
    Weekday {
        week: Week,
        weekday: u8,
    },
    Date {
        month: u32,
        day: u32,
    },
}

/// A time of day (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub hour: u32,
    pub minute: u32,
}

/// When a payment is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    Day(Day),
    EndOfWeek,
    EndOfMonth,
}

/// An amount of money as the owner wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    Won(u64),
    Written(String),
}

/// Everything the writer took from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysis {
    pub intent: Intent,
    pub business: Business,
    /// The language the owner wrote in (names and notices are only reused in it).
    pub input_language: Language,
    pub day: Option<Day>,
    pub clock: Option<Clock>,
    /// The owner wants the reason for a cancellation asked.
    pub ask_cancel_reason: bool,
    pub deadline: Option<Deadline>,
    pub amount: Option<Amount>,
    /// The event's name in the owner's words ("학부모 설명회", "open house").
    pub event_name: Option<String>,
    /// The notice as the agent says it, in the owner's language.
    pub notice: Option<String>,
    /// A noun phrase of what the notice is about, when no full sentence was found.
    pub notice_topic: Option<String>,
}

#[rustfmt::skip]
const PAYMENT: &[&str] = &[
    "결제", "납부", "미납", "입금", "수납", "청구", "납입", "회비", "수강료", "요금", "잔금", "예약금", "연체", "payment",
    "pay ", "invoice", "bill", "overdue", "balance", "tuition", "dues", "deposit",
];
#[rustfmt::skip]
const EVENT: &[&str] = &[
    "행사", "참석", "참가", "세미나", "설명회", "워크숍", "워크샵", "간담회", "모임", "파티", "발표회", "시사회", "축제", "특강", "강연",
    "초대", "초청", "바자회", "개업식", "오픈 하우스", "event", "attend", "rsvp", "seminar", "workshop", "party",
    "webinar", "open house", "conference", "gala", "info session", "orientation", "celebration",
];
#[rustfmt::skip]
const APPOINTMENT: &[&str] = &[
    "예약", "진료", "내원", "방문 예정", "시술", "상담 일정", "일정 확인", "appointment", "booking", "reservation",
    "reserved", "booked", "check-up", "checkup", "visit",
];
#[rustfmt::skip]
const BOOKING_CHANGES: &[&str] = &[
    "취소", "변경", "다른 시간", "시간 변경", "일정 변경", "cancel", "reschedule", "another time", "different time",
    "patients", "환자",
];
const CONFIRM: &[&str] = &["확인", "confirm"];
const CANCEL_REASON: &[&str] = &["사유", "이유", "왜 ", "reason", "why"];

/// Event words, longest first so "오픈 하우스" wins over "하우스".
#[rustfmt::skip]
const EVENT_NAMES_KO: &[&str] = &[
    "오픈 하우스", "설명회", "세미나", "워크숍", "워크샵", "간담회", "발표회", "시사회", "바자회", "개업식", "기념식", "시상식", "동창회",
    "특강", "강연", "축제", "파티", "모임", "행사",
];
#[rustfmt::skip]
const EVENT_NAMES_EN: &[&str] = &[
    "open house", "info session", "orientation", "conference", "celebration", "seminar", "workshop",
    "webinar", "party", "gala", "fair", "meeting", "event",
];

/// Reads a request.
pub fn analyse(input: &str, business_type: Option<&str>) -> Analysis {
    let lower = input.to_lowercase();
    let input_language = Language::detect(input);
    let intent = intent(&lower);
    let business = business_type
        .map(business_of)
        .filter(|business| *business != Business::Other)
        .unwrap_or_else(|| business_of(&lower));
    let day = day(&lower);
    let clock = clock(&lower);
    let deadline = (intent == Intent::Payment)
        .then(|| deadline(&lower, day))
        .flatten();
    Analysis {
        intent,
        business,
        input_language,
        day,
        clock,
        ask_cancel_reason: CANCEL_REASON.iter().any(|word| lower.contains(word)),
        deadline,
        amount: amount(input),
        event_name: (intent == Intent::Event)
            .then(|| event_name(&lower, input_language))
            .flatten()
            .and_then(spoken),
        notice: (intent == Intent::Notice)
            .then(|| notice(input))
            .flatten()
            .and_then(spoken),
        notice_topic: (intent == Intent::Notice)
            .then(|| notice_topic(input))
            .flatten()
            .and_then(spoken),
    }
}

/// Owner's words fit to be spoken: braces (which would read as placeholders) and surrounding
/// whitespace removed; `None` when nothing is left.
fn spoken(text: String) -> Option<String> {
    let cleaned: String = text.chars().filter(|c| !matches!(c, '{' | '}')).collect();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    (cleaned.chars().count() >= 2).then_some(cleaned)
}

fn count(text: &str, words: &[&str]) -> usize {
    words.iter().filter(|word| text.contains(*word)).count()
}

/// The intent with the most keywords; ties go to appointment, then payment, then event.
fn intent(lower: &str) -> Intent {
    let scores = [
        (Intent::Appointment, count(lower, APPOINTMENT)),
        (Intent::Payment, count(lower, PAYMENT)),
        (Intent::Event, count(lower, EVENT)),
    ];
    scores
        .iter()
        .filter(|(_, score)| *score > 0)
        .fold(
            None,
            |best: Option<(Intent, usize)>, &(intent, score)| match best {
                Some((_, best_score)) if best_score >= score => best,
                _ => Some((intent, score)),
            },
        )
        .map_or_else(
            || {
                // "Confirm, and offer another time if they want to change" is about a booking
                // even when the word is missing.
                if count(lower, BOOKING_CHANGES) > 0 && count(lower, CONFIRM) > 0 {
                    Intent::Appointment
                } else {
                    Intent::Notice
                }
            },
            |(intent, _)| intent,
        )
}

fn business_of(text: &str) -> Business {
    let text = text.to_lowercase();
    let table: &[(Business, &[&str])] = &[
        (Business::Dental, &["dental", "dentist", "치과"]),
        (
            Business::Clinic,
            &[
                "clinic",
                "hospital",
                "medical",
                "doctor",
                "병원",
                "의원",
                "클리닉",
                "한의원",
                "진료",
                "내과",
                "피부과",
                "안과",
            ],
        ),
        (
            Business::Salon,
            &[
                "salon",
                "hair",
                "beauty",
                "nail",
                "spa",
                "barber",
                "미용",
                "헤어",
                "네일",
                "뷰티",
                "에스테틱",
                "시술",
            ],
        ),
        (
            Business::Academy,
            &[
                "academy", "school", "tutor", "lesson", "class", "학원", "교습", "수강", "과외",
            ],
        ),
        (
            Business::Restaurant,
            &[
                "restaurant",
                "cafe",
                "café",
                "diner",
                "식당",
                "레스토랑",
                "음식점",
                "카페",
            ],
        ),
        (
            Business::Fitness,
            &[
                "gym",
                "fitness",
                "pilates",
                "yoga",
                "헬스",
                "필라테스",
                "요가",
                "피트니스",
                "pt",
            ],
        ),
    ];
    table
        .iter()
        .find(|(_, words)| {
            words.iter().any(|word| {
                if word.is_ascii() && word.len() <= 3 {
                    text.split(|c: char| !c.is_alphanumeric())
                        .any(|token| token == *word)
                } else {
                    text.contains(word)
                }
            })
        })
        .map_or(Business::Other, |(business, _)| *business)
}

const WEEKDAYS_KO: [&str; 7] = ["월", "화", "수", "목", "금", "토", "일"];
#[rustfmt::skip]
const WEEKDAYS_EN: [&str; 7] = [
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
];
#[rustfmt::skip]
const MONTHS_EN: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn day(lower: &str) -> Option<Day> {
    if lower.contains("내일모레")
        || lower.contains("낼모레")
        || lower.contains("day after tomorrow")
    {
        return Some(Day::DayAfterTomorrow);
    }
    if let Some(date) = korean_date(lower).or_else(|| english_date(lower)) {
        return Some(date);
    }
    for (index, name) in WEEKDAYS_KO.iter().enumerate() {
        let word = format!("{name}요일");
        if let Some(at) = lower.find(&word) {
            let before = lower[..at].trim_end();
            let week = if before.ends_with("다음 주")
                || before.ends_with("다음주")
                || before.ends_with("담주")
            {
                Week::Next
            } else if before.ends_with("이번 주")
                || before.ends_with("이번주")
                || before.ends_with("금주")
            {
                Week::This
            } else {
                Week::Unsaid
            };
            return Some(Day::Weekday {
                week,
                weekday: index as u8,
            });
        }
    }
    for (index, name) in WEEKDAYS_EN.iter().enumerate() {
        if let Some(at) = lower.find(name) {
            let before = lower[..at].trim_end();
            let week = if before.ends_with("next") {
                Week::Next
            } else if before.ends_with("this") {
                Week::This
            } else {
                Week::Unsaid
            };
            return Some(Day::Weekday {
                week,
                weekday: index as u8,
            });
        }
    }
    if lower.contains("모레") {
        return Some(Day::DayAfterTomorrow);
    }
    if lower.contains("내일") || lower.contains("tomorrow") {
        return Some(Day::Tomorrow);
    }
    if lower.contains("오늘") || lower.contains("today") || lower.contains("tonight") {
        return Some(Day::Today);
    }
    None
}

/// Digits at the start of `text` and what follows them.
fn leading_number(text: &str) -> Option<(u32, &str)> {
    let end = text
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(text.len(), |(i, _)| i);
    if end == 0 || end > 4 {
        return None;
    }
    Some((text[..end].parse().ok()?, &text[end..]))
}

/// Digits that end `text`, with what comes before them.
fn trailing_number(text: &str) -> Option<(&str, u32)> {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map(|(i, _)| i)?;
    if text.len() - start > 2 {
        return None;
    }
    Some((&text[..start], text[start..].parse().ok()?))
}

/// `3월 5일`.
fn korean_date(lower: &str) -> Option<Day> {
    for (at, _) in lower.match_indices('월') {
        let Some((_, month)) = trailing_number(lower[..at].trim_end()) else {
            continue;
        };
        let after = lower[at + '월'.len_utf8()..].trim_start();
        if let Some((day, rest)) = leading_number(after)
            && rest.trim_start().starts_with('일')
            && (1..=12).contains(&month)
            && (1..=31).contains(&day)
        {
            return Some(Day::Date { month, day });
        }
    }
    None
}

/// `March 5`, `mar 5th`.
fn english_date(lower: &str) -> Option<Day> {
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    for pair in words.windows(2) {
        let Some(month) = MONTHS_EN
            .iter()
            .position(|m| pair[0].starts_with(m) && pair[0].len() <= 9)
        else {
            continue;
        };
        let digits: String = pair[1].chars().take_while(char::is_ascii_digit).collect();
        if let Ok(day) = digits.parse::<u32>()
            && (1..=31).contains(&day)
        {
            return Some(Day::Date {
                month: month as u32 + 1,
                day,
            });
        }
    }
    None
}

const AFTERNOON_KO: &[&str] = &["오후", "저녁", "밤", "낮"];
const MORNING_KO: &[&str] = &["오전", "아침", "새벽"];

fn clock(lower: &str) -> Option<Clock> {
    korean_clock(lower).or_else(|| english_clock(lower))
}

/// `오후 2시`, `2시 30분`, `오전 10시 반`, `14:00`.
fn korean_clock(lower: &str) -> Option<Clock> {
    for (at, _) in lower.match_indices('시') {
        let after = &lower[at + '시'.len_utf8()..];
        if after.starts_with('간') || after.starts_with('작') {
            continue; // 시간 (hours), 시작 (start)
        }
        let Some((before, hour)) = trailing_number(lower[..at].trim_end()) else {
            continue;
        };
        if hour > 24 {
            continue;
        }
        let before = before.trim_end();
        let minute = match leading_number(after.trim_start()) {
            Some((minute, rest)) if rest.trim_start().starts_with('분') && minute < 60 => minute,
            _ if after.trim_start().starts_with('반') => 30,
            _ => 0,
        };
        let hour = if AFTERNOON_KO.iter().any(|w| before.ends_with(w)) {
            if hour < 12 { hour + 12 } else { hour }
        } else if MORNING_KO.iter().any(|w| before.ends_with(w)) {
            if hour == 12 { 0 } else { hour }
        } else if (1..=7).contains(&hour) {
            // Said without 오전/오후, an hour from 1 to 7 is in the afternoon at a business.
            hour + 12
        } else {
            hour
        };
        return Some(Clock {
            hour: hour % 24,
            minute,
        });
    }
    colon_clock(lower)
}

/// `2pm`, `2:30 p.m.`, `at 3`, `14:00`.
fn english_clock(lower: &str) -> Option<Clock> {
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let Some((hour, rest)) = leading_number(&lower[i..]) else {
            i += 1;
            continue;
        };
        let (minute, rest) = match rest.strip_prefix(':').and_then(leading_number) {
            Some((minute, rest)) if minute < 60 => (minute, rest),
            _ => (0, rest),
        };
        let suffix = rest.trim_start();
        let pm = suffix.starts_with("pm") || suffix.starts_with("p.m");
        let am = suffix.starts_with("am") || suffix.starts_with("a.m");
        let at_before = lower[..i].trim_end().ends_with("at");
        if (pm || am || at_before) && (1..=12).contains(&hour) {
            let hour = match (pm, am) {
                (true, _) if hour < 12 => hour + 12,
                (_, true) if hour == 12 => 0,
                (false, false) if hour <= 7 => hour + 12,
                _ => hour,
            };
            return Some(Clock { hour, minute });
        }
        i += 1;
    }
    colon_clock(lower)
}

fn colon_clock(lower: &str) -> Option<Clock> {
    for (at, _) in lower.match_indices(':') {
        let Some((_, hour)) = trailing_number(&lower[..at]) else {
            continue;
        };
        if let Some((minute, _)) = leading_number(&lower[at + 1..])
            && hour < 24
            && minute < 60
        {
            return Some(Clock { hour, minute });
        }
    }
    None
}

fn deadline(lower: &str, day: Option<Day>) -> Option<Deadline> {
    if [
        "월말",
        "달 말",
        "이달 말",
        "end of the month",
        "end of month",
        "month-end",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return Some(Deadline::EndOfMonth);
    }
    if [
        "이번 주까지",
        "이번주까지",
        "주말까지",
        "end of the week",
        "end of this week",
        "this week",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        return Some(Deadline::EndOfWeek);
    }
    day.map(Deadline::Day)
}

/// `5만원`, `50,000원`, `3만 5천원`, `$120`, `₩50,000`.
fn amount(input: &str) -> Option<Amount> {
    if let Some(at) = input.find(['$', '₩']) {
        let symbol = &input[at..at + input[at..].chars().next()?.len_utf8()];
        let digits: String = input[at + symbol.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
            .collect();
        let digits = digits.trim_end_matches(['.', ',']);
        if !digits.is_empty() {
            if symbol == "₩" {
                return digits.replace(',', "").parse().ok().map(Amount::Won);
            }
            return Some(Amount::Written(format!("{symbol}{digits}")));
        }
    }
    for (at, _) in input.match_indices('원') {
        let before = input[..at].trim_end();
        if let Some(won) = korean_won(before) {
            return Some(Amount::Won(won));
        }
    }
    None
}

/// The number before `원`: `50,000`, `5만`, `3만 5천`, `2천`.
fn korean_won(before: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut current: Option<u64> = None;
    let mut seen_any = false;
    // Read the last "word" of numerals and 만/천 units backwards by collecting its characters.
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || matches!(c, ',' | '만' | '천' | '백' | ' '))
        .last()
        .map(|(i, _)| i)?;
    let numeral = before[start..].trim();
    for c in numeral.chars() {
        match c {
            '0'..='9' => {
                current = Some(current.unwrap_or(0) * 10 + u64::from(c as u8 - b'0'));
                seen_any = true;
            }
            ',' | ' ' => {}
            '만' => {
                total += current.take().unwrap_or(1) * 10_000;
            }
            '천' => {
                total += current.take().unwrap_or(1) * 1_000;
            }
            '백' => {
                total += current.take().unwrap_or(1) * 100;
            }
            _ => return None,
        }
    }
    total += current.unwrap_or(0);
    (seen_any && total > 0).then_some(total)
}

/// Words that end a name phrase when they come before the event word.
#[rustfmt::skip]
const NOT_A_NAME_KO: &[&str] = &[
    "오늘", "내일", "모레", "이번", "다음", "주", "고객", "고객들", "회원", "회원들", "분들",
];
const NAME_ENDINGS_KO: &[char] = &[
    '는', '은', '을', '를', '에', '게', '께', '의', '고', '서', '한', '할', '된', '될', '던', '인',
    '와', '과', '도', '만', '요', '로', '일', '시', '분',
];

fn event_name(lower: &str, language: Language) -> Option<String> {
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
const TELL_KO: &[&str] = &[
    "안내", "알려", "알리", "전해", "전달", "말해", "말씀", "공지", "얘기", "이야기",
];
/// Where the notice clause starts: after the instruction to call.
#[rustfmt::skip]
const CLAUSE_STARTS_KO: &[&str] = &[
    ",", ".", "!", "?", "\n", "전화해서 ", "전화해 ", "연락해서 ", "연락해 ", "전화 걸어서 ", "에게 ", "한테 ", "께 ",
];

/// The notice, when the owner reported it ("…휴진이라고 안내해줘", "tell them that …").
fn notice(input: &str) -> Option<String> {
    korean_notice(input).or_else(|| english_notice(input))
}

fn korean_notice(input: &str) -> Option<String> {
    for (at, _) in input.match_indices('고') {
        let after = input[at + '고'.len_utf8()..].trim_start();
        if !TELL_KO.iter().any(|verb| after.starts_with(verb)) {
            continue;
        }
        let before = &input[..at];
        let start = CLAUSE_STARTS_KO
            .iter()
            .filter_map(|boundary| before.rfind(boundary).map(|i| i + boundary.len()))
            .max()
            .unwrap_or(0);
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

fn english_notice(input: &str) -> Option<String> {
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
fn notice_topic(input: &str) -> Option<String> {
    for verb in ["안내", "공지", "알림"] {
        let Some(at) = input.find(verb) else { continue };
        let before = &input[..at];
        let start = CLAUSE_STARTS_KO
            .iter()
            .filter_map(|boundary| before.rfind(boundary).map(|i| i + boundary.len()))
            .max()
            .unwrap_or(0);
        let topic = before[start..]
            .trim()
            .trim_end_matches(['을', '를', '에', ' ']);
        if topic.chars().count() >= 2 && !topic.ends_with('고') {
            return Some(topic.to_owned());
        }
    }
    None
}

impl Analysis {
    /// True when names and notices taken from the input can be reused in `language`.
    pub fn same_language(&self, language: Language) -> bool {
        self.input_language == language
    }
}

/// The day, as said in Korean: 내일, 다음 주 금요일, 3월 5일.
pub fn day_ko(day: Day) -> String {
    match day {
        Day::Today => "오늘".into(),
        Day::Tomorrow => "내일".into(),
        Day::DayAfterTomorrow => "모레".into(),
        Day::Weekday { week, weekday } => {
            let name = WEEKDAYS_KO[usize::from(weekday) % 7];
            match week {
                Week::This => format!("이번 주 {name}요일"),
                Week::Next => format!("다음 주 {name}요일"),
                Week::Unsaid => format!("{name}요일"),
            }
        }
        Day::Date { month, day } => format!("{month}월 {day}일"),
    }
}

/// The day as an English adverbial: tomorrow, next Friday, on March 5.
pub fn day_en(day: Day) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    match day {
        Day::Today => "today".into(),
        Day::Tomorrow => "tomorrow".into(),
        Day::DayAfterTomorrow => "the day after tomorrow".into(),
        Day::Weekday { week, weekday } => {
            let name = DAYS[usize::from(weekday) % 7];
            match week {
                Week::This => format!("this {name}"),
                Week::Next => format!("next {name}"),
                Week::Unsaid => format!("on {name}"),
            }
        }
        Day::Date { month, day } => {
            format!("on {} {day}", MONTHS[(month as usize + 11) % 12])
        }
    }
}

/// 오후 2시, 오전 10시 30분.
pub fn clock_ko(clock: Clock) -> String {
    let (period, hour) = match clock.hour {
        0 => ("오전", 12),
        h @ 1..=11 => ("오전", h),
        12 => ("오후", 12),
        h => ("오후", h - 12),
    };
    if clock.minute == 0 {
        format!("{period} {hour}시")
    } else {
        format!("{period} {hour}시 {}분", clock.minute)
    }
}

/// 2 PM, 10:30 AM.
pub fn clock_en(clock: Clock) -> String {
    let (hour, period) = match clock.hour {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    if clock.minute == 0 {
        format!("{hour} {period}")
    } else {
        format!("{hour}:{:02} {period}", clock.minute)
    }
}

/// 50,000원 / ₩50,000 / the amount as written.
pub fn amount_text(amount: &Amount, language: Language) -> String {
    match (amount, language) {
        (Amount::Won(won), Language::Ko) => format!("{}원", thousands(*won)),
        (Amount::Won(won), Language::En) => format!("₩{}", thousands(*won)),
        (Amount::Written(text), _) => text.clone(),
    }
}

fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_request_is_an_appointment_tomorrow_at_two_with_a_cancel_reason() {
        let analysis = analyse(
            "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 \
             제안해줘. 취소하면 취소 사유도 물어봐줘.",
            Some("clinic"),
        );
        assert_eq!(analysis.intent, Intent::Appointment);
        assert_eq!(analysis.business, Business::Clinic);
        assert_eq!(analysis.day, Some(Day::Tomorrow));
        assert_eq!(
            analysis.clock,
            Some(Clock {
                hour: 14,
                minute: 0
            })
        );
        assert!(analysis.ask_cancel_reason);
        assert_eq!(analysis.input_language, Language::Ko);
    }

    #[test]
    fn intents_follow_the_keywords() {
        for (input, intent) in [
            (
                "예약 확인 전화해줘. 변경하고 싶으면 다른 시간 제안해",
                Intent::Appointment,
            ),
            ("결제 리마인더 보내줘. 기한이 내일까지야", Intent::Payment),
            ("내일 행사 참석 여부 확인해줘", Intent::Event),
            ("다음 주 월요일은 휴진이라고 안내해줘", Intent::Notice),
            ("예약금 입금 안내 전화 부탁해", Intent::Payment),
            (
                "Call tomorrow's patients to confirm their appointment",
                Intent::Appointment,
            ),
            (
                "Remind members that their payment is due Friday",
                Intent::Payment,
            ),
            (
                "Ask if they will attend our open house on Saturday",
                Intent::Event,
            ),
            (
                "Let everyone know that we are closed next Monday",
                Intent::Notice,
            ),
        ] {
            assert_eq!(analyse(input, None).intent, intent, "{input}");
        }
    }

    #[test]
    fn days_and_times_are_read_in_both_languages() {
        let cases = [
            (
                "모레 오전 10시 반",
                Some(Day::DayAfterTomorrow),
                Some((10, 30)),
            ),
            (
                "다음 주 금요일 저녁 7시",
                Some(Day::Weekday {
                    week: Week::Next,
                    weekday: 4,
                }),
                Some((19, 0)),
            ),
            (
                "3월 5일 14:30",
                Some(Day::Date { month: 3, day: 5 }),
                Some((14, 30)),
            ),
            ("2시간 동안", None, None),
            ("tomorrow at 2pm", Some(Day::Tomorrow), Some((14, 0))),
            (
                "next Friday at 10:15 a.m.",
                Some(Day::Weekday {
                    week: Week::Next,
                    weekday: 4,
                }),
                Some((10, 15)),
            ),
            (
                "on March 5th at 3",
                Some(Day::Date { month: 3, day: 5 }),
                Some((15, 0)),
            ),
            ("오늘 3시", Some(Day::Today), Some((15, 0))),
        ];
        for (input, day_expected, clock_expected) in cases {
            let lower = input.to_lowercase();
            assert_eq!(day(&lower), day_expected, "{input}");
            assert_eq!(
                clock(&lower).map(|c| (c.hour, c.minute)),
                clock_expected,
                "{input}"
            );
        }
    }

    #[test]
    fn days_times_and_amounts_render_in_both_languages() {
        assert_eq!(
            clock_ko(Clock {
                hour: 14,
                minute: 0
            }),
            "오후 2시"
        );
        assert_eq!(
            clock_ko(Clock {
                hour: 9,
                minute: 30
            }),
            "오전 9시 30분"
        );
        assert_eq!(
            clock_en(Clock {
                hour: 14,
                minute: 5
            }),
            "2:05 PM"
        );
        assert_eq!(clock_en(Clock { hour: 0, minute: 0 }), "12 AM");
        assert_eq!(
            day_ko(Day::Weekday {
                week: Week::This,
                weekday: 0
            }),
            "이번 주 월요일"
        );
        assert_eq!(day_en(Day::Date { month: 12, day: 24 }), "on December 24");
        assert_eq!(
            amount_text(&Amount::Won(1_250_000), Language::Ko),
            "1,250,000원"
        );
        assert_eq!(amount_text(&Amount::Won(50_000), Language::En), "₩50,000");
    }

    #[test]
    fn amounts_and_deadlines_are_found() {
        assert_eq!(amount("수강료 35만원 납부"), Some(Amount::Won(350_000)));
        assert_eq!(amount("50,000원 결제"), Some(Amount::Won(50_000)));
        assert_eq!(amount("3만 5천원"), Some(Amount::Won(35_000)));
        assert_eq!(
            amount("pay $120.50 by Friday"),
            Some(Amount::Written("$120.50".into()))
        );
        assert_eq!(amount("결제 안내"), None);
        let payment = analyse("이번 달 말까지 회비 납부해 달라고 전화해줘", None);
        assert_eq!(payment.deadline, Some(Deadline::EndOfMonth));
        assert_eq!(payment.business, Business::Other);
        let payment = analyse("결제 리마인더 보내줘. 기한이 내일까지야", None);
        assert_eq!(payment.deadline, Some(Deadline::Day(Day::Tomorrow)));
    }

    #[test]
    fn event_names_keep_the_owners_words() {
        let name = |input: &str| analyse(input, None).event_name;
        assert_eq!(
            name("내일 행사 참석 여부 확인해줘").as_deref(),
            Some("행사")
        );
        assert_eq!(
            name("토요일 학부모 설명회 참석 여부 물어봐줘").as_deref(),
            Some("학부모 설명회")
        );
        assert_eq!(
            name("다음 주 열리는 세미나에 참석하는지").as_deref(),
            Some("세미나")
        );
        assert_eq!(
            name("Ask if they will attend our spring open house").as_deref(),
            Some("spring open house")
        );
    }

    #[test]
    fn reported_notices_become_sentences_and_topics_are_kept() {
        let notice = |input: &str| analyse(input, None).notice;
        assert_eq!(
            notice("고객들에게 전화해서 다음 주 월요일은 휴진이라고 안내해줘").as_deref(),
            Some("다음 주 월요일은 휴진입니다.")
        );
        assert_eq!(
            notice("영업시간이 오후 9시까지로 변경된다고 알려줘").as_deref(),
            Some("영업시간이 오후 9시까지로 변경됩니다.")
        );
        assert_eq!(
            notice("Let everyone know that we are closed next Monday.").as_deref(),
            Some("We are closed next Monday.")
        );
        let topic = analyse("고객들에게 다음 주 월요일 휴진 안내해줘", None);
        assert_eq!(topic.notice, None);
        assert_eq!(topic.notice_topic.as_deref(), Some("다음 주 월요일 휴진"));
    }

    #[test]
    fn the_business_comes_from_the_context_or_the_request() {
        assert_eq!(
            analyse("예약 확인", Some("salon")).business,
            Business::Salon
        );
        assert_eq!(
            analyse("치과 예약 확인 전화", None).business,
            Business::Dental
        );
        assert_eq!(
            analyse("학원 상담 예약 확인", Some("other")).business,
            Business::Academy
        );
        assert_eq!(
            analyse("Confirm the reservation", Some("restaurant")).business,
            Business::Restaurant
        );
    }
}
