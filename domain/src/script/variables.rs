//! The one resolver of a script's `{placeholders}`: which values a script needs, where each comes
//! from, and the script as one callee hears it. The preview, campaign creation, campaign start
//! and the media bridge all use it, so a placeholder is never spoken.
//!
//! Sources, first answer wins: the contact (its name is `customerName`), the contact's context,
//! the campaign's values given once at creation (`availableTimes` of the day, say), and the
//! business profile (`businessName`, `businessPhone`, `businessHours`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ScriptContent, fill, placeholders};

/// The contact's name.
pub const CUSTOMER_NAME: &str = "customerName";
/// The business profile's name.
pub const BUSINESS_NAME: &str = "businessName";
/// The callback number the agent may give.
pub const BUSINESS_PHONE: &str = "businessPhone";
/// The business's opening hours.
pub const BUSINESS_HOURS: &str = "businessHours";

/// How many contacts a [`MissingVariable`] names at most.
pub const MAX_MISSING_CONTACTS: usize = 20;

/// Who is calling: the business profile of the account's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessProfile {
    /// `businessName`: how the agent introduces the caller.
    pub name: Option<String>,
    /// `businessPhone`: the callback number the agent may give.
    pub phone: Option<String>,
    /// `businessHours`: when the business answers calls.
    pub hours: Option<String>,
}

/// Where one call's values come from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The contact's name (`customerName`).
    pub contact_name: Option<&'a str>,
    /// The contact's own values (CSV columns or typed fields).
    pub contact_context: &'a Map<String, Value>,
    /// The values given once for the whole campaign.
    pub campaign: &'a BTreeMap<String, String>,
    /// The account's business profile.
    pub business: &'a BusinessProfile,
}

impl Sources<'_> {
    /// The value of `name`, from the first source that has a non-blank one.
    pub fn value(&self, name: &str) -> Option<String> {
        let contact = (name == CUSTOMER_NAME)
            .then_some(self.contact_name)
            .flatten()
            .map(str::to_owned);
        let context = self.contact_context.get(name).and_then(text_of);
        let business = match name {
            BUSINESS_NAME => self.business.name.clone(),
            BUSINESS_PHONE => self.business.phone.clone(),
            BUSINESS_HOURS => self.business.hours.clone(),
            _ => None,
        };
        [contact, context, self.campaign.get(name).cloned(), business]
            .into_iter()
            .flatten()
            .map(|value| value.trim().to_owned())
            .find(|value| !value.is_empty())
    }

    /// Every value `content` needs, or the names without one (in reading order).
    pub fn resolve(
        &self,
        content: &ScriptContent,
    ) -> Result<BTreeMap<String, String>, Vec<String>> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for name in required(content) {
            match self.value(&name) {
                Some(value) => {
                    values.insert(name, value);
                }
                None => missing.push(name),
            }
        }
        if missing.is_empty() {
            Ok(values)
        } else {
            Err(missing)
        }
    }
}

/// A JSON value as the text a callee would hear; nothing for null, blank text, arrays and objects.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// The variable names the script's texts use, in reading order, each once. A declared variable
/// that no text uses is not needed.
pub fn required(content: &ScriptContent) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (_, text) in content.texts() {
        for name in placeholders(text) {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// The script with every placeholder replaced by its value (unknown ones stay as they are, which
/// [`Sources::resolve`] rules out beforehand).
pub fn render(content: &ScriptContent, values: &BTreeMap<String, String>) -> ScriptContent {
    let filled = |text: &str| fill(text, |name| values.get(name).cloned());
    ScriptContent {
        greeting: filled(&content.greeting),
        purpose: filled(&content.purpose),
        main_flow: content
            .main_flow
            .iter()
            .map(|step| super::FlowStep {
                action: filled(&step.action),
                expected_responses: step.expected_responses.iter().map(|r| filled(r)).collect(),
                ..step.clone()
            })
            .collect(),
        closing: filled(&content.closing),
        variables: content.variables.clone(),
    }
}

/// A value the script needs that some contacts lack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MissingVariable {
    /// The placeholder's name, without braces.
    pub name: String,
    /// How many contacts lack it.
    pub missing_count: usize,
    /// The first of them (at most [`MAX_MISSING_CONTACTS`]), as the caller labelled them.
    pub contacts: Vec<String>,
}

/// The values `content` needs that some of `contacts` (each with its label) lack; empty when every
/// contact can be called. Ordered as the script uses them.
pub fn missing_across<'a>(
    content: &ScriptContent,
    contacts: impl IntoIterator<Item = (String, Sources<'a>)>,
) -> Vec<MissingVariable> {
    let names = required(content);
    let mut missing: Vec<MissingVariable> = names
        .iter()
        .map(|name| MissingVariable {
            name: name.clone(),
            missing_count: 0,
            contacts: Vec::new(),
        })
        .collect();
    for (label, sources) in contacts {
        for entry in missing.iter_mut() {
            if sources.value(&entry.name).is_none() {
                entry.missing_count += 1;
                if entry.contacts.len() < MAX_MISSING_CONTACTS {
                    entry.contacts.push(label.clone());
                }
            }
        }
    }
    missing.retain(|entry| entry.missing_count > 0);
    missing
}

#[cfg(test)]
#[path = "variables_tests.rs"]
mod tests;
