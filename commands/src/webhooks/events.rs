//! Which stored events become webhooks, and what their bodies say.
//!
//! Only a call's and a campaign's first event names its account (and a call its campaign), so
//! the mapping reads that first event once per aggregate and keeps it in a small cache.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use cqrs_es::Aggregate;
use domain::call::{Call, CallEvent};
use domain::campaign::{Campaign, CampaignEvent};
use serde_json::{Value, json};
use uuid::Uuid;

use super::WebhookEventType;
use crate::store::{EventStore, StoreError, StoredEvent};

/// A webhook to send to the account's subscribed endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEvent {
    pub kind: WebhookEventType,
    pub account_id: Uuid,
    /// What caused it, unique per event (`event:<global position>`, `budget:<month>`): an
    /// endpoint gets one delivery per source.
    pub source: String,
    /// When it happened (the event's commit time): delivery latency counts from here.
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

impl WebhookEvent {
    /// The body every attempt sends: `{"type", "timestamp", "data"}` (Standard Webhooks).
    pub fn body(&self) -> String {
        json!({
            "type": self.kind.as_str(),
            "timestamp": self.occurred_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": self.data,
        })
        .to_string()
    }
}

/// Whose aggregate it is, from its first event.
#[derive(Debug, Clone, Copy)]
struct Owner {
    account_id: Uuid,
    /// A call's campaign (a campaign's own id for a campaign).
    campaign_id: Uuid,
}

/// Turns stored events into webhook events, remembering the owners it looked up.
#[derive(Default)]
pub struct EventMapper {
    owners: HashMap<String, Owner>,
}

/// Owners remembered before the cache starts over.
const OWNER_CACHE: usize = 10_000;

impl EventMapper {
    /// The webhook `event` becomes, if any.
    pub async fn map(
        &mut self,
        store: &EventStore,
        event: &StoredEvent,
    ) -> Result<Option<WebhookEvent>, StoreError> {
        let Some((kind, data)) = describe(event) else {
            return Ok(None);
        };
        let Some(owner) = self.owner(store, event).await? else {
            return Ok(None);
        };
        let mut data = data;
        if let Value::Object(fields) = &mut data {
            fields.insert("campaignId".into(), json!(owner.campaign_id));
        }
        Ok(Some(WebhookEvent {
            kind,
            account_id: owner.account_id,
            source: format!("event:{}", event.position),
            occurred_at: event.recorded_at,
            data,
        }))
    }

    async fn owner(
        &mut self,
        store: &EventStore,
        event: &StoredEvent,
    ) -> Result<Option<Owner>, StoreError> {
        if let Some(owner) = self.owners.get(&event.aggregate_id) {
            return Ok(Some(*owner));
        }
        let history = store.read_aggregate(&event.aggregate_id).await?;
        let owner = history.first().and_then(|first| {
            if first.aggregate_type == Call::TYPE {
                match serde_json::from_value::<CallEvent>(first.payload.clone()).ok()? {
                    CallEvent::CallCreated {
                        owner_id,
                        campaign_id,
                        ..
                    } => Some(Owner {
                        account_id: owner_id,
                        campaign_id,
                    }),
                    _ => None,
                }
            } else {
                match serde_json::from_value::<CampaignEvent>(first.payload.clone()).ok()? {
                    CampaignEvent::CampaignCreated { owner_id, .. } => Some(Owner {
                        account_id: owner_id,
                        campaign_id: first.aggregate_id.parse().ok()?,
                    }),
                    _ => None,
                }
            }
        });
        if let Some(owner) = owner {
            if self.owners.len() >= OWNER_CACHE {
                self.owners.clear();
            }
            self.owners.insert(event.aggregate_id.clone(), owner);
        }
        Ok(owner)
    }
}

/// The webhook type and data of an event that makes one (without the campaign id).
fn describe(event: &StoredEvent) -> Option<(WebhookEventType, Value)> {
    use WebhookEventType as T;
    if event.aggregate_type == Call::TYPE {
        let call_id = &event.aggregate_id;
        let call = serde_json::from_value::<CallEvent>(event.payload.clone()).ok()?;
        return match call {
            CallEvent::CallCompleted {
                result,
                duration_secs,
                completed_at,
            } => Some((
                T::CallCompleted,
                json!({ "callId": call_id, "result": result, "durationSecs": duration_secs,
                        "completedAt": completed_at }),
            )),
            CallEvent::CallFailed { reason, failed_at } => Some((
                T::CallFailed,
                json!({ "callId": call_id, "reason": "FAILED", "message": reason,
                        "failedAt": failed_at }),
            )),
            CallEvent::CallFinishedNoAnswer {
                attempts,
                finished_at,
            } => Some((
                T::CallFailed,
                json!({ "callId": call_id, "reason": "NO_ANSWER", "attempts": attempts,
                        "failedAt": finished_at }),
            )),
            CallEvent::RecordingStored {
                bytes, stored_at, ..
            } => Some((
                T::RecordingStored,
                json!({ "callId": call_id, "bytes": bytes, "storedAt": stored_at }),
            )),
            _ => None,
        };
    }
    if event.aggregate_type != Campaign::TYPE {
        return None;
    }
    match serde_json::from_value::<CampaignEvent>(event.payload.clone()).ok()? {
        CampaignEvent::CampaignStarted { started_at } => {
            Some((T::CampaignStarted, json!({ "startedAt": started_at })))
        }
        CampaignEvent::CampaignPaused { reason, paused_at } => Some((
            T::CampaignPaused,
            json!({ "reason": reason, "pausedAt": paused_at }),
        )),
        CampaignEvent::CampaignCompleted { completed_at } => {
            Some((T::CampaignCompleted, json!({ "completedAt": completed_at })))
        }
        _ => None,
    }
}

/// The `budget.alert` webhook of an account's month (`YYYY-MM`).
pub fn budget_alert(
    account_id: Uuid,
    month: &str,
    spend_micros: i64,
    threshold_micros: i64,
    at: DateTime<Utc>,
) -> WebhookEvent {
    WebhookEvent {
        kind: WebhookEventType::BudgetAlert,
        account_id,
        source: format!("budget:{month}"),
        occurred_at: at,
        data: json!({
            "month": month,
            "spendUsd": spend_micros as f64 / 1_000_000.0,
            "thresholdUsd": threshold_micros as f64 / 1_000_000.0,
        }),
    }
}
