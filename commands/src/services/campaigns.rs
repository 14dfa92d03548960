//! Campaign use cases: create (settings over the account's defaults), list, detail with
//! progress and ETA, add contacts, start (budget and provider credits checked first), pause,
//! resume, cancel, delete, and the audit trail of a campaign.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::PhoneNumber;
use domain::call::{CallCommand, CallStatus, CancelReason};
use domain::campaign::{
    CampaignCommand, CampaignError, CampaignEvent, CampaignStatus, Contact, PauseReason,
};
use domain::limits::{self, TooLarge};
use domain::policy::{CampaignSettings, SettingsError};
use domain::script::Script;
use domain::script::variables::MissingVariable;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::campaign_values::{refuse_missing, valid_variables, values_at_start};
pub use super::campaigns_answers::{
    AuditEntry, CampaignCancelled, CampaignCreated, CampaignDetail, CampaignListItem,
    CampaignStarted, CampaignTransition, ContactsAdded, ContactsImported, Eta, EventPage, Progress,
};
use super::campaigns_view::{CallRecord, CampaignRecord, ReadModelError};
use super::preflight::PreflightError;
use super::{ServiceContext, SettleError};
use crate::accounts::AccountSettings;
use crate::dialer::{ACCOUNT_CONCURRENCY, DialerError, in_window, over_budget};
use crate::{CommandContext, CommandError, StoreError, StoredEvent, cqrs};

/// Countries whose numbers campaigns may call (PRD §10: Korea only for now).
pub const ALLOWED_REGIONS: &[&str] = &["KR"];
/// Average call length assumed for the ETA before any call has finished.
const DEFAULT_CALL_SECS: f64 = 60.0;
/// Events per page of the audit trail when none is asked for, and the most.
pub const DEFAULT_EVENTS_LIMIT: i64 = 100;
pub const MAX_EVENTS_LIMIT: i64 = 1000;

// ----- errors --------------------------------------------------------------------------------

/// One contact whose phone number was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedPhone {
    /// Its place in the request (0-based).
    pub index: usize,
    pub value: String,
    pub reason: String,
}

