//! The sandbox account's numbers and balance: `IncomingPhoneNumbers`, `OutgoingCallerIds` (both
//! filtered by `?PhoneNumber=`) and `Balance`, with Basic auth; tests set what they hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use protocols::twilio::{
    AccountNumber, AccountResource, Balance, IncomingPhoneNumbers, OutgoingCallerIds, Paging,
};

use super::{PHONE_NUMBER, Shared, unavailable};

/// What the sandbox account holds.
#[derive(Clone)]
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

/// An outage drill is running: the account endpoints answer 503.
pub(super) struct Unavailable;

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        unavailable()
    }
}

/// What the account holds now, unless an outage drill runs.
fn holdings(shared: &Shared) -> Result<AccountState, Unavailable> {
    let account = shared.account.lock().expect("sandbox lock");
    if account.unavailable {
        return Err(Unavailable);
    }
    Ok(account.clone())
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
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<IncomingPhoneNumbers>, Unavailable> {
    let owned = holdings(&shared)?.owned;
    let incoming_phone_numbers = listed(&shared, &owned, "PN", query.get("PhoneNumber"));
    let paging = Paging::only(50);
    Ok(Json(IncomingPhoneNumbers {
        incoming_phone_numbers,
        paging,
    }))
}

pub(super) async fn outgoing_caller_ids(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<OutgoingCallerIds>, Unavailable> {
    let verified = holdings(&shared)?.verified;
    let outgoing_caller_ids = listed(&shared, &verified, "PV", query.get("PhoneNumber"));
    let paging = Paging::only(50);
    Ok(Json(OutgoingCallerIds {
        outgoing_caller_ids,
        paging,
    }))
}

pub(super) async fn balance(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<Balance>, Unavailable> {
    Ok(Json(Balance {
        account_sid: shared.account_sid.clone(),
        balance: holdings(&shared)?.balance,
        currency: "USD".to_owned(),
    }))
}

/// When the sandbox account was opened, as Twilio dates are written.
const OPENED: &str = "Mon, 02 Nov 2026 09:00:00 +0000";

/// `GET /2010-04-01/Accounts/{Sid}.json` (the path's account is checked by the auth layer).
pub(super) async fn fetch_account(
    State(shared): State<Arc<Shared>>,
) -> Result<Json<AccountResource>, Unavailable> {
    holdings(&shared)?;
    Ok(Json(AccountResource {
        sid: shared.account_sid.clone(),
        owner_account_sid: shared.account_sid.clone(),
        friendly_name: "Auto CallBot sandbox".to_owned(),
        status: "active".to_owned(),
        kind: "Full".to_owned(),
        date_created: OPENED.to_owned(),
        date_updated: OPENED.to_owned(),
        uri: format!("/2010-04-01/Accounts/{}.json", shared.account_sid),
    }))
}
