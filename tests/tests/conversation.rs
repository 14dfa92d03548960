//! What the callee hears: every value of the script resolved (the contact, the campaign's values,
//! the business profile), the agent's prompt built from the pinned script with `{{dynamic
//! variables}}`, and no placeholder in any transcript.

use callbot_tests::api::BUSINESS_NAME;
use callbot_tests::fixtures::{number, script};
use callbot_tests::{AppOptions, spawn_app_with};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_with_campaign_values_greets_every_callee_by_business_and_name() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let content = script(
        "안녕하세요, {businessName}입니다. {customerName}님 맞으신가요?",
        "내일 예약 확인",
        "예약 변경을 원하시면 {availableTimes} 중에 고르실 수 있어요. 문의는 {businessPhone}로 주세요.",
        &[
            "businessName",
            "customerName",
            "availableTimes",
            "businessPhone",
        ],
    );
    let script_id = app.save_script(content).await;
    let people = [(1, "김민수"), (2, "이영희"), (4, "박지훈")];
    let contacts: Vec<Value> = people
        .iter()
        .map(|(nn, name)| json!({ "phoneNumber": number(*nn), "name": name }))
        .collect();
    let body = json!({
        "name": "내일 예약 확인",
        "scriptId": script_id,
        "contacts": contacts,
        "variables": { "availableTimes": "오후 3시, 오후 4시" },
        "settings": { "callWindow": { "start": "00:00", "end": "24:00" } }
    });
    let id = app.create_campaign_ok(body).await;
    app.start_campaign_ok(&id).await;
    app.wait_for_campaign(&id, "COMPLETED").await;

    // The agent got instructions with the agent's own placeholders and their values beside them.
    let conversations = app.providers.elevenlabs_sandbox().unwrap().conversations();
    assert_eq!(conversations.len(), people.len());
    for conversation in &conversations {
        let prompt = &conversation.prompt;
        assert!(prompt.contains("{{businessName}}을(를) 대신해"), "{prompt}");
        assert!(prompt.contains("{{availableTimes}} 중에"), "{prompt}");
        assert!(prompt.contains("report_outcome"), "{prompt}");
        let single = prompt.replace("{{", "").replace("}}", "");
        assert!(
            !single.contains(['{', '}']),
            "a single-brace placeholder:\n{prompt}"
        );
        let variables = &conversation.dynamic_variables;
        assert_eq!(variables["businessName"], BUSINESS_NAME);
        assert_eq!(variables["availableTimes"], "오후 3시, 오후 4시");
        assert_eq!(variables["businessPhone"], "02-555-0100");
        assert!(conversation.closed_with.is_none_or(|code| code == 1000));
    }

    // Every transcript starts with the greeting, filled, and nowhere holds a placeholder.
    let (_, calls) = app.list_calls(&id, "?pageSize=100").await;
    for call in calls["data"]["items"].as_array().unwrap() {
        let phone = call["phoneNumber"].as_str().unwrap();
        let (_, name) = people
            .iter()
            .find(|(nn, _)| phone.ends_with(&format!("{nn:02}")))
            .unwrap();
        let call_id = call["id"].as_str().unwrap();
        let (_, detail) = app.get_call(call_id).await;
        let transcript = detail["data"]["transcript"]
            .as_array()
            .unwrap_or_else(|| panic!("no transcript: {detail}"));
        assert_eq!(transcript[0]["role"], "agent", "{detail}");
        assert_eq!(
            transcript[0]["text"],
            format!("안녕하세요, {BUSINESS_NAME}입니다. {name}님 맞으신가요?"),
            "{detail}"
        );
        for line in transcript {
            let text = line["text"].as_str().unwrap();
            assert!(
                !text.contains(['{', '}']),
                "a placeholder was spoken: {text}"
            );
        }
    }
}
