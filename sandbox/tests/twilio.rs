//! The real Twilio adapter against the Twilio sandbox over HTTP: what it sends, how it retries,
//! how Twilio's errors map onto the telephony port.

use std::time::Duration;

use commands::dialer::{DialOrder, Telephony, TelephonyError};
use domain::PhoneNumber;
use media_bridge::twilio::{TwilioClient, TwilioConfig, TwilioError};
use sandbox::twilio::{self, TwilioSandboxOptions};
use uuid::Uuid;

fn order(number: &str, attempt: u32) -> DialOrder {
    DialOrder {
        call_id: Uuid::now_v7(),
        campaign_id: Uuid::now_v7(),
        owner_id: Uuid::now_v7(),
        attempt,
        to: PhoneNumber::parse(number, &["KR"]).unwrap(),
        caller_id: None,
        recording: true,
    }
}

fn client(sandbox: &twilio::TwilioSandbox, token: &str) -> TwilioClient {
    let mut config = TwilioConfig::new(
        sandbox.api_base(),
        sandbox.account_sid(),
        token,
        twilio::PHONE_NUMBER,
        "https://callbot.example",
    );
    config.backoff = Duration::from_millis(5);
    TwilioClient::new(config).unwrap()
}

/// Places a first attempt to `number` with `token`: the adapter and what it answered.
async fn place(
    sandbox: &twilio::TwilioSandbox,
    token: &str,
    number: &str,
) -> (TwilioClient, Result<String, TelephonyError>) {
    let adapter = client(sandbox, token);
    let placed = adapter.place_call(&order(number, 1)).await;
    (adapter, placed)
}

async fn sandbox() -> twilio::TwilioSandbox {
    // Fast enough that the simulated callee does not hold the test up.
    let sandbox = twilio::spawn(TwilioSandboxOptions {
        speed: 1000.0,
        ..Default::default()
    })
    .await;
    // No backend here: callbacks go to a closed loopback port, never to the public host.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    sandbox.deliver_to(closed);
    sandbox
}

#[tokio::test]
async fn a_call_is_created_with_every_callback_and_the_async_amd_settings() {
    let sandbox = sandbox().await;
    let adapter = client(&sandbox, twilio::AUTH_TOKEN);
    let order = order("010-5550-0105", 2);
    let sid = adapter.place_call(&order).await.unwrap();
    assert!(sid.starts_with("CA") && sid.len() == 34, "{sid}");
    let calls = sandbox.calls();
    let request = &calls[0].request;
    let id = order.call_id;
    assert_eq!(request.to, "+821055500105");
    assert_eq!(request.from, twilio::PHONE_NUMBER);
    assert_eq!(
        request.url,
        format!("https://callbot.example/twilio/voice/{id}?attempt=2#rc=3&rp=ct,rt,5xx")
    );
    assert_eq!(
        request.status_callback,
        format!("https://callbot.example/twilio/status/{id}?attempt=2#rc=3&rp=ct,rt,5xx")
    );
    assert_eq!(
        request.status_callback_events,
        ["initiated", "ringing", "answered", "completed"]
    );
    assert_eq!(request.timeout_secs, 30);
    assert_eq!(request.time_limit_secs, Some(900));
    assert_eq!(
        request.machine_detection.as_deref(),
        Some("DetectMessageEnd")
    );
    assert!(request.async_amd);
    assert_eq!(
        request.async_amd_status_callback.as_deref(),
        Some(
            format!("https://callbot.example/twilio/amd/{id}?attempt=2#rc=3&rp=ct,rt,5xx").as_str()
        )
    );
}

#[tokio::test]
async fn an_unreachable_number_is_rejected_with_twilios_code() {
    let sandbox = sandbox().await;
    let (_, error) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0110").await;
    let error = error.unwrap_err();
    let TelephonyError::Rejected { code, .. } = error else {
        panic!("expected a rejection, got {error:?}");
    };
    assert_eq!(code, "21211");
    assert!(sandbox.calls().is_empty());
}

