//! Reading the owner's request: what kind of call, for what kind of business, when, how much,
//! and what to announce. Korean and English keywords; everything found is language-neutral so
//! either language can be written from it.
//!
//! This module holds what is found and how the kind of call and business are told apart;
//! [`when`] reads days, times and deadlines, [`money`] amounts, [`names`] event names and
//! notices, and [`phrasing`] says what was found in either language.

mod money;
mod names;
mod phrasing;
mod when;

use domain::script::Language;

use money::amount;
use names::{event_name, notice, notice_topic};
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

impl Analysis {
    /// True when names and notices taken from the input can be reused in `language`.
    pub fn same_language(&self, language: Language) -> bool {
        self.input_language == language
    }

    /// The event's name in the owner's words, when it can be said in `language`.
    pub fn event_name_in(&self, language: Language) -> Option<&str> {
        self.event_name
            .as_deref()
            .filter(|_| self.same_language(language))
    }
}

#[cfg(test)]
mod tests;
