//! The clinic owner's web app, served at `/` by the same binary as the JSON API.
//!
//! Server-rendered pages (askama: templates are checked when this crate compiles) over the same
//! application services the JSON handlers call — a page handler only reads its form, calls a
//! `commands::services` function and renders the answer. HTML first: every action is a plain
//! form post; `static/app.js` adds the live dashboard (EventSource on the campaign status
//! stream), inline editing, uploads and the recording player on top.
//!
//! Sign-in is the API's session cookie (`api::auth`); a signed-out page request is sent to
//! `/login`. Every state-changing request carries a per-session CSRF token ([`csrf`]).

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use api::AppState;
use api::auth::CurrentUser;
use api::error::ApiError;

mod account_pages;
mod assets;
mod auth_pages;
mod campaign_pages;
pub mod csrf;
mod dashboard;
mod forms;
pub mod i18n;
mod setup;
mod setup_form;
mod view;

use i18n::{Lang, Msgs};

/// Largest form the pages accept (a CSV upload is at most 5 MB; the rest of the form is small).
const FORM_LIMIT: usize = domain::limits::FORM_BODY.max;

/// Every page and asset of the web app, ready to merge into the server's router.
pub fn router(state: AppState) -> Router {
    let signed_in = Router::new()
        .route("/", get(|| async { Redirect::to("/campaigns") }))
        .route("/campaigns", get(campaign_pages::list))
        .route("/campaigns/new", get(setup::new_page).post(setup::generate))
        .route("/campaigns/setup", get(setup::page).post(setup::submit))
        .route("/campaigns/{id}", get(dashboard::page))
        .route("/campaigns/{id}/{action}", post(dashboard::act))
        .route("/calls/{id}", get(dashboard::call))
        .route("/scripts", get(campaign_pages::scripts))
        .route(
            "/settings",
            get(account_pages::settings).post(account_pages::save_settings),
        )
        .route("/usage", get(account_pages::usage))
        .route(
            "/suppressions",
            get(account_pages::suppressions).post(account_pages::add_suppression),
        )
        .route(
            "/suppressions/remove",
            post(account_pages::remove_suppression),
        )
        .route("/logout", post(auth_pages::logout))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::require))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            api::auth::require_user,
        ))
        .layer(middleware::from_fn(to_login));
    Router::new()
        .route(
            "/login",
            get(auth_pages::login_page).post(auth_pages::login),
        )
        .route(
            "/signup",
            get(auth_pages::signup_page).post(auth_pages::signup),
        )
        .route("/static/{file}", get(assets::serve))
        .merge(signed_in)
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(middleware::from_fn(remember_lang))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// A signed-out (or expired) page request goes to the sign-in page instead of a JSON 401.
async fn to_login(request: Request, next: Next) -> Response {
    let lang = Lang::of(None, request.headers());
    let response = next.run(request).await;
    match response.status() {
        StatusCode::UNAUTHORIZED => {
            let mut redirect = Redirect::to("/login").into_response();
            redirect.headers_mut().insert(
                header::SET_COOKIE,
                HeaderValue::from_str(&api::auth::cleared_cookie())
                    .unwrap_or(HeaderValue::from_static("")),
            );
            redirect
        }
        StatusCode::TOO_MANY_REQUESTS => {
            message_page(lang, StatusCode::TOO_MANY_REQUESTS, lang.msgs().too_many)
        }
        _ => response,
    }
}

/// `?lang=en` (or `ko`) on any page: shown in that language now, and remembered in a cookie.
async fn remember_lang(mut request: Request, next: Next) -> Response {
    let chosen = request.uri().query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == "lang")
            .map(|(_, value)| if value == "en" { "en" } else { "ko" })
    });
    let Some(chosen) = chosen else {
        return next.run(request).await;
    };
    let cookie = format!("{}={chosen}", i18n::COOKIE);
    let merged = match request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
    {
        Some(existing) => format!("{cookie}; {existing}"),
        None => cookie.clone(),
    };
    if let Ok(value) = HeaderValue::from_str(&merged) {
        request.headers_mut().insert(header::COOKIE, value);
    }
    let mut response = next.run(request).await;
    let set = format!("{cookie}; SameSite=Lax; Path=/; Max-Age=31536000");
    if let Ok(value) = HeaderValue::from_str(&set) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Pages never run in a frame, never leak their URLs (which carry ids) to other sites, and
/// load nothing but their own assets.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/html"))
    {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What a signed-in page's handler starts from: the process's state, the user
/// `api::auth::require_user` put on the request, and the request's headers.
pub struct SignedIn(pub AppState, pub CurrentUser, pub HeaderMap);

impl FromRequestParts<AppState> for SignedIn {
    /// Only without `require_user` in front of the route: answered as signed out.
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = parts.extensions.get::<CurrentUser>().copied();
        let user = user.ok_or(ApiError::Unauthorized)?;
        Ok(Self(state.clone(), user, parts.headers.clone()))
    }
}

/// What every page's layout needs.
pub struct Ctx {
    pub lang: Lang,
    pub m: &'static Msgs,
    /// The CSRF token of the session (empty when signed out).
    pub csrf: String,
    pub signed_in: bool,
    /// The path of the page (for the language switch link).
    pub path: String,
    /// Which navigation entry is the current page.
    pub nav: &'static str,
    /// The `v` of the asset URLs.
    pub v: &'static str,
}

impl Ctx {
    /// The context of a signed-in page.
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        headers: &HeaderMap,
        nav: &'static str,
    ) -> Self {
        let lang = Lang::of(None, headers);
        Self {
            lang,
            m: lang.msgs(),
            csrf: csrf::token(state, user),
            signed_in: true,
            path: String::new(),
            nav,
            v: assets::VERSION.as_str(),
        }
    }

    /// The context of a signed-out page.
    pub fn public(lang: Lang) -> Self {
        Self {
            lang,
            m: lang.msgs(),
            csrf: String::new(),
            signed_in: false,
            path: String::new(),
            nav: "",
            v: assets::VERSION.as_str(),
        }
    }

    /// Sets the page's own path (the language switch returns to it).
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }
}

/// A cookie's value.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| {
            let (key, value) = cookie.trim().split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

/// Renders a template as a page (a template that fails to render is logged and shown as 500).
pub fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
}

/// Renders a template with a status.
pub fn render_with(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page did not render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Ctx,
    title: String,
    message: String,
}

/// A page that only says something (an error, mostly).
pub fn message_page(lang: Lang, status: StatusCode, message: &str) -> Response {
    let page = MessagePage {
        c: Ctx::public(lang),
        title: status.canonical_reason().unwrap_or("").to_owned(),
        message: message.to_owned(),
    };
    render_with(status, &page)
}

/// A service error as a page: not found, rate limited, or something went wrong (logged).
pub fn error_page(lang: Lang, error: impl Into<ApiError>) -> Response {
    let error: ApiError = error.into();
    let m = lang.msgs();
    match error {
        ApiError::NotFound => message_page(lang, StatusCode::NOT_FOUND, m.not_found),
        ApiError::RateLimited { .. } => {
            message_page(lang, StatusCode::TOO_MANY_REQUESTS, m.too_many)
        }
        ApiError::Unauthorized => Redirect::to("/login").into_response(),
        other => {
            tracing::error!(error = %other, "a page failed");
            message_page(lang, StatusCode::INTERNAL_SERVER_ERROR, m.internal)
        }
    }
}

/// 303 to a page after a form post.
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}
