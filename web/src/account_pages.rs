//! 설정 (caller id, budgets and alert threshold, campaign defaults), 사용량 (cost by day and
//! campaign, with a chart drawn here as SVG) and 수신 거부 목록 (the do-not-call list).

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use commands::accounts::{AccountSettings, AccountSettingsError, Suppression};
use commands::services::campaigns::overlay_settings;
use commands::services::settings::{CallerIdError, SettingsError};
use commands::services::suppressions::{NewSuppression, SuppressionsError};
use commands::services::usage::{Usage, UsagePeriod, UsageService};

use api::AppState;
use api::auth::CurrentUser;

use crate::forms::FormData;
use crate::setup_form::SettingsFields;
use crate::{Ctx, SignedIn, error_page, render, render_with, see_other, view};

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    c: Ctx,
    business_name: String,
    business_phone: String,
    business_hours: String,
    caller_id: String,
    daily: String,
    monthly: String,
    alert: String,
    f: SettingsFields,
    notice: String,
    summary: Vec<(String, String)>,
}

impl SettingsPage {
    fn new(c: Ctx, account: &AccountSettings) -> Self {
        let money = |value: Option<f64>| value.map(|v| v.to_string()).unwrap_or_default();
        Self {
            c,
            business_name: account.business_name.clone().unwrap_or_default(),
            business_phone: account
                .business_phone
                .as_deref()
                .map(domain::phone::display_number)
                .unwrap_or_default(),
            business_hours: account.business_hours.clone().unwrap_or_default(),
            caller_id: account.caller_id.clone().unwrap_or_default(),
            daily: money(account.daily_budget_usd),
            monthly: money(account.monthly_budget_usd),
            alert: account.alert_threshold_usd.to_string(),
            f: SettingsFields::from_defaults(account),
            notice: String::new(),
            summary: Vec::new(),
        }
    }

    fn err(&self, id: &str) -> &str {
        self.summary
            .iter()
            .find(|(field, _)| field == id)
            .map_or("", |(_, text)| text.as_str())
    }
}

/// `GET /settings`.
pub async fn settings(SignedIn(state, user, headers): SignedIn) -> Response {
    let c = Ctx::new(&state, &user, &headers, "settings").at("/settings");
    match state.settings_service().get(user.account_id).await {
        Ok(account) => render(&SettingsPage::new(c, &account)),
        Err(error) => error_page(c.lang, error),
    }
}

/// `POST /settings`: the whole form replaces the settings.
pub async fn save_settings(SignedIn(state, user, headers): SignedIn, form: FormData) -> Response {
    let c = Ctx::new(&state, &user, &headers, "settings").at("/settings");
    let service = state.settings_service();
    let current = match service.get(user.account_id).await {
        Ok(current) => current,
        Err(error) => return error_page(c.lang, error),
    };
    let mut page = SettingsPage::new(c, &current);
    page.business_name = form.get("business_name").to_owned();
    page.business_phone = form.get("business_phone").to_owned();
    page.business_hours = form.get("business_hours").to_owned();
    page.caller_id = form.get("caller_id").to_owned();
    page.daily = form.get("daily").to_owned();
    page.monthly = form.get("monthly").to_owned();
    page.alert = form.get("alert").to_owned();
    page.f = SettingsFields::from_form(&form);
    let m = page.c.m;
    let mut money = |id: &str, text: &str| -> Option<Option<f64>> {
        if text.is_empty() {
            return Some(None);
        }
        match text.parse::<f64>() {
            Ok(value) => Some(Some(value)),
            Err(_) => {
                page.summary
                    .push((id.to_owned(), format!("{} (12.5)", m.missing_value)));
                None
            }
        }
    };
    let (daily_text, monthly_text, alert_text) =
        (form.get("daily"), form.get("monthly"), form.get("alert"));
    let daily = money("daily", daily_text);
    let monthly = money("monthly", monthly_text);
    let alert = money("alert", alert_text);
    let defaults = match page.f.overlay() {
        Ok(overlay) => match overlay_settings(&AccountSettings::default(), Some(overlay)) {
            Ok(defaults) => Some(defaults),
            Err(error) => {
                page.summary.push(("settings".into(), error.to_string()));
                None
            }
        },
        Err((field, example)) => {
            page.summary
                .push((field.to_owned(), format!("{} ({example})", m.missing_value)));
            None
        }
    };
    let (Some(daily), Some(monthly), Some(alert), Some(defaults)) =
        (daily, monthly, alert, defaults)
    else {
        return render_with(StatusCode::BAD_REQUEST, &page);
    };
    let given = |id: &str| {
        let text = form.get(id).trim();
        (!text.is_empty()).then(|| text.to_owned())
    };
    let settings = AccountSettings {
        business_name: given("business_name"),
        business_phone: given("business_phone"),
        business_hours: given("business_hours"),
        caller_id: given("caller_id"),
        daily_budget_usd: daily,
        monthly_budget_usd: monthly,
        alert_threshold_usd: alert.unwrap_or(current.alert_threshold_usd),
        campaign_defaults: defaults,
    };
    match service.update(user.account_id, settings).await {
        Ok(saved) => {
            let mut page = SettingsPage::new(page.c, &saved);
            page.notice = m.settings_saved.to_owned();
            render(&page)
        }
        Err(SettingsError::Invalid(invalid)) => {
            let field = match &invalid {
                AccountSettingsError::Invalid { field, .. } => match *field {
                    "businessName" => "business_name",
                    "businessPhone" => "business_phone",
                    "businessHours" => "business_hours",
                    "callerId" => "caller_id",
                    _ => "settings",
                },
            };
            page.summary.push((field.into(), invalid.to_string()));
            render_with(StatusCode::BAD_REQUEST, &page)
        }
        Err(SettingsError::CallerId(CallerIdError::NotVerified { number })) => {
            page.summary
                .push(("caller_id".into(), format!("{number}: not verified")));
            render_with(StatusCode::BAD_REQUEST, &page)
        }
        Err(error) => error_page(page.c.lang, error),
    }
}

