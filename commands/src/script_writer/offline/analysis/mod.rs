//! Reading the owner's request for the templates: what kind of call, for what kind of business,
//! when and how much. Korean and English keywords; everything found is language-neutral so
//! either language can be written from it. A call that fits no template is read clause by
//! clause by [`super::general`].
//!
//! This module holds what is found and how the kind of call and business are told apart;
//! [`when`] reads days, times and deadlines, [`money`] amounts, [`names`] event names, and
//! [`phrasing`] says what was found in either language.

mod money;
mod names;
mod phrasing;
mod when;

use domain::script::Language;

use money::amount;
use names::event_name;
pub use phrasing::{amount_text, clock_en, clock_ko, day_en, day_ko};
use when::{clock, day, deadline};

/// The kind of call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Confirm an appointment; offer other times or take a cancellation.
    Appointment,
    /// Remind of a payment and its due date.
    Payment,
    /// Ask whether the callee attends an event.
    Event,
    /// Anything else: written from the request's own clauses.
    General,
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
    pub when: When,
    /// The owner wants the reason for a cancellation asked.
    pub ask_cancel_reason: bool,
    pub amount: Option<Amount>,
    /// The event's name in the owner's words ("학부모 설명회", "open house").
    pub event_name: Option<String>,
    /// A check on the callee after a treatment: how they are, any discomfort.
    pub follow_up: bool,
}

/// When the request says things happen: the day and time, and when a payment is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    pub day: Option<Day>,
    pub clock: Option<Clock>,
    pub deadline: Option<Deadline>,
    /// The request names a date the day reader does not ("이번 달 25일"), so a template that
    /// says the day would lose it.
    pub unread_date: bool,
}

#[rustfmt::skip]
const PAYMENT: &[&str] = &[
    "결제", "납부", "미납", "입금", "수납", "청구", "납입", "회비", "수강료", "요금", "잔금", "예약금", "연체료", "payment",
    "pay ", "invoice", "bill", "balance", "tuition", "dues", "deposit", "late fee",
];
#[rustfmt::skip]
const EVENT: &[&str] = &[
    "행사", "세미나", "설명회", "워크숍", "워크샵", "간담회", "모임", "파티", "발표회", "시사회", "축제", "특강", "강연", "운동회",
    "음악회", "공연", "체육대회", "바자회", "개업식", "오픈 하우스", "event", "seminar", "workshop", "party",
    "webinar", "open house", "conference", "gala", "info session", "orientation", "celebration", "concert",
];
/// Asking whether the callee comes, not thanking those who came.
#[rustfmt::skip]
const ATTENDANCE: &[&str] = &[
    "참석 여부", "참석여부", "참석 확인", "참가 확인", "참가 여부", "참여 여부", "참석 가능", "참석하실", "참석할", "참석하는지", "참가하실", "참가할",
    "참여하실", "참여할", "오실 수", "올 수", "attend", "rsvp", "join us", "coming",
];
#[rustfmt::skip]
const APPOINTMENT: &[&str] = &[
    "예약", "진료", "내원", "방문 예정", "상담 일정", "일정 확인", "appointment", "booking", "reservation",
    "reserved", "booked", "check-up", "checkup",
];
/// An appointment call confirms, reminds of, moves or cancels the booking.
#[rustfmt::skip]
const CONFIRMING: &[&str] = &[
    "확인", "리마인드", "변경", "취소", "confirm", "remind", "reschedule", "cancel",
];
/// How the callee is after a treatment…
#[rustfmt::skip]
const HOW_ARE_YOU: &[&str] = &[
    "불편", "괜찮은지", "통증", "붓기", "부작용", "경과", "컨디션", "아프", "discomfort", "redness", "pain",
    "swelling", "side effect", "how they're feeling", "how they are feeling", "how they're doing", "recovering",
];
/// …they had.
#[rustfmt::skip]
const TREATMENT: &[&str] = &[
    "시술", "수술", "치료", "레이저", "주사", "필러", "보톡스", "교정", "발치", "임플란트", "진료", "treatment", "peel",
    "surgery", "procedure", "laser", "injection", "filler", "extraction", "implant", "facial",
];
#[rustfmt::skip]
const BOOKING_CHANGES: &[&str] = &[
    "취소", "변경", "다른 시간", "시간 변경", "일정 변경", "cancel", "reschedule", "another time", "different time",
    "patients", "환자",
];
const CONFIRM: &[&str] = &["확인", "confirm"];
const CANCEL_REASON: &[&str] = &["사유", "이유", "왜 ", "reason", "why"];

/// Reads a request.
pub fn analyse(input: &str, business_type: Option<&str>) -> Analysis {
    let lower = input.to_lowercase();
    let input_language = Language::detect(input);
    let follow_up = count(&lower, HOW_ARE_YOU) > 0 && count(&lower, TREATMENT) > 0;
    let intent = if follow_up {
        Intent::General
    } else {
        intent(&lower)
    };
    let business = business_type
        .map(business_of)
        .filter(|business| *business != Business::Other)
        .unwrap_or_else(|| business_of(&lower));
    let day = day(&lower);
    let when = When {
        day,
        clock: clock(&lower),
        deadline: (intent == Intent::Payment)
            .then(|| deadline(&lower, day))
            .flatten(),
        unread_date: day.is_none() && has_date_words(&lower),
    };
    Analysis {
        intent,
        business,
        input_language,
        when,
        ask_cancel_reason: CANCEL_REASON.iter().any(|word| lower.contains(word)),
        amount: amount(input),
        event_name: (intent == Intent::Event)
            .then(|| event_name(&lower, input_language))
            .flatten()
            .and_then(spoken),
        follow_up,
    }
}

/// "25일", "15th": a day of the month in the request.
fn has_date_words(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    chars
        .windows(2)
        .any(|pair| pair[0].is_ascii_digit() && pair[1] == '일')
        || ["st ", "nd ", "rd ", "th "].iter().any(|suffix| {
            lower.match_indices(suffix).any(|(at, _)| {
                lower[..at]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_digit())
            })
        })
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

/// The template with the most keywords; ties go to appointment, then payment, then event. An
/// appointment call must confirm, remind, move or cancel; an event call must ask who comes.
fn intent(lower: &str) -> Intent {
    let confirming = count(lower, CONFIRMING) > 0;
    let attending = count(lower, ATTENDANCE) > 0;
    let scores = [
        (
            Intent::Appointment,
            if confirming {
                count(lower, APPOINTMENT)
            } else {
                0
            },
        ),
        (Intent::Payment, count(lower, PAYMENT)),
        (
            Intent::Event,
            if attending { count(lower, EVENT) } else { 0 },
        ),
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
                    Intent::General
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

impl Analysis {
    /// True when names and notices taken from the input can be reused in `language`.
    pub fn same_language(&self, language: Language) -> bool {
        self.input_language == language
    }

    /// The amount as `language` writes it, or the `{amount}` variable when none was found.
    pub fn amount_in(&self, language: Language) -> String {
        self.amount
            .as_ref()
            .map_or_else(|| "{amount}".to_owned(), |a| amount_text(a, language))
    }
}

#[cfg(test)]
mod tests;
