//! Given/when/then tables of a campaign's life: creation, contacts, start, pause, finish, cancel.

use cqrs_es::DomainEvent;
use serde_json::json;
use uuid::Uuid;

use super::*;
use crate::PhoneNumber;
use crate::policy::{CampaignSettings, SettingsError};
use crate::testing::{Then, and, check, check_all, json_of, replay, t};

const OWNER: Uuid = Uuid::from_u128(0x0A);
const SCRIPT: Uuid = Uuid::from_u128(0x5C);

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
        variables: Default::default(),
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
        variables: Default::default(),
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
    and(
        draft_with_two(),
        [CampaignEvent::CampaignStarted { started_at: t(1) }],
    )
}

fn scheduled_with_two() -> Vec<CampaignEvent> {
    and(
        draft_with_two(),
        [CampaignEvent::CampaignScheduled { start_at: t(30) }],
    )
}

fn paused_with_two() -> Vec<CampaignEvent> {
    let paused = CampaignEvent::CampaignPaused {
        reason: PauseReason::User,
        paused_at: t(2),
    };
    and(running_with_two(), [paused])
}

fn finished(n: u128) -> CampaignEvent {
    CampaignEvent::CampaignCallFinished { call_id: call(n) }
}

fn completed_with_two() -> Vec<CampaignEvent> {
    let completed = CampaignEvent::CampaignCompleted { completed_at: t(9) };
    and(running_with_two(), [finished(1), finished(2), completed])
}

fn cancelled_with_two() -> Vec<CampaignEvent> {
    let cancelled = CampaignEvent::CampaignCancelled { cancelled_at: t(3) };
    and(running_with_two(), [cancelled])
}

fn add(contacts: Vec<Contact>) -> CampaignCommand {
    CampaignCommand::AddContacts { contacts, at: t(5) }
}

fn schedule(start_at: i64, at: i64) -> CampaignCommand {
    CampaignCommand::ScheduleCampaign {
        start_at: t(start_at),
        at: t(at),
    }
}

fn pause(reason: PauseReason, at: i64) -> CampaignCommand {
    CampaignCommand::PauseCampaign { reason, at: t(at) }
}

fn call_finished(n: u128, at: i64) -> CampaignCommand {
    let call_id = call(n);
    CampaignCommand::RecordCallFinished { call_id, at: t(at) }
}

/// The refusal of a command the campaign's `state` does not allow.
fn invalid(state: CampaignStatus) -> Then<Campaign> {
    Err(CampaignError::InvalidState { state })
}

/// `create` with its name replaced.
fn create_named(name: String) -> CampaignCommand {
    let mut command = create(vec![]);
    if let CampaignCommand::CreateCampaign { name: named, .. } = &mut command {
        *named = name;
    }
    command
}

fn every_command() -> Vec<CampaignCommand> {
    vec![
        create(vec![]),
        add(vec![contact(3)]),
        CampaignCommand::StartCampaign { at: t(5) },
        schedule(30, 5),
        pause(PauseReason::User, 5),
        CampaignCommand::ResumeCampaign { at: t(5) },
        call_finished(1, 5),
        CampaignCommand::CancelCampaign { at: t(5) },
        CampaignCommand::DeleteCampaign { at: t(5) },
    ]
}

