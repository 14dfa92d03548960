//! The Calls resource: create (which starts a simulated callee), fetch, and update (hang-up or
//! new TwiML).

use axum::extract::Query;
use protocols::twilio::{CallList, Paging};

use super::callee::Driver;
use super::*;

pub(super) async fn create_call(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if shared
        .fail_creates
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return unavailable();
    }
    if !is_form(&headers) {
        return error(
            StatusCode::BAD_REQUEST,
            21609,
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let form = wire::parse_form(&body);
    let request = match CreateCall::from_form(&form) {
        Ok(request) => request,
        Err(err) => return error(StatusCode::BAD_REQUEST, 21205, &err.to_string()),
    };
    for event in &request.status_callback_events {
        if !wire::STATUS_EVENTS.contains(&event.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                21626,
                &format!("Invalid StatusCallbackEvent {event}"),
            );
        }
    }
    if let Some(twiml) = &request.twiml
        && let Some(refused) = twiml_refusal(twiml)
    {
        return refused;
    }
    let persona = Persona::of(&request.to);
    if persona == Persona::Unreachable || !request.to.starts_with('+') {
        return error(
            StatusCode::BAD_REQUEST,
            ERROR_INVALID_TO,
            &format!(
                "The 'To' number {} is not a valid phone number.",
                request.to
            ),
        );
    }
    if request.from != PHONE_NUMBER {
        return error(
            StatusCode::BAD_REQUEST,
            21210,
            "The source phone number provided is not yet verified for your account.",
        );
    }
    if let Some(load) = &shared.options.load {
        load.placed();
    }
    let attempt = {
        let mut attempts = shared.attempts_per_number.lock().expect("sandbox lock");
        let count = attempts.entry(request.to.clone()).or_insert(0);
        *count += 1;
        *count
    };
    let sid = shared.new_sid("CA");
    let resource = CallResource {
        sid: sid.clone(),
        account_sid: shared.account_sid.clone(),
        to: request.to.clone(),
        from: request.from.clone(),
        status: "queued".into(),
        date_created: Some(now_rfc2822()),
        date_updated: Some(now_rfc2822()),
        start_time: None,
        end_time: None,
        duration: None,
        price: None,
        price_unit: Some("USD".into()),
        direction: Some("outbound-api".into()),
        answered_by: None,
        api_version: Some("2010-04-01".into()),
        parent_call_sid: None,
        queue_time: Some("0".into()),
        uri: Some(format!(
            "/2010-04-01/Accounts/{}/Calls/{sid}.json",
            shared.account_sid
        )),
    };
    let changed = Arc::new(Notify::new());
    shared.calls.lock().expect("sandbox lock").insert(
        sid.clone(),
        LiveCall {
            log: CallLog {
                sid: sid.clone(),
                request: request.clone(),
                persona,
                status: "queued".into(),
                twiml: None,
                twiml_problem: None,
                twiml_updates: Vec::new(),
                hung_up_by_api: false,
                recordings: RecordingLog::default(),
                refused_callbacks: Vec::new(),
                stream: StreamLog::default(),
                time_limit_reached: false,
            },
            resource: resource.clone(),
            changed: changed.clone(),
        },
    );
    let driver = Driver {
        shared: shared.clone(),
        sid,
        request,
        persona,
        attempt,
        changed,
        sequence: 0,
        pending: Vec::new(),
    };
    tokio::spawn(driver.run());
    if shared
        .lose_create_answers
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error",
        );
    }
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// `GET …/Calls.json`: the calls, newest first, filtered by `To`, `From`, `Status` and
/// `StartTime>=` (a date, `YYYY-MM-DD`, read in UTC as Twilio does), one page of `PageSize`
/// (default 50, at most 1000).
pub(super) async fn list_calls(
    State(shared): State<Arc<Shared>>,
    Query(filter): Query<HashMap<String, String>>,
) -> Response {
    let page_size = match filter.get("PageSize").map(|v| v.parse::<u32>()) {
        None => 50,
        Some(Ok(size)) if (1..=1000).contains(&size) => size,
        Some(_) => return error(StatusCode::BAD_REQUEST, 20001, "Invalid PageSize"),
    };
    let since = match filter.get("StartTime>") {
        None => None,
        Some(date) => match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => return error(StatusCode::BAD_REQUEST, 20001, "Invalid StartTime"),
        },
    };
    let matches = |field: &str, value: &str| filter.get(field).is_none_or(|want| want == value);
    let calls = shared.calls.lock().expect("sandbox lock");
    let mut found: Vec<(u64, CallResource)> = calls
        .values()
        .map(|live| &live.resource)
        .filter(|call| matches("To", &call.to) && matches("From", &call.from))
        .filter(|call| matches("Status", &call.status))
        .filter(|call| {
            since.is_none_or(|since| {
                call.date_created
                    .as_deref()
                    .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
                    .is_some_and(|created| created.date_naive() >= since)
            })
        })
        .map(|call| (serial_of(&call.sid), call.clone()))
        .collect();
    found.sort_by_key(|(serial, _)| std::cmp::Reverse(*serial));
    let calls = found
        .into_iter()
        .take(page_size as usize)
        .map(|(_, call)| call)
        .collect();
    axum::Json(CallList {
        calls,
        paging: Paging::only(page_size),
    })
    .into_response()
}

