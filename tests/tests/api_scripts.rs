//! Scripts through the HTTP API: the PRD's Gherkin scenario with both writers (the offline one,
//! and the OpenAI adapter talking to the sandbox over HTTP), saving drafts, CRUD with versions,
//! field-level validation, other accounts, and the generate rate limit.

use callbot_tests::fixtures::{assert_error, code, text};
use callbot_tests::{AppOptions, TestApp, spawn_app_with};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sandbox::openai::SandboxServer;
use serde_json::{Value, json};

const SEED: &str = "내일 오후 2시에 예약된 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 \
                    시간 제안해줘. 취소하면 취소 사유도 물어봐줘.";

/// The embedded default (no OpenAI key, the offline writer) on a clock the test moves, with
/// owner@clinic.kr signed up: the app and the owner's token.
async fn spawn_owner() -> (TestApp, String) {
    let app = spawn_app_with(AppOptions::default().manual_clock(Utc::now()).signed_out()).await;
    let token = app.sign_up("owner@clinic.kr").await.0;
    (app, token)
}

/// With `OPENAI_*` pointing at the sandbox, asking for `model`; nobody signed up.
async fn spawn_with_openai(sandbox: &SandboxServer, model: &str) -> TestApp {
    let options = AppOptions::default()
        .manual_clock(Utc::now())
        .openai(sandbox, model)
        .signed_out();
    spawn_app_with(options).await
}

/// The seed generated through the OpenAI writer against a fresh sandbox answering as `model`:
/// the sandbox, the app, the owner's token and the answer.
async fn generate_with_openai(model: &str) -> (SandboxServer, TestApp, String, StatusCode, Value) {
    let sandbox = sandbox::openai::spawn(callbot::providers::OfflineAuthor::shared()).await;
    let app = spawn_with_openai(&sandbox, model).await;
    let token = app.sign_up("owner@clinic.kr").await.0;
    let (status, body) = app.generate_script(&token, SEED, "ko").await;
    (sandbox, app, token, status, body)
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("no field list in {body}"))
        .iter()
        .map(|error| error["field"].as_str().unwrap().to_owned())
        .collect()
}

/// The step a `nextStep` branch leads to.
fn step_after<'a>(script: &'a Value, from: &Value, branch: &str) -> &'a Value {
    let target = from["nextStep"][branch]
        .as_u64()
        .unwrap_or_else(|| panic!("{branch} of {from} ends the call"));
    &script["mainFlow"][target as usize - 1]
}

/// Then AI가 통화 스크립트를 생성하여 미리보기를 보여준다; And 스크립트에는 인사, 예약 확인, 변경
/// 처리 흐름이 포함된다 — plus the cancellation with its reason, and a closing.
fn assert_the_seed_scenario(data: &Value) {
    let mut keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["generatedScript", "naturalInput", "preview", "scriptId"],
        "exactly the PRD's shape"
    );
    assert_eq!(data["naturalInput"], SEED);
    let script = &data["generatedScript"];
    let greeting = script["greeting"].as_str().unwrap();
    assert!(greeting.starts_with("안녕하세요"), "greeting: {greeting}");
    let purpose = script["purpose"].as_str().unwrap();
    assert!(
        purpose.contains("예약") && purpose.contains("확인"),
        "purpose: {purpose}"
    );
    let confirm = &script["mainFlow"][0];
    assert_eq!(confirm["step"], 1);
    assert!(text(&confirm["action"]).contains("가능하실까요"));
    assert!(
        confirm["nextStep"]["positive"].is_null(),
        "a confirmation goes to the closing"
    );
    let change_or_cancel = step_after(script, confirm, "negative");
    let offer = step_after(script, change_or_cancel, "positive");
    let offer_text = offer["action"].as_str().unwrap();
    assert!(
        offer_text.contains("{availableTimes}") && offer_text.contains("시간"),
        "another time is offered: {offer_text}"
    );
    let cancel = step_after(script, change_or_cancel, "negative");
    let cancel_text = cancel["action"].as_str().unwrap();
    assert!(
        cancel_text.contains("취소") && cancel_text.contains("이유"),
        "the reason is asked: {cancel_text}"
    );
    assert!(text(&script["closing"]).contains("감사합니다"));
    for variable in ["{customerName}", "{appointmentTime}", "{businessName}"] {
        assert!(
            script["variables"]
                .as_array()
                .unwrap()
                .contains(&json!(variable)),
            "{variable} declared"
        );
    }
    let preview = data["preview"].as_str().unwrap();
    for part in [
        "인사: \"안녕하세요",
        "\n\n목적: \"",
        "\n\n흐름:\n1. ",
        "→ 긍정: 마무리",
        "\n\n마무리: \"",
    ] {
        assert!(preview.contains(part), "{part:?} missing from\n{preview}");
    }
}

