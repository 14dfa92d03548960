//! Request bodies and query parameters of the campaign routes, and the CSV import's answer.

use chrono::{DateTime, Utc};
use commands::services::calls::ListCalls;
use commands::services::campaigns as service;
use domain::policy::CampaignSettings;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A person to call.
#[derive(Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContactInput {
    /// E.164 or a domestic Korean form (`010-1234-5678`); Korean numbers only.
    #[schema(example = "+821012345678")]
    phone_number: String,
    #[serde(default)]
    #[schema(example = "김철수")]
    name: Option<String>,
    /// Values for the script's variables, e.g. `appointmentTime`.
    #[serde(default)]
    #[schema(example = json!({ "appointmentTime": "2026-02-06T14:00:00+09:00" }))]
    context: Map<String, Value>,
}

impl From<ContactInput> for service::ContactInput {
    fn from(input: ContactInput) -> Self {
        Self {
            phone_number: input.phone_number,
            name: input.name,
            context: input.context,
        }
    }
}

pub(super) fn contacts(inputs: Vec<ContactInput>) -> Vec<service::ContactInput> {
    inputs.into_iter().map(Into::into).collect()
}

/// A new campaign (PRD `POST /campaigns`, plus optional settings over the account's defaults).
#[derive(Deserialize, ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(example = json!({
    "name": "2월 5일 예약 확인",
    "scriptId": "0193a4c2-7b1e-7c3a-9f00-5b2d1e4c8a10",
    "contacts": [
        { "phoneNumber": "+821012345678", "name": "김철수",
          "context": { "appointmentTime": "2026-02-06T14:00:00+09:00" } },
        { "phoneNumber": "+821087654321", "name": "이영희",
          "context": { "appointmentTime": "2026-02-06T15:30:00+09:00" } }
    ]
}))]
pub struct CreateCampaign {
    /// 1 to 200 characters.
    name: String,
    /// A saved or draft script of this account.
    #[schema(format = Uuid)]
    script_id: String,
    #[serde(default)]
    contacts: Vec<ContactInput>,
    /// Overrides of the account's campaign defaults, merged key by key.
    #[serde(default)]
    #[schema(value_type = Option<CampaignSettings>)]
    settings: Option<Value>,
    /// Script values given once for every call, e.g. `{"availableTimes": "오후 3시, 4시"}`
    /// (at most 50, each at most 500 characters). A contact's own value wins; the business
    /// profile fills what neither has.
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

impl CreateCampaign {
    /// The service's input for the campaign of `owner_id`.
    pub fn into_input(self, owner_id: Uuid) -> service::CreateCampaign {
        service::CreateCampaign {
            owner_id,
            name: self.name,
            script_id: self.script_id,
            contacts: contacts(self.contacts),
            settings: self.settings,
            variables: self.variables,
        }
    }
}

/// More people to call.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AddContacts {
    pub(super) contacts: Vec<ContactInput>,
}

/// When to start: now (no body, or no `scheduledAt`) or at a time.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct StartCampaign {
    /// Start at this time instead of now (must be in the future).
    #[serde(default)]
    pub(super) scheduled_at: Option<DateTime<Utc>>,
}

/// Which calls, and which page of them (the query of the call list, and the MCP tool's).
#[derive(Deserialize, IntoParams, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// Only calls in this status (`PENDING`, `CALLING`, `IN_PROGRESS`, `COMPLETED`, `FAILED`,
    /// `NO_ANSWER`, `CANCELLED`).
    #[serde(default)]
    status: Option<String>,
    /// Only calls with this result (`SUCCESS`, `VOICEMAIL`, `DECLINED`, …).
    #[serde(default)]
    result: Option<String>,
    /// 1-based page (default 1).
    #[serde(default)]
    #[param(minimum = 1)]
    page: Option<i64>,
    /// Calls per page, 1 to 500 (default 50).
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    page_size: Option<i64>,
}

impl From<CallsQuery> for ListCalls {
    fn from(query: CallsQuery) -> Self {
        Self {
            status: query.status,
            result: query.result,
            page: query.page,
            page_size: query.page_size,
        }
    }
}