/// Why a campaign use case did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CampaignServiceError {
    /// No such campaign for this account (or the id is not one).
    #[error("not found")]
    NotFound,
    /// The campaign's `variables` are not names with short texts.
    #[error("variables: {0}")]
    InvalidVariables(String),
    /// The script needs values some contacts have from no source (their own fields, the
    /// campaign's values, the business profile); nothing was created or started.
    #[error("the script needs values that {} variable(s) lack", .missing.len())]
    MissingVariables { missing: Vec<MissingVariable> },
    /// The script is not a saved script of this account.
    #[error("scriptId: no such script")]
    UnknownScript,
    /// The settings overlay is not a JSON object.
    #[error("settings: must be an object")]
    SettingsNotObject,
    /// The settings (defaults with the overlay) do not read as campaign settings.
    #[error("settings: {0}")]
    InvalidSettings(String),
    /// A list or a text over its limit ([`domain::limits`]); nothing was changed.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// A contact's name or context holds control characters (`field` names which).
    #[error("{field}: must not contain control characters")]
    ControlCharacters { field: String },
    /// Contacts whose phone numbers are refused; nothing was added.
    #[error("{} contact(s) have an invalid phone number", .contacts.len())]
    InvalidPhone { contacts: Vec<RejectedPhone> },
    /// The account has spent its daily or monthly budget.
    #[error("the account has reached its daily or monthly budget")]
    OverBudget,
    /// The CSV file cannot be read as a whole (too large, no phone column, malformed…).
    #[error(transparent)]
    Import(#[from] crate::contacts_import::ImportError),
    /// The CSV file was read but none of its rows can be imported.
    #[error("the file has no importable rows")]
    NothingToImport {
        rejected: Vec<crate::contacts_import::RejectedRow>,
    },
    /// `limit` of the audit trail out of range.
    #[error("limit: must be between 1 and {MAX_EVENTS_LIMIT}")]
    InvalidLimit,
    /// The campaign refused the command.
    #[error(transparent)]
    Rejected(#[from] CampaignError),
    /// A provider account cannot pay, or cannot be asked.
    #[error(transparent)]
    Preflight(#[from] PreflightError),
    /// Other writers kept winning the race for the campaign.
    #[error("the campaign kept changing underneath the command")]
    Conflict,
    /// The store failed under a command.
    #[error("event store failure: {0}")]
    CommandFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ReadModel(#[from] ReadModelError),
    #[error(transparent)]
    Settle(#[from] SettleError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("budget: {0}")]
    Budget(#[from] DialerError),
}

impl From<CommandError<CampaignError>> for CampaignServiceError {
    fn from(err: CommandError<CampaignError>) -> Self {
        match err {
            CommandError::Rejected(CampaignError::NotFound) => Self::NotFound,
            CommandError::Rejected(rule) => Self::Rejected(rule),
            CommandError::Conflict => Self::Conflict,
            CommandError::Store(reason) => Self::CommandFailed(reason),
        }
    }
}

pub(super) type Result<T, E = CampaignServiceError> = std::result::Result<T, E>;

// ----- inputs --------------------------------------------------------------------------------

/// A person to call, as given.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    /// E.164 or a domestic Korean form (`010-1234-5678`).
    pub phone_number: String,
    pub name: Option<String>,
    /// Values for the script's variables.
    pub context: Map<String, Value>,
}

/// A new campaign.
#[derive(Debug, Clone)]
pub struct CreateCampaign {
    pub owner_id: Uuid,
    pub name: String,
    pub script_id: String,
    pub contacts: Vec<ContactInput>,
    /// Overrides of the account's campaign defaults, merged key by key.
    pub settings: Option<Value>,
    /// Script values given once for every call (`availableTimes` of the day, say).
    pub variables: BTreeMap<String, String>,
}

/// Which campaign, of whom.
#[derive(Debug, Clone, Copy)]
pub struct CampaignRef<'a> {
    pub owner_id: Uuid,
    /// As given by the caller; an id that is not a UUID is simply not found.
    pub campaign_id: &'a str,
}

// ----- use cases -----------------------------------------------------------------------------

/// Creates a campaign in `DRAFT` with its contacts; invalid numbers refuse the whole request.
#[tracing::instrument(skip_all, fields(owner_id = %input.owner_id))]
pub async fn create(ctx: &ServiceContext, input: CreateCampaign) -> Result<CampaignCreated> {
    let script_id: Uuid = input
        .script_id
        .parse()
        .map_err(|_| CampaignServiceError::UnknownScript)?;
    let script = cqrs::load::<Script>(&ctx.store, &input.script_id)
        .await?
        .filter(|script| {
            script.owner_id() == input.owner_id && script.version() > 0 && !script.is_deleted()
        })
        .ok_or(CampaignServiceError::UnknownScript)?;
    let account = AccountSettings::load(ctx.store.db().pool(), &input.owner_id.to_string()).await?;
    let mut settings = overlay_settings(&account, input.settings)?;
    settings.validate().map_err(|err| match err {
        SettingsError::TooLarge(mut too_large) => {
            too_large.field = format!("settings.{}", too_large.field);
            CampaignServiceError::TooLarge(too_large)
        }
        other => CampaignServiceError::InvalidSettings(other.to_string()),
    })?;
    settings.normalize();
    let contacts = parse_contacts(input.contacts)?;
    let variables = valid_variables(input.variables)?;
    refuse_missing(script.content(), &contacts, &variables, &account)?;
    check_caller_id(ctx, &account, &settings).await?;
    let id = Uuid::now_v7();
    let command = CampaignCommand::CreateCampaign {
        owner_id: input.owner_id,
        name: input.name.trim().to_owned(),
        script_id,
        script_version: script.version(),
        settings,
        contacts,
        variables,
        at: ctx.clock.now(),
    };
    execute(ctx, input.owner_id, id, command).await?;
    let campaign = owned(ctx, input.owner_id, &id.to_string()).await?;
    Ok(CampaignCreated {
        id,
        name: campaign.name,
        status: campaign.status,
        total_calls: campaign.total_calls,
        script_version: script.version(),
        duplicates: duplicates_of(ctx, id).await?,
        created_at: campaign.created_at,
    })
}

/// The account's campaign defaults (with its caller id when they name none) under `overlay`,
/// merged key by key.
pub fn overlay_settings(
    account: &AccountSettings,
    overlay: Option<Value>,
) -> Result<CampaignSettings> {
    let mut settings = serde_json::to_value(&account.campaign_defaults)
        .map_err(|e| CampaignServiceError::InvalidSettings(e.to_string()))?;
    if account.caller_id.is_some() && settings.get("callerId").is_none_or(Value::is_null) {
        settings["callerId"] = Value::from(account.caller_id.clone());
    }
    if let Some(overlay) = overlay {
        if !overlay.is_object() {
            return Err(CampaignServiceError::SettingsNotObject);
        }
        merge(&mut settings, overlay);
    }
    serde_json::from_value(settings)
        .map_err(|e| CampaignServiceError::InvalidSettings(e.to_string()))
}

/// Refuses a campaign caller id the telephony account neither owns nor has verified, as a
/// saved caller id is refused. The account's own caller id and its defaults' were checked when
/// the settings were saved, so only another number is asked about.
async fn check_caller_id(
    ctx: &ServiceContext,
    account: &AccountSettings,
    settings: &CampaignSettings,
) -> Result<()> {
    let (Some(number), Some(preflight)) = (&settings.caller_id, &ctx.preflight) else {
        return Ok(());
    };
    let checked = [&account.caller_id, &account.campaign_defaults.caller_id];
    if !checked
        .iter()
        .any(|saved| saved.as_deref() == Some(number.as_str()))
    {
        preflight.check_caller_id(number).await?;
    }
    Ok(())
}

/// Deep-merges `overlay` into `base` (objects merge key by key; anything else replaces).
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Turns contacts as given into domain contacts, or the full list of what is wrong. Sizes and
/// characters are checked first ([`check_contact`]): one over its limit refuses the request.
pub fn parse_contacts(inputs: Vec<ContactInput>) -> Result<Vec<Contact>> {
    limits::CONTACTS_PER_REQUEST.check(inputs.len())?;
    for (index, input) in inputs.iter().enumerate() {
        check_contact(
            &format!("contacts[{index}]"),
            input.name.as_deref(),
            &input.context,
        )?;
    }
    let mut contacts = Vec::with_capacity(inputs.len());
    let mut rejected = Vec::new();
    for (index, input) in inputs.into_iter().enumerate() {
        match PhoneNumber::parse(&input.phone_number, ALLOWED_REGIONS) {
            Ok(phone) => contacts.push(Contact {
                call_id: Uuid::now_v7(),
                phone,
                name: input
                    .name
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty()),
                context: input.context,
            }),
            Err(err) => rejected.push(RejectedPhone {
                index,
                value: input.phone_number,
                reason: err.to_string(),
            }),
        }
    }
    if rejected.is_empty() {
        Ok(contacts)
    } else {
        Err(CampaignServiceError::InvalidPhone { contacts: rejected })
    }
}

/// The limits of one contact's name and context ([`domain::limits`]), and no control
/// characters in them. `place` names the contact in the error (`contacts[3]`).
pub fn check_contact(place: &str, name: Option<&str>, context: &Map<String, Value>) -> Result<()> {
    let control = |field: String| CampaignServiceError::ControlCharacters { field };
    if let Some(name) = name {
        let field = format!("{place}.name");
        limits::CONTACT_NAME.check_at(&field, name.chars().count())?;
        if limits::has_control_characters(name) {
            return Err(control(field));
        }
    }
    let field = format!("{place}.context");
    limits::CONTACT_CONTEXT_KEYS.check_at(&field, context.len())?;
    for (key, value) in context {
        limits::CONTACT_CONTEXT_KEY.check_at(&format!("{field} key"), key.chars().count())?;
        let value_field = format!("{field}.{key}");
        let chars = match value {
            Value::String(text) => text.chars().count(),
            other => other.to_string().chars().count(),
        };
        limits::CONTACT_CONTEXT_VALUE.check_at(&value_field, chars)?;
        if limits::has_control_characters(key) {
            return Err(control(format!("{field} key")));
        }
        if value.as_str().is_some_and(limits::has_control_characters) {
            return Err(control(value_field));
        }
    }
    Ok(())
}

/// The account's campaigns with their progress, newest first.
pub async fn list(ctx: &ServiceContext, owner_id: Uuid) -> Result<Vec<CampaignListItem>> {
    let campaigns = ctx.reads.campaigns(&owner_id.to_string()).await?;
    let mut items = Vec::with_capacity(campaigns.len());
    for campaign in campaigns {
        let calls = ctx.reads.calls(&campaign.id).await?;
        items.push(CampaignListItem {
            progress: Progress::of(&calls),
            id: campaign.id,
            name: campaign.name,
            status: campaign.status,
            total_calls: campaign.total_calls,
            created_at: campaign.created_at,
            started_at: campaign.started_at,
            completed_at: campaign.completed_at,
        });
    }
    Ok(items)
}

/// One campaign: progress, ETA and settings.
pub async fn detail(ctx: &ServiceContext, campaign: CampaignRef<'_>) -> Result<CampaignDetail> {
    let record = owned(ctx, campaign.owner_id, campaign.campaign_id).await?;
    let calls = ctx.reads.calls(&record.id).await?;
    let now = ctx.clock.now();
    Ok(CampaignDetail {
        progress: Progress::of(&calls),
        eta: eta(&record, &calls, now),
        id: record.id,
        name: record.name,
        status: record.status,
        script_id: record.script_id,
        total_calls: record.total_calls,
        settings: record.settings,
        pause_reason: record.pause_reason,
        created_at: record.created_at,
        scheduled_at: record.scheduled_at,
        started_at: record.started_at,
        completed_at: record.completed_at,
        cancelled_at: record.cancelled_at,
    })
}

/// When the remaining calls should be done: rounds of `concurrency` calls of the average length
/// so far, pushed back to the next window opening when outside it.
pub fn eta(campaign: &CampaignRecord, calls: &[CallRecord], now: DateTime<Utc>) -> Eta {
    let remaining = calls.iter().filter(|c| !c.is_final()).count() as u64;
    let under_way = matches!(
        campaign.status,
        CampaignStatus::Running | CampaignStatus::Scheduled | CampaignStatus::Paused
    );
    if remaining == 0 || !under_way {
        return Eta {
            remaining_calls: remaining,
            eta_seconds: 0,
            estimated_completion_at: None,
        };
    }
    let durations: Vec<i64> = calls
        .iter()
        .filter(|c| c.status == CallStatus::Completed)
        .filter_map(|c| c.duration_secs)
        .collect();
    let average = if durations.is_empty() {
        DEFAULT_CALL_SECS
    } else {
        durations.iter().sum::<i64>() as f64 / durations.len() as f64
    };
    let settings = &campaign.settings;
    let concurrency = settings.max_concurrency.clamp(1, ACCOUNT_CONCURRENCY) as f64;
    let mut seconds = (remaining as f64 / concurrency).ceil() * average;
    if !in_window(settings, now) {
        // Walk forward a minute at a time (at most two days) to the window's next opening.
        let opening = (1..=(48 * 60))
            .map(|minute| now + chrono::Duration::minutes(minute))
            .find(|candidate| in_window(settings, *candidate))
            .unwrap_or(now);
        seconds += (opening - now).num_seconds() as f64;
    }
    let seconds = seconds.round() as i64;
    Eta {
        remaining_calls: remaining,
        eta_seconds: seconds,
        // Written like every API time: RFC 3339 UTC with milliseconds.
        estimated_completion_at: Some(
            (now + chrono::Duration::seconds(seconds))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
    }
}

/// Adds contacts (a number already in the campaign is skipped and reported once).
pub async fn add_contacts(
    ctx: &ServiceContext,
    campaign: CampaignRef<'_>,
    contacts: Vec<ContactInput>,
) -> Result<ContactsAdded> {
    let id = owned_id(ctx, campaign).await?;
    let contacts = parse_contacts(contacts)?;
    add_parsed_contacts(ctx, campaign.owner_id, id, contacts).await
}

/// Adds contacts already parsed (the CSV import parses its own rows).
/// Imports the contacts of a CSV file as Excel saves it into a DRAFT campaign: every readable
/// row in one command, and a report of each rejected one.
pub async fn import_contacts(
    ctx: &ServiceContext,
    owner_id: Uuid,
    id: Uuid,
    file: &[u8],
    limits: &crate::contacts_import::ImportLimits,
) -> Result<ContactsImported> {
    let parsed = crate::contacts_import::parse_contacts_csv(file, ALLOWED_REGIONS, limits)?;
    if parsed.contacts.is_empty() {
        return Err(CampaignServiceError::NothingToImport {
            rejected: parsed.rejected,
        });
    }
    // A row over a limit, or with control characters, is refused like a row without a number.
    let mut rejected = parsed.rejected;
    let mut contacts = Vec::with_capacity(parsed.contacts.len());
    for row in parsed.contacts {
        match check_contact("contact", row.name.as_deref(), &row.context) {
            Ok(()) => contacts.push(row.into_contact(Uuid::now_v7())),
            Err(refused) => rejected.push(crate::contacts_import::RejectedRow {
                line: row.line,
                value: row.phone.as_str().to_owned(),
                reason: refused.to_string(),
            }),
        }
    }
    rejected.sort_by_key(|row| row.line);
    if contacts.is_empty() {
        return Err(CampaignServiceError::NothingToImport { rejected });
    }
    let added = add_parsed_contacts(ctx, owner_id, id, contacts).await?;
    Ok(ContactsImported {
        added: added.added,
        imported: added.added,
        duplicates: added.duplicates,
        total_calls: added.total_calls,
        rejected,
        encoding: parsed.encoding.to_owned(),
    })
}

pub async fn add_parsed_contacts(
    ctx: &ServiceContext,
    owner_id: Uuid,
    id: Uuid,
    contacts: Vec<Contact>,
) -> Result<ContactsAdded> {
    let before = duplicates_of(ctx, id).await?.len();
    let count = contacts.len() as u64;
    let command = CampaignCommand::AddContacts {
        contacts,
        at: ctx.clock.now(),
    };
    execute(ctx, owner_id, id, command).await?;
    let duplicates = duplicates_of(ctx, id).await?.split_off(before);
    let campaign = owned(ctx, owner_id, &id.to_string()).await?;
    Ok(ContactsAdded {
        added: count - duplicates.len() as u64,
        duplicates,
        total_calls: campaign.total_calls,
    })
}

/// Starts the campaign now, or at `scheduled_at`. Refused over budget, or when the provider
/// accounts cannot pay for the calls left.
#[tracing::instrument(skip_all, fields(campaign_id = campaign.campaign_id))]
pub async fn start(
    ctx: &ServiceContext,
    campaign: CampaignRef<'_>,
    scheduled_at: Option<DateTime<Utc>>,
) -> Result<CampaignStarted> {
    let record = owned(ctx, campaign.owner_id, campaign.campaign_id).await?;
    let id = parse_id(&record.id)?;
    let now = ctx.clock.now();
    values_at_start(ctx, campaign.owner_id, &record.id).await?;
    if over_budget(
        ctx.store.db().pool(),
        ctx.dialer_view.as_ref(),
        campaign.owner_id,
        now,
    )
    .await?
    {
        return Err(CampaignServiceError::OverBudget);
    }
    if let Some(preflight) = &ctx.preflight
        && record.total_calls > 0
    {
        preflight
            .check_credits(record.total_calls - record.finished_calls)
            .await?;
    }
    let command = match scheduled_at {
        Some(start_at) => CampaignCommand::ScheduleCampaign { start_at, at: now },
        None => CampaignCommand::StartCampaign { at: now },
    };
    execute(ctx, campaign.owner_id, id, command).await?;
    let record = owned(ctx, campaign.owner_id, &record.id).await?;
    Ok(CampaignStarted {
        id,
        status: record.status,
        started_at: record.started_at,
        scheduled_at: record.scheduled_at,
    })
}

/// Pauses a running campaign; calls in progress finish.
pub async fn pause(ctx: &ServiceContext, campaign: CampaignRef<'_>) -> Result<CampaignTransition> {
    transition(ctx, campaign, |at| CampaignCommand::PauseCampaign {
        reason: PauseReason::User,
        at,
    })
    .await
}

/// Resumes a paused campaign.
pub async fn resume(ctx: &ServiceContext, campaign: CampaignRef<'_>) -> Result<CampaignTransition> {
    transition(ctx, campaign, |at| CampaignCommand::ResumeCampaign { at }).await
}

async fn transition(
    ctx: &ServiceContext,
    campaign: CampaignRef<'_>,
    command: impl FnOnce(DateTime<Utc>) -> CampaignCommand,
) -> Result<CampaignTransition> {
    let id = owned_id(ctx, campaign).await?;
    execute(ctx, campaign.owner_id, id, command(ctx.clock.now())).await?;
    let record = owned(ctx, campaign.owner_id, &id.to_string()).await?;
    Ok(CampaignTransition {
        id,
        status: record.status,
        pause_reason: record.pause_reason,
    })
}

/// Cancels the campaign: calls in progress finish, waiting calls are cancelled.
#[tracing::instrument(skip_all, fields(campaign_id = campaign.campaign_id))]
pub async fn cancel(ctx: &ServiceContext, campaign: CampaignRef<'_>) -> Result<CampaignCancelled> {
    let id = owned_id(ctx, campaign).await?;
    let now = ctx.clock.now();
    execute(
        ctx,
        campaign.owner_id,
        id,
        CampaignCommand::CancelCampaign { at: now },
    )
    .await?;
    // Calls waiting for a retry are cancelled now rather than at the dialer's next round, so the
    // answer can count them; calls in progress finish.
    let context = CommandContext::new(campaign.owner_id.to_string());
    let calls = ctx.reads.calls(&id.to_string()).await?;
    for call in calls
        .iter()
        .filter(|c| c.status == CallStatus::Pending && c.has_aggregate)
    {
        let command = CallCommand::CancelCall {
            reason: CancelReason::CampaignCancelled,
            at: now,
        };
        if let Err(err) = ctx.calls.execute(&call.id, command, &context).await {
            tracing::debug!(call = %call.id, error = %err, "call was no longer waiting");
        }
    }
    ctx.settle().await?;
    let calls = ctx.reads.calls(&id.to_string()).await?;
    let progress = Progress::of(&calls);
    Ok(CampaignCancelled {
        id,
        status: CampaignStatus::Cancelled,
        completed_calls: progress.finished - progress.cancelled,
        cancelled_calls: progress.cancelled,
        in_progress_calls: progress.in_progress,
    })
}

/// Deletes a campaign in `DRAFT`, `COMPLETED` or `CANCELLED`; its contacts' data becomes
/// unreadable.
pub async fn delete(ctx: &ServiceContext, campaign: CampaignRef<'_>) -> Result<()> {
    let id = owned_id(ctx, campaign).await?;
    let command = CampaignCommand::DeleteCampaign {
        at: ctx.clock.now(),
    };
    execute(ctx, campaign.owner_id, id, command).await
}

/// A page of the campaign's and its calls' events after `after`, in global order.
pub async fn events(
    ctx: &ServiceContext,
    campaign: CampaignRef<'_>,
    after: Option<i64>,
    limit: Option<i64>,
) -> Result<EventPage> {
    let limit = limit.unwrap_or(DEFAULT_EVENTS_LIMIT);
    if !(1..=MAX_EVENTS_LIMIT).contains(&limit) {
        return Err(CampaignServiceError::InvalidLimit);
    }
    let after = after.unwrap_or(0).max(0);
    ctx.reads
        .campaign(&campaign.owner_id.to_string(), campaign.campaign_id)
        .await?
        .ok_or(CampaignServiceError::NotFound)?;
    let events = campaign_events(ctx, campaign.campaign_id, after, limit).await?;
    let next_after = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| e.position))
        .flatten();
    Ok(EventPage {
        events: events.into_iter().map(AuditEntry::from).collect(),
        next_after,
    })
}

/// The ids of a campaign's calls, from its `ContactsAdded` events.
pub fn call_ids(campaign_events: &[StoredEvent]) -> Vec<String> {
    contacts_added(campaign_events)
        .flat_map(|(contacts, _)| contacts)
        .map(|c| c.call_id.to_string())
        .collect()
}

/// A page of a campaign's and its calls' events after `position`, in global order.
pub async fn campaign_events(
    ctx: &ServiceContext,
    campaign_id: &str,
    position: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let campaign = ctx.store.read_aggregate(campaign_id).await?;
    let mut ids = call_ids(&campaign);
    ids.push(campaign_id.to_owned());
    ctx.store.read_aggregates(&ids, position, limit).await
}

// ----- helpers -------------------------------------------------------------------------------

fn campaign_event(event: &StoredEvent) -> Option<CampaignEvent> {
    if event.aggregate_type != <domain::campaign::Campaign as cqrs_es::Aggregate>::TYPE {
        return None;
    }
    serde_json::from_value(event.payload.clone()).ok()
}

/// What each of a campaign's `ContactsAdded` events added and skipped as duplicates.
fn contacts_added(
    events: &[StoredEvent],
) -> impl Iterator<Item = (Vec<Contact>, Vec<PhoneNumber>)> + '_ {
    events
        .iter()
        .filter_map(campaign_event)
        .filter_map(|event| match event {
            CampaignEvent::ContactsAdded {
                contacts,
                duplicates,
            } => Some((contacts, duplicates)),
            _ => None,
        })
}

