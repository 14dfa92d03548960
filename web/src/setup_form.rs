//! Screen 2's state: the script, the contacts table, the campaign values and settings, read
//! from the posted form and written back into the page. The whole screen is one form, so
//! editing the script, loading a CSV or adding a row never loses what was typed elsewhere.

use std::collections::BTreeMap;

use commands::accounts::AccountSettings;
use commands::contacts_import::{ImportedContact, ParsedImport, RejectedRow};
use commands::services::campaigns::ContactInput;
use domain::policy::VoicemailAction;
use domain::script::variables::{BusinessProfile, Sources};
use domain::script::{FieldError, FlowStep, NextStep, ScriptContent};
use serde_json::{Map, Value, json};

use crate::forms::FormData;
use crate::view;

/// One row of the contacts table, as typed.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub name: String,
    pub phone: String,
    /// One value per context column.
    pub ctx: Vec<String>,
    pub error: String,
}

impl Row {
    fn is_empty(&self) -> bool {
        self.name.trim().is_empty()
            && self.phone.trim().is_empty()
            && self.ctx.iter().all(|v| v.trim().is_empty())
    }
}

/// The contacts table as typed: the context columns, and one row per contact with a value for
/// each column.
#[derive(Debug, Clone, Default)]
pub struct ContactTable {
    pub cols: Vec<String>,
    pub rows: Vec<Row>,
}

impl ContactTable {
    /// The table as posted.
    fn from_form(form: &FormData) -> Self {
        let cols: Vec<String> = form.all("col").into_iter().map(str::to_owned).collect();
        let names = form.all("row_name");
        let phones = form.all("row_phone");
        let ctx: Vec<Vec<&str>> = cols
            .iter()
            .map(|key| form.all(&format!("row_ctx_{key}")))
            .collect();
        let rows = (0..names.len().max(phones.len()))
            .map(|i| Row {
                name: names.get(i).copied().unwrap_or("").to_owned(),
                phone: phones.get(i).copied().unwrap_or("").to_owned(),
                ctx: ctx
                    .iter()
                    .map(|column| column.get(i).copied().unwrap_or("").to_owned())
                    .collect(),
                error: String::new(),
            })
            .collect();
        Self { cols, rows }
    }

    fn empty_row(&self) -> Row {
        Row {
            ctx: vec![String::new(); self.cols.len()],
            ..Row::default()
        }
    }

    /// Adds an empty row.
    pub fn add_row(&mut self) {
        self.rows.push(self.empty_row());
    }

    /// Appends the contacts a CSV file gave, with any new columns; empty rows are dropped first.
    fn append(&mut self, contacts: Vec<ImportedContact>) {
        self.rows.retain(|row| !row.is_empty());
        for contact in &contacts {
            for key in contact.context.keys() {
                if !self.cols.contains(key) {
                    self.cols.push(key.clone());
                    for row in &mut self.rows {
                        row.ctx.push(String::new());
                    }
                }
            }
        }
        for contact in contacts {
            let ctx = self
                .cols
                .iter()
                .map(|key| contact.context.get(key).map(text).unwrap_or_default())
                .collect();
            self.rows.push(Row {
                name: contact.name.unwrap_or_default(),
                phone: view::phone(contact.phone.as_str()),
                ctx,
                error: String::new(),
            });
        }
    }

    /// A row's context: the columns it has a value for, trimmed.
    fn context(&self, row: &Row) -> Map<String, Value> {
        self.cols
            .iter()
            .zip(&row.ctx)
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(key, value)| (key.clone(), Value::from(value.trim())))
            .collect()
    }

    /// The typed rows as contacts, each with the campaign values, and which row each came from.
    pub fn contacts(&self) -> (Vec<ContactInput>, Vec<usize>) {
        let mut contacts = Vec::new();
        let mut rows = Vec::new();
        for (index, row) in self.rows.iter().enumerate() {
            if row.is_empty() {
                continue;
            }
            let name = row.name.trim();
            contacts.push(ContactInput {
                phone_number: row.phone.trim().to_owned(),
                name: (!name.is_empty()).then(|| name.to_owned()),
                context: self.context(row),
            });
            rows.push(index);
        }
        (contacts, rows)
    }

    /// The rows the preview can be filled for: index and name (or number).
    pub fn preview_choices(&self) -> Vec<(usize, String)> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, row)| !row.is_empty())
            .map(|(i, row)| {
                let name = if row.name.trim().is_empty() {
                    &row.phone
                } else {
                    &row.name
                };
                (i, name.trim().to_owned())
            })
            .collect()
    }

    /// The row the preview is filled for: the chosen one, else the first filled in.
    fn preview_row(&self, chosen: usize) -> Option<&Row> {
        self.rows
            .get(chosen)
            .filter(|row| !row.is_empty())
            .or_else(|| self.rows.iter().find(|row| !row.is_empty()))
    }
}

/// A value the script needs that the contacts do not carry, asked once.
#[derive(Debug, Clone)]
pub struct CampaignValue {
    pub key: String,
    pub value: String,
}