#[test]
fn create_campaign() {
    let mut clash = contact(2);
    clash.call_id = call(1);
    let mut invalid_settings = create(vec![]);
    if let CampaignCommand::CreateCampaign { settings, .. } = &mut invalid_settings {
        settings.max_concurrency = 0;
    }
    let deleted = CampaignEvent::CampaignDeleted { deleted_at: t(1) };
    let four = vec![
        contact(1),
        contact(2),
        contact_with_phone(3, 1),
        contact_with_phone(4, 1),
    ];
    let two_and_a_duplicate = CampaignEvent::ContactsAdded {
        contacts: vec![contact(1), contact(2)],
        duplicates: vec![phone(1)],
    };
    check_all::<Campaign>([
        (
            "creating_a_campaign_without_contacts_records_only_the_draft",
            vec![],
            create(vec![]),
            Ok(vec![created()]),
        ),
        (
            "creating_a_campaign_with_contacts_adds_them_and_reports_duplicates_once",
            vec![],
            create(four),
            Ok(vec![created(), two_and_a_duplicate]),
        ),
        (
            "creating_a_campaign_twice_is_refused",
            vec![created()],
            create(vec![]),
            Err(CampaignError::AlreadyExists),
        ),
        (
            "creating_a_campaign_with_a_blank_name_is_refused",
            vec![],
            create_named("  ".to_owned()),
            Err(CampaignError::InvalidName),
        ),
        (
            "creating_a_campaign_with_an_overlong_name_is_refused",
            vec![],
            create_named("캠".repeat(201)),
            Err(CampaignError::InvalidName),
        ),
        (
            "creating_a_campaign_with_invalid_settings_is_refused",
            vec![],
            invalid_settings,
            Err(CampaignError::InvalidSettings(
                SettingsError::ConcurrencyOutOfRange { value: 0 },
            )),
        ),
        (
            "creating_a_campaign_with_a_repeated_call_id_is_refused",
            vec![],
            create(vec![contact(1), clash]),
            Err(CampaignError::DuplicateCallId { call_id: call(1) }),
        ),
        (
            "creating_a_deleted_campaign_again_is_refused_as_not_found",
            vec![created(), deleted],
            create(vec![]),
            Err(CampaignError::NotFound),
        ),
    ]);
}

#[test]
fn add_contacts() {
    let mut clash = contact(3);
    clash.call_id = call(1);
    let three = vec![
        contact_with_phone(3, 2),
        contact(4),
        contact_with_phone(5, 4),
    ];
    let only_known = vec![contact_with_phone(3, 1), contact_with_phone(4, 1)];
    check_all::<Campaign>([
        (
            "adding_contacts_to_a_draft_skips_numbers_already_present",
            draft_with_two(),
            add(three),
            Ok(vec![CampaignEvent::ContactsAdded {
                contacts: vec![contact(4)],
                duplicates: vec![phone(2), phone(4)],
            }]),
        ),
        (
            "adding_only_known_numbers_reports_them_as_duplicates",
            draft_with_two(),
            add(only_known),
            Ok(vec![CampaignEvent::ContactsAdded {
                contacts: vec![],
                duplicates: vec![phone(1)],
            }]),
        ),
        (
            "adding_a_contact_whose_call_id_is_taken_is_refused",
            draft_with_two(),
            add(vec![clash]),
            Err(CampaignError::DuplicateCallId { call_id: call(1) }),
        ),
        (
            "adding_an_empty_batch_is_refused",
            draft_with_two(),
            add(vec![]),
            Err(CampaignError::NoContacts),
        ),
        (
            "adding_contacts_to_a_running_campaign_is_refused",
            running_with_two(),
            add(vec![contact(3)]),
            invalid(CampaignStatus::Running),
        ),
    ]);
}

#[test]
fn start_and_schedule_campaign() {
    use CampaignStatus::*;
    let start = |minute| CampaignCommand::StartCampaign { at: t(minute) };
    let started = |minute| {
        Ok(vec![CampaignEvent::CampaignStarted {
            started_at: t(minute),
        }])
    };
    check_all::<Campaign>([
        (
            "starting_a_draft_with_contacts_starts_it",
            draft_with_two(),
            start(1),
            started(1),
        ),
        (
            "starting_a_scheduled_campaign_starts_it",
            scheduled_with_two(),
            start(30),
            started(30),
        ),
        (
            "starting_a_draft_without_contacts_is_refused",
            vec![created()],
            start(1),
            Err(CampaignError::NoContacts),
        ),
        (
            "starting_a_running_campaign_is_refused",
            running_with_two(),
            start(2),
            invalid(Running),
        ),
        (
            "starting_a_completed_campaign_is_refused",
            completed_with_two(),
            start(10),
            invalid(Completed),
        ),
        (
            "scheduling_a_draft_for_later_schedules_it",
            draft_with_two(),
            schedule(30, 1),
            Ok(vec![CampaignEvent::CampaignScheduled { start_at: t(30) }]),
        ),
        (
            "scheduling_for_now_or_earlier_is_refused",
            draft_with_two(),
            schedule(1, 1),
            Err(CampaignError::ScheduleInPast),
        ),
        (
            "scheduling_a_draft_without_contacts_is_refused",
            vec![created()],
            schedule(30, 1),
            Err(CampaignError::NoContacts),
        ),
        (
            "scheduling_a_scheduled_campaign_again_is_refused",
            scheduled_with_two(),
            schedule(40, 2),
            invalid(Scheduled),
        ),
    ]);
}

