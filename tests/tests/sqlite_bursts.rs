//! A burst of campaign starts on the embedded SQLite store (issue 18): the projections once met
//! `database is locked` (codes 5 and 517) and were restarted. Now every start is answered,
//! no worker fails, and every read model catches up. One test in this file, so the process's
//! metrics are this app's alone.

use std::time::Duration;

use callbot_tests::fixtures::{save_script, script};
use callbot_tests::{AppOptions, poll_api, spawn_app_with};
use commands::metrics::names::WORKER_RESTARTS;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

/// Accounts, each dialing its own calls (the dialer holds one account to five at a time).
const ACCOUNTS: usize = 8;
/// Campaigns per account, all started at once.
const CAMPAIGNS: usize = 5;
/// Contacts per campaign.
const CONTACTS: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_campaigns_started_at_once_on_sqlite_all_complete_without_a_lock_error() {
    let app = spawn_app_with(AppOptions::sandbox_calls().rate_limit_scale(100)).await;
    let mut campaigns = Vec::new();
    for a in 0..ACCOUNTS {
        let (token, account) = app.sign_up(&format!("burst{a}@clinic.kr")).await;
        let content = script("안녕하세요.", "예약 확인", "예약 확인", &[]);
        let script_id = save_script(&app.state.store, account, content).await;
        for c in 0..CAMPAIGNS {
            let contacts: Vec<_> = (0..CONTACTS)
                .map(|n| json!({ "phoneNumber": format!("010-71{a:02}-{c:02}{n:02}") }))
                .collect();
            let body = json!({
                "name": format!("burst {a}-{c}"),
                "scriptId": script_id,
                "contacts": contacts,
                "settings": { "callWindow": { "start": "00:00", "end": "24:00" } }
            });
            let (status, created) = app.call_as(&token, "POST", "/campaigns", Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            let id = created["data"]["id"].as_str().expect("an id").to_owned();
            campaigns.push((token.clone(), id));
        }
    }

    let paths: Vec<String> = campaigns
        .iter()
        .map(|(_, id)| format!("/campaigns/{id}/start"))
        .collect();
    let starts = join_all(
        campaigns
            .iter()
            .zip(&paths)
            .map(|((token, _), path)| app.call_as(token, "POST", path, None)),
    )
    .await;
    for (status, body) in starts {
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    // The campaign read model, the calls read model and the dialer all caught up.
    for (token, id) in &campaigns {
        poll_api(
            &format!("campaign {id} to complete"),
            Duration::from_secs(150),
            || async {
                let (_, campaign) = app.get(&format!("/campaigns/{id}"), token).await;
                (campaign["data"]["status"] == "COMPLETED").then_some(())
            },
        )
        .await;
        let (status, calls) = app
            .get(&format!("/campaigns/{id}/calls?pageSize=100"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{calls}");
        let items = calls["data"]["items"].as_array().expect("a call list");
        assert_eq!(items.len(), CONTACTS, "{calls}");
        for call in items {
            assert_eq!(call["status"], "COMPLETED", "{calls}");
            assert!(
                call["result"].is_string(),
                "a call without a result: {calls}"
            );
        }
    }
    // No worker failed on the way (a `database is locked` fails a unit and restarts it).
    let scrape = app.scrape().await;
    let restarts = scrape.matching(WORKER_RESTARTS, &[]).collect::<Vec<_>>();
    assert!(!restarts.is_empty(), "the restart counters are exported");
    for sample in restarts {
        assert_eq!(sample.value, 0.0, "a worker restarted: {sample:?}");
    }
}
