//! The campaign service's rules that the HTTP tests do not reach: the settings overlay, contact
//! parsing, the ETA and the progress counts.

use chrono::{TimeZone, Utc};
use domain::call::{CallResult, CallStatus};
use domain::campaign::CampaignStatus;
use domain::policy::CampaignSettings;
use serde_json::json;

use super::*;
use crate::accounts::AccountSettings;
use crate::services::campaigns_view::{CallRecord, CampaignRecord, CostSplit, PostCallRecord};

fn account(caller_id: Option<&str>) -> AccountSettings {
    AccountSettings {
        caller_id: caller_id.map(str::to_owned),
        ..AccountSettings::default()
    }
}

fn campaign(status: CampaignStatus, settings: CampaignSettings) -> CampaignRecord {
    CampaignRecord {
        id: "c".into(),
        owner_id: "o".into(),
        name: "n".into(),
        status,
        script_id: "s".into(),
        total_calls: 0,
        finished_calls: 0,
        created_at: String::new(),
        started_at: None,
        completed_at: None,
        cancelled_at: None,
        scheduled_at: None,
        pause_reason: None,
        settings,
    }
}

fn call(status: CallStatus, result: Option<CallResult>, duration: Option<i64>) -> CallRecord {
    CallRecord {
        id: "call".into(),
        campaign_id: "c".into(),
        owner_id: "owner".into(),
        seq: 1,
        phone_number: "+821012345678".into(),
        name: None,
        context: json!({}),
        status,
        result,
        status_reason: None,
        attempts: 0,
        retry_at: None,
        attempt_at: None,
        provider_sid: None,
        has_aggregate: true,
        reported: false,
        duration_secs: duration,
        cost_micros: 0,
        created_at: String::new(),
        updated_at: String::new(),
        post_call: PostCallRecord::default(),
        cost_split: CostSplit::default(),
    }
}

#[test]
fn the_accounts_caller_id_fills_in_unless_the_overlay_names_one() {
    let settings = overlay_settings(&account(Some("+8225550100")), None).unwrap();
    assert_eq!(settings.caller_id.as_deref(), Some("+8225550100"));
    let overlay = json!({ "callerId": "+8225550199" });
    let settings = overlay_settings(&account(Some("+8225550100")), Some(overlay)).unwrap();
    assert_eq!(settings.caller_id.as_deref(), Some("+8225550199"));
}

#[test]
fn an_overlay_merges_key_by_key_into_the_defaults() {
    let overlay =
        json!({ "retry": { "intervalsSeconds": [60] }, "callWindow": { "end": "24:00" } });
    let settings = overlay_settings(&account(None), Some(overlay)).unwrap();
    let defaults = CampaignSettings::default();
    assert_eq!(settings.retry.intervals_seconds, vec![60]);
    assert_eq!(settings.retry.max_retries, defaults.retry.max_retries);
    assert_eq!(settings.call_window.start, defaults.call_window.start);
    assert_eq!(settings.call_window.end.to_string(), "24:00");
}

#[test]
fn an_overlay_that_is_not_an_object_or_not_settings_is_refused() {
    assert!(matches!(
        overlay_settings(&account(None), Some(json!([1]))),
        Err(CampaignServiceError::SettingsNotObject)
    ));
    let err = overlay_settings(&account(None), Some(json!({ "speed": 3 }))).unwrap_err();
    assert!(matches!(err, CampaignServiceError::InvalidSettings(_)));
    assert!(err.to_string().starts_with("settings: "), "{err}");
}

#[test]
fn every_bad_number_is_reported_with_its_index_and_names_are_trimmed() {
    let contacts = vec![
        ContactInput {
            phone_number: "010-1234-5678".into(),
            name: Some("  김철수 ".into()),
            ..ContactInput::default()
        },
        ContactInput {
            phone_number: "nope".into(),
            ..ContactInput::default()
        },
        ContactInput {
            phone_number: "+12025550100".into(),
            ..ContactInput::default()
        },
    ];
    let Err(CampaignServiceError::InvalidPhone { contacts: rejected }) =
        parse_contacts(contacts.clone())
    else {
        panic!("two numbers are bad");
    };
    assert_eq!(
        rejected.iter().map(|r| r.index).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(rejected[1].value, "+12025550100");
    let parsed = parse_contacts(contacts[..1].to_vec()).unwrap();
    assert_eq!(parsed[0].phone.as_str(), "+821012345678");
    assert_eq!(parsed[0].name.as_deref(), Some("김철수"));
    let blank = ContactInput {
        phone_number: "01012345678".into(),
        name: Some("   ".into()),
        ..ContactInput::default()
    };
    assert_eq!(parse_contacts(vec![blank]).unwrap()[0].name, None);
}

#[test]
fn progress_counts_each_status_and_the_success_rate_of_finished_calls() {
    let calls = [
        call(CallStatus::Completed, Some(CallResult::Success), Some(30)),
        call(CallStatus::Completed, Some(CallResult::Declined), Some(30)),
        call(CallStatus::NoAnswer, None, None),
        call(CallStatus::Calling, None, None),
        call(CallStatus::InProgress, None, None),
        call(CallStatus::Pending, None, None),
    ];
    let progress = Progress::count(calls.iter().map(|c| (c.status, c.result)));
    assert_eq!(progress.total, 6);
    assert_eq!(progress.completed, 2);
    assert_eq!(progress.in_progress, 2);
    assert_eq!(progress.pending, 1);
    assert_eq!(progress.no_answer, 1);
    assert_eq!(progress.finished, 3);
    assert!((progress.success_rate - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(Progress::count([]).success_rate, 0.0);
}

#[test]
fn a_campaign_not_under_way_has_no_eta() {
    let now = Utc.with_ymd_and_hms(2026, 2, 5, 3, 0, 0).unwrap(); // 12:00 in Seoul
    let calls = [call(CallStatus::Pending, None, None)];
    let draft = campaign(CampaignStatus::Draft, CampaignSettings::default());
    let eta = eta(&draft, &calls, now);
    assert_eq!(eta.remaining_calls, 1);
    assert_eq!(eta.eta_seconds, 0);
    assert_eq!(eta.estimated_completion_at, None);
}

#[test]
fn the_eta_is_rounds_of_the_average_call_and_waits_for_the_window() {
    let settings = CampaignSettings {
        max_concurrency: 2,
        ..CampaignSettings::default()
    };
    let running = campaign(CampaignStatus::Running, settings);
    let mut calls = vec![
        call(CallStatus::Completed, Some(CallResult::Success), Some(40)),
        call(CallStatus::Completed, Some(CallResult::Success), Some(80)),
    ];
    calls.extend((0..3).map(|_| call(CallStatus::Pending, None, None)));
    // 12:00 in Seoul, inside 09:00–20:00: two rounds of 60 s.
    let noon = Utc.with_ymd_and_hms(2026, 2, 5, 3, 0, 0).unwrap();
    let eta_now = eta(&running, &calls, noon);
    assert_eq!((eta_now.remaining_calls, eta_now.eta_seconds), (3, 120));
    assert_eq!(
        eta_now.estimated_completion_at.as_deref(),
        Some("2026-02-05T03:02:00.000Z")
    );
    // 21:00 in Seoul: twelve hours to 09:00, then the same two rounds.
    let evening = Utc.with_ymd_and_hms(2026, 2, 5, 12, 0, 0).unwrap();
    assert_eq!(eta(&running, &calls, evening).eta_seconds, 12 * 3600 + 120);
}
