//! Amounts of money: won in Korean notation, or as written.

use super::Amount;

/// `5만원`, `50,000원`, `3만 5천원`, `$120`, `₩50,000`.
pub(super) fn amount(input: &str) -> Option<Amount> {
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
pub(super) fn korean_won(before: &str) -> Option<u64> {
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
