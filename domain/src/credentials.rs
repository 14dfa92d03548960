//! Sign-in values: a normalized email address and a password that meets the policy.

use std::fmt;

/// A trimmed, lower-cased email address of plausible shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing was given.
    #[error("email is required")]
    Empty,
    /// Longer than any deliverable address.
    #[error("email is longer than 254 characters")]
    TooLong,
    /// Not of the shape name@domain.tld.
    #[error("email must look like name@example.com")]
    Malformed,
}

impl Email {
    /// Normalizes (trim, lowercase) and checks the shape: one `@`, a non-empty local part, a
    /// domain with a dot, no spaces.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = input.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.chars().count() > 254 {
            return Err(EmailError::TooLong);
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
pub const MAX_PASSWORD_CHARS: usize = 128;

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