#[tokio::test]
async fn the_prd_scenario_passes_with_the_offline_writer() {
    let (app, token) = spawn_owner().await;

    let (status, body) = app.generate_script(&token, SEED, "ko").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    assert_the_seed_scenario(&body["data"]);

    // The generated script is kept as a draft under scriptId, hidden from the default list.
    let id = body["data"]["scriptId"].as_str().unwrap();
    let (status, draft) = app.get(&format!("/scripts/{id}"), &token).await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    assert_eq!(draft["data"]["status"], "DRAFT");
    assert_eq!(draft["data"]["version"], 1);
    assert_eq!(draft["data"]["writer"], "offline");
    assert_eq!(
        draft["data"]["generatedScript"],
        body["data"]["generatedScript"]
    );
    assert_eq!(draft["data"]["preview"], body["data"]["preview"]);
    let (_, list) = app.get("/scripts", &token).await;
    assert_eq!(list["data"], json!([]));
    let (_, drafts) = app.get("/scripts?status=draft", &token).await;
    assert_eq!(drafts["data"][0]["id"], id);
}

#[tokio::test]
async fn the_prd_scenario_passes_with_the_openai_writer_against_the_sandbox() {
    let (sandbox, app, token, status, body) = generate_with_openai("gpt-4o-mini").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_the_seed_scenario(&body["data"]);
    assert_eq!(sandbox.request_count(), 1, "one chat completion");
    let sent = &sandbox.requests()[0];
    assert_eq!(sent.model, "gpt-4o-mini");
    assert!(sent.messages[1].content.contains(SEED));
    assert!(sent.messages[1].content.contains("clinic"));
    let id = body["data"]["scriptId"].as_str().unwrap();
    let (_, draft) = app.get(&format!("/scripts/{id}"), &token).await;
    assert_eq!(draft["data"]["writer"], "openai");
}

#[tokio::test]
async fn the_openai_writer_repairs_an_invalid_answer_behind_the_api() {
    let (sandbox, _app, _, status, body) = generate_with_openai("sandbox-invalid-once").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_the_seed_scenario(&body["data"]);
    assert_eq!(sandbox.request_count(), 2, "the answer and its repair");
}

#[tokio::test]
async fn a_writer_failure_is_generation_failed_and_keeps_nothing() {
    let (_sandbox, app, token, status, body) = generate_with_openai("sandbox-refusal").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "GENERATION_FAILED");
    assert_eq!(body["error"]["message"], "Failed to generate script");
    assert!(
        text(&body["error"]["details"]["reason"]).contains("refused"),
        "{body}"
    );
    let (_, all) = app.get("/scripts?status=all", &token).await;
    assert_eq!(all["data"], json!([]));

    let (_sandbox, _app, _, status, body) = generate_with_openai("sandbox-429").await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "GENERATION_FAILED");
    assert!(
        text(&body["error"]["details"]["reason"]).contains("HTTP 429"),
        "{body}"
    );
}