/// The folded settings, as typed.
#[derive(Debug, Clone)]
pub struct SettingsFields {
    pub window_start: String,
    pub window_end: String,
    pub retries: String,
    pub intervals: String,
    pub recording: bool,
    pub hang_up: bool,
    pub caller_id: String,
}

impl SettingsFields {
    /// The account's defaults.
    pub fn from_defaults(account: &AccountSettings) -> Self {
        let defaults = &account.campaign_defaults;
        let window = serde_json::to_value(&defaults.call_window).unwrap_or_default();
        Self {
            window_start: window["start"].as_str().unwrap_or("09:00").to_owned(),
            window_end: window["end"].as_str().unwrap_or("20:00").to_owned(),
            retries: defaults.retry.max_retries.to_string(),
            intervals: join(&defaults.retry.intervals_seconds),
            recording: defaults.recording,
            hang_up: defaults.voicemail.action == VoicemailAction::HangUp,
            caller_id: defaults
                .caller_id
                .clone()
                .or_else(|| account.caller_id.clone())
                .unwrap_or_default(),
        }
    }

    /// The fields as posted (screen 2 and the settings page use the same names).
    pub fn from_form(form: &FormData) -> Self {
        Self {
            window_start: form.get("s_window_start").to_owned(),
            window_end: form.get("s_window_end").to_owned(),
            retries: form.get("s_retries").to_owned(),
            intervals: form.get("s_intervals").to_owned(),
            recording: form.checked("s_recording"),
            hang_up: form.get("s_voicemail") == "hang_up",
            caller_id: form.get("s_caller_id").to_owned(),
        }
    }

    /// The campaign's settings over the account's defaults; the field and message when a
    /// number does not read.
    pub fn overlay(&self) -> Result<Value, (&'static str, String)> {
        let retries: u32 = self
            .retries
            .parse()
            .map_err(|_| ("s_retries", "0-10".to_owned()))?;
        let intervals = self
            .intervals
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(str::parse::<u32>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ("s_intervals", "600, 1800, 3600".to_owned()))?;
        let mut retry = json!({ "maxRetries": retries });
        if !intervals.is_empty() {
            retry["intervalsSeconds"] = json!(intervals);
        }
        let caller_id = match self.caller_id.trim() {
            "" => Value::Null,
            number => Value::from(number),
        };
        Ok(json!({
            "callWindow": { "start": self.window_start, "end": self.window_end },
            "retry": retry,
            "recording": self.recording,
            "voicemail": { "action": if self.hang_up { "hang_up" } else { "leave_message" } },
            "callerId": caller_id,
        }))
    }
}