/// Why Twilio would refuse inline TwiML, as its answer: over 4,000 characters (21232) or not
/// well formed (12100).
fn twiml_refusal(twiml: &str) -> Option<Response> {
    if twiml.chars().count() > 4000 {
        return Some(error(StatusCode::BAD_REQUEST, 21232, "Twiml is too long"));
    }
    wire::parse_twiml(twiml)
        .err()
        .map(|err| error(StatusCode::BAD_REQUEST, 12100, &err.to_string()))
}

pub(super) fn call_sid_of(path_segment: &str) -> &str {
    path_segment.trim_end_matches(".json")
}

pub(super) async fn fetch_call(
    State(shared): State<Arc<Shared>>,
    Path((_, call)): Path<(String, String)>,
) -> Response {
    let calls = shared.calls.lock().expect("sandbox lock");
    match calls.get(call_sid_of(&call)) {
        Some(live) => axum::Json(live.resource.clone()).into_response(),
        None => not_found(),
    }
}

pub(super) async fn update_call(
    State(shared): State<Arc<Shared>>,
    Path((_, call)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = wire::parse_form(&body);
    let field = |name: &str| wire::form::first(&form, name).map(str::to_owned);
    let mut calls = shared.calls.lock().expect("sandbox lock");
    let Some(live) = calls.get_mut(call_sid_of(&call)) else {
        return not_found();
    };
    let ended = live
        .resource
        .status
        .parse::<CallStatus>()
        .is_ok_and(CallStatus::is_terminal);
    if ended {
        // Twilio: a call that is over cannot be modified (HTTP 400, 21220).
        return error(
            StatusCode::BAD_REQUEST,
            wire::ERROR_CALL_NOT_IN_PROGRESS,
            "Unable to update record: Call is not in-progress. Cannot redirect.",
        );
    }
    if let Some(status) = field("Status") {
        if status != "completed" && status != "canceled" {
            return error(StatusCode::BAD_REQUEST, 21218, "Invalid Status");
        }
        // `canceled` ends only a call that has not been answered; `completed` ends any call,
        // and the answer already says how it ended (the callee's callbacks follow).
        let answered = live.resource.status == "in-progress";
        if status == "canceled" && answered {
            return axum::Json(live.resource.clone()).into_response();
        }
        live.log.hung_up_by_api = true;
        live.resource.status = if answered { "completed" } else { "canceled" }.into();
        live.resource.end_time = Some(now_rfc2822());
        live.resource.date_updated = live.resource.end_time.clone();
        live.log.status = live.resource.status.clone();
    } else if let Some(twiml) = field("Twiml") {
        if let Some(refused) = twiml_refusal(&twiml) {
            return refused;
        }
        live.log.twiml_updates.push(twiml);
    } else {
        return error(
            StatusCode::BAD_REQUEST,
            21205,
            "Either Status, Url or Twiml is required",
        );
    }
    live.changed.notify_one();
    axum::Json(live.resource.clone()).into_response()
}
