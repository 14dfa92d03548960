//! The Recordings resource: start and stop on a call, the media as WAV, delete; and the
//! recording-callback form.

use super::*;

pub(super) async fn create_recording(
    State(shared): State<Arc<Shared>>,
    Path((_, call)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let form = wire::parse_form(&body);
    let callback = wire::form::first(&form, "RecordingStatusCallback").map(str::to_owned);
    let mut calls = shared.calls.lock().expect("sandbox lock");
    let Some(live) = calls.get_mut(&call) else {
        return not_found();
    };
    if live.resource.status != "in-progress" {
        return error(
            StatusCode::BAD_REQUEST,
            21220,
            "Requested resource is not eligible for recording",
        );
    }
    let sid = shared.new_sid("RE");
    live.log.recordings.started.push(sid.clone());
    live.log.recordings.callback = callback;
    shared.recordings.lock().expect("sandbox lock").insert(
        sid.clone(),
        SandboxRecording {
            call_sid: call.clone(),
            started: tokio::time::Instant::now(),
            created: now_rfc2822(),
            status: "in-progress".into(),
            duration_secs: None,
            deleted: false,
        },
    );
    let recordings = shared.recordings.lock().expect("sandbox lock");
    let resource = resource_of(&shared, &sid, &recordings[&sid]);
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// The Recording resource as Twilio shows it.
fn resource_of(shared: &Shared, sid: &str, recording: &SandboxRecording) -> RecordingResource {
    RecordingResource {
        sid: sid.to_owned(),
        call_sid: recording.call_sid.clone(),
        status: recording.status.clone(),
        channels: Some(2),
        account_sid: Some(shared.account_sid.clone()),
        date_created: Some(recording.created.clone()),
        date_updated: Some(recording.created.clone()),
        start_time: Some(recording.created.clone()),
        duration: recording.duration_secs.map(|secs| secs.to_string()),
        source: Some("StartCallRecordingAPI".into()),
        uri: Some(wire::recording_path(&shared.account_sid, sid, ".json")),
    }
}

/// `GET …/Calls/{CallSid}/Recordings.json`: the call's recordings, newest first (404 for a call
/// the account does not have).
pub(super) async fn list_call_recordings(
    State(shared): State<Arc<Shared>>,
    Path((_, call)): Path<(String, String)>,
) -> Response {
    if !shared
        .calls
        .lock()
        .expect("sandbox lock")
        .contains_key(&call)
    {
        return not_found();
    }
    let recordings = shared.recordings.lock().expect("sandbox lock");
    let mut found: Vec<(u64, RecordingResource)> = recordings
        .iter()
        .filter(|(_, r)| r.call_sid == call && !r.deleted)
        .map(|(sid, r)| (serial_of(sid), resource_of(&shared, sid, r)))
        .collect();
    found.sort_by_key(|(serial, _)| std::cmp::Reverse(*serial));
    axum::Json(RecordingList {
        recordings: found.into_iter().map(|(_, r)| r).collect(),
        paging: protocols::twilio::Paging::only(50),
    })
    .into_response()
}

/// `GET …/Calls/{CallSid}/Recordings/{Sid}.json`.
pub(super) async fn fetch_call_recording(
    State(shared): State<Arc<Shared>>,
    Path((_, call, file)): Path<(String, String, String)>,
) -> Response {
    let sid = file.trim_end_matches(".json");
    let recordings = shared.recordings.lock().expect("sandbox lock");
    match recordings.get(sid) {
        Some(r) if r.call_sid == call && !r.deleted => {
            axum::Json(resource_of(&shared, sid, r)).into_response()
        }
        _ => not_found(),
    }
}

/// `POST …/Recordings/{Sid|Twilio.CURRENT}.json` with `Status=stopped|paused|in-progress`.
pub(super) async fn update_recording(
    State(shared): State<Arc<Shared>>,
    Path((_, call, recording)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let form = wire::parse_form(&body);
    let status = wire::form::first(&form, "Status").map(str::to_owned);
    if !matches!(
        status.as_deref(),
        Some("stopped" | "paused" | "in-progress")
    ) {
        return error(
            StatusCode::BAD_REQUEST,
            21205,
            "Status must be stopped, paused or in-progress",
        );
    }
    let mut calls = shared.calls.lock().expect("sandbox lock");
    let live = calls.get_mut(&call);
    let recording = recording.trim_end_matches(".json");
    let Some(live) = live else {
        return not_found();
    };
    let sid = if recording == "Twilio.CURRENT" {
        live.log.recordings.started.last().cloned()
    } else {
        live.log
            .recordings
            .started
            .iter()
            .find(|r| *r == recording)
            .cloned()
    };
    let Some(sid) = sid else {
        return error(
            StatusCode::NOT_FOUND,
            ERROR_NOT_FOUND,
            "No recording in progress",
        );
    };
    if status.as_deref() == Some("stopped") {
        live.log.recordings.stopped.push(sid.clone());
    }
    drop(calls);
    let mut recordings = shared.recordings.lock().expect("sandbox lock");
    let Some(recording) = recordings.get_mut(&sid) else {
        return not_found();
    };
    if recording.duration_secs.is_none() {
        recording.status = status.unwrap_or_default();
    }
    axum::Json(resource_of(&shared, &sid, recording)).into_response()
}

/// The longest recording the sandbox serves (longer calls are cut, to keep tests light).
pub const MAX_RECORDING_SECS: u32 = 600;

/// The audio of a sandbox recording: a 16-bit PCM WAV, 8 kHz, two channels (as `RecordingChannels=dual`
/// gives), `duration_secs` long, with a tone per channel that depends on the recording id — so a
/// test can tell exactly which recording it got back, byte for byte.
pub fn recording_wav(recording_sid: &str, duration_secs: u32) -> Vec<u8> {
    const RATE: u32 = 8_000;
    const CHANNELS: u16 = 2;
    let seed = recording_sid.bytes().fold(0u32, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u32::from(b))
    });
    let tones = [
        300.0 + f64::from(seed % 400),
        700.0 + f64::from((seed / 400) % 400),
    ];
    let frames = RATE * duration_secs.min(MAX_RECORDING_SECS);
    let data_len = frames * u32::from(CHANNELS) * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&CHANNELS.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * u32::from(CHANNELS) * 2).to_le_bytes());
    wav.extend_from_slice(&(CHANNELS * 2).to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for frame in 0..frames {
        let t = f64::from(frame) / f64::from(RATE);
        for tone in tones {
            let sample = (f64::sin(2.0 * std::f64::consts::PI * tone * t) * 8_000.0) as i16;
            wav.extend_from_slice(&sample.to_le_bytes());
        }
    }
    wav
}

