//! The owner's side of a running `callbot serve`, through its public API, for the tests that
//! start the binary (included with `#[path]` where used, so the others do not carry it).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Polls `check` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A signed-in owner with a business profile.
pub struct Owner {
    pub client: reqwest::Client,
    pub token: String,
}

impl Owner {
    /// Registers, signs in and fills the business profile on the server at `base`.
    pub async fn sign_up(base: &str) -> Self {
        let client = reqwest::Client::new();
        let mut owner = Self {
            client,
            token: String::new(),
        };
        let credentials = json!({ "email": "owner@clinic.kr", "password": "correct horse 7" });
        owner
            .call(base, "POST", "/auth/register", Some(&credentials))
            .await;
        let login = owner
            .call(base, "POST", "/auth/login", Some(&credentials))
            .await;
        owner.token = login["data"]["accessToken"].as_str().unwrap().to_owned();
        let profile = json!({ "businessName": "행복치과", "businessPhone": "02-555-0100" });
        owner.call(base, "PUT", "/settings", Some(&profile)).await;
        owner
    }

    /// `method /api/v1{path}` on the server at `base`; panics unless it succeeds.
    pub async fn call(&self, base: &str, method: &str, path: &str, body: Option<&Value>) -> Value {
        let url = format!("{base}/api/v1{path}");
        let mut request = self
            .client
            .request(method.parse().unwrap(), url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    /// Saves a one-step appointment-confirmation script: its id.
    pub async fn save_script(&self, base: &str) -> Value {
        let script = json!({
            "name": "예약 확인",
            "naturalInput": "내일 예약 고객에게 확인 전화",
            "generatedScript": {
                "greeting": "안녕하세요, {customerName}님. {businessName}입니다.",
                "purpose": "내일 예약 확인",
                "mainFlow": [{ "step": 1, "action": "예정대로 방문 가능하실까요?",
                    "expectedResponses": ["네"], "nextStep": { "positive": null, "negative": null } }],
                "closing": "감사합니다.",
                "variables": ["{customerName}", "{businessName}"]
            }
        });
        let script = self.call(base, "POST", "/scripts", Some(&script)).await;
        script["data"]["id"].clone()
    }
}
