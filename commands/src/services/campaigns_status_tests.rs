//! The dashboard fold: which events cause which frames.

use chrono::Utc;
use cqrs_es::Aggregate;
use domain::PhoneNumber;
use domain::call::{Call, CallEvent, CallResult, CallStatus};
use domain::campaign::{Campaign, CampaignEvent, CampaignStatus, Contact};
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::EventMetadata;

fn stored(
    position: i64,
    aggregate_type: &str,
    aggregate_id: &str,
    payload: serde_json::Value,
) -> StoredEvent {
    StoredEvent {
        position,
        event_id: Uuid::now_v7(),
        aggregate_type: aggregate_type.to_owned(),
        aggregate_id: aggregate_id.to_owned(),
        sequence: position,
        event_type: String::new(),
        event_version: "1.0".to_owned(),
        payload,
        metadata: EventMetadata::default(),
        recorded_at: Utc::now(),
    }
}

fn campaign_event(position: i64, id: &str, event: CampaignEvent) -> StoredEvent {
    stored(
        position,
        Campaign::TYPE,
        id,
        serde_json::to_value(event).unwrap(),
    )
}

fn call_event(position: i64, id: Uuid, event: CallEvent) -> StoredEvent {
    stored(
        position,
        Call::TYPE,
        &id.to_string(),
        serde_json::to_value(event).unwrap(),
    )
}

fn contacts_added(position: i64, campaign: &str, calls: &[Uuid]) -> StoredEvent {
    let contacts = calls
        .iter()
        .map(|call_id| Contact {
            call_id: *call_id,
            phone: PhoneNumber::parse_kr("01012345678").unwrap(),
            name: None,
            context: Default::default(),
        })
        .collect();
    campaign_event(
        position,
        campaign,
        CampaignEvent::ContactsAdded {
            contacts,
            duplicates: vec![],
        },
    )
}

fn status_of(frame: &Frame) -> &StatusFrame {
    match &frame.data {
        FrameData::Status(status) => status,
        other => panic!("not a status frame: {other:?}"),
    }
}

#[test]
fn contacts_change_the_progress_and_the_snapshot_carries_the_last_position() {
    let campaign = Uuid::now_v7().to_string();
    let mut dashboard = Dashboard::new(&campaign);
    let frames = dashboard.apply(&contacts_added(
        7,
        &campaign,
        &[Uuid::now_v7(), Uuid::now_v7()],
    ));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].event(), "status");
    assert_eq!(status_of(&frames[0]).progress.pending, 2);
    let snapshot = dashboard.snapshot();
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].id, 7);
    assert_eq!(snapshot[0].json()["status"], "DRAFT");
}

#[test]
fn a_completed_call_sends_its_update_then_the_new_progress() {
    let campaign = Uuid::now_v7().to_string();
    let call = Uuid::now_v7();
    let mut dashboard = Dashboard::new(&campaign);
    dashboard.apply(&contacts_added(1, &campaign, &[call]));
    let started = CampaignEvent::CampaignStarted {
        started_at: Utc::now(),
    };
    let frames = dashboard.apply(&campaign_event(2, &campaign, started));
    assert_eq!(status_of(&frames[0]).status, CampaignStatus::Running);
    let completed = CallEvent::CallCompleted {
        result: CallResult::Success,
        duration_secs: 45,
        completed_at: Utc::now(),
    };
    let frames = dashboard.apply(&call_event(3, call, completed));
    let events: Vec<&str> = frames.iter().map(Frame::event).collect();
    assert_eq!(events, ["call_update", "status"]);
    assert_eq!(
        frames[0].json(),
        json!({ "callId": call.to_string(), "status": "COMPLETED", "result": "SUCCESS", "duration": 45, "attempts": 0 })
    );
    assert_eq!(status_of(&frames[1]).progress.success_rate, 1.0);
    // Another campaign's call changes nothing here.
    let other = CallEvent::CallAnswered {
        attempt: 1,
        answered_at: Utc::now(),
    };
    assert!(
        dashboard
            .apply(&call_event(4, Uuid::now_v7(), other))
            .is_empty()
    );
}

#[test]
fn cancelling_cancels_the_contacts_never_dialed_and_completes_the_stream() {
    let campaign = Uuid::now_v7().to_string();
    let mut dashboard = Dashboard::new(&campaign);
    dashboard.apply(&contacts_added(1, &campaign, &[Uuid::now_v7()]));
    let cancelled = CampaignEvent::CampaignCancelled {
        cancelled_at: Utc::now(),
    };
    let frames = dashboard.apply(&campaign_event(2, &campaign, cancelled));
    let events: Vec<&str> = frames.iter().map(Frame::event).collect();
    assert_eq!(events, ["status", "completed"]);
    assert_eq!(status_of(&frames[0]).progress.cancelled, 1);
    assert_eq!(frames[1].json()["summary"]["cancelled"], 1);
    assert_eq!(
        dashboard.snapshot().len(),
        2,
        "an ended campaign's snapshot says so"
    );
    assert_eq!(
        dashboard.calls.values().next().map(|c| c.frame.status),
        Some(CallStatus::Cancelled)
    );
}
