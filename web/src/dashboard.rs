//! Screen 3, 대시보드: progress, counts, ETA and the call list (kept live by `app.js` on the
//! campaign status stream), 일시정지 / 재개 / 취소, the call-detail panel and the reports.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use commands::services::calls::{self, CallDetail, CallItem, ListCalls};
use commands::services::campaigns::{self, CampaignDetail, CampaignRef};
use serde::Deserialize;

use api::AppState;
use api::auth::UserPath;
use api::error::ApiError;

use crate::i18n::{Lang, Msgs};
use crate::{Ctx, SignedIn, error_page, render, see_other, view};

/// The most calls the page lists (the PRD's campaigns are at most a few hundred contacts).
const MAX_LISTED: i64 = 500;

/// One row of the call list.
pub struct CallRow {
    pub id: String,
    pub status: String,
    pub label: String,
    pub name: String,
    pub phone: String,
    pub result: String,
    pub duration: String,
    pub attempts: i64,
}

impl CallRow {
    fn new(lang: Lang, call: &CallItem) -> Self {
        let status = view::code(&call.status);
        Self {
            id: call.id.clone(),
            label: lang.label(&status),
            result: call
                .result
                .as_ref()
                .map(|result| lang.label(&view::code(result)))
                .unwrap_or_else(|| "-".to_owned()),
            status,
            name: call.name.clone().unwrap_or_default(),
            phone: view::phone(&call.phone_number),
            duration: view::duration(call.duration),
            attempts: call.attempts,
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Ctx,
    d: CampaignDetail,
    status: String,
    status_label: String,
    percent: u64,
    failed: u64,
    eta: String,
    calls: Vec<CallRow>,
    error: String,
    labels: String,
}

#[derive(Deserialize)]
pub struct DashboardQuery {
    error: Option<String>,
}

/// `GET /campaigns/{id}`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: UserPath,
    Query(query): Query<DashboardQuery>,
) -> Response {
    let c =
        Ctx::new(&state, &path.user, &headers, "campaigns").at(format!("/campaigns/{}", path.id));
    let lang = c.lang;
    let campaign = path.campaign();
    let d = match campaigns::detail(&state.services, campaign).await {
        Ok(detail) => detail,
        Err(error) => return error_page(lang, error),
    };
    let list = ListCalls {
        page_size: Some(MAX_LISTED),
        ..ListCalls::default()
    };
    let page = match calls::list(&state.services, campaign, list).await {
        Ok(page) => page,
        Err(error) => return error_page(lang, error),
    };
    let p = &d.progress;
    let percent = (p.finished * 100).checked_div(p.total).unwrap_or(0);
    let eta = match &d.eta.estimated_completion_at {
        Some(at) => format!(
            "{} ({} {})",
            view::seoul_text(at),
            (d.eta.eta_seconds + 59) / 60,
            c.m.eta_minutes
        ),
        None => "-".to_owned(),
    };
    let status = view::code(&d.status);
    let error = query
        .error
        .map(|code| error_words(c.m, &code))
        .unwrap_or_default();
    render(&DashboardPage {
        status_label: lang.label(&status),
        status,
        percent,
        failed: p.failed + p.no_answer,
        eta,
        calls: page
            .items
            .iter()
            .map(|call| CallRow::new(lang, call))
            .collect(),
        error,
        labels: lang.labels_json(),
        d,
        c,
    })
}

/// What an error code of a campaign action means, in the page's words.
pub fn error_words(m: &Msgs, code: &str) -> String {
    match code {
        "INSUFFICIENT_CREDITS" => m.over_budget.to_owned(),
        "CREDITS_LOW" => m.credits_low.to_owned(),
        "PROVIDER_UNAVAILABLE" => m.provider_down.to_owned(),
        "NO_CONTACTS" => m.no_contacts.to_owned(),
        "INVALID_STATE" => m.invalid_state.to_owned(),
        "RATE_LIMITED" => m.too_many.to_owned(),
        _ => m.internal.to_owned(),
    }
}

/// The code an action's failure is reported under (a provider's low balance apart from the
/// account's own budget).
pub fn error_code(error: impl Into<ApiError>) -> &'static str {
    match error.into() {
        ApiError::ProviderCreditsLow { .. } => "CREDITS_LOW",
        other => other.code(),
    }
}

/// `POST /campaigns/{id}/{start|pause|resume|cancel}`: the action, then the dashboard (with
/// the refusal in words when there is one).
pub async fn act(
    SignedIn(state, user, headers): SignedIn,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let campaign = CampaignRef {
        owner_id: user.account_id,
        campaign_id: &id,
    };
    let ctx = &state.services;
    let outcome = match action.as_str() {
        "start" => campaigns::start(ctx, campaign, None).await.map(drop),
        "pause" => campaigns::pause(ctx, campaign).await.map(drop),
        "resume" => campaigns::resume(ctx, campaign).await.map(drop),
        "cancel" => campaigns::cancel(ctx, campaign).await.map(drop),
        _ => return error_page(Lang::of(None, &headers), ApiError::NotFound),
    };
    match outcome {
        Ok(()) => see_other(&format!("/campaigns/{id}")),
        Err(campaigns::CampaignServiceError::NotFound) => {
            error_page(Lang::of(None, &headers), ApiError::NotFound)
        }
        Err(error) => see_other(&format!("/campaigns/{id}?error={}", error_code(error))),
    }
}

#[derive(Template)]
#[template(path = "call.html")]
struct CallPage {
    c: Ctx,
    call: CallDetail,
    row: CallRow,
}

#[derive(Template)]
#[template(path = "call_panel.html")]
struct CallPanel {
    c: Ctx,
    call: CallDetail,
    row: CallRow,
}

#[derive(Deserialize)]
pub struct CallQuery {
    panel: Option<String>,
}

/// `GET /calls/{id}`: the call in full; `?panel=1` only the panel (the dashboard's dialog).
pub async fn call(
    State(state): State<AppState>,
    headers: HeaderMap,
    UserPath { user, id }: UserPath,
    Query(query): Query<CallQuery>,
) -> Response {
    let c = Ctx::new(&state, &user, &headers, "campaigns").at(format!("/calls/{id}"));
    match calls::detail(&state.services, user.account_id, &id).await {
        Ok(call) => {
            let row = CallRow::new(c.lang, &call.call);
            if query.panel.is_some() {
                render(&CallPanel { c, call, row })
            } else {
                render(&CallPage { c, call, row })
            }
        }
        Err(error) => error_page(c.lang, error),
    }
}
