//! Just enough Hangul to turn a reported clause ("다음 주 월요일은 휴진이라고") into what the
//! agent says ("다음 주 월요일은 휴진입니다.").

const BASE: u32 = 0xAC00;
const LAST: u32 = 0xD7A3;
/// Final consonants per medial vowel.
const FINALS: u32 = 28;
const FINAL_N: u32 = 4; // ㄴ
const FINAL_B: u32 = 17; // ㅂ

/// The final-consonant index of a syllable (0 = none), or `None` for a non-syllable.
fn final_of(c: char) -> Option<u32> {
    let code = c as u32;
    (BASE..=LAST)
        .contains(&code)
        .then(|| (code - BASE) % FINALS)
}

/// The syllable with its final consonant replaced.
fn with_final(c: char, final_index: u32) -> Option<char> {
    let code = c as u32;
    if !(BASE..=LAST).contains(&code) {
        return None;
    }
    let bare = code - (code - BASE) % FINALS;
    char::from_u32(bare + final_index)
}

/// True when the syllable ends in a consonant (for choosing 이/가, 을/를, …).
pub fn has_final(c: char) -> bool {
    final_of(c).is_some_and(|f| f != 0)
}

/// Polite statement (합쇼체) of a plain-style clause ending in `다` or in a noun + `(이)라`, the
/// forms reported speech takes before `고`: 휴진이라 → 휴진입니다, 변경된다 → 변경됩니다,
/// 먹는다 → 먹습니다, 어렵다 → 어렵습니다, 바쁘다 → 바쁩니다, 오시라 → 오세요.
/// `None` when the clause has neither ending.
pub fn polite(clause: &str) -> Option<String> {
    let clause = clause.trim_end();
    if let Some(stem) = clause.strip_suffix("시라") {
        return Some(format!("{stem}세요"));
    }
    if let Some(noun) = clause.strip_suffix("이라") {
        return (!noun.is_empty()).then(|| format!("{noun}입니다"));
    }
    if let Some(noun) = clause.strip_suffix('라') {
        return (!noun.is_empty()).then(|| format!("{noun}입니다"));
    }
    let stem = clause.strip_suffix('다')?;
    if let Some(stem) = stem.strip_suffix('는')
        && stem.chars().last().is_some_and(has_final)
    {
        return Some(format!("{stem}습니다"));
    }
    let mut chars: Vec<char> = stem.chars().collect();
    let last = *chars.last()?;
    let final_index = final_of(last)?;
    if final_index == FINAL_N {
        // 된다, 한다, 간다: the present tense's ㄴ makes way for ㅂ니다.
        *chars.last_mut()? = with_final(last, FINAL_B)?;
        return Some(format!("{}니다", chars.iter().collect::<String>()));
    }
    if final_index == 0 {
        *chars.last_mut()? = with_final(last, FINAL_B)?;
        return Some(format!("{}니다", chars.iter().collect::<String>()));
    }
    Some(format!("{stem}습니다"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_clauses_become_polite_statements() {
        for (plain, polite_form) in [
            ("다음 주 월요일은 휴진이라", "다음 주 월요일은 휴진입니다"),
            ("내일은 휴무라", "내일은 휴무입니다"),
            (
                "영업시간이 오후 9시까지로 변경된다",
                "영업시간이 오후 9시까지로 변경됩니다",
            ),
            ("주차장 공사를 한다", "주차장 공사를 합니다"),
            ("점심을 먹는다", "점심을 먹습니다"),
            ("주차가 어렵다", "주차가 어렵습니다"),
            ("요즘 예약이 많다", "요즘 예약이 많습니다"),
            ("선생님이 바쁘다", "선생님이 바쁩니다"),
            ("새 장비가 들어왔다", "새 장비가 들어왔습니다"),
            ("주차 공간이 없다", "주차 공간이 없습니다"),
            ("10분 일찍 오시라", "10분 일찍 오세요"),
        ] {
            assert_eq!(polite(plain).as_deref(), Some(polite_form), "{plain}");
        }
        assert_eq!(polite("안내해줘"), None);
        assert_eq!(polite("라"), None);
    }

    #[test]
    fn finals_are_read_from_syllables() {
        assert!(has_final('진'));
        assert!(!has_final('무'));
        assert!(!has_final('a'));
    }
}
