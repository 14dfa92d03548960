use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::DomainEvent;
use cqrs_es::test::TestFramework;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::PhoneNumber;
use crate::policy::{CampaignSettings, SettingsError};

type Fixture = TestFramework<Campaign>;

const OWNER: Uuid = Uuid::from_u128(0x0A);
const SCRIPT: Uuid = Uuid::from_u128(0x5C);

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, minute, 0).unwrap()
}

fn call(n: u128) -> Uuid {
    Uuid::from_u128(0xCA11_0000 + n)
}

fn phone(nn: u32) -> PhoneNumber {
    PhoneNumber::parse_kr(&format!("010-5550-01{nn:02}")).unwrap()
}

/// Contact `n` calls sandbox number `n`.
fn contact(n: u32) -> Contact {
    contact_with_phone(n, n)
}

fn contact_with_phone(n: u32, nn: u32) -> Contact {
    let mut context = serde_json::Map::new();
    context.insert("예약시간".to_owned(), json!("14:00"));
    Contact {
        call_id: call(u128::from(n)),
        phone: phone(nn),
        name: Some(format!("고객{n}")),
        context,
    }
}

fn create(contacts: Vec<Contact>) -> CampaignCommand {
    CampaignCommand::CreateCampaign {
        owner_id: OWNER,
        name: "내일 예약 확인".to_owned(),
        script_id: SCRIPT,
        script_version: 2,
        settings: CampaignSettings::default(),
        contacts,
        at: t(0),
    }
}

fn created() -> CampaignEvent {
    CampaignEvent::CampaignCreated {
        owner_id: OWNER,
        name: "내일 예약 확인".to_owned(),
        script_id: SCRIPT,
        script_version: 2,
        settings: CampaignSettings::default(),
        created_at: t(0),
    }
}

fn added(contacts: Vec<Contact>) -> CampaignEvent {
    CampaignEvent::ContactsAdded {
        contacts,
        duplicates: vec![],
    }
}

fn draft_with_two() -> Vec<CampaignEvent> {
    vec![created(), added(vec![contact(1), contact(2)])]
}

fn running_with_two() -> Vec<CampaignEvent> {
    let mut events = draft_with_two();
    events.push(CampaignEvent::CampaignStarted { started_at: t(1) });
    events
}

fn paused_with_two() -> Vec<CampaignEvent> {
    let mut events = running_with_two();
    events.push(CampaignEvent::CampaignPaused {
        reason: PauseReason::User,
        paused_at: t(2),
    });
    events
}

fn with(mut events: Vec<CampaignEvent>, more: CampaignEvent) -> Vec<CampaignEvent> {
    events.push(more);
    events
}

fn finished(n: u128) -> CampaignEvent {
    CampaignEvent::CampaignCallFinished { call_id: call(n) }
}

fn completed_with_two() -> Vec<CampaignEvent> {
    let mut events = running_with_two();
    events.extend([
        finished(1),
        finished(2),
        CampaignEvent::CampaignCompleted { completed_at: t(9) },
    ]);
    events
}

fn cancelled_with_two() -> Vec<CampaignEvent> {
    with(
        running_with_two(),
        CampaignEvent::CampaignCancelled { cancelled_at: t(3) },
    )
}

fn every_command() -> Vec<CampaignCommand> {
    vec![
        create(vec![]),
        CampaignCommand::AddContacts {
            contacts: vec![contact(3)],
            at: t(5),
        },
        CampaignCommand::StartCampaign { at: t(5) },
        CampaignCommand::ScheduleCampaign {
            start_at: t(30),
            at: t(5),
        },
        CampaignCommand::PauseCampaign {
            reason: PauseReason::User,
            at: t(5),
        },
        CampaignCommand::ResumeCampaign { at: t(5) },
        CampaignCommand::RecordCallFinished {
            call_id: call(1),
            at: t(5),
        },
        CampaignCommand::CancelCampaign { at: t(5) },
        CampaignCommand::DeleteCampaign { at: t(5) },
    ]
}

