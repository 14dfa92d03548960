//! Screen 1 (새 캠페인 만들기: the request in words → 스크립트 생성) and screen 2 (the script
//! to check and edit, the contacts, the campaign's name and settings → 캠페인 시작).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use commands::contacts_import::{ImportLimits, parse_contacts_csv};
use commands::services::campaigns::{self as campaigns, ALLOWED_REGIONS, CampaignServiceError};
use commands::services::preflight::PreflightError;
use commands::services::scripts::{EditInput, GenerateInput, SaveInput, ScriptState, ScriptsError};
use domain::campaign::CampaignError;
use serde::Deserialize;

use api::AppState;
use api::auth::CurrentUser;

use crate::forms::FormData;
use crate::i18n::Lang;
use crate::setup_form::{self, Row, SettingsFields, SetupState};
use crate::{Ctx, SignedIn, error_page, render, render_with, see_other};

#[derive(Template)]
#[template(path = "new.html")]
struct NewPage {
    c: Ctx,
    natural_input: String,
    error: String,
    summary: Vec<(String, String)>,
}

/// `GET /campaigns/new`: screen 1.
pub async fn new_page(SignedIn(state, user, headers): SignedIn) -> Response {
    let c = Ctx::new(&state, &user, &headers, "campaigns").at("/campaigns/new");
    render(&NewPage {
        c,
        natural_input: String::new(),
        error: String::new(),
        summary: Vec::new(),
    })
}

/// `POST /campaigns/new`: writes the script and opens screen 2 with it.
pub async fn generate(SignedIn(state, user, headers): SignedIn, form: FormData) -> Response {
    let c = Ctx::new(&state, &user, &headers, "campaigns").at("/campaigns/new");
    let input = GenerateInput {
        natural_input: form.get("natural_input").to_owned(),
        business_type: None,
        language: Some(c.lang.code().to_owned()),
    };
    match state
        .script_service()
        .generate(user.account_id, input)
        .await
    {
        Ok(generated) => see_other(&format!("/campaigns/setup?script={}", generated.script_id)),
        Err(error) => {
            let message = match &error {
                ScriptsError::Invalid { .. } => c.m.too_short,
                ScriptsError::GenerationFailed { .. } => c.m.generation_failed,
                _ => return error_page(c.lang, error),
            };
            let page = NewPage {
                natural_input: form.get("natural_input").to_owned(),
                error: message.to_owned(),
                summary: vec![("natural_input".into(), message.to_owned())],
                c,
            };
            render_with(StatusCode::BAD_REQUEST, &page)
        }
    }
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    c: Ctx,
    s: SetupState,
    editing: bool,
    notice: String,
    errors: BTreeMap<String, String>,
    csv_error: String,
    csv_rejected: Vec<(usize, String, String)>,
    summary: Vec<(String, String)>,
}

impl SetupPage {
    fn new(c: Ctx, s: SetupState) -> Self {
        Self {
            c,
            s,
            editing: false,
            notice: String::new(),
            errors: BTreeMap::new(),
            csv_error: String::new(),
            csv_rejected: Vec::new(),
            summary: Vec::new(),
        }
    }

    /// The error of a field, `""` when none.
    fn err(&self, id: &str) -> &str {
        self.errors.get(id).map_or("", String::as_str)
    }

    fn step_err(&self, index: &usize, part: &str) -> &str {
        self.err(&format!("step-{index}-{part}"))
    }

    /// A step's next-step number as the field shows it (`""` when the call ends there).
    fn step_number(&self, next: &Option<u32>) -> String {
        next.map(|n| n.to_string()).unwrap_or_default()
    }

    fn var_err(&self, key: &str) -> &str {
        self.err(&format!("var_{key}"))
    }

    fn col_label(&self, key: &str) -> String {
        crate::view::column_label(self.c.lang, key)
    }

    fn problem(&mut self, id: &str, text: impl Into<String>) {
        let text = text.into();
        self.summary.push((id.to_owned(), text.clone()));
        self.errors.insert(id.to_owned(), text);
    }

    fn respond(&self) -> Response {
        let status = if self.summary.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        render_with(status, self)
    }
}

#[derive(Deserialize)]
pub struct ScriptQuery {
    script: String,
}