fn join(numbers: &[u32]) -> String {
    numbers
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Everything screen 2 holds.
#[derive(Debug, Clone)]
pub struct SetupState {
    pub script_id: String,
    pub natural_input: String,
    pub script: ScriptContent,
    pub name: String,
    pub table: ContactTable,
    pub values: Vec<CampaignValue>,
    pub settings: SettingsFields,
    /// The account has no business name yet: the screen asks for it once (kept in Settings).
    pub needs_business_name: bool,
    pub business_name: String,
    /// The account's business profile, for the filled preview.
    pub business: BusinessProfile,
    /// The row the preview is filled for (the first contact unless the owner chose another).
    pub preview_row: usize,
}

/// Placeholders filled from the contact's name column.
const NAME_KEYS: [&str; 2] = ["customerName", "name"];

impl SetupState {
    /// A fresh screen for a script, with one empty row.
    pub fn new(
        script_id: String,
        natural_input: String,
        script: ScriptContent,
        settings: SettingsFields,
    ) -> Self {
        let mut state = Self {
            script_id,
            natural_input,
            script,
            name: String::new(),
            table: ContactTable::default(),
            values: Vec::new(),
            settings,
            needs_business_name: false,
            business_name: String::new(),
            business: BusinessProfile::default(),
            preview_row: 0,
        };
        state.table.cols = state
            .variables()
            .into_iter()
            .filter(|key| key.ends_with("Time"))
            .collect();
        state.table.add_row();
        state.refresh_values(&BTreeMap::new());
        state
    }

    /// The screen as posted; the script comes from the server (the edit fields only count when
    /// the owner saves them).
    pub fn from_form(form: &FormData, script: ScriptContent) -> Self {
        let typed: BTreeMap<String, String> = form
            .with_prefix("var_")
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        let mut state = Self {
            script_id: form.get("script_id").to_owned(),
            natural_input: form.get("natural_input").to_owned(),
            script,
            name: form.get("name").to_owned(),
            table: ContactTable::from_form(form),
            values: Vec::new(),
            settings: SettingsFields::from_form(form),
            needs_business_name: form.get("needs_business_name") == "1",
            business_name: form.get("business_name").to_owned(),
            business: BusinessProfile::default(),
            preview_row: form.get("preview_row").parse().unwrap_or(0),
        };
        state.refresh_values(&typed);
        state
    }

    /// The script's placeholders without braces, in order, once each.
    pub fn variables(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for variable in &self.script.variables {
            let key = variable
                .trim()
                .trim_start_matches('{')
                .trim_end_matches('}')
                .trim();
            if !key.is_empty() && !seen.iter().any(|k| k == key) {
                seen.push(key.to_owned());
            }
        }
        seen
    }

    /// The values given once for the campaign, by name.
    pub fn campaign_variables(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|value| (value.key.clone(), value.value.trim().to_owned()))
            .collect()
    }

    /// The campaign values: every placeholder that neither the name, a column nor the business
    /// profile (in Settings) fills.
    fn refresh_values(&mut self, typed: &BTreeMap<String, String>) {
        use domain::script::variables::{BUSINESS_HOURS, BUSINESS_NAME, BUSINESS_PHONE};
        self.values = self
            .variables()
            .into_iter()
            .filter(|key| !NAME_KEYS.contains(&key.as_str()) && !self.table.cols.contains(key))
            .filter(|key| ![BUSINESS_NAME, BUSINESS_PHONE, BUSINESS_HOURS].contains(&key.as_str()))
            .map(|key| CampaignValue {
                value: typed.get(&key).cloned().unwrap_or_default(),
                key,
            })
            .collect();
    }

    /// A new script (saved edit or regenerated): the table keeps its rows.
    pub fn set_script(&mut self, script_id: String, script: ScriptContent) {
        let typed = self.typed_values();
        self.script_id = script_id;
        self.script = script;
        self.refresh_values(&typed);
    }

    fn typed_values(&self) -> BTreeMap<String, String> {
        self.values
            .iter()
            .map(|v| (v.key.clone(), v.value.clone()))
            .collect()
    }

    /// Appends the rows a CSV file gave, with any new columns; empty rows are dropped first.
    pub fn add_import(&mut self, parsed: ParsedImport) {
        self.table.append(parsed.contacts);
        let typed = self.typed_values();
        self.refresh_values(&typed);
    }

    /// The script's texts filled in for the chosen contact (else the first) by the same resolver
    /// the calls use (placeholders without a value stay, so the owner sees what is missing).
    pub fn filled(&self, text: &str) -> String {
        let row = self.table.preview_row(self.preview_row);
        let context = row.map(|row| self.table.context(row)).unwrap_or_default();
        let mut business = self.business.clone();
        if business.name.is_none() && !self.business_name.trim().is_empty() {
            business.name = Some(self.business_name.trim().to_owned());
        }
        let campaign = self.campaign_variables();
        let sources = Sources {
            contact_name: row
                .map(|row| row.name.trim())
                .filter(|name| !name.is_empty()),
            contact_context: &context,
            campaign: &campaign,
            business: &business,
        };
        domain::script::fill(text, |name| sources.value(name))
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

/// The script as posted from the edit fields.
pub fn script_from_form(form: &FormData, variables: Vec<String>) -> ScriptContent {
    let actions = form.all("step_action");
    let responses = form.all("step_responses");
    let positive = form.all("step_positive");
    let negative = form.all("step_negative");
    let step_of = |values: &[&str], i: usize| values.get(i).and_then(|v| v.trim().parse().ok());
    ScriptContent {
        greeting: form.get("greeting").to_owned(),
        purpose: form.get("purpose").to_owned(),
        main_flow: actions
            .iter()
            .enumerate()
            .map(|(i, action)| FlowStep {
                step: i as u32 + 1,
                action: action.trim().to_owned(),
                expected_responses: responses
                    .get(i)
                    .map(|text| {
                        text.lines()
                            .map(str::trim)
                            .filter(|line| !line.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                next_step: NextStep {
                    positive: step_of(&positive, i),
                    negative: step_of(&negative, i),
                },
            })
            .collect(),
        closing: form.get("closing").to_owned(),
        variables,
    }
}

/// The script service's field errors by edit-field id (`greeting`, `step-0-action`…).
pub fn script_field_errors(errors: &[FieldError]) -> BTreeMap<String, String> {
    let mut by_field = BTreeMap::new();
    for error in errors {
        let path = error
            .field
            .strip_prefix("generatedScript.")
            .unwrap_or(&error.field);
        let id = match path.strip_prefix("mainFlow[") {
            Some(rest) => {
                let (index, tail) = rest.split_once(']').unwrap_or((rest, ""));
                let part = if tail.contains("expectedResponses") {
                    "responses"
                } else if tail.contains("positive") {
                    "positive"
                } else if tail.contains("negative") {
                    "negative"
                } else {
                    "action"
                };
                format!("step-{index}-{part}")
            }
            None => path.to_owned(),
        };
        by_field.entry(id).or_insert_with(|| error.message.clone());
    }
    by_field
}

/// The rejected rows of a CSV file, for the report.
pub fn rejected_lines(rejected: &[RejectedRow]) -> Vec<(usize, String, String)> {
    rejected
        .iter()
        .map(|row| (row.line, row.value.clone(), row.reason.clone()))
        .collect()
}