/// `GET …/Recordings/{Sid}.wav`: the media of a completed recording.
pub(super) async fn recording_media(
    State(shared): State<Arc<Shared>>,
    Path((_, file)): Path<(String, String)>,
) -> Response {
    let Some(sid) = file.strip_suffix(".wav") else {
        return not_found();
    };
    let (call_sid, duration) = {
        let recordings = shared.recordings.lock().expect("sandbox lock");
        match recordings.get(sid) {
            Some(r) if !r.deleted => match r.duration_secs {
                Some(duration) => (r.call_sid.clone(), duration),
                None => return not_found(),
            },
            _ => return not_found(),
        }
    };
    shared.note_call(&call_sid, |log| log.recordings.fetched.push(sid.to_owned()));
    (
        [(header::CONTENT_TYPE, wire::WAV_CONTENT_TYPE)],
        recording_wav(sid, duration),
    )
        .into_response()
}

/// `DELETE …/Recordings/{Sid}.json`: 204, and the media is gone.
pub(super) async fn delete_recording(
    State(shared): State<Arc<Shared>>,
    Path((_, file)): Path<(String, String)>,
) -> Response {
    let sid = file.trim_end_matches(".json");
    let call_sid = {
        let mut recordings = shared.recordings.lock().expect("sandbox lock");
        match recordings.get_mut(sid) {
            Some(r) if !r.deleted => {
                r.deleted = true;
                r.call_sid.clone()
            }
            _ => {
                return not_found();
            }
        }
    };
    shared.note_call(&call_sid, |log| log.recordings.deleted.push(sid.to_owned()));
    StatusCode::NO_CONTENT.into_response()
}

/// The recording-callback form Twilio would post for `recording_sid` (exposed for tests of the
/// backend's recording webhook).
pub fn recording_form(call_sid: &str, recording_sid: &str, status: &str) -> wire::Form {
    RecordingCallback {
        call_sid: call_sid.to_owned(),
        account_sid: ACCOUNT_SID.to_owned(),
        recording_sid: recording_sid.to_owned(),
        recording_url: Some(format!(
            "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}"
        )),
        recording_status: status.to_owned(),
        recording_duration: Some(12),
    }
    .to_form()
}
