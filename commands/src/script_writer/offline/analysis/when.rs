//! Days, times of day and payment deadlines, in Korean and English.

use super::{Clock, Day, Deadline, Week};

pub(super) const WEEKDAYS_KO: [&str; 7] = ["월", "화", "수", "목", "금", "토", "일"];
#[rustfmt::skip]
pub(super) const WEEKDAYS_EN: [&str; 7] = [
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
];
#[rustfmt::skip]
pub(super) const MONTHS_EN: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

pub(super) fn day(lower: &str) -> Option<Day> {
    if lower.contains("내일모레")
        || lower.contains("낼모레")
        || lower.contains("day after tomorrow")
    {
        return Some(Day::DayAfterTomorrow);
    }
    if let Some(date) = korean_date(lower).or_else(|| english_date(lower)) {
        return Some(date);
    }
    let korean = WEEKDAYS_KO.map(|name| format!("{name}요일"));
    let english = WEEKDAYS_EN.map(str::to_owned);
    let weekday = weekday_in(
        lower,
        &korean,
        &["다음 주", "다음주", "담주"],
        &["이번 주", "이번주", "금주"],
    )
    .or_else(|| weekday_in(lower, &english, &["next"], &["this"]));
    if weekday.is_some() {
        return weekday;
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

/// The first of `weekdays` (Monday first) named in `lower`, in the week the words just before
/// it say (`next`, `this`, or neither).
fn weekday_in(lower: &str, weekdays: &[String], next: &[&str], this: &[&str]) -> Option<Day> {
    weekdays.iter().enumerate().find_map(|(index, word)| {
        let before = lower[..lower.find(word.as_str())?].trim_end();
        let week = if next.iter().any(|w| before.ends_with(w)) {
            Week::Next
        } else if this.iter().any(|w| before.ends_with(w)) {
            Week::This
        } else {
            Week::Unsaid
        };
        Some(Day::Weekday {
            week,
            weekday: index as u8,
        })
    })
}

/// Digits at the start of `text` and what follows them.
pub(super) fn leading_number(text: &str) -> Option<(u32, &str)> {
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
pub(super) fn trailing_number(text: &str) -> Option<(&str, u32)> {
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
pub(super) fn korean_date(lower: &str) -> Option<Day> {
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
pub(super) fn english_date(lower: &str) -> Option<Day> {
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

pub(super) const AFTERNOON_KO: &[&str] = &["오후", "저녁", "밤", "낮"];
pub(super) const MORNING_KO: &[&str] = &["오전", "아침", "새벽"];

pub(super) fn clock(lower: &str) -> Option<Clock> {
    korean_clock(lower).or_else(|| english_clock(lower))
}

/// `오후 2시`, `2시 30분`, `오전 10시 반`, `14:00`.
pub(super) fn korean_clock(lower: &str) -> Option<Clock> {
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
pub(super) fn english_clock(lower: &str) -> Option<Clock> {
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

pub(super) fn colon_clock(lower: &str) -> Option<Clock> {
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

/// Words that set a payment's deadline to the end of the month, or of the week.
#[rustfmt::skip]
const END_OF_MONTH: &[&str] = &[
    "월말", "달 말", "이달 말", "end of the month", "end of month", "month-end",
];
#[rustfmt::skip]
const END_OF_WEEK: &[&str] = &[
    "이번 주까지", "이번주까지", "주말까지", "end of the week", "end of this week", "this week",
];

pub(super) fn deadline(lower: &str, day: Option<Day>) -> Option<Deadline> {
    let says = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if says(END_OF_MONTH) {
        Some(Deadline::EndOfMonth)
    } else if says(END_OF_WEEK) {
        Some(Deadline::EndOfWeek)
    } else {
        day.map(Deadline::Day)
    }
}
