//! How values look on a page: times in Korea, numbers as dialed at home, money, durations.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Seoul;
use serde::Serialize;

/// A moment as Korean wall-clock time, `2026-02-05 14:00`.
pub fn seoul_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&Seoul)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// An RFC 3339 time as Korean wall-clock time; as given when it does not parse.
pub fn seoul_text(at: &str) -> String {
    DateTime::parse_from_rfc3339(at)
        .map(|at| seoul_time(at.with_timezone(&Utc)))
        .unwrap_or_else(|_| at.to_owned())
}

/// An E.164 number as the PRD draws it (`010-1234-5678`); as given when it does not parse.
pub fn phone(e164: &str) -> String {
    phonenumber::parse(None, e164)
        .map(|number| {
            number
                .format()
                .mode(phonenumber::Mode::National)
                .to_string()
        })
        .unwrap_or_else(|_| e164.to_owned())
}

/// US dollars with cents (four places below a cent).
pub fn usd(amount: impl std::borrow::Borrow<f64>) -> String {
    let amount = *amount.borrow();
    if amount != 0.0 && amount.abs() < 0.01 {
        format!("${amount:.4}")
    } else {
        format!("${amount:.2}")
    }
}

/// Seconds as `m:ss`; `-` when unknown.
pub fn duration(seconds: Option<i64>) -> String {
    match seconds {
        Some(s) if s >= 0 => format!("{}:{:02}", s / 60, s % 60),
        _ => "-".to_owned(),
    }
}

/// The wire name of a status or result enum (`COMPLETED`, `SUCCESS`…).
pub fn code(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A context column or script value by its key, in words (`appointmentTime` → 예약 시간).
pub fn column_label(lang: crate::i18n::Lang, key: &str) -> String {
    let pair = match key {
        "appointmentTime" => ("예약 시간", "Appointment time"),
        "businessName" => ("사업장 이름", "Business name"),
        "availableTimes" => ("가능한 시간", "Available times"),
        "dueDate" => ("납부 기한", "Due date"),
        "amount" => ("금액", "Amount"),
        "eventName" => ("행사 이름", "Event name"),
        "eventDate" => ("행사 날짜", "Event date"),
        "noticeDetails" => ("안내 내용", "Notice details"),
        _ => return key.to_owned(),
    };
    match lang {
        crate::i18n::Lang::Ko => pair.0.to_owned(),
        crate::i18n::Lang::En => pair.1.to_owned(),
    }
}