// --- CreateCampaign ---

#[test]
fn creating_a_campaign_without_contacts_records_only_the_draft() {
    Fixture::with(())
        .given_no_previous_events()
        .when(create(vec![]))
        .then_expect_events(vec![created()]);
}

#[test]
fn creating_a_campaign_with_contacts_adds_them_and_reports_duplicates_once() {
    let repeated = contact_with_phone(3, 1);
    let repeated_again = contact_with_phone(4, 1);
    Fixture::with(())
        .given_no_previous_events()
        .when(create(vec![
            contact(1),
            contact(2),
            repeated,
            repeated_again,
        ]))
        .then_expect_events(vec![
            created(),
            CampaignEvent::ContactsAdded {
                contacts: vec![contact(1), contact(2)],
                duplicates: vec![phone(1)],
            },
        ]);
}

#[test]
fn creating_a_campaign_twice_is_refused() {
    Fixture::with(())
        .given(vec![created()])
        .when(create(vec![]))
        .then_expect_error(CampaignError::AlreadyExists);
}

#[test]
fn creating_a_campaign_with_a_blank_name_is_refused() {
    let mut command = create(vec![]);
    if let CampaignCommand::CreateCampaign { name, .. } = &mut command {
        *name = "  ".to_owned();
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(CampaignError::InvalidName);
}

#[test]
fn creating_a_campaign_with_an_overlong_name_is_refused() {
    let mut command = create(vec![]);
    if let CampaignCommand::CreateCampaign { name, .. } = &mut command {
        *name = "캠".repeat(201);
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(CampaignError::InvalidName);
}

#[test]
fn creating_a_campaign_with_invalid_settings_is_refused() {
    let mut command = create(vec![]);
    if let CampaignCommand::CreateCampaign { settings, .. } = &mut command {
        settings.max_concurrency = 0;
    }
    Fixture::with(())
        .given_no_previous_events()
        .when(command)
        .then_expect_error(CampaignError::InvalidSettings(
            SettingsError::ConcurrencyOutOfRange { value: 0 },
        ));
}

#[test]
fn creating_a_campaign_with_a_repeated_call_id_is_refused() {
    let mut clash = contact(2);
    clash.call_id = call(1);
    Fixture::with(())
        .given_no_previous_events()
        .when(create(vec![contact(1), clash]))
        .then_expect_error(CampaignError::DuplicateCallId { call_id: call(1) });
}

#[test]
fn creating_a_deleted_campaign_again_is_refused_as_not_found() {
    Fixture::with(())
        .given(vec![
            created(),
            CampaignEvent::CampaignDeleted { deleted_at: t(1) },
        ])
        .when(create(vec![]))
        .then_expect_error(CampaignError::NotFound);
}

// --- AddContacts ---

#[test]
fn adding_contacts_to_a_draft_skips_numbers_already_present() {
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::AddContacts {
            contacts: vec![
                contact_with_phone(3, 2),
                contact(4),
                contact_with_phone(5, 4),
            ],
            at: t(5),
        })
        .then_expect_events(vec![CampaignEvent::ContactsAdded {
            contacts: vec![contact(4)],
            duplicates: vec![phone(2), phone(4)],
        }]);
}

#[test]
fn adding_only_known_numbers_reports_them_as_duplicates() {
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::AddContacts {
            contacts: vec![contact_with_phone(3, 1), contact_with_phone(4, 1)],
            at: t(5),
        })
        .then_expect_events(vec![CampaignEvent::ContactsAdded {
            contacts: vec![],
            duplicates: vec![phone(1)],
        }]);
}

#[test]
fn adding_a_contact_whose_call_id_is_taken_is_refused() {
    let mut clash = contact(3);
    clash.call_id = call(1);
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::AddContacts {
            contacts: vec![clash],
            at: t(5),
        })
        .then_expect_error(CampaignError::DuplicateCallId { call_id: call(1) });
}

