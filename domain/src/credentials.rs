//! Sign-in values: a normalized email address and a password that meets the policy.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::limits;

/// An email address of plausible shape in its one normal form (see [`Email::normalize`]), so
/// `ｃａｓｅ@x.kr`, `caſe@x.kr` and `Case@X.kr` are one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing was given.
    #[error("email is required")]
    Empty,
    /// Longer than any deliverable address.
    #[error("email is longer than {max} characters", max = limits::EMAIL.max)]
    TooLong,
    /// Control characters (NUL, line breaks…) or markup (`<`, `>`), which no address holds.
    #[error("email must not contain control characters, < or >")]
    ForbiddenCharacters,
    /// Not of the shape name@domain.tld.
    #[error("email must look like name@example.com")]
    Malformed,
}

impl Email {
    /// The one form an address is stored and looked up in: compatibility-normalized (NFKC:
    /// full-width letters become ASCII, `ſ` becomes `s`), lower-cased and normalized again
    /// (lower-casing can undo NFKC), trimmed. Sign-up stores it and login looks it up.
    pub fn normalize(input: &str) -> String {
        let folded: String = input.nfkc().collect::<String>().to_lowercase();
        folded.nfkc().collect::<String>().trim().to_owned()
    }

    /// Normalizes ([`Email::normalize`]) and checks the shape: one `@`, a non-empty local part,
    /// a domain with a dot, no spaces, no control characters or markup.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        // Counted before normalizing too: NFKC may expand a character, never shrink a flood.
        if input.chars().count() > limits::EMAIL.max * 4 {
            return Err(EmailError::TooLong);
        }
        let email = Self::normalize(input);
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if limits::EMAIL.check_text(&email).is_err() {
            return Err(EmailError::TooLong);
        }
        if limits::has_control_characters(&email) || email.contains(['<', '>']) {
            return Err(EmailError::ForbiddenCharacters);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        let well_formed = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(char::is_whitespace);
        if !well_formed {
            return Err(EmailError::Malformed);
        }
        Ok(Self(email))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy: at least 8 characters, with letters and digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// What a refused password is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password needs {}", .missing.join(", "))]
pub struct WeakPassword {
    /// Each unmet rule, e.g. "at least 8 characters", "a digit".
    pub missing: Vec<&'static str>,
}

/// The longest password accepted (hashing cost grows with length; nobody types more).
pub const MAX_PASSWORD_CHARS: usize = crate::limits::PASSWORD.max;

impl Password {
    /// Checks the policy and names every rule the input breaks.
    pub fn parse(input: &str) -> Result<Self, WeakPassword> {
        let mut missing = Vec::new();
        let length = input.chars().count();
        if length < 8 {
            missing.push("at least 8 characters");
        }
        if length > MAX_PASSWORD_CHARS {
            missing.push("at most 128 characters");
        }
        if !input.chars().any(char::is_alphabetic) {
            missing.push("a letter");
        }
        if !input.chars().any(|c| c.is_ascii_digit()) {
            missing.push("a digit");
        }
        if missing.is_empty() {
            Ok(Self(input.to_owned()))
        } else {
            Err(WeakPassword { missing })
        }
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Kim@Clinic.KR ").unwrap().as_str(),
            "kim@clinic.kr"
        );
    }

    #[test]
    fn finding_11_compatibility_forms_and_case_are_one_address() {
        for variant in [
            "ｃａｓｅ@x.kr",
            "caſe@x.kr",
            "CASE@X.KR",
            " Case@x.kr\u{3000}",
        ] {
            assert_eq!(
                Email::parse(variant).unwrap().as_str(),
                "case@x.kr",
                "{variant:?}"
            );
        }
    }

    #[test]
    fn finding_11_control_characters_and_markup_are_refused_in_emails() {
        for bad in [
            "ca\0se@x.kr",
            "case@x.kr\u{202E}",
            "<script>@x.kr",
            "a>b@x.kr",
            "a\u{1b}@x.kr",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(EmailError::ForbiddenCharacters),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "  ",
            "kim",
            "kim@",
            "@clinic.kr",
            "kim@clinic",
            "k im@clinic.kr",
            "a@b@c.kr",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_password_with_letters_and_digits_of_eight_characters_is_accepted() {
        assert!(Password::parse("abcdefg1").is_ok());
        assert!(Password::parse("비밀번호는12345").is_ok());
    }

    #[test]
    fn a_weak_password_names_everything_missing() {
        assert_eq!(
            Password::parse("abc").unwrap_err().missing,
            vec!["at least 8 characters", "a digit"]
        );
        assert_eq!(
            Password::parse("12345678").unwrap_err().missing,
            vec!["a letter"]
        );
        assert_eq!(
            Password::parse("abcdefgh").unwrap_err().missing,
            vec!["a digit"]
        );
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        assert_eq!(
            format!("{:?}", Password::parse("secret123").unwrap()),
            "Password(***)"
        );
    }
}
