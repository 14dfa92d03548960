//! Results end to end: a sandbox campaign dialed by the real dialer, adapters, webhooks and
//! bridge (nothing but HTTP and WebSockets between us and the sandboxes) leaves encrypted
//! recordings for the consented calls and none for 08 (hung up during the notice) and 13
//! (objected); they play back through short-lived signed links with Range support and are
//! purged after 30 days by the injected clock. Its CSV and PDF reports download through signed
//! 24-hour links and read back with every call, the Korean names and the totals.
//! On SQLite, and on Postgres + NATS.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use callbot::adapters::ReportRetention;
use callbot_tests::fixtures::{e164, script};
use callbot_tests::{
    AppOptions, Backend, PUBLIC_URL, TestApp, eventually, poll_api, spawn_app_with,
};
use chrono::{DateTime, Utc};
use commands::cqrs::load;
use commands::recordings::RecordingCipher;
use commands::{Clock, ManualClock};
use domain::call::{Call, RecordingStage};
use domain::labels::label_code;
use domain::script::Language;
use projections::reports::{
    Report, ReportError, ReportFiles, ReportFont, ReportFormat, ReportOptions,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use workers::recordings::RetentionWorker;

/// The system clock moved by a test-controlled offset (links expire without waiting).
#[derive(Default)]
struct OffsetClock {
    offset_secs: AtomicI64,
}

impl OffsetClock {
    fn advance(&self, by: chrono::Duration) {
        self.offset_secs
            .fetch_add(by.num_seconds(), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }
}

/// The contacts: SPEC §9 numbers with Korean names.
const CONTACTS: [(u32, &str); 6] = [
    (1, "김민수"),
    (2, "이영희"),
    (3, "박지훈"),
    (5, "최수진"),
    (8, "정다은"),
    (13, "한지민"),
];

async fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = tokio::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .await
        .expect("pdftotext (poppler-utils) is installed");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

callbot_tests::app_backend_tests!(recordings_and_reports_of_a_sandbox_campaign);

/// Polls `GET /calls/{call}/recording` until it answers `status`.
async fn wait_for_recording(app: &TestApp, call: &str, status: StatusCode, what: &str) {
    poll_api(what, Duration::from_secs(30), || async {
        (app.get_recording(call).await.0 == status).then_some(())
    })
    .await;
}

async fn recordings_and_reports_of_a_sandbox_campaign(backend: Backend) {
    let app_clock = Arc::new(OffsetClock::default());
    let app = spawn_app_with(
        AppOptions::sandbox_calls()
            .backend(backend)
            .clock(app_clock.clone()),
    )
    .await;
    let content = script(
        "안녕하세요, {customerName}님. 행복치과입니다.",
        "내일 오후 2시 예약 확인",
        "예약이 맞는지 확인합니다.",
        &["customerName"],
    );
    let script = app.save_script(content).await;
    let contacts: Vec<Value> = CONTACTS
        .iter()
        .map(|(nn, name)| json!({ "phoneNumber": format!("010-5550-01{nn:02}"), "name": name }))
        .collect();
    let body = json!({
        "name": "행복치과 예약 확인",
        "scriptId": script,
        "contacts": contacts,
        "settings": {
            "retry": { "maxRetries": 1, "intervalsSeconds": [1] },
            "callWindow": { "start": "00:00", "end": "24:00" }
        }
    });
    let campaign = app.create_campaign_ok(body).await;
    app.start_campaign_ok(&campaign).await;
    app.wait_for_campaign(&campaign, "COMPLETED").await;
    let twilio = app.providers.twilio_sandbox().unwrap();
    // Every recording Twilio made is settled: fetched and deleted, or deleted unheard.
    eventually(
        "every recording to be settled",
        Duration::from_secs(60),
        || async {
            twilio
                .calls()
                .iter()
                .all(|c| {
                    c.recordings
                        .started
                        .iter()
                        .all(|r| c.recordings.deleted.contains(r))
                })
                .then_some(())
        },
    )
    .await;
    let (_, calls) = app.list_calls(&campaign, "?pageSize=100").await;
    let items = calls["data"]["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{calls}"))
        .clone();
    assert_eq!(items.len(), CONTACTS.len());
    let call_of = |nn: u32| {
        items
            .iter()
            .find(|c| c["phoneNumber"] == e164(nn).as_str())
            .unwrap_or_else(|| panic!("no call for {nn}: {calls}"))
            .clone()
    };
    let log_of = |nn: u32| {
        let logs: Vec<_> = twilio
            .calls()
            .into_iter()
            .filter(|c| c.request.to == e164(nn))
            .collect();
        logs.last().cloned().unwrap()
    };
    let id_of = |nn: u32| call_of(nn)["id"].as_str().unwrap().to_owned();
    let file_of = |id: &str| app.data_dir().join("recordings").join(format!("{id}.rec"));

    // --- A consented call (01): stored encrypted, deleted at Twilio, plays back exactly.
    let one = id_of(1);
    wait_for_recording(
        &app,
        &one,
        StatusCode::OK,
        "01's recording in the read model",
    )
    .await;
    let (status, body) = app.get_recording(&one).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    let link = data["recordingUrl"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!(
            "{PUBLIC_URL}/api/v1/downloads/recordings/{one}?exp="
        )),
        "{link}"
    );
    assert_eq!(data["recordingConsent"], true);
    assert!(data.get("transcript").is_some() && data.get("summary").is_some());
    let expires: DateTime<Utc> = data["expiresAt"].as_str().unwrap().parse().unwrap();
    let ttl = expires - Utc::now();
    assert!(
        ttl > chrono::Duration::minutes(14) && ttl <= chrono::Duration::minutes(15),
        "{ttl}"
    );
    let duration = data["duration"]
        .as_u64()
        .unwrap_or_else(|| panic!("{body}")) as u32;
    let sid = log_of(1).recordings.started[0].clone();
    let expected = sandbox::twilio::recording_wav(&sid, duration);
    assert!(log_of(1).recordings.fetched.contains(&sid));
    assert!(log_of(1).recordings.deleted.contains(&sid));

    let stored = std::fs::read(file_of(&one)).unwrap();
    assert!(
        !stored.starts_with(b"RIFF"),
        "the stored file is a plain WAV"
    );
    assert!(!stored.windows(4).any(|w| w == b"WAVE" || w == b"RIFF"));
    assert_ne!(stored, expected);

    let response = app.fetch_link(&link, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "audio/wav");
    assert_eq!(response.headers()["accept-ranges"], "bytes");
    let audio = response.bytes().await.unwrap();
    assert_eq!(audio.len(), expected.len());
    assert!(
        audio[..] == expected[..],
        "the audio differs from the sandbox's"
    );

    // Range requests.
    let len = expected.len();
    let response = app.fetch_link(&link, Some("bytes=0-43")).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes 0-43/{len}").as_str()
    );
    assert_eq!(response.bytes().await.unwrap()[..], expected[..44]);
    let response = app.fetch_link(&link, Some("bytes=-100")).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap()[..], expected[len - 100..]);
    let response = app.fetch_link(&link, Some("bytes=1000-")).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.bytes().await.unwrap()[..], expected[1000..]);
    let response = app.fetch_link(&link, Some(&format!("bytes={len}-"))).await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RANGE_NOT_SATISFIABLE");

    // Tampered links: another signature, another call, a longer expiry.
    let (path, query) = link.split_once('?').unwrap();
    let forged = format!("{path}?{}", query.replace("sig=", "sig=00"));
    assert_eq!(
        app.fetch_link(&forged, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let other = link.replace(&one, &id_of(2));
    assert_eq!(
        app.fetch_link(&other, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let exp: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("exp="))
        .unwrap()
        .parse()
        .unwrap();
    let longer = link.replace(&format!("exp={exp}"), &format!("exp={}", exp + 86_400));
    assert_eq!(
        app.fetch_link(&longer, None).await.status(),
        StatusCode::NOT_FOUND
    );
    // Someone else's call is not found.
    let (stranger, _) = app.sign_up("stranger@salon.kr").await;
    let (status, _) = app
        .call_as(&stranger, "GET", &format!("/calls/{one}/recording"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // --- 08 hung up during the notice: nothing was recorded. 13 objected: discarded unheard.
    assert!(log_of(8).recordings.started.is_empty());
    let thirteen = log_of(13);
    assert_eq!(thirteen.recordings.started.len(), 1);
    assert_eq!(thirteen.recordings.stopped, thirteen.recordings.started);
    assert_eq!(thirteen.recordings.deleted, thirteen.recordings.started);
    assert!(
        thirteen.recordings.fetched.is_empty(),
        "13's recording was fetched"
    );
    for nn in [8, 13] {
        let id = id_of(nn);
        let (status, _) = app.get_recording(&id).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{nn:02}");
        assert!(!file_of(&id).exists(), "{nn:02} has a recording file");
    }
    let call13: Call = load(&app.state.store, &id_of(13)).await.unwrap().unwrap();
    assert_eq!(call13.recording().consent(), Some(false));
    assert_eq!(
        call13.recording().recording(),
        Some((
            thirteen.recordings.started[0].as_str(),
            RecordingStage::Discarded
        ))
    );
    // 05 never answered: no recording either.
    assert!(!file_of(&id_of(5)).exists());

    // --- A file under another key is refused cleanly, never served as audio.
    let two = id_of(2);
    let genuine = std::fs::read(file_of(&two)).unwrap();
    std::fs::write(
        file_of(&two),
        RecordingCipher::new(&[9; 32]).encrypt(b"RIFF....WAVE"),
    )
    .unwrap();
    let (_, body) = app.get_recording(&two).await;
    let response = app
        .fetch_link(body["data"]["recordingUrl"].as_str().unwrap(), None)
        .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "RECORDING_UNREADABLE");
    std::fs::write(file_of(&two), genuine).unwrap();

    // --- Reports.
    let expected_rows: Vec<Value> = CONTACTS.iter().map(|(nn, _)| call_of(*nn)).collect();
    let successes = expected_rows
        .iter()
        .filter(|c| c["result"] == "SUCCESS")
        .count();
    let no_answer = expected_rows
        .iter()
        .filter(|c| c["status"] == "NO_ANSWER")
        .count();
    let failed = expected_rows
        .iter()
        .filter(|c| c["status"] == "FAILED")
        .count();
    assert_eq!((successes, no_answer), (2, 1), "{calls}");

    let (status, body) = app
        .create_report(
            &app.token,
            &campaign,
            json!({ "format": "csv", "includeTranscripts": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let csv_link = body["data"]["downloadUrl"].as_str().unwrap().to_owned();
    assert!(body["data"]["reportId"].as_str().is_some());
    let expires: DateTime<Utc> = body["data"]["expiresAt"].as_str().unwrap().parse().unwrap();
    let ttl = expires - Utc::now();
    assert!(
        ttl > chrono::Duration::hours(23) && ttl <= chrono::Duration::hours(24),
        "{ttl}"
    );
    let response = app.fetch_link(&csv_link, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.bytes().await.unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "이름");
    let machine: Vec<&str> = headers.iter().skip(headers.len() - 4).collect();
    assert_eq!(
        machine,
        ["통화 전문", "전화번호(E.164)", "상태 코드", "결과 코드"]
    );
    let e164_column = headers.len() - 3;
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), CONTACTS.len());
    for (nn, name) in CONTACTS {
        let call = call_of(nn);
        let record = records
            .iter()
            .find(|r| &r[e164_column] == e164(nn).as_str())
            .unwrap_or_else(|| panic!("no CSV row for {nn:02}"));
        assert_eq!(&record[0], name);
        // People's columns first (010-5550-01nn, Korean words), the codes at the end.
        assert_eq!(&record[1], format!("010-5550-01{nn:02}"));
        let status = call["status"].as_str().unwrap();
        let result = call["result"].as_str().unwrap_or("");
        assert_eq!(&record[2], label_code(status, Language::Ko));
        assert_eq!(
            &record[3],
            if result.is_empty() {
                String::new()
            } else {
                label_code(result, Language::Ko)
            }
        );
        assert_eq!(
            (&record[e164_column + 1], &record[e164_column + 2]),
            (status, result)
        );
        assert_eq!(&record[4], call["attempts"].to_string().as_str());
        // Started, in Seoul time: `YYYY-MM-DD HH:MM:SS`.
        let started = chrono::NaiveDateTime::parse_from_str(&record[6], "%Y-%m-%d %H:%M:%S")
            .unwrap_or_else(|e| panic!("{nn:02} started {:?}: {e}", &record[6]));
        let utc = started
            .and_local_timezone(chrono_tz::Asia::Seoul)
            .unwrap()
            .with_timezone(&Utc);
        assert!(
            (Utc::now() - utc).num_minutes().abs() < 10,
            "{nn:02}: {utc}"
        );
    }

    let (status, body) = app
        .create_report(&app.token, &campaign, json!({ "format": "pdf" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pdf_link = body["data"]["downloadUrl"].as_str().unwrap().to_owned();
    let response = app.fetch_link(&pdf_link, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdftotext(&pdf).await;
    assert!(text.contains("행복치과 예약 확인"), "{text}");
    for (nn, name) in CONTACTS {
        assert!(text.contains(name), "{name} ({nn:02}) missing:\n{text}");
    }
    let rate = format!("{:.1}", successes as f64 * 100.0 / CONTACTS.len() as f64);
    for total in [
        format!("전체 통화: {}건", CONTACTS.len()),
        format!("성공률: {rate}%"),
        format!("부재중: {no_answer}건"),
        format!("실패: {failed}건"),
        "총 비용: $".to_owned(),
        "총 통화 시간:".to_owned(),
    ] {
        assert!(text.contains(&total), "{total:?} missing:\n{text}");
    }

    // Bad requests and other people's campaigns.
    let (status, body) = app
        .create_report(&app.token, &campaign, json!({ "format": "xlsx" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "INVALID_INPUT");
    let (status, body) = app
        .create_report(
            &app.token,
            &campaign,
            json!({ "format": "csv", "colour": "red" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
    let (status, _) = app
        .create_report(&stranger, &campaign, json!({ "format": "csv" }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An operator's font file that is not there: PDF rendering says what is missing.
    let fontless = ReportFiles::new(
        app.data_dir(),
        ReportFont::File("/nonexistent/NanumGothic.ttf".into()),
    );
    let report = Report::new(
        "x",
        Utc::now(),
        &[],
        ReportOptions {
            include_summaries: true,
            include_transcripts: false,
        },
    );
    assert!(matches!(
        fontless.render(&report, ReportFormat::Pdf),
        Err(ReportError::FontMissing(_))
    ));

    // --- Purge after 30 days, by an injected clock.
    let stored_calls: Vec<String> = CONTACTS
        .iter()
        .map(|(nn, _)| id_of(*nn))
        .filter(|id| file_of(id).exists())
        .collect();
    assert!(stored_calls.len() >= 3, "{stored_calls:?}");
    let clock = Arc::new(ManualClock::new(Utc::now() + chrono::Duration::days(29)));
    let worker = RetentionWorker::new(
        app.state.store.clone(),
        app.state.files.recordings.clone(),
        Arc::new(ReportRetention {
            reports: app.state.files.reports.clone(),
            store: app.state.store.clone(),
        }),
        clock.clone(),
        Duration::from_secs(3600),
    );
    assert_eq!(worker.purge_due().await.unwrap(), 0);
    assert!(stored_calls.iter().all(|id| file_of(id).exists()));
    clock.advance(chrono::Duration::days(2));
    assert_eq!(worker.purge_due().await.unwrap(), stored_calls.len());
    for id in &stored_calls {
        assert!(!file_of(id).exists(), "{id} survived the purge");
        let call: Call = load(&app.state.store, id).await.unwrap().unwrap();
        assert_eq!(
            call.recording().recording().map(|r| r.1),
            Some(RecordingStage::Purged)
        );
    }
    wait_for_recording(
        &app,
        &one,
        StatusCode::NOT_FOUND,
        "the purge in the read model",
    )
    .await;
    // Purging again does nothing more.
    assert_eq!(worker.purge_due().await.unwrap(), 0);

    // --- Expiry: a recording link lasts 15 minutes, a report link 24 hours.
    app_clock.advance(chrono::Duration::minutes(16));
    let response = app.fetch_link(&link, None).await;
    assert_eq!(response.status(), StatusCode::GONE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "LINK_EXPIRED");
    assert_eq!(
        app.fetch_link(&csv_link, None).await.status(),
        StatusCode::OK
    );
    app_clock.advance(chrono::Duration::hours(24));
    for report in [&csv_link, &pdf_link] {
        let response = app.fetch_link(report, None).await;
        assert_eq!(response.status(), StatusCode::GONE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "LINK_EXPIRED");
    }
}
