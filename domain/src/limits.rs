//! Every size limit on what clients send, in one table: strings (characters), lists (items)
//! and request bodies (bytes). The services and the HTTP edge check against these entries, the
//! rules that have their own error (a campaign name, a script step) take their numbers from
//! here, and README's "Limits" section is [`markdown_table`] (a test compares them).
//!
//! Text that people type is also refused when it holds control characters
//! ([`has_control_characters`]); markup (`<`, `>`) in a name is plain text, escaped wherever it
//! is shown (the pages' templates escape, JSON is not markup), and is refused only in emails.

use std::fmt;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Unicode scalar values of a string.
    Characters,
    /// Entries of a list or keys of an object.
    Items,
    /// Bytes of a request body.
    Bytes,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Characters => "characters",
            Self::Items => "items",
            Self::Bytes => "bytes",
        })
    }
}

/// One row of the table: the field as clients spell it, its maximum and what it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The field as it appears in request bodies (`contacts[].name`).
    pub field: &'static str,
    /// The most allowed.
    pub max: usize,
    /// What `max` counts.
    pub unit: Unit,
    /// Where the field is sent.
    pub used_in: &'static str,
}

/// A value over its limit: the field (with its place in a list when known), the limit and the
/// size found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: at most {max} {unit}, got {actual}")]
pub struct TooLarge {
    /// The field, e.g. `contacts[3].name`.
    pub field: String,
    /// The limit.
    pub max: usize,
    /// What it counts.
    pub unit: Unit,
    /// The size that was sent.
    pub actual: usize,
}

impl Limit {
    const fn chars(field: &'static str, max: usize, used_in: &'static str) -> Self {
        Self {
            field,
            max,
            unit: Unit::Characters,
            used_in,
        }
    }

    const fn items(field: &'static str, max: usize, used_in: &'static str) -> Self {
        Self {
            field,
            max,
            unit: Unit::Items,
            used_in,
        }
    }

    const fn bytes(field: &'static str, max: usize, used_in: &'static str) -> Self {
        Self {
            field,
            max,
            unit: Unit::Bytes,
            used_in,
        }
    }

    /// Refuses `size` (counted in this limit's unit) above the maximum.
    pub fn check(&self, size: usize) -> Result<(), TooLarge> {
        self.check_at(self.field, size)
    }

    /// Like [`Limit::check`], naming the field as `field` (a list entry: `contacts[3].name`).
    pub fn check_at(&self, field: &str, size: usize) -> Result<(), TooLarge> {
        if size <= self.max {
            return Ok(());
        }
        Err(TooLarge {
            field: field.to_owned(),
            max: self.max,
            unit: self.unit,
            actual: size,
        })
    }

    /// Refuses a text longer than the maximum (in characters).
    pub fn check_text(&self, text: &str) -> Result<(), TooLarge> {
        self.check(text.chars().count())
    }
}

// ----- sign-in -------------------------------------------------------------------------------

/// An email address (RFC 5321's longest path).
pub const EMAIL: Limit = Limit::chars("email", 254, "sign-up, login");
/// A password (hashing cost grows with length; nobody types more).
pub const PASSWORD: Limit = Limit::chars("password", 128, "sign-up, password change");

// ----- campaigns -----------------------------------------------------------------------------

/// A campaign's name.
pub const CAMPAIGN_NAME: Limit = Limit::chars("name", 200, "campaign create");
/// Contacts in one JSON body, as many as one CSV file may carry.
pub const CONTACTS_PER_REQUEST: Limit =
    Limit::items("contacts", 10_000, "campaign create, add contacts");
/// A phone number as typed.
pub const PHONE_NUMBER: Limit = Limit::chars(
    "phoneNumber",
    32,
    "contacts, suppressions, settings' numbers",
);
/// A contact's name.
pub const CONTACT_NAME: Limit = Limit::chars("contacts[].name", 100, "contacts, CSV import");
/// Keys of a contact's `context`.
pub const CONTACT_CONTEXT_KEYS: Limit =
    Limit::items("contacts[].context", 50, "contacts, CSV import");
