//! The caller id rules with a stubbed provider.

use std::sync::Mutex;

use super::*;
use crate::services::accounts::tests::{test_clock, test_store};
use crate::store::EventStore;

/// Answers what it is told to and remembers what it was asked.
#[derive(Default)]
struct StubProvider {
    answer: Mutex<Option<CallerIdError>>,
    asked: Mutex<Vec<String>>,
}

impl StubProvider {
    fn answer(&self, answer: Option<CallerIdError>) {
        *self.answer.lock().unwrap() = answer;
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

#[async_trait]
impl CallerIdCheck for StubProvider {
    async fn check_caller_id(&self, number: &str) -> Result<(), CallerIdError> {
        self.asked.lock().unwrap().push(number.to_owned());
        match self.answer.lock().unwrap().clone() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

fn with_caller_id(caller_id: &str) -> AccountSettings {
    AccountSettings {
        caller_id: Some(caller_id.to_owned()),
        ..AccountSettings::default()
    }
}

/// A settings service whose caller ids are checked by a fresh stub provider.
fn checked_by_stub(store: &EventStore) -> (Arc<StubProvider>, SettingsService) {
    let provider = Arc::new(StubProvider::default());
    let service = SettingsService::new(
        store.db().pool().clone(),
        test_clock(),
        Some(provider.clone()),
    );
    (provider, service)
}

fn is_not_verified<T>(result: &Result<T, SettingsError>) -> bool {
    matches!(
        result,
        Err(SettingsError::CallerId(CallerIdError::NotVerified { .. }))
    )
}

#[tokio::test]
async fn only_a_new_caller_id_is_asked_and_it_is_stored_in_e164() {
    let (_dir, store) = test_store().await;
    let (provider, service) = checked_by_stub(&store);
    let account = Uuid::now_v7();
    let saved = service
        .update(account, with_caller_id("010-1234-5678"))
        .await
        .expect("saved");
    assert_eq!(saved.caller_id.as_deref(), Some("+821012345678"));
    assert_eq!(provider.asked(), ["+821012345678"]);

    // The provider is away: budgets still change while the caller id stays.
    provider.answer(Some(CallerIdError::Unavailable {
        provider: "twilio",
        message: "down".to_owned(),
    }));
    let budgets = AccountSettings {
        daily_budget_usd: Some(5.0),
        ..with_caller_id("+821012345678")
    };
    service.update(account, budgets).await.expect("saved");
    assert_eq!(provider.asked().len(), 1);

    let err = service
        .update(account, with_caller_id("+821099998888"))
        .await;
    assert!(
        matches!(
            err,
            Err(SettingsError::CallerId(CallerIdError::Unavailable { .. }))
        ),
        "{err:?}"
    );
    let stored = service.get(account).await.expect("read");
    assert_eq!(stored.caller_id.as_deref(), Some("+821012345678"));
    assert_eq!(stored.daily_budget_usd, Some(5.0));
}

#[tokio::test]
async fn an_unverified_caller_id_is_refused_and_nothing_is_saved() {
    let (_dir, store) = test_store().await;
    let (provider, service) = checked_by_stub(&store);
    provider.answer(Some(CallerIdError::NotVerified {
        number: "+821012345678".to_owned(),
    }));
    let account = Uuid::now_v7();
    let err = service
        .update(account, with_caller_id("+821012345678"))
        .await;
    assert!(is_not_verified(&err), "{err:?}");
    assert_eq!(
        service.get(account).await.expect("read"),
        AccountSettings::default()
    );
}

#[tokio::test]
async fn without_a_provider_a_well_formed_caller_id_is_trusted_and_a_bad_one_refused() {
    let (_dir, store) = test_store().await;
    let service = SettingsService::new(store.db().pool().clone(), test_clock(), None);
    let account = Uuid::now_v7();
    service
        .update(account, with_caller_id("+821012345678"))
        .await
        .expect("saved");
    let err = service.update(account, with_caller_id("12")).await;
    assert!(matches!(err, Err(SettingsError::Invalid(_))), "{err:?}");
}

#[tokio::test]
async fn finding_5_the_campaign_defaults_caller_id_passes_the_same_check() {
    let (_dir, store) = test_store().await;
    let (provider, service) = checked_by_stub(&store);
    let account = Uuid::now_v7();
    let mut settings = AccountSettings::default();
    settings.campaign_defaults.caller_id = Some("<script>".into());
    let err = service.update(account, settings.clone()).await;
    assert!(matches!(err, Err(SettingsError::Invalid(_))), "{err:?}");
    assert!(
        provider.asked().is_empty(),
        "a malformed number is not asked about"
    );

    settings.campaign_defaults.caller_id = Some("010-1234-5678".into());
    provider.answer(Some(CallerIdError::NotVerified {
        number: "+821012345678".into(),
    }));
    let err = service.update(account, settings.clone()).await;
    assert!(is_not_verified(&err), "{err:?}");
    assert_eq!(provider.asked(), ["+821012345678"]);

    provider.answer(None);
    let saved = service.update(account, settings).await.expect("verified");
    assert_eq!(
        saved.campaign_defaults.caller_id.as_deref(),
        Some("+821012345678")
    );
}

#[tokio::test]
async fn finding_6_saved_settings_with_an_unknown_time_zone_are_an_error_not_the_defaults() {
    let (_dir, store) = test_store().await;
    let account = Uuid::now_v7().to_string();
    let mut saved = serde_json::to_value(AccountSettings::default()).unwrap();
    saved["campaignDefaults"]["callWindow"]["timezone"] = "Mars/Olympus".into();
    saved["dailyBudgetUsd"] = 5.0.into();
    sqlx::query(
        "INSERT INTO account_settings (account_id, settings, updated_at) VALUES ($1, $2, $3)",
    )
    .bind(&account)
    .bind(saved.to_string())
    .bind("2026-11-30T01:00:00.000Z")
    .execute(store.db().pool())
    .await
    .unwrap();
    let loaded = AccountSettings::load(store.db().pool(), &account).await;
    assert!(loaded.is_err(), "{loaded:?}");
}

#[tokio::test]
async fn settings_of_several_accounts_read_at_once_are_each_ones_own_and_an_unreadable_one_is_left_out()
 {
    let (_dir, store) = test_store().await;
    let pool = store.db().pool();
    let at = "2026-11-30T01:00:00.000Z".parse().unwrap();
    let [capped, unsaved, unreadable] = [(); 3].map(|()| Uuid::now_v7().to_string());
    let settings = AccountSettings {
        daily_budget_usd: Some(3.0),
        ..Default::default()
    };
    settings.save(pool, &capped, at).await.unwrap();

    let many = AccountSettings::load_many(pool, &[capped.clone(), unsaved.clone()])
        .await
        .unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(many[&capped].daily_budget_usd, Some(3.0));
    assert_eq!(many[&unsaved].daily_budget_usd, None);

    sqlx::query(
        "INSERT INTO account_settings (account_id, settings, updated_at) VALUES ($1, $2, $3)",
    )
    .bind(&unreadable)
    .bind("{\"dailyBudgetUsd\": \"three\"}")
    .bind("2026-11-30T01:00:00.000Z")
    .execute(pool)
    .await
    .unwrap();
    let many = AccountSettings::load_many(pool, &[capped.clone(), unreadable.clone()])
        .await
        .unwrap();
    assert_eq!(many.len(), 1, "the unreadable row is left out");
    assert_eq!(many[&capped].daily_budget_usd, Some(3.0));
    let alone = AccountSettings::load(pool, &unreadable).await;
    assert!(alone.is_err(), "{alone:?}");
}
