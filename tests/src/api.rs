//! One helper per endpoint. Each answers the status and the parsed JSON body (`null` when the
//! body is not JSON); `_as` variants act with another account's token. Helpers that end in
//! `_ok` assert success and answer the useful part.

use std::time::Duration;

use domain::script::ScriptContent;
use protocols::twilio as wire;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::{PASSWORD, PUBLIC_URL};
use crate::sse::Subscriber;
use crate::wait::poll_api;
use crate::{TestApp, fixtures};

/// The business profile every signed-up test account has.
pub const BUSINESS_NAME: &str = "행복치과";

/// How long a sandbox campaign may take to reach a status.
const CAMPAIGN_DEADLINE: Duration = Duration::from_secs(150);

impl TestApp {
    /// Any request under `/api/v1`, with `token` as the bearer when given: the whole response,
    /// for tests that read its headers.
    pub async fn respond(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let method: Method = method.parse().expect("an HTTP method");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("the app answers")
    }

    /// Any request under `/api/v1`, with `token` as the bearer when given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.respond(method, path, token, body).await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Any request as the owner.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.send(method, path, Some(&self.token), body).await
    }

    /// Any request as the holder of `token`.
    pub async fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.send(method, path, Some(token), body).await
    }

    /// `GET` as the holder of `token`.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send("GET", path, Some(token), None).await
    }

    /// `POST` of a JSON body as the holder of `token`.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send("POST", path, Some(token), Some(body)).await
    }

    /// `PUT` of a JSON body as the holder of `token`.
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send("PUT", path, Some(token), Some(body)).await
    }

    /// `DELETE` as the holder of `token`; the status.
    pub async fn delete(&self, path: &str, token: &str) -> StatusCode {
        self.send("DELETE", path, Some(token), None).await.0
    }

    /// A GET of a path outside `/api/v1` (health, metrics, documents, downloads).
    pub async fn get_raw(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.origin))
            .send()
            .await
            .expect("the app answers")
    }

    // --- Accounts

    /// `POST /auth/register`.
    pub async fn register(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let body = json!({ "email": email, "password": password });
        self.send("POST", "/auth/register", None, Some(body)).await
    }

    /// Registers `email` with the harness password, expecting 201.
    pub async fn register_ok(&self, email: &str) {
        let (status, body) = self.register(email, PASSWORD).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    /// `POST /auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let body = json!({ "email": email, "password": password });
        self.send("POST", "/auth/login", None, Some(body)).await
    }

    /// Logs in with the harness password; the access token.
    pub async fn token(&self, email: &str) -> String {
        let (status, body) = self.login(email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"]["accessToken"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// Registers `email` with the harness password and logs in: the token and the account id.
    pub async fn sign_up(&self, email: &str) -> (String, Uuid) {
        self.register_ok(email).await;
        let token = self.token(email).await;
        // Every test business has a profile: campaigns cannot start without its name.
        let profile = json!({ "businessName": BUSINESS_NAME, "businessPhone": "02-555-0100" });
        let (status, body) = self
            .call_as(&token, "PUT", "/settings", Some(profile))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, me) = self.me(&token).await;
        let account = me["data"]["id"].as_str().expect("an account id");
        (token, account.parse().expect("a uuid"))
    }

    /// `POST /auth/password` as the holder of `token`.
    pub async fn change_password(
        &self,
        token: &str,
        current: &str,
        new: &str,
    ) -> (StatusCode, Value) {
        let body = json!({ "currentPassword": current, "newPassword": new });
        self.call_as(token, "POST", "/auth/password", Some(body))
            .await
    }

    /// `GET /me`.
    pub async fn me(&self, token: &str) -> (StatusCode, Value) {
        self.call_as(token, "GET", "/me", None).await
    }

    // --- Scripts

    /// `POST /scripts/generate` for a clinic in `language`.
    pub async fn generate_script(
        &self,
        token: &str,
        input: &str,
        language: &str,
    ) -> (StatusCode, Value) {
        let body = json!({
            "naturalInput": input,
            "context": { "businessType": "clinic", "language": language }
        });
        self.generate_script_from(token, body).await
    }

    /// `POST /scripts/generate` with any body.
    pub async fn generate_script_from(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.post("/scripts/generate", token, body).await
    }

    /// `POST /scripts`: saves a script (or a generated draft, with `scriptId`).
    pub async fn create_script(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.post("/scripts", token, body).await
    }

    /// `PUT /scripts/{id}`: a new version.
    pub async fn edit_script(&self, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
        self.put(&format!("/scripts/{id}"), token, body).await
    }

    /// `GET /scripts/{id}` with `query` (`""` or `?version=1`).
    pub async fn get_script(&self, token: &str, id: &str, query: &str) -> (StatusCode, Value) {
        self.get(&format!("/scripts/{id}{query}"), token).await
    }

    /// `PUT /settings`, expecting 200: the saved settings.
    pub async fn put_settings_ok(&self, settings: Value) -> Value {
        let (status, saved) = self.call("PUT", "/settings", Some(settings)).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        saved
    }

    /// A saved script of the owner, created through its aggregate (no writer involved).
    pub async fn save_script(&self, content: ScriptContent) -> Uuid {
        fixtures::save_script(&self.state.store, self.account, content).await
    }

    // --- Campaigns

    /// `POST /campaigns`.
    pub async fn create_campaign(&self, body: Value) -> (StatusCode, Value) {
        self.call("POST", "/campaigns", Some(body)).await
    }

    /// `POST /campaigns`, expecting 201; the campaign id.
    pub async fn create_campaign_ok(&self, body: Value) -> String {
        let (status, created) = self.create_campaign(body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["data"]["id"]
            .as_str()
            .expect("a campaign id")
            .to_owned()
    }

    /// `POST /campaigns/{id}/{action}` (`start`, `pause`, `resume`, `cancel`, `contacts`) as the
    /// owner, with `body` when given.
    pub async fn campaign_action(
        &self,
        id: &str,
        action: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call("POST", &format!("/campaigns/{id}/{action}"), body)
            .await
    }

    /// `POST /campaigns/{id}/start` now.
    pub async fn start_campaign(&self, id: &str) -> (StatusCode, Value) {
        self.campaign_action(id, "start", None).await
    }

    /// `POST /campaigns/{id}/start`, expecting 200; the campaign.
    pub async fn start_campaign_ok(&self, id: &str) -> Value {
        let (status, started) = self.start_campaign(id).await;
        assert_eq!(status, StatusCode::OK, "{started}");
        started
    }

    /// `GET /campaigns/{id}`.
    pub async fn get_campaign(&self, id: &str) -> (StatusCode, Value) {
        self.call("GET", &format!("/campaigns/{id}"), None).await
    }

    /// `GET /campaigns/{id}/calls` with `query` (`""` or `?pageSize=100`).
    pub async fn list_calls(&self, id: &str, query: &str) -> (StatusCode, Value) {
        self.call("GET", &format!("/campaigns/{id}/calls{query}"), None)
            .await
    }

    /// `POST /campaigns/{id}/contacts/import` with a CSV file's bytes.
    pub async fn import_csv(&self, id: &str, csv: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}/campaigns/{id}/contacts/import", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .expect("the app answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /suppressions`: puts a number on the do-not-call list.
    pub async fn suppress(&self, body: Value) -> (StatusCode, Value) {
        self.call("POST", "/suppressions", Some(body)).await
    }

    /// Waits until the campaign has `status`; its data then.
    pub async fn wait_for_campaign(&self, id: &str, status: &str) -> Value {
        poll_api(
            &format!("campaign {id} to be {status}"),
            CAMPAIGN_DEADLINE,
            || async {
                let (_, campaign) = self.get_campaign(id).await;
                (campaign["data"]["status"] == status).then(|| campaign["data"].clone())
            },
        )
        .await
    }

    /// `GET /campaigns/{id}/events` with `query` as the holder of `token`.
    pub async fn campaign_events(
        &self,
        token: &str,
        campaign: &str,
        query: &str,
    ) -> (StatusCode, Value) {
        self.get(&format!("/campaigns/{campaign}/events{query}"), token)
            .await
    }

    /// `POST /campaigns/{id}/report` with `request` as the holder of `token`.
    pub async fn create_report(
        &self,
        token: &str,
        campaign: &str,
        request: Value,
    ) -> (StatusCode, Value) {
        self.post(&format!("/campaigns/{campaign}/report"), token, request)
            .await
    }

    // --- Calls

    /// `GET /calls/{id}/recording`: the recording's link.
    pub async fn get_recording(&self, call: &str) -> (StatusCode, Value) {
        self.call("GET", &format!("/calls/{call}/recording"), None)
            .await
    }

    /// `GET /calls/{id}`.
    pub async fn get_call(&self, id: &str) -> (StatusCode, Value) {
        self.call("GET", &format!("/calls/{id}"), None).await
    }

    // --- Download links

    /// Fetches a signed download link as a browser would: no Bearer header, through the local
    /// port standing in for the public origin.
    pub async fn fetch_link(&self, link: &str, range: Option<&str>) -> reqwest::Response {
        let path = link
            .strip_prefix(PUBLIC_URL)
            .unwrap_or_else(|| panic!("{link} is not under {PUBLIC_URL}"));
        let mut request = self.client.get(format!("{}{path}", self.origin));
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        request.send().await.expect("the app answers")
    }

    // --- Provider webhooks

    /// Posts a Twilio callback form to a webhook path, with the signature header when given.
    pub async fn post_twilio(
        &self,
        path: &str,
        form: &wire::Form,
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.origin))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(wire::encode_form(form));
        if let Some(signature) = signature {
            request = request.header(wire::SIGNATURE_HEADER, signature);
        }
        request.send().await.expect("the app answers")
    }

    /// Posts a Twilio callback form signed with `auth_token` over [`PUBLIC_URL`] (the app must
    /// run with `AppOptions::public_base_url(PUBLIC_URL)`).
    pub async fn post_twilio_signed(
        &self,
        path: &str,
        form: &wire::Form,
        auth_token: &str,
    ) -> reqwest::Response {
        let signature = wire::compute_signature(auth_token, &format!("{PUBLIC_URL}{path}"), form);
        self.post_twilio(path, form, Some(&signature)).await
    }

    // --- The store

    /// The types of an aggregate's events, in order.
    pub async fn event_types(&self, aggregate_id: impl ToString) -> Vec<String> {
        self.state
            .store
            .read_aggregate(&aggregate_id.to_string())
            .await
            .expect("the aggregate's events")
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    // --- The status stream

    /// `GET /campaigns/{id}/status` as the holder of `token` (none when empty), resuming after
    /// `last`.
    pub async fn subscribe_as(
        &self,
        token: &str,
        campaign: &str,
        last: Option<i64>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .get(format!("{}/campaigns/{campaign}/status", self.base));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last.to_string());
        }
        request.send().await.expect("the app answers")
    }

    /// The owner's status stream of `campaign`, which must open.
    pub async fn subscribe(&self, campaign: &str, last: Option<i64>) -> Subscriber {
        let response = self.subscribe_as(&self.token, campaign, last).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"]
                .to_str()
                .expect("a content type"),
            "text/event-stream"
        );
        Subscriber::new(response)
    }

    // --- Webhooks

    /// `POST /webhooks` for `url` and `types`, expecting 201: the endpoint with its secret.
    pub async fn register_webhook_ok(&self, url: &str, types: &[&str]) -> Value {
        let body = json!({ "url": url, "eventTypes": types });
        let (status, created) = self.call("POST", "/webhooks", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["data"].clone()
    }

    /// `GET /webhooks/{id}/deliveries{query}`, expecting 200: the delivery log.
    pub async fn webhook_deliveries_ok(&self, endpoint: &str, query: &str) -> Vec<Value> {
        let path = format!("/webhooks/{endpoint}/deliveries{query}");
        let (status, log) = self.call("GET", &path, None).await;
        assert_eq!(status, StatusCode::OK, "{log}");
        log["data"].as_array().expect("a delivery log").clone()
    }

    /// A campaign of the clinic script (saved for it) calling `contacts` at any hour, with the
    /// appointment time set for all of them; `settings` adds to (or overrides) the call window.
    /// Created, not started; its id.
    pub async fn create_clinic_campaign_ok(
        &self,
        name: &str,
        contacts: Value,
        settings: Value,
    ) -> String {
        let script = self.save_script(fixtures::clinic_script()).await;
        let mut all_settings = json!({ "callWindow": { "start": "00:00", "end": "24:00" } });
        if let (Some(all), Value::Object(extra)) = (all_settings.as_object_mut(), settings) {
            all.extend(extra);
        }
        self.create_campaign_ok(json!({
            "name": name,
            "scriptId": script,
            "contacts": contacts,
            "variables": { "appointmentTime": "내일 오후 2시" },
            "settings": all_settings
        }))
        .await
    }

    /// A sandbox campaign of the clinic script calling `phones` (any hour, no retries),
    /// started; its id.
    pub async fn start_sandbox_campaign_ok(&self, phones: &[String]) -> String {
        let contacts: Vec<Value> = phones
            .iter()
            .enumerate()
            .map(|(n, phone)| json!({ "phoneNumber": phone, "name": format!("고객{n}") }))
            .collect();
        let no_retries = json!({ "retry": { "maxRetries": 0, "intervalsSeconds": [1] } });
        let campaign = self
            .create_clinic_campaign_ok("샌드박스 캠페인", contacts.into(), no_retries)
            .await;
        self.start_campaign_ok(&campaign).await;
        campaign
    }
}