/// One key of a contact's `context`.
pub const CONTACT_CONTEXT_KEY: Limit =
    Limit::chars("contacts[].context key", 40, "contacts, CSV import");
/// One value of a contact's `context` (other JSON than a string: its JSON text).
pub const CONTACT_CONTEXT_VALUE: Limit =
    Limit::chars("contacts[].context value", 500, "contacts, CSV import");
/// The campaign's own script values.
pub const CAMPAIGN_VARIABLES: Limit = Limit::items("variables", 50, "campaign create");
/// One of the campaign's script values.
pub const CAMPAIGN_VARIABLE_VALUE: Limit = Limit::chars("variables value", 500, "campaign create");
/// Retry intervals (one per retry at most; the last repeats).
pub const RETRY_INTERVALS: Limit = Limit::items(
    "retry.intervalsSeconds",
    10,
    "campaign settings, campaignDefaults",
);
/// The voicemail message.
pub const VOICEMAIL_MESSAGE: Limit = Limit::chars(
    "voicemail.message",
    500,
    "campaign settings, campaignDefaults",
);

// ----- scripts -------------------------------------------------------------------------------

/// A script's name.
pub const SCRIPT_NAME: Limit = Limit::chars("name", 200, "script save");
/// Steps of a script.
pub const SCRIPT_STEPS: Limit = Limit::items("mainFlow", 30, "script save");
/// The text of one step (what the agent says).
pub const SCRIPT_TEXT: Limit = Limit::chars(
    "greeting, purpose, closing, mainFlow[].action",
    1_000,
    "script save",
);
/// Expected responses of one step.
pub const SCRIPT_RESPONSES: Limit = Limit::items("mainFlow[].expectedResponses", 12, "script save");
/// One expected response.
pub const SCRIPT_RESPONSE: Limit =
    Limit::chars("mainFlow[].expectedResponses[]", 200, "script save");
/// Variables a script declares.
pub const SCRIPT_VARIABLES: Limit = Limit::items("variables", 20, "script save");
/// A variable's name.
pub const SCRIPT_VARIABLE_NAME: Limit = Limit::chars("variables[]", 40, "script save");
/// What the owner asks the script writer for.
pub const SCRIPT_REQUEST: Limit = Limit::chars("input", 2_000, "script generate");
/// The kind of business the writer writes for.
pub const BUSINESS_TYPE: Limit = Limit::chars("businessType", 50, "script generate");

// ----- settings and the do-not-call list -----------------------------------------------------

/// The business name scripts introduce.
pub const BUSINESS_NAME: Limit = Limit::chars("businessName", 100, "settings");
/// The business hours, in the owner's words.
pub const BUSINESS_HOURS: Limit = Limit::chars("businessHours", 200, "settings");
/// Why a number is on the do-not-call list.
pub const SUPPRESSION_REASON: Limit = Limit::chars("reason", 200, "suppressions");

// ----- outbound webhooks ---------------------------------------------------------------------

/// A webhook endpoint's URL.
pub const WEBHOOK_URL: Limit = Limit::chars("url", 2_000, "webhooks");
/// Event types one endpoint subscribes to (there are seven).
pub const WEBHOOK_EVENT_TYPES: Limit = Limit::items("eventTypes", 7, "webhooks");
/// Webhook endpoints of one account.
pub const WEBHOOKS_PER_ACCOUNT: Limit =
    Limit::items("webhook endpoints", 10, "webhooks (per account)");

// ----- request bodies ------------------------------------------------------------------------

/// Any JSON body of the API.
pub const JSON_BODY: Limit = Limit::bytes("JSON body", 1024 * 1024, "every /api/v1 route");
/// A CSV file of contacts.
pub const CSV_FILE: Limit = Limit::bytes(
    "CSV file",
    5 * 1024 * 1024,
    "contacts import (raw or multipart)",
);
/// Rows of a CSV file of contacts.
pub const CSV_ROWS: Limit = Limit::items("CSV rows", 10_000, "contacts import");
/// A form post of the web pages (a CSV file fits in it).
pub const FORM_BODY: Limit = Limit::bytes("form body", 6 * 1024 * 1024, "web pages");

