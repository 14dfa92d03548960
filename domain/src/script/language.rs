//! The language a script is written and spoken in.

use serde::{Deserialize, Serialize};

/// A call language: Korean first (ko-KR), English supported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Korean, the default.
    #[default]
    Ko,
    /// English.
    En,
}

impl Language {
    /// The wire name: `"ko"` or `"en"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ko => "ko",
            Self::En => "en",
        }
    }

    /// Parses the wire name (case-insensitive, `ko-KR`/`en-US` style tags accepted).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        let primary = text.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "ko" | "kor" | "korean" => Some(Self::Ko),
            "en" | "eng" | "english" => Some(Self::En),
            _ => None,
        }
    }

    /// Korean when the text holds any Hangul, else English.
    pub fn detect(text: &str) -> Self {
        if text.chars().any(is_hangul) {
            Self::Ko
        } else {
            Self::En
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Hangul syllable or jamo.
pub fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}
