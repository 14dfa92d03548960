//! The web app's pages over HTTP: signed out they send to 로그인, signed in they answer HTML
//! with the exact Korean names the browser test finds, and every form post needs the
//! session's CSRF token.

use callbot_tests::{AppOptions, TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

fn session(app: &TestApp) -> String {
    format!("callbot_session={}", app.token)
}

/// GETs a page as the signed-in owner; its status and body.
async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = client()
        .get(format!("{}{path}", app.origin))
        .header(COOKIE, session(app))
        .send()
        .await
        .expect("the page answers");
    let status = response.status();
    (status, response.text().await.expect("a body"))
}

/// The setup page's preview of the script as filled for the first contact.
fn filled_preview(html: &str) -> &str {
    html.split("class=\"filled\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_default()
}

/// Opens a page signed in: it answers 200 and shows every one of `names`.
async fn page_showing(app: &TestApp, path: &str, names: &[&str]) -> String {
    let (status, html) = get(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    for name in names {
        assert!(html.contains(name), "{path} shows {name}");
    }
    html
}

/// POSTs a form as the signed-in owner; the response.
async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!("{}{path}", app.origin))
        .header(COOKIE, session(app))
        .form(form)
        .send()
        .await
        .expect("the form answers")
}

/// The value of `attribute="…"` after `marker` in a page.
fn attribute_after(html: &str, marker: &str, attribute: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} on the page"));
    let rest = &html[start..];
    let key = format!("{attribute}=\"");
    let at = rest.find(&key).expect("the attribute") + key.len();
    rest[at..].split('"').next().expect("a value").to_owned()
}

fn csrf_of(html: &str) -> String {
    attribute_after(html, "<meta name=\"csrf\"", "content")
}

#[tokio::test]
async fn signed_out_pages_send_to_the_sign_in_page() {
    let app = spawn_app_with(AppOptions::default().signed_out()).await;
    for path in [
        "/",
        "/campaigns",
        "/campaigns/new",
        "/scripts",
        "/settings",
        "/usage",
        "/suppressions",
        "/campaigns/00000000-0000-0000-0000-000000000000",
    ] {
        let response = client()
            .get(format!("{}{path}", app.origin))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()[LOCATION], "/login", "{path}");
    }
    for (path, names) in [
        ("/login", ["이메일", "비밀번호", ">로그인</button>"]),
        ("/signup", ["이메일", "비밀번호", ">회원가입</button>"]),
    ] {
        let response = client()
            .get(format!("{}{path}", app.origin))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = response.text().await.unwrap();
        for name in names {
            assert!(html.contains(name), "{path} shows {name}");
        }
    }
}

#[tokio::test]
async fn signed_in_pages_show_their_korean_names() {
    let app = spawn_app().await;
    for (path, names) in [
        ("/campaigns", vec!["새 캠페인 만들기", "로그아웃"]),
        (
            "/campaigns/new",
            vec![
                "어떤 전화를 해드릴까요?",
                "스크립트 생성",
                "결제 리마인더 보내줘",
            ],
        ),
        ("/scripts", vec!["저장된 스크립트"]),
        ("/settings", vec!["설정", "발신 번호", "일일 예산"]),
        ("/usage", vec!["사용량", "일별 비용", "캠페인별 비용"]),
        ("/suppressions", vec!["수신 거부 목록", "전화번호"]),
    ] {
        page_showing(&app, path, &names).await;
    }
    let (status, html) = get(&app, "/campaigns?lang=en").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Skip to content") && html.contains("lang=\"en\""));
}