/// Every limit, in the order README lists them.
pub const ALL: &[Limit] = &[
    EMAIL,
    PASSWORD,
    CAMPAIGN_NAME,
    CONTACTS_PER_REQUEST,
    PHONE_NUMBER,
    CONTACT_NAME,
    CONTACT_CONTEXT_KEYS,
    CONTACT_CONTEXT_KEY,
    CONTACT_CONTEXT_VALUE,
    CAMPAIGN_VARIABLES,
    CAMPAIGN_VARIABLE_VALUE,
    RETRY_INTERVALS,
    VOICEMAIL_MESSAGE,
    SCRIPT_NAME,
    SCRIPT_STEPS,
    SCRIPT_TEXT,
    SCRIPT_RESPONSES,
    SCRIPT_RESPONSE,
    SCRIPT_VARIABLES,
    SCRIPT_VARIABLE_NAME,
    SCRIPT_REQUEST,
    BUSINESS_TYPE,
    BUSINESS_NAME,
    BUSINESS_HOURS,
    SUPPRESSION_REASON,
    WEBHOOK_URL,
    WEBHOOK_EVENT_TYPES,
    WEBHOOKS_PER_ACCOUNT,
    JSON_BODY,
    CSV_FILE,
    CSV_ROWS,
    FORM_BODY,
];

/// The table as README shows it (Markdown, one row per limit).
pub fn markdown_table() -> String {
    let mut table = String::from("| Field | At most | Sent in |\n|---|---|---|\n");
    for limit in ALL {
        table.push_str(&format!(
            "| `{}` | {} {} | {} |\n",
            limit.field,
            thousands(limit.max as u64),
            limit.unit,
            limit.used_in
        ));
    }
    table
}

/// `10000` as `10,000` (the limits table, amounts of won in scripts).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Whether text holds characters nobody types into a name or an address: control characters
/// (NUL, escape, line breaks…) and the invisible bidirectional overrides that reorder what is
/// shown.
pub fn has_control_characters(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_at_the_limit_passes_and_one_more_is_refused_naming_field_and_limit() {
        assert_eq!(CONTACT_NAME.check_text(&"가".repeat(100)), Ok(()));
        let err = CONTACT_NAME
            .check_at("contacts[2].name", 101)
            .expect_err("over the limit");
        assert_eq!(err.field, "contacts[2].name");
        assert_eq!(err.max, 100);
        assert_eq!(
            err.to_string(),
            "contacts[2].name: at most 100 characters, got 101"
        );
    }

    #[test]
    fn every_field_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for limit in ALL {
            assert!(
                seen.insert((limit.field, limit.used_in)),
                "{} is listed twice",
                limit.field
            );
        }
    }

    #[test]
    fn finding_10_the_readme_lists_the_limits_table_as_the_code_has_it() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md beside the workspace");
        let start = "<!-- limits:start -->\n";
        let end = "<!-- limits:end -->";
        let from = readme.find(start).expect("README has the limits markers") + start.len();
        let to = readme[from..].find(end).expect("the end marker") + from;
        assert_eq!(
            readme[from..to],
            markdown_table(),
            "README's Limits table is stale; paste domain::limits::markdown_table() between the markers"
        );
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_found_markup_is_not() {
        for bad in [
            "a\0b",
            "line\nbreak",
            "tab\there",
            "\u{1b}[31m",
            "abc\u{202E}def",
        ] {
            assert!(has_control_characters(bad), "{bad:?}");
        }
        for fine in ["김민수", "<b>Kim</b>", "O'Brien & Sons", "Zoë"] {
            assert!(!has_control_characters(fine), "{fine:?}");
        }
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(5 * 1024 * 1024), "5,242,880");
    }
}
