//! Account resources: the numbers a caller id may use, and the balance.

use serde::{Deserialize, Serialize};

/// One number the account owns (`IncomingPhoneNumbers`) or verified (`OutgoingCallerIds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountNumber {
    pub sid: String,
    pub phone_number: String,
    #[serde(default)]
    pub friendly_name: Option<String>,
    #[serde(default)]
    pub account_sid: Option<String>,
}

/// The paging fields of every Twilio list answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Paging {
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub page_size: u32,
    #[serde(default)]
    pub next_page_uri: Option<String>,
}

impl Paging {
    /// The first page of `page_size`, with nothing after it.
    pub fn only(page_size: u32) -> Self {
        Self {
            page: 0,
            page_size,
            next_page_uri: None,
        }
    }
}

/// `GET …/IncomingPhoneNumbers.json` (filtered with `?PhoneNumber=`), one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingPhoneNumbers {
    pub incoming_phone_numbers: Vec<AccountNumber>,
    #[serde(flatten)]
    pub paging: Paging,
}

/// `GET …/OutgoingCallerIds.json` (filtered with `?PhoneNumber=`), one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingCallerIds {
    pub outgoing_caller_ids: Vec<AccountNumber>,
    #[serde(flatten)]
    pub paging: Paging,
}

/// `GET …/Balance.json`: the balance is a decimal string in `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Balance {
    pub account_sid: String,
    pub balance: String,
    pub currency: String,
}

impl Balance {
    /// The balance in millionths of the currency unit; `None` when it does not parse.
    pub fn micros(&self) -> Option<i64> {
        let value: f64 = self.balance.trim().parse().ok()?;
        value
            .is_finite()
            .then(|| (value * 1_000_000.0).round() as i64)
    }
}

/// `GET /2010-04-01/Accounts/{Sid}.json`: the account (the fields Twilio's SDKs show, dates in
/// RFC 2822; `type` is `Trial` or `Full`, `status` `active`, `suspended` or `closed`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountResource {
    pub sid: String,
    pub owner_account_sid: String,
    pub friendly_name: String,
    pub status: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub date_created: String,
    pub date_updated: String,
    pub uri: String,
}
