//! The report's period rules, on an empty account.

use chrono::{TimeZone, Utc};

use super::*;
use crate::ManualClock;
use crate::services::accounts::tests::test_store;

fn period(from: Option<&str>, to: Option<&str>) -> UsagePeriod {
    UsagePeriod {
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
    }
}

#[tokio::test]
async fn the_default_period_is_this_korean_month_so_far() {
    let (_dir, store) = test_store().await;
    // 00:30 on 1 December in Seoul is still 30 November in UTC.
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 15, 30, 0).unwrap();
    let service = UsageService::new(store.db().pool().clone(), Arc::new(ManualClock::new(now)));
    let usage = service
        .report(Uuid::now_v7(), UsagePeriod::default())
        .await
        .expect("a report");
    assert_eq!(
        (usage.from.as_str(), usage.to.as_str()),
        ("2026-12-01", "2026-12-01")
    );
    assert_eq!(usage.total.sums.calls, 0);
    assert!(usage.by_day.is_empty());
    assert!(!usage.budget.alert.crossed);
}

#[tokio::test]
async fn a_bad_date_a_reversed_or_an_over_long_period_is_refused() {
    let (_dir, store) = test_store().await;
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap();
    let service = UsageService::new(store.db().pool().clone(), Arc::new(ManualClock::new(now)));
    let account = Uuid::now_v7();
    for (from, to, message) in [
        (
            Some("2026-13-01"),
            None,
            "from must be a date as YYYY-MM-DD",
        ),
        (None, Some("yesterday"), "to must be a date as YYYY-MM-DD"),
        (
            Some("2026-11-20"),
            Some("2026-11-10"),
            "from must not be after to",
        ),
        (
            Some("2025-01-01"),
            Some("2026-01-02"),
            "to must be less than 366 days after from",
        ),
    ] {
        let err = service.report(account, period(from, to)).await;
        assert!(
            matches!(&err, Err(UsageError::InvalidPeriod(text)) if text == message),
            "{from:?}..{to:?}: {err:?}"
        );
    }
    service
        .report(account, period(Some("2025-01-01"), Some("2026-01-01")))
        .await
        .expect("365 days apart is allowed");
}