/// `GET /campaigns/setup?script=…`: screen 2 for a script just written or saved earlier.
pub async fn page(
    SignedIn(state, user, headers): SignedIn,
    Query(query): Query<ScriptQuery>,
) -> Response {
    let lang = Lang::of(None, &headers);
    let script = match state
        .script_service()
        .get(user.account_id, &query.script, None)
        .await
    {
        Ok(script) => script,
        Err(error) => return error_page(lang, error),
    };
    let account = match state.settings_service().get(user.account_id).await {
        Ok(account) => account,
        Err(error) => return error_page(lang, error),
    };
    let mut s = SetupState::new(
        script.id.to_string(),
        script.natural_input,
        script.generated_script,
        SettingsFields::from_defaults(&account),
    );
    s.needs_business_name = account.business_name.is_none();
    s.business = account.business_profile();
    let c = Ctx::new(&state, &user, &headers, "campaigns")
        .at(format!("/campaigns/setup?script={}", query.script));
    render(&SetupPage::new(c, s))
}

/// `POST /campaigns/setup`: one of the screen's buttons (`intent`).
pub async fn submit(SignedIn(state, user, headers): SignedIn, form: FormData) -> Response {
    let lang = Lang::of(None, &headers);
    let scripts = state.script_service();
    let script_id = form.get("script_id").to_owned();
    let script = match scripts.get(user.account_id, &script_id, None).await {
        Ok(script) => script,
        Err(error) => return error_page(lang, error),
    };
    let c = Ctx::new(&state, &user, &headers, "campaigns")
        .at(format!("/campaigns/setup?script={script_id}"));
    let mut s = SetupState::from_form(&form, script.generated_script);
    if let Ok(account) = state.settings_service().get(user.account_id).await {
        s.business = account.business_profile();
    }
    let mut page = SetupPage::new(c, s);
    let m = page.c.m;
    match form.get("intent") {
        "edit" => page.editing = true,
        "save_script" => {
            let content = setup_form::script_from_form(&form, page.s.script.variables.clone());
            let edit = EditInput {
                name: None,
                content: content.clone(),
            };
            match scripts.update(user.account_id, &script_id, edit).await {
                Ok(saved) => {
                    page.s
                        .set_script(saved.id.to_string(), saved.generated_script);
                    page.notice = m.script_saved.to_owned();
                }
                Err(ScriptsError::Invalid { errors, .. }) => {
                    page.s.script = content;
                    page.editing = true;
                    for (id, text) in setup_form::script_field_errors(&errors) {
                        page.problem(&id, text);
                    }
                }
                Err(error) => return error_page(lang, error),
            }
        }
        "regenerate" => {
            let input = GenerateInput {
                natural_input: page.s.natural_input.clone(),
                business_type: None,
                language: Some(lang.code().to_owned()),
            };
            match scripts.generate(user.account_id, input).await {
                Ok(generated) => page
                    .s
                    .set_script(generated.script_id.to_string(), generated.generated_script),
                Err(ScriptsError::GenerationFailed { .. } | ScriptsError::Invalid { .. }) => {
                    page.problem("script", m.generation_failed);
                }
                Err(error) => return error_page(lang, error),
            }
        }
        "add_row" => page.s.table.add_row(),
        // The screen again, its preview filled for the chosen contact.
        "preview" => {}
        "upload" => upload(&mut page, &form),
        "start" => return start(&state, user, page, &script.status).await,
        _ => {}
    }
    page.respond()
}

/// Reads the chosen CSV file into the table; rows that cannot be read are reported by line.
fn upload(page: &mut SetupPage, form: &FormData) {
    let Some(file) = &form.file else {
        page.problem("csv", page.c.m.csv_hint);
        return;
    };
    match parse_contacts_csv(file, ALLOWED_REGIONS, &ImportLimits::default()) {
        Ok(parsed) => {
            page.csv_rejected = setup_form::rejected_lines(&parsed.rejected);
            page.notice = format!("{} {}", parsed.contacts.len(), page.c.m.csv_loaded);
            page.s.add_import(parsed);
        }
        Err(error) => {
            page.csv_error = error.to_string();
            page.summary.push(("csv".into(), error.to_string()));
        }
    }
}

