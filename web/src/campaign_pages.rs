//! The campaign list and the saved scripts (reuse one for a new campaign).

use askama::Template;
use axum::response::Response;
use commands::services::campaigns;
use commands::services::scripts::{ScriptFilter, ScriptState, ScriptSummary};

use crate::{Ctx, SignedIn, error_page, render, view};

/// A campaign in the list.
pub struct CampaignRow {
    pub id: String,
    pub name: String,
    pub status: String,
    pub label: String,
    pub percent: u64,
    pub total: u64,
    pub created: String,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct ListPage {
    c: Ctx,
    rows: Vec<CampaignRow>,
}

/// `GET /campaigns`.
pub async fn list(SignedIn(state, user, headers): SignedIn) -> Response {
    let c = Ctx::new(&state, &user, &headers, "campaigns").at("/campaigns");
    let items = match campaigns::list(&state.services, user.account_id).await {
        Ok(items) => items,
        Err(error) => return error_page(c.lang, error),
    };
    let rows = items
        .into_iter()
        .map(|item| {
            let status = view::code(&item.status);
            let p = &item.progress;
            CampaignRow {
                id: item.id,
                name: item.name,
                label: c.lang.label(&status),
                status,
                percent: (p.finished * 100).checked_div(p.total).unwrap_or(0),
                total: p.total,
                created: view::seoul_text(&item.created_at),
            }
        })
        .collect();
    render(&ListPage { c, rows })
}

#[derive(Template)]
#[template(path = "scripts.html")]
struct ScriptsPage {
    c: Ctx,
    scripts: Vec<ScriptSummary>,
}

impl ScriptsPage {
    fn saved(&self, script: &ScriptSummary) -> bool {
        script.status == ScriptState::Saved
    }

    fn when(&self, at: &str) -> String {
        view::seoul_text(at)
    }
}

/// `GET /scripts`: saved scripts first, then drafts, newest first within each.
pub async fn scripts(SignedIn(state, user, headers): SignedIn) -> Response {
    let c = Ctx::new(&state, &user, &headers, "scripts").at("/scripts");
    match state
        .script_service()
        .list(user.account_id, ScriptFilter::All)
        .await
    {
        Ok(mut scripts) => {
            scripts.sort_by_key(|script| script.status != ScriptState::Saved);
            render(&ScriptsPage { c, scripts })
        }
        Err(error) => error_page(c.lang, error),
    }
}