#[test]
fn adding_an_empty_batch_is_refused() {
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::AddContacts {
            contacts: vec![],
            at: t(5),
        })
        .then_expect_error(CampaignError::NoContacts);
}

#[test]
fn adding_contacts_to_a_running_campaign_is_refused() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::AddContacts {
            contacts: vec![contact(3)],
            at: t(5),
        })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Running,
        });
}

// --- StartCampaign ---

#[test]
fn starting_a_draft_with_contacts_starts_it() {
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::StartCampaign { at: t(1) })
        .then_expect_events(vec![CampaignEvent::CampaignStarted { started_at: t(1) }]);
}

#[test]
fn starting_a_scheduled_campaign_starts_it() {
    Fixture::with(())
        .given(with(
            draft_with_two(),
            CampaignEvent::CampaignScheduled { start_at: t(30) },
        ))
        .when(CampaignCommand::StartCampaign { at: t(30) })
        .then_expect_events(vec![CampaignEvent::CampaignStarted { started_at: t(30) }]);
}

#[test]
fn starting_a_draft_without_contacts_is_refused() {
    Fixture::with(())
        .given(vec![created()])
        .when(CampaignCommand::StartCampaign { at: t(1) })
        .then_expect_error(CampaignError::NoContacts);
}

#[test]
fn starting_a_running_campaign_is_refused() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::StartCampaign { at: t(2) })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Running,
        });
}

#[test]
fn starting_a_completed_campaign_is_refused() {
    Fixture::with(())
        .given(completed_with_two())
        .when(CampaignCommand::StartCampaign { at: t(10) })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Completed,
        });
}

// --- ScheduleCampaign ---

#[test]
fn scheduling_a_draft_for_later_schedules_it() {
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::ScheduleCampaign {
            start_at: t(30),
            at: t(1),
        })
        .then_expect_events(vec![CampaignEvent::CampaignScheduled { start_at: t(30) }]);
}

#[test]
fn scheduling_for_now_or_earlier_is_refused() {
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::ScheduleCampaign {
            start_at: t(1),
            at: t(1),
        })
        .then_expect_error(CampaignError::ScheduleInPast);
}

#[test]
fn scheduling_a_draft_without_contacts_is_refused() {
    Fixture::with(())
        .given(vec![created()])
        .when(CampaignCommand::ScheduleCampaign {
            start_at: t(30),
            at: t(1),
        })
        .then_expect_error(CampaignError::NoContacts);
}

#[test]
fn scheduling_a_scheduled_campaign_again_is_refused() {
    Fixture::with(())
        .given(with(
            draft_with_two(),
            CampaignEvent::CampaignScheduled { start_at: t(30) },
        ))
        .when(CampaignCommand::ScheduleCampaign {
            start_at: t(40),
            at: t(2),
        })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Scheduled,
        });
}

// --- PauseCampaign / ResumeCampaign ---

#[test]
fn pausing_a_running_campaign_records_the_reason() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::PauseCampaign {
            reason: PauseReason::User,
            at: t(2),
        })
        .then_expect_events(vec![CampaignEvent::CampaignPaused {
            reason: PauseReason::User,
            paused_at: t(2),
        }]);
}

#[test]
fn a_campaign_over_budget_pauses_with_budget_exceeded() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::PauseCampaign {
            reason: PauseReason::BudgetExceeded,
            at: t(2),
        })
        .then_expect_events(vec![CampaignEvent::CampaignPaused {
            reason: PauseReason::BudgetExceeded,
            paused_at: t(2),
        }]);
}

#[test]
fn pausing_a_draft_is_refused() {
    Fixture::with(())
        .given(draft_with_two())
        .when(CampaignCommand::PauseCampaign {
            reason: PauseReason::User,
            at: t(2),
        })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Draft,
        });
}