/// Numbers the campaign skipped as duplicates, each once, from its events.
async fn duplicates_of(ctx: &ServiceContext, id: Uuid) -> Result<Vec<String>> {
    let events = ctx.store.read_aggregate(&id.to_string()).await?;
    Ok(contacts_added(&events)
        .flat_map(|(_, duplicates)| duplicates)
        .map(|phone| phone.as_str().to_owned())
        .collect())
}

/// Runs a campaign command as the owner, then waits for the read models to show it.
async fn execute(
    ctx: &ServiceContext,
    owner_id: Uuid,
    id: Uuid,
    command: CampaignCommand,
) -> Result<()> {
    let context = CommandContext::new(owner_id.to_string());
    ctx.campaigns
        .execute(&id.to_string(), command, &context)
        .await?;
    ctx.settle().await?;
    Ok(())
}

fn parse_id(id: &str) -> Result<Uuid> {
    id.parse().map_err(|_| CampaignServiceError::NotFound)
}

/// The campaign, if it is the owner's.
async fn owned(ctx: &ServiceContext, owner_id: Uuid, id: &str) -> Result<CampaignRecord> {
    parse_id(id)?;
    ctx.reads
        .campaign(&owner_id.to_string(), id)
        .await?
        .ok_or(CampaignServiceError::NotFound)
}

/// The campaign's id, if it is the owner's.
pub async fn owned_id(ctx: &ServiceContext, campaign: CampaignRef<'_>) -> Result<Uuid> {
    let record = owned(ctx, campaign.owner_id, campaign.campaign_id).await?;
    parse_id(&record.id)
}

#[cfg(test)]
#[path = "campaigns_tests.rs"]
mod tests;
