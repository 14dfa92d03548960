//! The Twilio webhooks: signatures, the consent TwiML, and order-independent status callbacks.

use callbot_tests::{AppOptions, PUBLIC_URL, Role, TestApp, spawn_app_with};
use chrono::Utc;
use commands::CommandContext;
use commands::cqrs::load;
use domain::PhoneNumber;
use domain::call::{Call, CallCommand, CallResult, CallStatus as DomainStatus};
use domain::policy::RetryPolicy;
use media_bridge::token::verify_stream_token;
use protocols::twilio::{self as wire, CallStatus, StatusCallback, Verb};
use rand::seq::SliceRandom;
use reqwest::StatusCode;
use uuid::Uuid;

/// The API role only, with a Twilio sandbox of the test's own; nobody signed up.
async fn spawn() -> TestApp {
    let options = AppOptions::default()
        .manual_clock(Utc::now())
        .roles(vec![Role::Api])
        .twilio_sandbox()
        .public_base_url(PUBLIC_URL)
        .signed_out();
    spawn_app_with(options).await
}

/// The same on Postgres and NATS.
async fn spawn_on_postgres() -> TestApp {
    let options = AppOptions::default()
        .manual_clock(Utc::now())
        .roles(vec![Role::Api])
        .twilio_sandbox()
        .public_base_url(PUBLIC_URL)
        .signed_out()
        .postgres_and_nats();
    spawn_app_with(options).await
}