#[test]
fn resuming_a_paused_campaign_runs_it_again() {
    Fixture::with(())
        .given(paused_with_two())
        .when(CampaignCommand::ResumeCampaign { at: t(3) })
        .then_expect_events(vec![CampaignEvent::CampaignResumed { resumed_at: t(3) }]);
}

#[test]
fn resuming_a_running_campaign_is_refused() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::ResumeCampaign { at: t(3) })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Running,
        });
}

// --- RecordCallFinished ---

#[test]
fn a_finished_call_is_recorded_while_others_remain() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::RecordCallFinished {
            call_id: call(1),
            at: t(4),
        })
        .then_expect_events(vec![finished(1)]);
}

#[test]
fn the_last_finished_call_completes_a_running_campaign() {
    Fixture::with(())
        .given(with(running_with_two(), finished(1)))
        .when(CampaignCommand::RecordCallFinished {
            call_id: call(2),
            at: t(9),
        })
        .then_expect_events(vec![
            finished(2),
            CampaignEvent::CampaignCompleted { completed_at: t(9) },
        ]);
}

#[test]
fn the_last_finished_call_completes_a_paused_campaign() {
    Fixture::with(())
        .given(with(paused_with_two(), finished(2)))
        .when(CampaignCommand::RecordCallFinished {
            call_id: call(1),
            at: t(9),
        })
        .then_expect_events(vec![
            finished(1),
            CampaignEvent::CampaignCompleted { completed_at: t(9) },
        ]);
}

#[test]
fn a_call_reported_finished_twice_records_nothing_the_second_time() {
    Fixture::with(())
        .given(with(running_with_two(), finished(1)))
        .when(CampaignCommand::RecordCallFinished {
            call_id: call(1),
            at: t(5),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_call_of_another_campaign_is_refused() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::RecordCallFinished {
            call_id: call(99),
            at: t(5),
        })
        .then_expect_error(CampaignError::UnknownCall { call_id: call(99) });
}

#[test]
fn calls_finishing_after_cancel_are_recorded_but_never_complete_it() {
    Fixture::with(())
        .given(with(cancelled_with_two(), finished(1)))
        .when(CampaignCommand::RecordCallFinished {
            call_id: call(2),
            at: t(9),
        })
        .then_expect_events(vec![finished(2)]);
}

#[test]
fn a_call_finishing_in_a_draft_does_not_complete_it() {
    Fixture::with(())
        .given(vec![created(), added(vec![contact(1)])])
        .when(CampaignCommand::RecordCallFinished {
            call_id: call(1),
            at: t(9),
        })
        .then_expect_events(vec![finished(1)]);
}

// --- CancelCampaign ---

#[test]
fn cancelling_a_running_campaign_cancels_it() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::CancelCampaign { at: t(3) })
        .then_expect_events(vec![CampaignEvent::CampaignCancelled {
            cancelled_at: t(3),
        }]);
}

#[test]
fn cancelling_a_draft_paused_or_scheduled_campaign_cancels_it() {
    let scheduled = with(
        draft_with_two(),
        CampaignEvent::CampaignScheduled { start_at: t(30) },
    );
    for given in [draft_with_two(), paused_with_two(), scheduled] {
        Fixture::with(())
            .given(given)
            .when(CampaignCommand::CancelCampaign { at: t(3) })
            .then_expect_events(vec![CampaignEvent::CampaignCancelled {
                cancelled_at: t(3),
            }]);
    }
}

#[test]
fn cancelling_a_completed_campaign_is_refused() {
    Fixture::with(())
        .given(completed_with_two())
        .when(CampaignCommand::CancelCampaign { at: t(10) })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Completed,
        });
}

#[test]
fn cancelling_a_cancelled_campaign_is_refused() {
    Fixture::with(())
        .given(cancelled_with_two())
        .when(CampaignCommand::CancelCampaign { at: t(10) })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Cancelled,
        });
}

// --- DeleteCampaign ---

