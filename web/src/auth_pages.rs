//! 로그인, 회원가입 and 로그아웃: the account service's use cases behind two forms.
//!
//! Before there is a session the forms are protected by a double-submitted token: a random
//! value in a `SameSite=Strict` cookie that the hidden field must repeat.

use std::net::SocketAddr;

use askama::Template;
use axum::RequestExt;
use axum::extract::{ConnectInfo, FromRequest, Query, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use commands::services::accounts::{AccountsError, Credentials, Login};
use rand::RngCore;
use secrecy::ExposeSecret;
use serde::Deserialize;

use api::AppState;
use api::auth;
use api::rate_limit;

use crate::forms::FormData;
use crate::i18n::{Lang, Msgs};
use crate::{Ctx, SignedIn, error_page, render_with, see_other, view};

/// The cookie of the signed-out forms' token.
const FORM_COOKIE: &str = "callbot_form";

#[derive(Template)]
#[template(path = "login.html")]
struct AuthPage {
    c: Ctx,
    signup: bool,
    form_token: String,
    email: String,
    email_error: String,
    password_error: String,
    summary: Vec<(String, String)>,
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

impl AuthPage {
    fn new(lang: Lang, signup: bool, form_token: String) -> Self {
        let path = if signup { "/signup" } else { "/login" };
        Self {
            c: Ctx::public(lang).at(path),
            signup,
            form_token,
            email: String::new(),
            email_error: String::new(),
            password_error: String::new(),
            summary: Vec::new(),
        }
    }

    /// The page with its token cookie set.
    fn respond(self, status: StatusCode) -> Response {
        let cookie = format!(
            "{FORM_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age=86400",
            self.form_token
        );
        let mut response = render_with(status, &self);
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    fn email_problem(mut self, text: &str) -> Self {
        self.email_error = text.to_owned();
        self.summary.push(("email".into(), text.to_owned()));
        self
    }

    fn password_problem(mut self, text: String) -> Self {
        self.summary.push(("password".into(), text.clone()));
        self.password_error = text;
        self
    }
}

fn new_form_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `GET /login`.
pub async fn login_page(Query(query): Query<LangQuery>, headers: HeaderMap) -> Response {
    let lang = Lang::of(query.lang.as_deref(), &headers);
    AuthPage::new(lang, false, new_form_token()).respond(StatusCode::OK)
}

/// `GET /signup`.
pub async fn signup_page(Query(query): Query<LangQuery>, headers: HeaderMap) -> Response {
    let lang = Lang::of(query.lang.as_deref(), &headers);
    AuthPage::new(lang, true, new_form_token()).respond(StatusCode::OK)
}

/// The posted form, if its token matches the cookie; else the 403 page.
fn checked_form(headers: &HeaderMap, form: &FormData, lang: Lang) -> Result<(), Box<Response>> {
    let expected = crate::cookie(headers, FORM_COOKIE).unwrap_or_default();
    if expected.is_empty() || form.get(crate::csrf::FIELD) != expected {
        return Err(Box::new(crate::message_page(
            lang,
            StatusCode::FORBIDDEN,
            lang.msgs().csrf_failed,
        )));
    }
    Ok(())
}

/// The sign-in limit per client address the JSON sign-in has too.
fn limit(
    state: &AppState,
    peer: &SocketAddr,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<(), Box<Response>> {
    state
        .limiter
        .check(
            rate_limit::AUTH_PER_IP,
            &state.client_ip(*peer, headers).to_string(),
        )
        .map_err(|error| Box::new(error_page(lang, error)))
}

/// A posted sign-in or sign-up form that may be handled: its token matches the cookie and the
/// client's address is within the sign-in limit; else the page that refuses it.
pub struct Admitted {
    state: AppState,
    headers: HeaderMap,
    form: FormData,
    /// The page's language.
    lang: Lang,
}

impl FromRequest<AppState> for Admitted {
    type Rejection = Response;

    async fn from_request(mut request: Request, state: &AppState) -> Result<Self, Response> {
        let ConnectInfo(peer) = request
            .extract_parts::<ConnectInfo<SocketAddr>>()
            .await
            .map_err(IntoResponse::into_response)?;
        let headers = request.headers().clone();
        let form = FormData::from_request(request, state).await?;
        let lang = Lang::of(None, &headers);
        checked_form(&headers, &form, lang)
            .and(limit(state, &peer, &headers, lang))
            .map_err(|refused| *refused)?;
        Ok(Self {
            state: state.clone(),
            headers,
            form,
            lang,
        })
    }
}

impl Admitted {
    fn credentials(&self) -> Credentials {
        Credentials {
            email: self.form.get("email").to_owned(),
            password: self.form.get("password").to_owned(),
        }
    }

    /// The form again, with the service's refusal at the field it concerns.
    fn refused(&self, signup: bool, error: AccountsError) -> Response {
        refused(self.lang, signup, self.form.get("email"), error)
    }
}

/// `POST /login`: a session cookie and the campaign list, or the form with what is wrong.
pub async fn login(posted: Admitted) -> Response {
    sign_in(&posted, false, "/campaigns").await
}

/// `POST /signup`: creates the account, signs in and opens 새 캠페인 만들기.
pub async fn signup(posted: Admitted) -> Response {
    let accounts = posted.state.account_service();
    if let Err(error) = accounts.register(posted.credentials()).await {
        return posted.refused(true, error);
    }
    sign_in(&posted, true, "/campaigns/new").await
}

async fn sign_in(posted: &Admitted, signup: bool, next: &str) -> Response {
    let Admitted {
        state,
        headers,
        lang,
        ..
    } = posted;
    let login = Login {
        credentials: posted.credentials(),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let session = match state.account_service().login(login).await {
        Ok(session) => session,
        Err(error) => return posted.refused(signup, error),
    };
    let token = match auth::issue_token(state.jwt_secret.expose_secret(), session.user, session.at)
    {
        Ok(token) => token,
        Err(error) => return error_page(*lang, error),
    };
    let mut response = see_other(next);
    if let Ok(value) = HeaderValue::from_str(&auth::session_cookie(&token, state.secure_cookies)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The form again, with the service's refusal at the field it concerns.
fn refused(lang: Lang, signup: bool, email: &str, error: AccountsError) -> Response {
    let m = lang.msgs();
    let mut page = AuthPage::new(lang, signup, new_form_token());
    page.email = email.to_owned();
    let page = match error {
        AccountsError::InvalidEmail(_) => page.email_problem(m.email_invalid),
        AccountsError::EmailTaken => page.email_problem(m.email_taken),
        AccountsError::WeakPassword(weak) => page.password_problem(format!(
            "{} {}",
            m.password_needs,
            missing(m, &weak.missing)
        )),
        AccountsError::Unauthorized => page.email_problem(m.wrong_login),
        AccountsError::Locked { until } => {
            page.email_problem(&format!("{} {}", m.locked_until, view::seoul_time(until)))
        }
        other => return error_page(lang, other),
    };
    page.respond(StatusCode::BAD_REQUEST)
}

/// The password rules a password breaks, in the page's language.
fn missing(m: &Msgs, rules: &[&str]) -> String {
    rules
        .iter()
        .map(|rule| match *rule {
            "at least 8 characters" => m.pw_len,
            "a letter" => m.pw_letter,
            "a digit" => m.pw_digit,
            other => other,
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `POST /logout`: ends the session and clears the cookie.
pub async fn logout(SignedIn(state, user, headers): SignedIn) -> Response {
    if let Err(error) = state.account_service().logout(user).await {
        return error_page(Lang::of(None, &headers), error);
    }
    let mut response = see_other("/login");
    if let Ok(value) = HeaderValue::from_str(&auth::cleared_cookie()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response.into_response()
}