/// A database blip: the store refuses the next `count` appends, through a trigger that counts on
/// a sequence (which no rollback resets).
async fn fail_next_appends(app: &TestApp, count: u32) {
    let pool = app.state.store.db().pool();
    let statements = [
        "CREATE SEQUENCE blip".to_owned(),
        format!(
            "CREATE FUNCTION blip() RETURNS trigger AS $$ BEGIN \
             IF nextval('blip') <= {count} THEN RAISE EXCEPTION 'database blip'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql"
        ),
        "CREATE TRIGGER blip BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION blip()"
            .to_owned(),
    ];
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// The app with a call ringing under provider call `sid`: the app and the call's id.
async fn spawn_with_ringing_call(sid: &str) -> (TestApp, Uuid) {
    let app = spawn().await;
    let id = ringing_call(&app, sid).await;
    (app, id)
}

/// A call that is ringing under provider call `sid`.
async fn ringing_call(app: &TestApp, sid: &str) -> Uuid {
    let id = Uuid::now_v7();
    let context = CommandContext::new("test");
    let now = Utc::now();
    let commands = [
        CallCommand::CreateCall {
            campaign_id: Uuid::now_v7(),
            owner_id: Uuid::now_v7(),
            phone: PhoneNumber::parse("010-5550-0101", &["KR"]).unwrap(),
            contact_name: Some("홍길동".into()),
            context: Default::default(),
            retry: RetryPolicy::default(),
            at: now,
        },
        CallCommand::RequestDial { at: now },
        CallCommand::RecordProviderCall {
            provider_call_sid: sid.to_owned(),
            at: now,
        },
    ];
    for command in commands {
        app.state
            .calls
            .execute(&id.to_string(), command, &context)
            .await
            .unwrap();
    }
    id
}

/// The call aggregate as stored.
async fn load_call(app: &TestApp, id: Uuid) -> Call {
    load::<Call>(&app.state.store, &id.to_string())
        .await
        .unwrap()
        .unwrap()
}

/// Asserts the stored call's status.
async fn assert_call_status(app: &TestApp, id: Uuid, expected: DomainStatus) {
    assert_eq!(load_call(app, id).await.status(), Some(expected));
}

fn status(sid: &str, status: CallStatus, sequence: u32, duration: Option<u32>) -> wire::Form {
    StatusCallback {
        call_sid: sid.to_owned(),
        account_sid: sandbox::twilio::ACCOUNT_SID.to_owned(),
        call_status: status,
        sequence_number: Some(sequence),
        call_duration: duration,
        sip_response_code: None,
        error_code: None,
        timestamp: None,
    }
    .to_form(sandbox::twilio::PHONE_NUMBER, "+821055500101")
}

const TOKEN: &str = sandbox::twilio::AUTH_TOKEN;

#[tokio::test]
async fn a_forged_callback_is_refused_and_records_nothing() {
    let sid = "CA00000000000000000000000000000001";
    let (app, id) = spawn_with_ringing_call(sid).await;
    let before = app.event_types(id).await;
    let path = format!("/twilio/status/{id}");
    let form = status(sid, CallStatus::InProgress, 2, None);

    let unsigned = app.post_twilio(&path, &form, None).await;
    let wrong_token = app.post_twilio_signed(&path, &form, "not-the-token").await;
    let garbage = app
        .post_twilio(&path, &form, Some("bm90IGEgc2lnbmF0dXJl"))
        .await;
    // Signed for another call's URL, replayed here.
    let other = wire::compute_signature(
        TOKEN,
        &format!("{PUBLIC_URL}/twilio/status/{}", Uuid::now_v7()),
        &form,
    );
    let replayed = app.post_twilio(&path, &form, Some(&other)).await;
    let voice = app
        .post_twilio_signed(&format!("/twilio/voice/{id}"), &form, "not-the-token")
        .await;

    for response in [unsigned, wrong_token, garbage, replayed, voice] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(app.event_types(id).await, before);
    assert_call_status(&app, id, DomainStatus::Calling).await;

    // The same callback, signed, is accepted and recorded.
    let genuine = app.post_twilio_signed(&path, &form, TOKEN).await;
    assert_eq!(genuine.status(), StatusCode::NO_CONTENT);
    assert_call_status(&app, id, DomainStatus::InProgress).await;
}

#[tokio::test]
async fn the_signature_is_accepted_with_or_without_the_default_port() {
    let sid = "CA00000000000000000000000000000002";
    let (app, id) = spawn_with_ringing_call(sid).await;
    let path = format!("/twilio/status/{id}");
    let form = status(sid, CallStatus::InProgress, 2, None);
    let with_port =
        wire::compute_signature(TOKEN, &format!("https://callbot.example:443{path}"), &form);
    let response = app.post_twilio(&path, &form, Some(&with_port)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_call_status(&app, id, DomainStatus::InProgress).await;
}

#[tokio::test]
async fn the_voice_answer_plays_the_consent_notice_before_connecting_the_stream() {
    let sid = "CA00000000000000000000000000000003";
    let (app, id) = spawn_with_ringing_call(sid).await;
    let form = status(sid, CallStatus::InProgress, 0, None);
    let response = app
        .post_twilio_signed(&format!("/twilio/voice/{id}"), &form, TOKEN)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let verbs = wire::parse_twiml(&response.text().await.unwrap()).unwrap();
    assert_eq!(sandbox::twilio::check_consent_twiml(&verbs), None);
    let Verb::Say {
        language,
        voice,
        text,
    } = &verbs[0]
    else {
        panic!("the first verb is not <Say>: {verbs:?}");
    };
    assert_eq!(language, "ko-KR");
    assert!(voice.starts_with("Polly.Seoyeon"));
    assert!(text.contains("녹음될 수 있습니다") && text.contains("AI"));
    let Verb::ConnectStream { url, parameters } = &verbs[2] else {
        panic!("the third verb is not <Connect><Stream>: {verbs:?}");
    };
    assert_eq!(url, "wss://callbot.example/twilio/media");
    assert_eq!(parameters["call_id"], id.to_string());
    assert!(verify_stream_token(
        secrecy::ExposeSecret::expose_secret(&app.state.jwt_secret).as_bytes(),
        &id.to_string(),
        sid,
        &parameters["token"]
    ));
    assert_eq!(verbs.last(), Some(&Verb::Hangup));
}

#[tokio::test]
async fn a_voice_request_for_a_finished_call_hangs_up() {
    let sid = "CA00000000000000000000000000000004";
    let (app, id) = spawn_with_ringing_call(sid).await;
    let ended = app
        .post_twilio_signed(
            &format!("/twilio/status/{id}"),
            &status(sid, CallStatus::Busy, 2, Some(0)),
            TOKEN,
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let response = app
        .post_twilio_signed(
            &format!("/twilio/voice/{id}"),
            &status(sid, CallStatus::InProgress, 0, None),
            TOKEN,
        )
        .await;
    let verbs = wire::parse_twiml(&response.text().await.unwrap()).unwrap();
    assert_eq!(verbs, vec![Verb::Hangup]);
}

#[tokio::test]
async fn a_malformed_callback_is_a_clear_400_and_records_nothing() {
    let sid = "CA00000000000000000000000000000005";
    let (app, id) = spawn_with_ringing_call(sid).await;
    let before = app.event_types(id).await;
    let mut form = status(sid, CallStatus::InProgress, 2, None);
    form.retain(|(k, _)| k != "CallStatus");
    let response = app
        .post_twilio_signed(&format!("/twilio/status/{id}"), &form, TOKEN)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("CallStatus"));
    let unknown = app
        .post_twilio_signed(
            &format!("/twilio/status/{}", Uuid::now_v7()),
            &status(sid, CallStatus::InProgress, 2, None),
            TOKEN,
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.event_types(id).await, before);
}

#[tokio::test]
async fn a_callback_from_another_attempt_changes_nothing() {
    let app = spawn().await;
    let id = ringing_call(&app, "CA00000000000000000000000000000006").await;
    let before = app.event_types(id).await;
    let response = app
        .post_twilio_signed(
            &format!("/twilio/status/{id}"),
            &status(
                "CA0000000000000000000000000000dead",
                CallStatus::Completed,
                4,
                Some(30),
            ),
            TOKEN,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.event_types(id).await, before);
}

/// The callbacks of one attempt, in the order Twilio numbers them.
fn script(sid: &str, answered: bool) -> Vec<wire::Form> {
    if answered {
        vec![
            status(sid, CallStatus::Initiated, 0, None),
            status(sid, CallStatus::Ringing, 1, None),
            status(sid, CallStatus::InProgress, 2, None),
            status(sid, CallStatus::Completed, 3, Some(42)),
        ]
    } else {
        vec![
            status(sid, CallStatus::Initiated, 0, None),
            status(sid, CallStatus::Ringing, 1, None),
            status(sid, CallStatus::NoAnswer, 2, Some(0)),
        ]
    }
}

/// What the final state of a call is, independent of ids and times.
fn summary(call: &Call) -> (Option<DomainStatus>, Option<CallResult>, u32) {
    (call.status(), call.result(), call.attempts())
}

#[tokio::test]
async fn shuffled_and_duplicated_callbacks_give_the_same_final_state() {
    let app = spawn().await;
    for answered in [true, false] {
        let in_order_sid = format!("CA{:032x}", u32::from(answered) + 100);
        let in_order = ringing_call(&app, &in_order_sid).await;
        for form in script(&in_order_sid, answered) {
            let response = app
                .post_twilio_signed(&format!("/twilio/status/{in_order}"), &form, TOKEN)
                .await;
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        }
        let expected = summary(&load_call(&app, in_order).await);
        let expected_events = app.event_types(in_order).await;
        if answered {
            assert_eq!(
                expected,
                (Some(DomainStatus::Completed), Some(CallResult::Declined), 1)
            );
        } else {
            assert_eq!(
                expected.0,
                Some(DomainStatus::Pending),
                "a retry is scheduled"
            );
        }

        for round in 0..8u32 {
            let sid = format!("CA{:032x}", 1000 + round * 2 + u32::from(answered));
            let id = ringing_call(&app, &sid).await;
            let mut forms = script(&sid, answered);
            forms.extend(script(&sid, answered));
            forms.shuffle(&mut rand::rng());
            for form in forms {
                let response = app
                    .post_twilio_signed(&format!("/twilio/status/{id}"), &form, TOKEN)
                    .await;
                assert_eq!(response.status(), StatusCode::NO_CONTENT);
            }
            assert_eq!(
                summary(&load_call(&app, id).await),
                expected,
                "round {round}"
            );
            let events = app.event_types(id).await;
            let shape = |events: &[String]| {
                events
                    .iter()
                    .filter(|e| *e != "CallAnswered")
                    .cloned()
                    .collect::<Vec<_>>()
            };
            // An `answered` that arrives after `completed` adds nothing; one that arrives before
            // is the only difference allowed.
            assert_eq!(shape(&events), shape(&expected_events), "round {round}");
        }
    }
}

#[tokio::test]
async fn a_callback_that_meets_a_database_blip_is_retried_before_answering() {
    let app = spawn_on_postgres().await;
    let sid = "CA00000000000000000000000000000b11";
    let id = ringing_call(&app, sid).await;
    fail_next_appends(&app, 2).await;
    let response = app
        .post_twilio_signed(
            &format!("/twilio/status/{id}"),
            &status(sid, CallStatus::NoAnswer, 3, Some(0)),
            TOKEN,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        app.event_types(id)
            .await
            .contains(&"AttemptEnded".to_owned())
    );
}

#[tokio::test]
async fn a_callback_the_store_keeps_refusing_answers_5xx_so_twilio_delivers_it_again() {
    let app = spawn_on_postgres().await;
    let sid = "CA00000000000000000000000000000b12";
    let id = ringing_call(&app, sid).await;
    let before = app.event_types(id).await;
    // More failures than the in-process retries absorb.
    fail_next_appends(&app, 4).await;
    let path = format!("/twilio/status/{id}");
    let callback = status(sid, CallStatus::NoAnswer, 3, Some(0));
    let response = app.post_twilio_signed(&path, &callback, TOKEN).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(app.event_types(id).await, before);
    // Twilio retries (our URLs carry `#rc=3&rp=ct,rt,5xx`); the store is back.
    let response = app.post_twilio_signed(&path, &callback, TOKEN).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        app.event_types(id)
            .await
            .contains(&"AttemptEnded".to_owned())
    );
}