#[test]
fn deleting_a_draft_completed_or_cancelled_campaign_deletes_it() {
    for given in [draft_with_two(), completed_with_two(), cancelled_with_two()] {
        Fixture::with(())
            .given(given)
            .when(CampaignCommand::DeleteCampaign { at: t(20) })
            .then_expect_events(vec![CampaignEvent::CampaignDeleted { deleted_at: t(20) }]);
    }
}

#[test]
fn deleting_a_running_campaign_is_refused() {
    Fixture::with(())
        .given(running_with_two())
        .when(CampaignCommand::DeleteCampaign { at: t(20) })
        .then_expect_error(CampaignError::InvalidState {
            state: CampaignStatus::Running,
        });
}

#[test]
fn deleting_a_paused_or_scheduled_campaign_is_refused() {
    let scheduled = with(
        draft_with_two(),
        CampaignEvent::CampaignScheduled { start_at: t(30) },
    );
    for (given, state) in [
        (paused_with_two(), CampaignStatus::Paused),
        (scheduled, CampaignStatus::Scheduled),
    ] {
        Fixture::with(())
            .given(given)
            .when(CampaignCommand::DeleteCampaign { at: t(20) })
            .then_expect_error(CampaignError::InvalidState { state });
    }
}

// --- Existence ---

#[test]
fn every_command_but_create_before_creation_is_refused_as_not_found() {
    for command in every_command().into_iter().skip(1) {
        Fixture::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(CampaignError::NotFound);
    }
}

#[test]
fn every_command_after_deletion_is_refused_as_not_found() {
    for command in every_command() {
        Fixture::with(())
            .given(with(
                draft_with_two(),
                CampaignEvent::CampaignDeleted { deleted_at: t(20) },
            ))
            .when(command)
            .then_expect_error(CampaignError::NotFound);
    }
}

// --- Wire format ---

#[test]
fn statuses_and_pause_reasons_use_screaming_snake_case() {
    assert_eq!(
        serde_json::to_value(CampaignStatus::Running).unwrap(),
        json!("RUNNING")
    );
    assert_eq!(CampaignStatus::Cancelled.to_string(), "CANCELLED");
    assert_eq!(
        serde_json::to_value(PauseReason::BudgetExceeded).unwrap(),
        json!("BUDGET_EXCEEDED")
    );
    assert!(CampaignStatus::Completed.is_final());
    assert!(CampaignStatus::Cancelled.is_final());
    assert!(!CampaignStatus::Paused.is_final());
}

#[test]
fn campaign_events_have_stable_names_and_externally_tagged_json() {
    let event = CampaignEvent::CampaignPaused {
        reason: PauseReason::BudgetExceeded,
        paused_at: t(2),
    };
    assert_eq!(event.event_type(), "CampaignPaused");
    assert_eq!(event.event_version(), "1.0");
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({ "CampaignPaused": { "reason": "BUDGET_EXCEEDED", "paused_at": "2025-03-01T09:02:00Z" } })
    );
    let contacts = added(vec![contact(1)]);
    let value = serde_json::to_value(&contacts).unwrap();
    assert_eq!(
        value["ContactsAdded"]["contacts"][0]["phone"],
        json!("+821055500101")
    );
    let back: CampaignEvent = serde_json::from_value(value).unwrap();
    assert_eq!(back, contacts);
}

#[test]
fn the_aggregate_exposes_what_the_dialer_needs() {
    let mut campaign = Campaign::default();
    for event in running_with_two() {
        cqrs_es::Aggregate::apply(&mut campaign, event);
    }
    assert_eq!(campaign.status(), Some(CampaignStatus::Running));
    assert_eq!(campaign.contacts().len(), 2);
    assert_eq!(campaign.script(), (SCRIPT, 2));
    assert_eq!(campaign.name(), "내일 예약 확인");
    assert_eq!(campaign.owner_id(), OWNER);
    assert_eq!(campaign.settings(), &CampaignSettings::default());
    assert!(!campaign.is_call_finished(call(1)));
    assert!(!campaign.is_deleted());
}