#[test]
fn pause_and_resume_campaign() {
    use PauseReason::*;
    let paused = |reason| {
        let paused_at = t(2);
        Ok(vec![CampaignEvent::CampaignPaused { reason, paused_at }])
    };
    let resume = CampaignCommand::ResumeCampaign { at: t(3) };
    let resumed = CampaignEvent::CampaignResumed { resumed_at: t(3) };
    check_all::<Campaign>([
        (
            "pausing_a_running_campaign_records_the_reason",
            running_with_two(),
            pause(User, 2),
            paused(User),
        ),
        (
            "a_campaign_over_budget_pauses_with_budget_exceeded",
            running_with_two(),
            pause(BudgetExceeded, 2),
            paused(BudgetExceeded),
        ),
        (
            "pausing_a_draft_is_refused",
            draft_with_two(),
            pause(User, 2),
            invalid(CampaignStatus::Draft),
        ),
        (
            "resuming_a_paused_campaign_runs_it_again",
            paused_with_two(),
            resume.clone(),
            Ok(vec![resumed]),
        ),
        (
            "resuming_a_running_campaign_is_refused",
            running_with_two(),
            resume,
            invalid(CampaignStatus::Running),
        ),
    ]);
}

#[test]
fn record_call_finished() {
    let completed = CampaignEvent::CampaignCompleted { completed_at: t(9) };
    check_all::<Campaign>([
        (
            "a_finished_call_is_recorded_while_others_remain",
            running_with_two(),
            call_finished(1, 4),
            Ok(vec![finished(1)]),
        ),
        (
            "the_last_finished_call_completes_a_running_campaign",
            and(running_with_two(), [finished(1)]),
            call_finished(2, 9),
            Ok(vec![finished(2), completed.clone()]),
        ),
        (
            "the_last_finished_call_completes_a_paused_campaign",
            and(paused_with_two(), [finished(2)]),
            call_finished(1, 9),
            Ok(vec![finished(1), completed]),
        ),
        (
            "a_call_reported_finished_twice_records_nothing_the_second_time",
            and(running_with_two(), [finished(1)]),
            call_finished(1, 5),
            Ok(vec![]),
        ),
        (
            "a_call_of_another_campaign_is_refused",
            running_with_two(),
            call_finished(99, 5),
            Err(CampaignError::UnknownCall { call_id: call(99) }),
        ),
        (
            "calls_finishing_after_cancel_are_recorded_but_never_complete_it",
            and(cancelled_with_two(), [finished(1)]),
            call_finished(2, 9),
            Ok(vec![finished(2)]),
        ),
        (
            "a_call_finishing_in_a_draft_does_not_complete_it",
            vec![created(), added(vec![contact(1)])],
            call_finished(1, 9),
            Ok(vec![finished(1)]),
        ),
    ]);
}

