//! The sandbox account's numbers and balance: `IncomingPhoneNumbers`, `OutgoingCallerIds` (both
//! filtered by `?PhoneNumber=`) and `Balance`, with Basic auth; tests set what they hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use protocols::twilio::{AccountNumber, Balance, IncomingPhoneNumbers, OutgoingCallerIds};

use super::{PHONE_NUMBER, Shared, authorized, denied, error};
use axum::http::StatusCode;

/// What the sandbox account holds.
pub(super) struct AccountState {
    owned: Vec<String>,
    verified: Vec<String>,
    balance: String,
    /// Answer every account request with 503 (an outage drill).
    unavailable: bool,
}

impl Default for AccountState {
    fn default() -> Self {
        Self {
            owned: vec![PHONE_NUMBER.to_owned()],
            verified: Vec::new(),
            balance: "500.00".to_owned(),
            unavailable: false,
        }
    }
}

pub(super) type Account = Mutex<AccountState>;

impl super::TwilioSandbox {
    /// Sets the numbers the account owns (default: [`PHONE_NUMBER`]).
    pub fn set_owned_numbers(&self, numbers: &[&str]) {
        self.shared.account.lock().expect("sandbox lock").owned =
            numbers.iter().map(|n| (*n).to_owned()).collect();
    }

    /// Sets the verified outgoing caller ids (default: none).
    pub fn set_verified_caller_ids(&self, numbers: &[&str]) {
        self.shared.account.lock().expect("sandbox lock").verified =
            numbers.iter().map(|n| (*n).to_owned()).collect();
    }

    /// Makes the account endpoints answer 503 (or work again).
    pub fn set_account_unavailable(&self, unavailable: bool) {
        self.shared
            .account
            .lock()
            .expect("sandbox lock")
            .unavailable = unavailable;
    }

    /// Sets the balance, a decimal string in USD (default `"500.00"`).
    pub fn set_balance(&self, balance: &str) {
        self.shared.account.lock().expect("sandbox lock").balance = balance.to_owned();
    }
}

fn listed(
    shared: &Shared,
    numbers: &[String],
    prefix: &str,
    filter: Option<&String>,
) -> Vec<AccountNumber> {
    numbers
        .iter()
        .filter(|n| filter.is_none_or(|f| f == *n))
        .enumerate()
        .map(|(i, n)| AccountNumber {
            sid: format!("{prefix}{i:032x}"),
            phone_number: n.clone(),
            friendly_name: Some(n.clone()),
            account_sid: Some(shared.account_sid.clone()),
        })
        .collect()
}

pub(super) async fn incoming_phone_numbers(
    State(shared): State<Arc<Shared>>,
    Path(account): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    if shared.account.lock().expect("sandbox lock").unavailable {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            20500,
            "Service unavailable",
        );
    }
    let owned = shared.account.lock().expect("sandbox lock").owned.clone();
    let numbers = listed(&shared, &owned, "PN", query.get("PhoneNumber"));
    axum::Json(IncomingPhoneNumbers {
        page: 0,
        page_size: 50,
        next_page_uri: None,
        incoming_phone_numbers: numbers,
    })
    .into_response()
}

pub(super) async fn outgoing_caller_ids(
    State(shared): State<Arc<Shared>>,
    Path(account): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    if shared.account.lock().expect("sandbox lock").unavailable {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            20500,
            "Service unavailable",
        );
    }
    let verified = shared
        .account
        .lock()
        .expect("sandbox lock")
        .verified
        .clone();
    let numbers = listed(&shared, &verified, "PV", query.get("PhoneNumber"));
    axum::Json(OutgoingCallerIds {
        page: 0,
        page_size: 50,
        next_page_uri: None,
        outgoing_caller_ids: numbers,
    })
    .into_response()
}

pub(super) async fn balance(
    State(shared): State<Arc<Shared>>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&shared, &headers, &account) {
        return denied();
    }
    if shared.account.lock().expect("sandbox lock").unavailable {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            20500,
            "Service unavailable",
        );
    }
    let balance = shared.account.lock().expect("sandbox lock").balance.clone();
    axum::Json(Balance {
        account_sid: shared.account_sid.clone(),
        balance,
        currency: "USD".to_owned(),
    })
    .into_response()
}
