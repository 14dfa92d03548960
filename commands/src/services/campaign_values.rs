//! The values a campaign's script needs: the campaign's own (given once at creation), checked
//! with every contact's and the business profile's at creation and again at start, so no call
//! ever starts with a placeholder the agent would read out.

use std::collections::BTreeMap;

use domain::campaign::{Campaign, Contact};
use domain::script::variables::{BUSINESS_NAME, MissingVariable, Sources, missing_across};
use domain::script::{MAX_VARIABLE_CHARS, Script, ScriptContent};
use uuid::Uuid;

use super::ServiceContext;
use super::campaigns::{CampaignServiceError, Result};
use crate::accounts::AccountSettings;
use crate::cqrs;

/// The longest campaign value, in characters.
pub const MAX_VARIABLE_VALUE_CHARS: usize = domain::limits::CAMPAIGN_VARIABLE_VALUE.max;

/// The campaign's values, trimmed; names must be placeholder names and values short texts.
pub(super) fn valid_variables(
    variables: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    domain::limits::CAMPAIGN_VARIABLES.check(variables.len())?;
    let mut valid = BTreeMap::new();
    for (name, value) in variables {
        let name = name.trim().to_owned();
        let is_name = !name.is_empty()
            && name.chars().count() <= MAX_VARIABLE_CHARS
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !is_name {
            return Err(CampaignServiceError::InvalidVariables(format!(
                "{name:?} is not a variable name (letters, digits and _, at most \
                 {MAX_VARIABLE_CHARS} characters)"
            )));
        }
        let value = value.trim().to_owned();
        domain::limits::CAMPAIGN_VARIABLE_VALUE
            .check_at(&format!("variables.{name}"), value.chars().count())?;
        if value.contains(['{', '}']) || domain::limits::has_control_characters(&value) {
            return Err(CampaignServiceError::InvalidVariables(format!(
                "{name}: at most {MAX_VARIABLE_VALUE_CHARS} characters, without {{, }} or \
                 control characters"
            )));
        }
        if !value.is_empty() {
            valid.insert(name, value);
        }
    }
    Ok(valid)
}

/// Refuses a campaign whose script (or the agent's introduction, which names the business)
/// needs a value that some contact has from no source.
pub(super) fn refuse_missing(
    content: &ScriptContent,
    contacts: &[Contact],
    variables: &BTreeMap<String, String>,
    account: &AccountSettings,
) -> Result<()> {
    let business = account.business_profile();
    let sources = contacts.iter().map(|contact| {
        let label = match &contact.name {
            Some(name) => format!("{name} ({})", contact.phone.display()),
            None => contact.phone.display(),
        };
        let sources = Sources {
            contact_name: contact.name.as_deref(),
            contact_context: &contact.context,
            campaign: variables,
            business: &business,
        };
        (label, sources)
    });
    let mut missing = missing_across(content, sources);
    // The agent introduces itself with the business's name, whatever the script says.
    if business.name.is_none()
        && !variables.contains_key(BUSINESS_NAME)
        && !missing.iter().any(|m| m.name == BUSINESS_NAME)
    {
        missing.insert(
            0,
            MissingVariable {
                name: BUSINESS_NAME.to_owned(),
                missing_count: contacts.len().max(1),
                contacts: Vec::new(),
            },
        );
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CampaignServiceError::MissingVariables { missing })
    }
}

/// The same check at start: the business profile may have changed since creation, and contacts
/// may have been added.
pub(super) async fn values_at_start(
    ctx: &ServiceContext,
    owner_id: Uuid,
    campaign_id: &str,
) -> Result<()> {
    let campaign = cqrs::load::<Campaign>(&ctx.store, campaign_id)
        .await?
        .ok_or(CampaignServiceError::NotFound)?;
    let (script_id, version) = campaign.script();
    // The script itself when it is still at the pinned version (the read model may not have
    // caught up with a save made just before); an older version from the read model.
    let script = cqrs::load::<Script>(&ctx.store, &script_id.to_string()).await?;
    let content = match script.filter(|script| script.version() == version) {
        Some(script) => script.content().clone(),
        None => ctx
            .reads
            .script_version(owner_id, script_id, version)
            .await?
            .ok_or(CampaignServiceError::UnknownScript)?,
    };
    let account = AccountSettings::load(ctx.store.db().pool(), &owner_id.to_string()).await?;
    refuse_missing(
        &content,
        campaign.contacts(),
        campaign.variables(),
        &account,
    )
}