#[test]
fn cancel_and_delete_campaign() {
    use CampaignStatus::*;
    let cancel = |minute| CampaignCommand::CancelCampaign { at: t(minute) };
    let cancelled = || {
        Ok(vec![CampaignEvent::CampaignCancelled {
            cancelled_at: t(3),
        }])
    };
    let delete = || CampaignCommand::DeleteCampaign { at: t(20) };
    let deleted = || Ok(vec![CampaignEvent::CampaignDeleted { deleted_at: t(20) }]);
    check_all::<Campaign>([
        (
            "cancelling_a_running_campaign_cancels_it",
            running_with_two(),
            cancel(3),
            cancelled(),
        ),
        (
            "cancelling_a_draft_campaign_cancels_it",
            draft_with_two(),
            cancel(3),
            cancelled(),
        ),
        (
            "cancelling_a_paused_campaign_cancels_it",
            paused_with_two(),
            cancel(3),
            cancelled(),
        ),
        (
            "cancelling_a_scheduled_campaign_cancels_it",
            scheduled_with_two(),
            cancel(3),
            cancelled(),
        ),
        (
            "cancelling_a_completed_campaign_is_refused",
            completed_with_two(),
            cancel(10),
            invalid(Completed),
        ),
        (
            "cancelling_a_cancelled_campaign_is_refused",
            cancelled_with_two(),
            cancel(10),
            invalid(Cancelled),
        ),
        (
            "deleting_a_draft_campaign_deletes_it",
            draft_with_two(),
            delete(),
            deleted(),
        ),
        (
            "deleting_a_completed_campaign_deletes_it",
            completed_with_two(),
            delete(),
            deleted(),
        ),
        (
            "deleting_a_cancelled_campaign_deletes_it",
            cancelled_with_two(),
            delete(),
            deleted(),
        ),
        (
            "deleting_a_running_campaign_is_refused",
            running_with_two(),
            delete(),
            invalid(Running),
        ),
        (
            "deleting_a_paused_campaign_is_refused",
            paused_with_two(),
            delete(),
            invalid(Paused),
        ),
        (
            "deleting_a_scheduled_campaign_is_refused",
            scheduled_with_two(),
            delete(),
            invalid(Scheduled),
        ),
    ]);
}

// --- Existence ---

#[test]
fn every_command_but_create_before_creation_is_refused_as_not_found() {
    for command in every_command().into_iter().skip(1) {
        let not_found = Err(CampaignError::NotFound);
        check::<Campaign>("before creation", vec![], command, not_found);
    }
}

#[test]
fn every_command_after_deletion_is_refused_as_not_found() {
    let deleted = CampaignEvent::CampaignDeleted { deleted_at: t(20) };
    for command in every_command() {
        let given = and(draft_with_two(), [deleted.clone()]);
        let not_found = Err(CampaignError::NotFound);
        check::<Campaign>("after deletion", given, command, not_found);
    }
}

// --- Wire format ---

#[test]
fn statuses_and_pause_reasons_use_screaming_snake_case() {
    assert_eq!(json_of(CampaignStatus::Running), json!("RUNNING"));
    assert_eq!(CampaignStatus::Cancelled.to_string(), "CANCELLED");
    assert_eq!(
        json_of(PauseReason::BudgetExceeded),
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
        json_of(&event),
        json!({ "CampaignPaused": { "reason": "BUDGET_EXCEEDED", "paused_at": "2025-03-01T09:02:00Z" } })
    );
    let contacts = added(vec![contact(1)]);
    let value = json_of(&contacts);
    assert_eq!(
        value["ContactsAdded"]["contacts"][0]["phone"],
        json!("+821055500101")
    );
    let back: CampaignEvent = serde_json::from_value(value).unwrap();
    assert_eq!(back, contacts);
}

#[test]
fn the_aggregate_exposes_what_the_dialer_needs() {
    let campaign: Campaign = replay(running_with_two());
    assert_eq!(campaign.status(), Some(CampaignStatus::Running));
    assert_eq!(campaign.contacts().len(), 2);
    assert_eq!(campaign.script(), (SCRIPT, 2));
    assert_eq!(campaign.name(), "내일 예약 확인");
    assert_eq!(campaign.owner_id(), OWNER);
    assert_eq!(campaign.settings(), &CampaignSettings::default());
    assert!(!campaign.is_call_finished(call(1)));
    assert!(!campaign.is_deleted());
}