#[tokio::test]
async fn a_form_post_needs_the_sessions_csrf_token() {
    let app = spawn_app().await;
    let (_, html) = get(&app, "/suppressions").await;
    let token = csrf_of(&html);

    let without = post(&app, "/suppressions", &[("phone", "010-5550-0111")]).await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let forged = post(
        &app,
        "/suppressions",
        &[("_csrf", &"0".repeat(64)), ("phone", "010-5550-0111")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (_, html) = get(&app, "/suppressions").await;
    assert!(
        !html.contains("010-5550-0111"),
        "nothing was added without the token"
    );

    let with = post(
        &app,
        "/suppressions",
        &[
            ("_csrf", &token),
            ("phone", "010-5550-0111"),
            ("reason", "요청"),
        ],
    )
    .await;
    assert_eq!(with.status(), StatusCode::SEE_OTHER);
    let (_, html) = get(&app, "/suppressions").await;
    assert!(html.contains("010-5550-0111"));
}

#[tokio::test]
async fn sign_up_through_the_form_shows_password_rules_at_the_field() {
    let app = spawn_app_with(AppOptions::default().signed_out()).await;
    let page = client()
        .get(format!("{}/signup", app.origin))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let token = attribute_after(&html, "name=\"_csrf\"", "value");
    let signup = |password: &'static str, token: String| {
        let (origin, cookie) = (app.origin.clone(), cookie.clone());
        async move {
            client()
                .post(format!("{origin}/signup"))
                .header(COOKIE, cookie)
                .form(&[
                    ("_csrf", token.as_str()),
                    ("email", "kim@clinic.kr"),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let weak = signup("short", token.clone()).await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    let html = weak.text().await.unwrap();
    assert!(html.contains("id=\"password-error\"") && html.contains("8자 이상"));

    assert_eq!(
        signup("password123", String::new()).await.status(),
        StatusCode::FORBIDDEN
    );

    let done = signup("password123", token).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()[LOCATION], "/campaigns/new");
    assert!(
        done.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("callbot_session=")
    );
}

#[tokio::test]
async fn a_campaign_is_written_set_up_and_started_through_the_forms() {
    let app = spawn_app_with(AppOptions::sandbox_calls()).await;
    let (_, html) = get(&app, "/campaigns/new").await;
    let token = csrf_of(&html);
    let request =
        "내일 오후 2시 예약 고객들에게 전화해서 예약 확인하고, 변경 원하면 다른 시간 제안해줘.";
    let generated = post(
        &app,
        "/campaigns/new",
        &[("_csrf", &token), ("natural_input", request)],
    )
    .await;
    assert_eq!(generated.status(), StatusCode::SEE_OTHER);
    let setup = generated.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(setup.starts_with("/campaigns/setup?script="));

    // Screen 2.
    let html = page_showing(
        &app,
        &setup,
        &[
            "인사",
            "목적",
            "흐름",
            "마무리",
            ">수정<",
            ">재생성<",
            "연락처 추가",
            "CSV 업로드",
            "캠페인 이름",
            "캠페인 시작",
        ],
    )
    .await;
    let script_id = setup.rsplit('=').next().unwrap();
    let mut form = vec![
        ("_csrf", token.as_str()),
        ("script_id", script_id),
        ("natural_input", request),
        ("intent", "start"),
        ("name", "2월 5일 예약 확인"),
        ("row_name", "김철수"),
        ("row_phone", "010-5550-0101"),
        ("row_name", "잘못"),
        ("row_phone", "12345"),
        ("s_window_start", "00:00"),
        ("s_window_end", "24:00"),
        ("s_retries", "0"),
        ("s_intervals", ""),
        ("s_recording", "on"),
        ("s_voicemail", "leave_message"),
    ];
    let cols: Vec<String> = html
        .match_indices("name=\"col\" value=\"")
        .map(|(at, m)| html[at + m.len()..].split('"').next().unwrap().to_owned())
        .collect();
    let vars: Vec<String> = html
        .match_indices("name=\"var_")
        .map(|(at, m)| format!("var_{}", html[at + m.len()..].split('"').next().unwrap()))
        .collect();
    let col_names: Vec<String> = cols.iter().map(|c| format!("row_ctx_{c}")).collect();
    for col in &cols {
        form.push(("col", col.as_str()));
    }
    for name in &col_names {
        form.push((name.as_str(), "14:00"));
        form.push((name.as_str(), ""));
    }
    for name in &vars {
        form.push((name.as_str(), "행복치과"));
    }
    let refused = post(&app, "/campaigns/setup", &form).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let html = refused.text().await.unwrap();
    let summary = html
        .split("error-summary")
        .nth(1)
        .unwrap_or("")
        .split("</ul>")
        .next()
        .unwrap_or("");
    assert!(
        html.contains("id=\"row-1-error\""),
        "the bad number is shown at its row: {summary}"
    );
    assert!(html.contains("value=\"김철수\""), "what was typed is kept");
    // The preview is filled for the first contact by the resolver the calls use: the business
    // profile's name and the contact's name, no placeholder left.
    let preview = filled_preview(&html);
    assert!(preview.contains("행복치과"), "{preview}");
    assert!(preview.contains("김철수"), "{preview}");
    assert!(!preview.contains('{'), "{preview}");
    // Another contact chosen for the preview: filled for that one.
    let mut chosen = form.clone();
    chosen.retain(|(key, _)| *key != "intent");
    chosen.extend([("intent", "preview"), ("preview_row", "1")]);
    chosen.retain(|(_, value)| *value != "12345");
    chosen.push(("row_phone", "010-5550-0102"));
    let html = post(&app, "/campaigns/setup", &chosen)
        .await
        .text()
        .await
        .unwrap();
    let preview = filled_preview(&html);
    assert!(preview.contains("잘못"), "{preview}");
    assert!(!preview.contains("김철수님"), "{preview}");

    form.retain(|(_, value)| !(*value == "잘못" || *value == "12345"));
    let started = post(&app, "/campaigns/setup", &form).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let dashboard = started.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(!dashboard.contains("error="), "{dashboard}");
    let html = page_showing(
        &app,
        &dashboard,
        &[
            "진행 현황",
            "완료",
            "진행중",
            "대기",
            "실패",
            "통화 목록",
            "리포트 다운로드",
            "010-5550-0101",
        ],
    )
    .await;
    assert!(html.contains(">일시정지<") || html.contains("badge st-COMPLETED"));
}

#[tokio::test]
async fn a_json_change_signed_in_by_the_cookie_alone_needs_the_pages_csrf_token() {
    let app = spawn_app().await;
    let (_, html) = get(&app, "/campaigns").await;
    let token = csrf_of(&html);
    let suppress = |csrf: Option<&str>| {
        let mut request = client()
            .post(format!("{}/api/v1/suppressions", app.origin))
            .header(COOKIE, session(&app))
            .json(&serde_json::json!({ "phoneNumber": "010-5550-0150" }));
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    // A page of another site could make the browser send the cookie; without the token, no.
    let refused = suppress(None).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let forged = suppress(Some("00ff")).await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let (_, list) = app.call("GET", "/suppressions", None).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0), "{list}");
    // Our own page's script sends it.
    let accepted = suppress(Some(&token)).await.unwrap();
    assert!(accepted.status().is_success(), "{}", accepted.status());
    // Reading needs no token, and a Bearer client never does.
    let read = client()
        .get(format!("{}/api/v1/suppressions", app.origin))
        .header(COOKIE, session(&app))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let (status, _) = app
        .call(
            "POST",
            "/suppressions",
            Some(serde_json::json!({ "phoneNumber": "010-5550-0151" })),
        )
        .await;
    assert!(status.is_success(), "{status}");
}