#[tokio::test]
async fn an_english_request_gets_an_english_script_and_preview() {
    let (app, token) = spawn_owner().await;
    let (status, body) = app
        .generate_script_from(
            &token,
            json!({
                "naturalInput": "Remind members that their payment of $120 is due Friday",
                "context": { "language": "en" }
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert!(
        text(&data["generatedScript"]["purpose"]).contains("$120 is due on Friday"),
        "{data}"
    );
    let preview = data["preview"].as_str().unwrap();
    assert!(preview.starts_with("Greeting: \"Hello, this is {businessName}.\""));
    assert!(preview.contains("\n\nFlow:\n1. "));
}

#[tokio::test]
async fn generate_refuses_bad_input_with_clear_codes() {
    let (app, token) = spawn_owner().await;

    let (status, body) = app
        .generate_script_from(&token, json!({ "naturalInput": "예약 확인해줘" }))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert_eq!(body["error"]["message"], "Natural input too short");
    assert_eq!(fields(&body), ["naturalInput"]);

    let (status, body) = app
        .generate_script_from(&token, json!({ "naturalInput": SEED, "context": { "language": "ja", "businessType": "x".repeat(51) } }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["context.language", "context.businessType"]);

    let (status, body) = app
        .generate_script_from(&token, json!({ "naturalInput": "가".repeat(2_001) }))
        .await;
    assert_eq!(
        (status, fields(&body)),
        (StatusCode::BAD_REQUEST, vec!["naturalInput".to_owned()])
    );

    let (status, body) = app
        .generate_script_from(&token, json!({ "naturalInput": SEED, "tone": "friendly" }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&body["error"]["message"]).contains("tone"), "{body}");

    let (status, body) = app
        .send(
            "POST",
            "/scripts/generate",
            None,
            Some(json!({ "naturalInput": SEED })),
        )
        .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

#[tokio::test]
async fn the_eleventh_generate_in_a_minute_is_rate_limited() {
    let (app, token) = spawn_owner().await;
    for n in 1..=10 {
        let (status, body) = app.generate_script(&token, SEED, "ko").await;
        assert_eq!(status, StatusCode::OK, "generate #{n}: {body}");
    }
    let seed = json!({ "naturalInput": SEED });
    let response = app
        .respond("POST", "/scripts/generate", Some(&token), Some(seed))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "6");
    let body: Value = response.json().await.unwrap();
    assert_eq!(code(&body), "RATE_LIMITED");

    // Other endpoints and other users are not affected; the bucket refills (one per 6 s).
    let (status, _) = app.get("/scripts", &token).await;
    assert_eq!(status, StatusCode::OK);
    let other = app.sign_up("other@clinic.kr").await.0;
    assert_eq!(
        app.generate_script(&other, SEED, "ko").await.0,
        StatusCode::OK
    );
    app.manual_clock().advance(Duration::seconds(6));
    assert_eq!(
        app.generate_script(&token, SEED, "ko").await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.generate_script(&token, SEED, "ko").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

fn script(greeting: &str) -> Value {
    json!({
        "greeting": greeting,
        "purpose": "{customerName}님, 내일 {appointmentTime}에 예약이 있으셔서 확인차 연락드렸습니다.",
        "mainFlow": [
            {
                "step": 1,
                "action": "예정대로 방문 가능하실까요?",
                "expectedResponses": ["네", "시간을 바꾸고 싶어요"],
                "nextStep": { "positive": null, "negative": 2 }
            },
            {
                "step": 2,
                "action": "{availableTimes} 중에 편하신 시간이 있으실까요?",
                "expectedResponses": [],
                "nextStep": { "positive": null, "negative": null }
            }
        ],
        "closing": "감사합니다. 좋은 하루 보내세요.",
        "variables": ["{businessName}", "{customerName}", "{appointmentTime}", "{availableTimes}"]
    })
}

/// The body of `POST /scripts` for a new script.
fn new_script(name: &str, natural_input: &str, generated: Value) -> Value {
    json!({ "name": name, "naturalInput": natural_input, "generatedScript": generated })
}

/// The body of `POST /scripts` that saves the draft `draft` generated from the seed.
fn saved_draft(draft: &str, name: &str, generated: Value) -> Value {
    json!({ "scriptId": draft, "name": name, "naturalInput": SEED, "generatedScript": generated })
}

#[tokio::test]
async fn scripts_are_saved_listed_read_edited_with_versions_and_deleted() {
    let (app, token) = spawn_owner().await;

    let (status, body) = app
        .create_script(
            &token,
            new_script(
                " 2월 5일 예약 확인 ",
                "내일 예약 확인해줘, 변경이면 다른 시간",
                script("안녕하세요, {businessName}입니다."),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let data = &body["data"];
    assert_eq!(data["name"], "2월 5일 예약 확인");
    assert_eq!(data["version"], 1);
    assert!(data["createdAt"].as_str().unwrap().ends_with('Z'));
    let id = data["id"].as_str().unwrap().to_owned();

    app.manual_clock().advance(Duration::seconds(1));
    let (status, body) = app
        .create_script(&token, new_script("두 번째", "", script("안녕하세요")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let second = body["data"]["id"].as_str().unwrap().to_owned();
    let (_, list) = app.get("/scripts", &token).await;
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second.as_str(), id.as_str()], "newest first");

    let (status, body) = app
        .edit_script(
            &token,
            &id,
            json!({ "generatedScript": script("반갑습니다, {businessName}입니다.") }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["version"], 2);
    assert_eq!(body["data"]["name"], "2월 5일 예약 확인");
    assert!(text(&body["data"]["preview"]).starts_with("인사: \"반갑습니다"));

    let (_, read) = app.get(&format!("/scripts/{id}"), &token).await;
    assert_eq!(read["data"]["version"], 2);
    assert_eq!(
        read["data"]["generatedScript"]["greeting"],
        "반갑습니다, {businessName}입니다."
    );
    assert_eq!(read["data"]["status"], "SAVED");
    let (_, first) = app.get(&format!("/scripts/{id}?version=1"), &token).await;
    assert_eq!(first["data"]["version"], 1);
    assert_eq!(first["data"]["currentVersion"], 2);
    assert_eq!(
        first["data"]["generatedScript"]["greeting"],
        "안녕하세요, {businessName}입니다."
    );
    assert_eq!(
        app.get(&format!("/scripts/{id}?version=9"), &token).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, body) = app
        .edit_script(
            &token,
            &id,
            json!({ "name": "예약 확인 (최종)", "generatedScript": script("안녕하세요") }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["data"]["name"], &body["data"]["version"]),
        (&json!("예약 확인 (최종)"), &json!(3))
    );

    assert_eq!(
        app.delete(&format!("/scripts/{id}"), &token).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/scripts/{id}"), &token).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("/scripts/{id}"), &token).await,
        StatusCode::NOT_FOUND
    );
    let (_, list) = app.get("/scripts", &token).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/scripts/not-a-uuid", &token).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = app.get("/scripts?status=archived", &token).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
}

#[tokio::test]
async fn a_generated_draft_is_saved_under_its_id() {
    let (app, token) = spawn_owner().await;
    let (_, generated) = app.generate_script(&token, SEED, "ko").await;
    let draft = generated["data"]["scriptId"].as_str().unwrap().to_owned();
    let save = |script: Value| saved_draft(&draft, "2월 5일 예약 확인", script);

    let (status, body) = app
        .create_script(&token, save(generated["data"]["generatedScript"].clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["id"], draft.as_str());
    assert_eq!(
        body["data"]["version"], 1,
        "unchanged content keeps version 1"
    );
    assert_eq!(body["data"]["status"], "SAVED");
    let (_, list) = app.get("/scripts", &token).await;
    assert_eq!(list["data"][0]["id"], draft.as_str());
    assert_eq!(list["data"][0]["name"], "2월 5일 예약 확인");

    let (status, body) = app
        .create_script(&token, save(generated["data"]["generatedScript"].clone()))
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "CONFLICT");

    // A draft saved with the owner's changes becomes version 2.
    let (_, generated) = app.generate_script(&token, SEED, "ko").await;
    let mut edited = generated["data"]["generatedScript"].clone();
    edited["closing"] = json!("감사합니다. 내일 뵙겠습니다.");
    let (status, body) = app
        .create_script(
            &token,
            saved_draft(text(&generated["data"]["scriptId"]), "수정본", edited),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["version"], 2);
}

#[tokio::test]
async fn invalid_scripts_are_refused_with_every_field_named() {
    let (app, token) = spawn_owner().await;
    let mut broken = script("안녕하세요, {businessName}입니다.");
    broken["mainFlow"][0]["nextStep"]["negative"] = json!(9);
    broken["mainFlow"][1]["step"] = json!(3);
    broken["closing"] = json!("  ");
    broken["variables"] = json!(["{businessName}", "{customerName}", "{availableTimes}"]);
    let (status, body) = app
        .create_script(&token, new_script("", "예약 확인", broken))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "INVALID_INPUT");
    assert_eq!(
        fields(&body),
        [
            "name",
            "generatedScript.closing",
            "generatedScript.mainFlow[0].nextStep.negative",
            "generatedScript.mainFlow[1].step",
            "generatedScript.purpose",
        ]
    );
    let details = &body["error"]["details"];
    assert!(
        text(&details[4]["message"]).contains("{appointmentTime}"),
        "{details}"
    );

    let (_, created) = app
        .create_script(
            &token,
            new_script("예약", "예약 확인", script("안녕하세요")),
        )
        .await;
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let mut unknown = script("안녕하세요");
    unknown["mainFlow"][0]["tone"] = json!("warm");
    let (status, body) = app
        .edit_script(&token, &id, json!({ "generatedScript": unknown }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&body["error"]["message"]).contains("tone"), "{body}");
    let mut no_steps = script("안녕하세요");
    no_steps["mainFlow"] = json!([]);
    let (status, body) = app
        .edit_script(&token, &id, json!({ "generatedScript": no_steps }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(fields(&body).contains(&"generatedScript.mainFlow".to_owned()));
    let (_, read) = app.get(&format!("/scripts/{id}"), &token).await;
    assert_eq!(read["data"]["version"], 1, "a refused edit changes nothing");
}

#[tokio::test]
async fn another_accounts_script_is_not_found() {
    let (app, owner) = spawn_owner().await;
    let stranger = app.sign_up("stranger@salon.kr").await.0;
    let (_, generated) = app.generate_script(&owner, SEED, "ko").await;
    let draft = generated["data"]["scriptId"].as_str().unwrap().to_owned();
    let path = format!("/scripts/{draft}");

    assert_eq!(app.get(&path, &stranger).await.0, StatusCode::NOT_FOUND);
    let (status, body) = app
        .edit_script(
            &stranger,
            &draft,
            json!({ "generatedScript": script("탈취") }),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(app.delete(&path, &stranger).await, StatusCode::NOT_FOUND);
    let (status, _) = app
        .create_script(
            &stranger,
            saved_draft(
                &draft,
                "가져가기",
                generated["data"]["generatedScript"].clone(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get("/scripts?status=all", &stranger).await;
    assert_eq!(list["data"], json!([]));
    let (status, read) = app.get(&path, &owner).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["data"]["version"], 1, "untouched");
}
