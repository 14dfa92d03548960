//! What the analysis found, said in Korean or English.

use domain::limits::thousands;
use domain::script::Language;

use super::when::WEEKDAYS_KO;
use super::{Amount, Clock, Day, Week};

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