#[tokio::test]
async fn wrong_credentials_are_a_rejection_not_a_retry() {
    let sandbox = sandbox().await;
    let (_, error) = place(&sandbox, "wrong-token", "010-5550-0101").await;
    let error = error.unwrap_err();
    assert!(
        matches!(&error, TelephonyError::Rejected { code, .. } if code == "20003"),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_outage_is_retried_with_backoff_and_then_succeeds() {
    let sandbox = sandbox().await;
    sandbox.fail_next_creates(2);
    let (_, sid) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0101").await;
    let sid = sid.unwrap();
    assert_eq!(sandbox.calls().len(), 1);
    assert_eq!(sandbox.calls()[0].sid, sid);
}

#[tokio::test]
async fn a_lasting_outage_is_unavailable_so_the_attempt_retries_later() {
    let sandbox = sandbox().await;
    sandbox.fail_next_creates(10);
    let (_, error) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0101").await;
    let error = error.unwrap_err();
    assert!(matches!(error, TelephonyError::Unavailable(_)), "{error:?}");
    assert!(sandbox.calls().is_empty());
}

#[tokio::test]
async fn finding_14_a_create_whose_answer_was_lost_finds_the_call_instead_of_ringing_twice() {
    let sandbox = sandbox().await;
    sandbox.lose_next_create_answers(1);
    let (_, sid) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0101").await;
    // Twilio created the call but its answer was a 500: the adapter looked before retrying.
    let calls = sandbox.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(sid.unwrap(), calls[0].sid);
}

#[tokio::test]
async fn finding_14_a_create_that_never_connected_is_retried_without_a_lookup() {
    let sandbox = sandbox().await;
    // Nothing listens there: every try fails to connect, so none can have reached Twilio.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut config = TwilioConfig::new(
        base,
        sandbox.account_sid(),
        twilio::AUTH_TOKEN,
        twilio::PHONE_NUMBER,
        "https://callbot.example",
    );
    config.backoff = Duration::from_millis(1);
    let adapter = TwilioClient::new(config).unwrap();
    let error = adapter
        .create_call(&order("010-5550-0101", 1))
        .await
        .unwrap_err();
    assert!(matches!(error, TwilioError::Unreached(_)), "{error:?}");
    assert!(sandbox.calls().is_empty());
}

#[tokio::test]
async fn calls_can_be_listed_by_number_newest_first() {
    let sandbox = sandbox().await;
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    let (adapter, first) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0101").await;
    let (_, second) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0101").await;
    place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0102")
        .await
        .1
        .unwrap();
    let found = adapter.find_call("+821055500101", since).await.unwrap();
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_ne!(first, second);
    assert_eq!(found.map(|c| c.sid), Some(second));
    let later = chrono::Utc::now() + chrono::Duration::days(2);
    assert_eq!(
        adapter.find_call("+821055500101", later).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn hanging_up_a_finished_call_counts_as_done() {
    let sandbox = sandbox().await;
    // Busy ends at once (10 ms at this speed).
    let (adapter, sid) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0106").await;
    let sid = sid.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while sandbox.calls()[0].status != "busy" {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(adapter.hang_up(&sid).await, Ok(false));
    assert!(!sandbox.calls()[0].hung_up_by_api);
    assert_eq!(
        adapter.hang_up("CA0000000000000000000000000000beef").await,
        Ok(false)
    );
}

#[tokio::test]
async fn the_price_appears_after_the_end_and_is_polled_for() {
    let sandbox = sandbox().await;
    let (adapter, sid) = place(&sandbox, twilio::AUTH_TOKEN, "010-5550-0108").await;
    let sid = sid.unwrap();
    // Answered, then hung up during the notice: priced once over.
    let price = adapter
        .fetch_price(&sid, 12, Duration::from_millis(20))
        .await
        .unwrap();
    assert_eq!(price, Some(13_500));
}
