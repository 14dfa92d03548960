//! Call use cases: a campaign's calls (filtered, paged) and one call in full.

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::ServiceContext;
use super::campaigns::{CampaignRef, CampaignServiceError, owned_id};
use super::campaigns_view::{CallFilter, CallRecord, ConversationEndRecord, ReadModelError};
use domain::call::{CallResult, CallStatus};

/// Calls per page when none is asked for, and the most.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// Why a call use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CallServiceError {
    /// No such call (or campaign) for this account.
    #[error("not found")]
    NotFound,
    /// `page` below 1 or `pageSize` out of range.
    #[error("page must be ≥ 1 and pageSize between 1 and {MAX_PAGE_SIZE}")]
    InvalidPage,
    #[error(transparent)]
    ReadModel(#[from] ReadModelError),
    #[error(transparent)]
    Campaign(CampaignServiceError),
}

impl From<CampaignServiceError> for CallServiceError {
    fn from(err: CampaignServiceError) -> Self {
        match err {
            CampaignServiceError::NotFound => Self::NotFound,
            other => Self::Campaign(other),
        }
    }
}

type Result<T, E = CallServiceError> = std::result::Result<T, E>;

/// Which calls of a campaign, and which page of them.
#[derive(Debug, Clone, Default)]
pub struct ListCalls {
    /// Only calls in this status (wire name, any case).
    pub status: Option<String>,
    /// Only calls with this result (wire name, any case).
    pub result: Option<String>,
    /// 1-based (default 1).
    pub page: Option<i64>,
    /// Default [`DEFAULT_PAGE_SIZE`].
    pub page_size: Option<i64>,
}

/// One call of a campaign.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallItem {
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub id: String,
    #[cfg_attr(feature = "utoipa", schema(format = Uuid))]
    pub campaign_id: String,
    pub name: Option<String>,
    /// E.164.
    #[cfg_attr(feature = "utoipa", schema(example = "+821012345678"))]
    pub phone_number: String,
    /// The contact's values for the script's variables.
    pub context: Value,
    pub status: CallStatus,
    pub result: Option<CallResult>,
    /// Why it failed, was cancelled or waits.
    pub status_reason: Option<String>,
    pub attempts: i64,
    /// When the next attempt is due, while waiting for a retry.
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub next_attempt_at: Option<String>,
    /// Talk time in seconds.
    pub duration: Option<i64>,
    /// Provider cost in US dollars.
    pub cost: f64,
    #[cfg_attr(feature = "utoipa", schema(format = DateTime))]
    pub updated_at: String,
}

impl From<&CallRecord> for CallItem {
    fn from(call: &CallRecord) -> Self {
        Self {
            id: call.id.clone(),
            campaign_id: call.campaign_id.clone(),
            name: call.name.clone(),
            phone_number: call.phone_number.clone(),
            context: call.context.clone(),
            status: call.status,
            result: call.result,
            status_reason: call.status_reason.clone(),
            attempts: call.attempts,
            next_attempt_at: call.retry_at.clone(),
            duration: call.duration_secs,
            cost: dollars(call.cost_micros),
            updated_at: call.updated_at.clone(),
        }
    }
}

/// A page of calls.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallPage {
    pub items: Vec<CallItem>,
    pub page: i64,
    pub page_size: i64,
    /// Calls matching the filter.
    pub total: i64,
}

/// One turn of a transcript.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TranscriptTurn {
    /// `agent` or `user`.
    pub role: String,
    pub text: String,
    pub time_in_call_secs: Option<u32>,
}

/// The call's cost by provider, in USD.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CostBreakdown {
    pub telephony: f64,
    pub voice: f64,
    pub llm: f64,
    pub total: f64,
    #[cfg_attr(feature = "utoipa", schema(example = "USD"))]
    pub currency: &'static str,
}

/// Why the conversation ended.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConversationEnd {
    #[cfg_attr(feature = "utoipa", schema(example = "AGENT_CLOSED"))]
    pub reason: String,
    /// The agent socket's close code.
    pub close_code: Option<i64>,
    pub detail: Option<String>,
}

impl From<ConversationEndRecord> for ConversationEnd {
    fn from(end: ConversationEndRecord) -> Self {
        Self {
            reason: end.reason,
            close_code: end.close_code,
            detail: end.detail,
        }
    }
}

/// One call in full.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallDetail {
    #[serde(flatten)]
    pub call: CallItem,
    /// The latest attempt's conversation (the provider's transcript once reconciled).
    pub transcript: Option<Vec<TranscriptTurn>>,
    /// `BRIDGE` or `PROVIDER`.
    pub transcript_source: Option<String>,
    /// The voice agent's conversation id.
    pub conversation_id: Option<String>,
    /// The summary, in Korean.
    pub summary: Option<String>,
    /// The outcome the summary reads (never replaces `result`).
    pub suggested_result: Option<String>,
    pub follow_up_needed: Option<bool>,
    /// `LLM` or `OFFLINE`.
    pub summary_source: Option<String>,
    pub cost_breakdown: CostBreakdown,
    /// How the conversation with the agent ended, once the bridge said so.
    pub conversation_end: Option<ConversationEnd>,
}

fn dollars(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// The campaign's calls in dialing order, filtered and paged.
pub async fn list(
    ctx: &ServiceContext,
    campaign: CampaignRef<'_>,
    query: ListCalls,
) -> Result<CallPage> {
    let id = owned_id(ctx, campaign).await?;
    let page = query.page.unwrap_or(1);
    let page_size = query.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if page < 1 || !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(CallServiceError::InvalidPage);
    }
    let upper = |v: Option<String>| v.map(|s| s.trim().to_uppercase()).filter(|s| !s.is_empty());
    let filter = CallFilter {
        status: upper(query.status),
        result: upper(query.result),
    };
    let (rows, total) = ctx
        .reads
        .call_page(&id.to_string(), &filter, page_size, (page - 1) * page_size)
        .await?;
    Ok(CallPage {
        items: rows.iter().map(CallItem::from).collect(),
        page,
        page_size,
        total,
    })
}

/// One call with its transcript, summary, cost breakdown and how the conversation ended.
pub async fn detail(ctx: &ServiceContext, owner_id: Uuid, call_id: &str) -> Result<CallDetail> {
    let call = ctx
        .reads
        .call(&owner_id.to_string(), call_id)
        .await?
        .ok_or(CallServiceError::NotFound)?;
    let conversation_end = ctx.reads.conversation_end(&call.id).await?;
    let item = CallItem::from(&call);
    let post_call = call.post_call;
    let transcript = post_call.transcript.as_ref().map(|lines| {
        lines
            .iter()
            .map(|line| TranscriptTurn {
                role: line.role.as_str().to_owned(),
                text: line.text.clone(),
                time_in_call_secs: line.time_in_call_secs,
            })
            .collect()
    });
    Ok(CallDetail {
        call: item,
        transcript,
        cost_breakdown: CostBreakdown {
            telephony: dollars(call.cost_split.telephony_micros),
            voice: dollars(call.cost_split.voice_micros),
            llm: dollars(call.cost_split.llm_micros),
            total: dollars(call.cost_micros),
            currency: "USD",
        },
        conversation_end: conversation_end.map(ConversationEnd::from),
        transcript_source: post_call.transcript_source,
        conversation_id: post_call.conversation_id,
        summary: post_call.summary,
        suggested_result: post_call.suggested_result,
        follow_up_needed: post_call.follow_up_needed,
        summary_source: post_call.summary_source,
    })
}