/// One bar of the usage chart.
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub label: String,
    pub value: String,
}

/// The chart's drawing area, in SVG units.
const CHART_HEIGHT: u32 = 120;
const BAR_STEP: u32 = 24;

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    c: Ctx,
    u: Usage,
    bars: Vec<Bar>,
    width: u32,
}

impl UsagePage {
    fn usd(&self, amount: &f64) -> String {
        view::usd(*amount)
    }
}

/// `GET /usage`: this month so far.
pub async fn usage(SignedIn(state, user, headers): SignedIn) -> Response {
    let c = Ctx::new(&state, &user, &headers, "usage").at("/usage");
    let service = UsageService::new(state.store.db().pool().clone(), state.clock.clone());
    let u = match service
        .report(user.account_id, UsagePeriod::default())
        .await
    {
        Ok(u) => u,
        Err(error) => return error_page(c.lang, error),
    };
    let top = u
        .by_day
        .iter()
        .map(|day| day.sums.cost)
        .fold(0.0_f64, f64::max);
    let bars: Vec<Bar> = u
        .by_day
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let height = if top > 0.0 {
                ((day.sums.cost / top) * f64::from(CHART_HEIGHT)).round() as u32
            } else {
                0
            };
            Bar {
                x: i as u32 * BAR_STEP + 4,
                y: CHART_HEIGHT - height,
                height,
                label: day.date.get(8..).unwrap_or(&day.date).to_owned(),
                value: view::usd(day.sums.cost),
            }
        })
        .collect();
    let width = (bars.len() as u32 * BAR_STEP).max(BAR_STEP) + 8;
    render(&UsagePage { c, u, bars, width })
}

#[derive(Template)]
#[template(path = "suppressions.html")]
struct SuppressionsPage {
    c: Ctx,
    list: Vec<Suppression>,
    phone: String,
    reason: String,
    summary: Vec<(String, String)>,
}

impl SuppressionsPage {
    fn shown(&self, e164: &str) -> String {
        view::phone(e164)
    }

    fn when(&self, at: &str) -> String {
        view::seoul_text(at)
    }
}

async fn suppressions_page(
    state: &AppState,
    user: &CurrentUser,
    headers: &HeaderMap,
    form: Option<(&FormData, String)>,
) -> Response {
    let c = Ctx::new(state, user, headers, "suppressions").at("/suppressions");
    let list = match state.suppression_service().list(user.account_id).await {
        Ok(list) => list,
        Err(error) => return error_page(c.lang, error),
    };
    let (phone, reason, summary, status) = match form {
        Some((form, problem)) => (
            form.get("phone").to_owned(),
            form.get("reason").to_owned(),
            vec![("phone".to_owned(), problem)],
            StatusCode::BAD_REQUEST,
        ),
        None => (String::new(), String::new(), Vec::new(), StatusCode::OK),
    };
    render_with(
        status,
        &SuppressionsPage {
            c,
            list,
            phone,
            reason,
            summary,
        },
    )
}

/// `GET /suppressions`.
pub async fn suppressions(SignedIn(state, user, headers): SignedIn) -> Response {
    suppressions_page(&state, &user, &headers, None).await
}

/// `POST /suppressions`: adds a number.
pub async fn add_suppression(SignedIn(state, user, headers): SignedIn, form: FormData) -> Response {
    let input = NewSuppression {
        phone_number: form.get("phone").to_owned(),
        reason: Some(form.get("reason").to_owned()).filter(|reason| !reason.is_empty()),
    };
    match state
        .suppression_service()
        .add(user.account_id, input)
        .await
    {
        Ok(_) => see_other("/suppressions"),
        Err(SuppressionsError::InvalidPhone { value, reason }) => {
            let problem = format!("{value}: {reason}");
            suppressions_page(&state, &user, &headers, Some((&form, problem))).await
        }
        Err(error @ (SuppressionsError::TooLarge(_) | SuppressionsError::ControlCharacters)) => {
            let problem = error.to_string();
            suppressions_page(&state, &user, &headers, Some((&form, problem))).await
        }
        Err(error) => error_page(crate::i18n::Lang::of(None, &headers), error),
    }
}

/// `POST /suppressions/remove`: removes a number.
pub async fn remove_suppression(
    SignedIn(state, user, headers): SignedIn,
    form: FormData,
) -> Response {
    match state
        .suppression_service()
        .remove(user.account_id, form.get("phone"))
        .await
    {
        Ok(()) | Err(SuppressionsError::NotListed) => see_other("/suppressions"),
        Err(error) => error_page(crate::i18n::Lang::of(None, &headers), error),
    }
}