/// Creates the campaign with the typed contacts and starts it; the screen again with each
/// problem at its field when the campaign cannot be made.
async fn start(
    state: &AppState,
    user: CurrentUser,
    mut page: SetupPage,
    script_state: &ScriptState,
) -> Response {
    let m = page.c.m;
    let (contacts, rows) = page.s.table.contacts();
    if contacts.is_empty() {
        page.problem("contacts", m.no_contacts);
    }
    let missing: Vec<String> = page
        .s
        .values
        .iter()
        .filter(|value| value.value.trim().is_empty())
        .map(|value| value.key.clone())
        .collect();
    for key in missing {
        page.problem(&format!("var_{key}"), format!("{key}: {}", m.missing_value));
    }
    let overlay = match page.s.settings.overlay() {
        Ok(overlay) => Some(overlay),
        Err((field, example)) => {
            page.problem(field, format!("{} ({example})", m.missing_value));
            None
        }
    };
    if page.s.needs_business_name && page.s.business_name.trim().is_empty() {
        page.problem("business_name", m.business_name_missing);
    }
    if !page.summary.is_empty() {
        return page.respond();
    }
    if page.s.needs_business_name
        && let Err(problem) = save_business_name(state, &user, page.s.business_name.trim()).await
    {
        page.problem("business_name", problem);
        return page.respond();
    }
    let input = campaigns::CreateCampaign {
        owner_id: user.account_id,
        name: page.s.name.clone(),
        script_id: page.s.script_id.clone(),
        contacts,
        settings: overlay,
        variables: page.s.campaign_variables(),
    };
    let created = match campaigns::create(&state.services, input).await {
        Ok(created) => created,
        Err(error) => return refused(page, &rows, error),
    };
    if *script_state == ScriptState::Draft {
        let save = SaveInput {
            name: page.s.name.clone(),
            natural_input: page.s.natural_input.clone(),
            content: page.s.script.clone(),
            script_id: Some(page.s.script_id.clone()),
        };
        // The campaign already speaks this version; keeping the draft for reuse is a bonus.
        if let Err(error) = state.script_service().save(user.account_id, save).await {
            tracing::warn!(%error, "the campaign's draft script was not kept as saved");
        }
    }
    let id = created.id.to_string();
    let campaign = campaigns::CampaignRef {
        owner_id: user.account_id,
        campaign_id: &id,
    };
    match campaigns::start(&state.services, campaign, None).await {
        Ok(_) => see_other(&format!("/campaigns/{id}")),
        Err(error) => {
            let code = crate::dashboard::error_code(error);
            see_other(&format!("/campaigns/{id}?error={code}"))
        }
    }
}

/// Keeps the business name asked on this screen in the account's settings, so the agent can
/// introduce itself; what was wrong with it otherwise.
async fn save_business_name(
    state: &AppState,
    user: &CurrentUser,
    name: &str,
) -> Result<(), String> {
    let service = state.settings_service();
    let mut settings = service
        .get(user.account_id)
        .await
        .map_err(|e| e.to_string())?;
    settings.business_name = Some(name.to_owned());
    service
        .update(user.account_id, settings)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The screen with the campaign service's refusal at its fields.
fn refused(mut page: SetupPage, rows: &[usize], error: CampaignServiceError) -> Response {
    let m = page.c.m;
    match error {
        CampaignServiceError::InvalidPhone { contacts } => {
            for rejected in contacts {
                if let Some(row) = rows
                    .get(rejected.index)
                    .and_then(|i| page.s.table.rows.get_mut(*i))
                {
                    let Row { error, .. } = row;
                    *error = format!("{}: {}", rejected.value, rejected.reason);
                    let text = error.clone();
                    page.summary
                        .push((format!("row-{}-phone", rows[rejected.index]), text));
                }
            }
        }
        CampaignServiceError::Rejected(CampaignError::InvalidName) => {
            page.problem("name", m.name_required);
        }
        CampaignServiceError::InvalidSettings(text) => page.problem("settings", text),
        CampaignServiceError::MissingVariables { missing } => {
            for variable in missing {
                let who = variable.contacts.join(", ");
                if variable.name == domain::script::variables::BUSINESS_NAME {
                    page.problem("business_name", m.business_name_missing);
                } else {
                    let text = format!("{}: {} {who}", variable.name, m.missing_value);
                    page.problem(&format!("var_{}", variable.name), text);
                }
            }
        }
        CampaignServiceError::Rejected(CampaignError::InvalidSettings(error)) => {
            page.problem("settings", error.to_string());
        }
        // Over a limit or with control characters: the field is named in the text.
        error @ (CampaignServiceError::TooLarge(_)
        | CampaignServiceError::ControlCharacters { .. }) => {
            page.problem("contacts", error.to_string());
        }
        CampaignServiceError::Preflight(PreflightError::CallerIdNotVerified { number }) => {
            page.problem("s_caller_id", format!("{number}: not verified"));
        }
        other => return error_page(page.c.lang, other),
    }
    page.respond()
}
