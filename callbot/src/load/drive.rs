//! The load's customers: accounts signed up, profiled and given a script and a campaign through
//! the public API only, then every campaign started at once.

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

/// An account's cap on calls at once (SPEC: at most 5 calls at once per account).
pub const CALLS_PER_ACCOUNT: u32 = 5;
/// Sign-ups in flight at once (each hashes a password on the server).
const SIGN_UPS_AT_ONCE: usize = 4;

/// A campaign ready to start, with its owner's token.
pub struct Ready {
    pub token: String,
    pub campaign_id: String,
}

/// The API under `base` (`http://host:port`).
pub struct Api {
    pub http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(http: reqwest::Client, base: &str) -> Self {
        Self {
            http,
            base: format!("{base}/api/v1"),
        }
    }

    /// Sends `body` to `path` as `token`; the answer's JSON, or an error naming the status.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `calls` contacts spread over `ceil(calls / 5)` new accounts, each with its profile, caller
    /// id, script and one campaign; nothing started.
    pub async fn prepare(
        &self,
        run: &str,
        calls: u32,
        caller_id: &str,
    ) -> anyhow::Result<Vec<Ready>> {
        let accounts = calls.div_ceil(CALLS_PER_ACCOUNT);
        futures::stream::iter(0..accounts)
            .map(|account| {
                let contacts = (calls - account * CALLS_PER_ACCOUNT).min(CALLS_PER_ACCOUNT);
                self.customer(run, account, contacts, caller_id)
            })
            .buffer_unordered(SIGN_UPS_AT_ONCE)
            .try_collect()
            .await
    }

    async fn customer(
        &self,
        run: &str,
        account: u32,
        contacts: u32,
        caller_id: &str,
    ) -> anyhow::Result<Ready> {
        use reqwest::Method;
        let credentials = json!({
            "email": format!("load-{run}-{account}@callbot-load.test"),
            "password": format!("load-{run}-password"),
        });
        self.send(
            Method::POST,
            "/auth/register",
            None,
            Some(credentials.clone()),
        )
        .await?;
        let login = self
            .send(Method::POST, "/auth/login", None, Some(credentials))
            .await?;
        let token = login["data"]["accessToken"]
            .as_str()
            .context("the login answer has an access token")?
            .to_owned();
        let profile = json!({
            "businessName": format!("부하 시험 {account}"),
            "businessPhone": "02-555-0100",
            "callerId": caller_id,
        });
        self.send(Method::PUT, "/settings", Some(&token), Some(profile))
            .await?;
        let script = json!({
            "name": "부하 시험",
            "naturalInput": "예약 확인 전화",
            "generatedScript": {
                "greeting": "안녕하세요.",
                "purpose": "예약 확인",
                "mainFlow": [{
                    "step": 1,
                    "action": "예정대로 방문 가능하실까요?",
                    "expectedResponses": ["네"],
                    "nextStep": { "positive": null, "negative": null }
                }],
                "closing": "감사합니다.",
                "variables": []
            }
        });
        let saved = self
            .send(Method::POST, "/scripts", Some(&token), Some(script))
            .await?;
        let script_id = saved["data"]["id"]
            .as_str()
            .context("the saved script has an id")?;
        // Korean mobile numbers no SPEC §9 persona uses: every callee answers.
        let contacts: Vec<Value> = (0..contacts)
            .map(|i| {
                let n = account * CALLS_PER_ACCOUNT + i;
                json!({ "phoneNumber": format!("010-7{:03}-{:04}", n / 10_000, n % 10_000) })
            })
            .collect();
        let campaign = json!({
            "name": format!("부하 시험 {account}"),
            "scriptId": script_id,
            "contacts": contacts,
            "settings": {
                "maxConcurrency": CALLS_PER_ACCOUNT,
                "retry": { "maxRetries": 0 },
                "callWindow": { "start": "00:00", "end": "24:00" }
            }
        });
        let created = self
            .send(Method::POST, "/campaigns", Some(&token), Some(campaign))
            .await?;
        let campaign_id = created["data"]["id"]
            .as_str()
            .context("the created campaign has an id")?
            .to_owned();
        Ok(Ready { token, campaign_id })
    }

    /// Places `calls` calls through a compared bridge's `POST {base}/outbound-call` (the route
    /// of ElevenLabs' Twilio outbound example), all at once.
    pub async fn place_through_example(&self, base: &str, calls: u32) -> anyhow::Result<()> {
        futures::future::try_join_all((0..calls).map(|n| async move {
            let number = format!("+82107{:03}{:04}", n / 10_000, n % 10_000);
            let answer = self
                .http
                .post(format!("{base}/outbound-call"))
                .json(&json!({ "number": number }))
                .send()
                .await
                .context("POST /outbound-call")?;
            let status = answer.status();
            if !status.is_success() {
                let text = answer.text().await.unwrap_or_default();
                bail!("POST /outbound-call answered {status}: {text}");
            }
            Ok(())
        }))
        .await?;
        Ok(())
    }

    /// Starts every campaign at once.
    pub async fn start_all(&self, campaigns: &[Ready]) -> anyhow::Result<()> {
        futures::future::try_join_all(campaigns.iter().map(|ready| async move {
            let path = format!("/campaigns/{}/start", ready.campaign_id);
            self.send(reqwest::Method::POST, &path, Some(&ready.token), None)
                .await
        }))
        .await?;
        Ok(())
    }
}
