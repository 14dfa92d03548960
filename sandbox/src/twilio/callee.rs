//! The simulated callee: one [`Driver`] per created call sends the signed callbacks in order,
//! fetches and checks the voice TwiML, plays the persona and runs the media stream.

use super::*;

/// One simulated call, from ringing to its end.
pub(super) struct Driver {
    pub(super) shared: Arc<Shared>,
    pub(super) sid: String,
    pub(super) request: CreateCall,
    pub(super) persona: Persona,
    pub(super) attempt: u32,
    pub(super) changed: Arc<Notify>,
    pub(super) sequence: u32,
    /// Status callbacks held back to be shuffled at the end.
    pub(super) pending: Vec<StatusCallback>,
}

impl Driver {
    async fn pause(&self, millis: u64) {
        let scaled = (millis as f64 / self.shared.options.speed).max(1.0);
        tokio::time::sleep(Duration::from_millis(scaled as u64)).await;
    }

    fn set_status(&self, status: CallStatus) {
        let mut calls = self.shared.calls.lock().expect("sandbox lock");
        if let Some(live) = calls.get_mut(&self.sid) {
            // A call the REST API already ended stays ended: the answer to the update said so.
            let ended = live
                .resource
                .status
                .parse::<CallStatus>()
                .is_ok_and(CallStatus::is_terminal);
            if ended && !status.is_terminal() {
                return;
            }
            live.resource.status = match status {
                CallStatus::Initiated => "queued".into(),
                other => other.as_str().into(),
            };
            // Twilio fills `start_time` once the call is dialed.
            if live.resource.start_time.is_none() {
                live.resource.start_time = Some(now_rfc2822());
            }
            live.resource.date_updated = Some(now_rfc2822());
            live.log.status = live.resource.status.clone();
        }
    }

    pub(super) fn hung_up_by_api(&self) -> bool {
        let calls = self.shared.calls.lock().expect("sandbox lock");
        calls.get(&self.sid).is_some_and(|c| c.log.hung_up_by_api)
    }

    fn twiml_updated(&self) -> bool {
        let calls = self.shared.calls.lock().expect("sandbox lock");
        calls
            .get(&self.sid)
            .is_some_and(|c| !c.log.twiml_updates.is_empty())
    }

    fn note_resource(&self, edit: impl FnOnce(&mut CallResource)) {
        let mut calls = self.shared.calls.lock().expect("sandbox lock");
        if let Some(live) = calls.get_mut(&self.sid) {
            edit(&mut live.resource);
        }
    }

    /// Notes how a load stream went (see [`super::load_stream`]).
    pub(super) fn note_stream(
        &self,
        sent: u64,
        received: u64,
        closed_by_backend: bool,
        problem: Option<String>,
    ) {
        self.note(|log| {
            log.stream.frames_sent = sent;
            log.stream.frames_received = received;
            log.stream.closed_by_backend = closed_by_backend;
            log.stream.problem = problem;
        });
    }

    fn note(&self, edit: impl FnOnce(&mut CallLog)) {
        self.shared.note_call(&self.sid, edit);
    }

    async fn progress(&mut self, status: CallStatus, duration: Option<u32>, sip: Option<u16>) {
        // `initiated` and `ringing` are sent only when asked for; terminal ones always.
        let event = match status {
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "answered",
            _ => "completed",
        };
        self.set_status(status);
        if !self
            .request
            .status_callback_events
            .iter()
            .any(|e| e == event)
            && event != "completed"
        {
            return;
        }
        if self.request.status_callback.is_empty() {
            return;
        }
        let callback = StatusCallback {
            call_sid: self.sid.clone(),
            account_sid: self.shared.account_sid.clone(),
            call_status: status,
            sequence_number: Some(self.sequence),
            call_duration: duration,
            sip_response_code: sip,
            error_code: None,
            timestamp: Some(now_rfc2822()),
        };
        self.sequence += 1;
        if self.shared.options.shuffle_callbacks {
            self.pending.push(callback);
            return;
        }
        self.deliver_status(&callback).await;
    }

    async fn deliver_status(&self, callback: &StatusCallback) {
        let form = callback.to_form(&self.request.from, &self.request.to);
        let url = self.request.status_callback.clone();
        self.post(&url, &form).await;
        if self.shared.options.duplicate_callbacks {
            self.post(&url, &form).await;
        }
    }

    /// Posts a signed form to one of the backend's URLs as Twilio does: the URL's fragment
    /// (connection overrides, PROTOCOLS) is neither sent nor signed, and says how often a failed
    /// delivery is retried. Returns the body of the answer that succeeded.
    async fn post(&self, url: &str, form: &wire::Form) -> Option<String> {
        let (url, overrides) = ConnectionOverrides::split(url);
        let signature = wire::compute_signature(&self.shared.auth_token, url, form);
        let target = self.target(url);
        for attempt in 0..=overrides.retries {
            if attempt > 0 {
                self.pause(200 * u64::from(attempt)).await;
            }
            let response = self
                .shared
                .http
                .post(&target)
                .header(wire::SIGNATURE_HEADER, &signature)
                .header(
                    header::CONTENT_TYPE.as_str(),
                    "application/x-www-form-urlencoded",
                )
                .header(header::USER_AGENT.as_str(), "TwilioProxy/1.1")
                .body(wire::encode_form(form))
                .send()
                .await;
            let retry = match response {
                Ok(response) if response.status().is_success() => {
                    return response.text().await.ok();
                }
                Ok(response) => {
                    let status = response.status();
                    self.note(|log| log.refused_callbacks.push(format!("{url} → {status}")));
                    overrides.retries_status(status.as_u16())
                }
                Err(err) => {
                    self.note(|log| log.refused_callbacks.push(format!("{url} → {err}")));
                    if err.is_connect() {
                        overrides.on_connect_failure
                    } else {
                        overrides.on_read_timeout
                    }
                }
            };
            if !retry {
                break;
            }
        }
        None
    }

    /// The URL the request really goes to: the public one, or the same path on `deliver_to`.
    fn target(&self, url: &str) -> String {
        let Some(addr) = *self.shared.deliver_to.lock().expect("sandbox lock") else {
            return url.to_owned();
        };
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("/");
        format!("http://{addr}{path}")
    }

    pub(super) async fn run(mut self) {
        self.pause(50).await;
        self.progress(CallStatus::Initiated, None, None).await;
        match self.persona {
            Persona::Busy => {
                self.pause(500).await;
                self.progress(CallStatus::Busy, Some(0), Some(486)).await;
            }
            Persona::NeverAnswers => self.ring_out().await,
            Persona::AnswersOnThirdAttempt if self.attempt < 3 => self.ring_out().await,
            // Refused at create; a call that got this far fails the way an unknown number does.
            Persona::Unreachable => {
                self.progress(CallStatus::Failed, Some(0), Some(404)).await;
            }
            _ => self.answer().await,
        }
        self.flush().await;
    }

    /// Rings for the whole timeout, then gives up as Twilio does (SIP 487).
    async fn ring_out(&mut self) {
        self.pause(200).await;
        self.progress(CallStatus::Ringing, None, None).await;
        self.pause(u64::from(self.request.timeout_secs) * 1000)
            .await;
        self.progress(CallStatus::NoAnswer, Some(0), Some(487))
            .await;
    }

    async fn answer(&mut self) {
        self.pause(200).await;
        self.progress(CallStatus::Ringing, None, None).await;
        self.pause(2000).await;
        if self.hung_up_by_api() {
            self.progress(CallStatus::Canceled, Some(0), Some(487))
                .await;
            return;
        }
        self.progress(CallStatus::InProgress, None, None).await;
        let started = tokio::time::Instant::now();
        let verbs = self.fetch_twiml().await;
        if self.persona == Persona::Voicemail {
            self.voicemail().await;
        } else if self.persona == Persona::HangsUpDuringNotice {
            // Gone before the notice ends: the stream never starts.
            self.pause(1500).await;
        } else if let Some(verbs) = verbs {
            self.amd("human").await;
            // Twilio ends a call at its `TimeLimit`, whatever the TwiML is doing.
            let limit = self.request.time_limit_secs.map_or(Duration::MAX, |secs| {
                Duration::from_secs_f64(f64::from(secs) / self.shared.options.speed)
            });
            if tokio::time::timeout(limit, self.execute(&verbs))
                .await
                .is_err()
            {
                self.note(|log| log.time_limit_reached = true);
            }
        }
        let secs = (started.elapsed().as_secs_f64() * self.shared.options.speed).round() as u32;
        self.progress(CallStatus::Completed, Some(secs.max(1)), None)
            .await;
        let (recordings, callback) = {
            let calls = self.shared.calls.lock().expect("sandbox lock");
            calls.get(&self.sid).map_or((Vec::new(), None), |c| {
                (
                    c.log.recordings.started.clone(),
                    c.log.recordings.callback.clone(),
                )
            })
        };
        // Every recording completes with the call; its callback goes out if one was asked for.
        let durations: Vec<(String, u32)> = recordings
            .into_iter()
            .map(|recording| {
                let duration = self.complete_recording(&recording);
                (recording, duration)
            })
            .collect();
        if let Some(url) = callback {
            for (recording, duration) in durations {
                let form = RecordingCallback {
                    call_sid: self.sid.clone(),
                    account_sid: self.shared.account_sid.clone(),
                    recording_sid: recording.clone(),
                    recording_url: Some(format!(
                        "{}{}",
                        self.shared.api_base,
                        wire::recording_path(&self.shared.account_sid, &recording, "")
                    )),
                    recording_status: "completed".to_owned(),
                    recording_duration: Some(duration),
                }
                .to_form();
                self.post(&url, &form).await;
            }
        }
        let mut calls = self.shared.calls.lock().expect("sandbox lock");
        if let Some(live) = calls.get_mut(&self.sid) {
            live.resource.duration = Some(secs.max(1).to_string());
            live.resource.end_time = Some(now_rfc2822());
            // Twilio bills per started minute at a rate that depends on the destination.
            let minutes = secs.max(1).div_ceil(60);
            live.resource.price = Some(format!("-{:.4}", f64::from(minutes) * 0.0135));
        }
    }

    /// Marks a recording complete (its media becomes available) and returns its length in
    /// simulated seconds.
    fn complete_recording(&self, recording_sid: &str) -> u32 {
        let mut recordings = self.shared.recordings.lock().expect("sandbox lock");
        let Some(recording) = recordings.get_mut(recording_sid) else {
            return 1;
        };
        let secs = recording.started.elapsed().as_secs_f64() * self.shared.options.speed;
        let duration = (secs.round() as u32).clamp(1, MAX_RECORDING_SECS);
        recording.duration_secs = Some(duration);
        recording.status = "completed".into();
        duration
    }

    /// Fetches the voice URL like Twilio (or takes the create's inline `Twiml`) and checks the
    /// answer; `None` if it is unusable.
    async fn fetch_twiml(&self) -> Option<Vec<Verb>> {
        let body = match &self.request.twiml {
            Some(twiml) => twiml.clone(),
            None => self.fetch_voice_url().await?,
        };
        match wire::parse_twiml(&body) {
            Ok(verbs) => {
                let problem = check_consent_twiml(&verbs);
                self.note(|log| {
                    log.twiml = Some(verbs.clone());
                    log.twiml_problem = problem;
                });
                Some(verbs)
            }
            Err(err) => {
                self.note(|log| log.twiml_problem = Some(err.to_string()));
                None
            }
        }
    }

    /// Posts to the voice URL, signed; its answer's body.
    async fn fetch_voice_url(&self) -> Option<String> {
        let mut form = StatusCallback {
            call_sid: self.sid.clone(),
            account_sid: self.shared.account_sid.clone(),
            call_status: CallStatus::InProgress,
            sequence_number: None,
            call_duration: None,
            sip_response_code: None,
            error_code: None,
            timestamp: None,
        }
        .to_form(&self.request.from, &self.request.to);
        form.retain(|(k, _)| k != "CallbackSource");
        let url = self.request.url.clone();
        let body = self.post(&url, &form).await;
        if body.is_none() {
            self.note(|log| log.twiml_problem = Some("the voice URL failed".into()));
        }
        body
    }

    /// The machine-detection verdict, when the create asked for detection: on the call
    /// (`answered_by`, as fetch shows it) and, with async AMD, posted to its callback.
    async fn amd(&self, answered_by: &str) {
        if self.request.machine_detection.is_none() {
            return;
        }
        self.note_resource(|call| call.answered_by = Some(answered_by.to_owned()));
        let Some(url) = self.request.async_amd_status_callback.clone() else {
            return;
        };
        let verdict = AmdCallback {
            call_sid: self.sid.clone(),
            account_sid: self.shared.account_sid.clone(),
            answered_by: answered_by.to_owned(),
            machine_detection_duration_ms: Some(if answered_by == "human" { 1200 } else { 4200 }),
        };
        self.post(&url, &verdict.to_form()).await;
    }

    /// An answering machine: greeting, beep, then whatever the backend decides.
    async fn voicemail(&self) {
        self.pause(4000).await;
        self.amd("machine_end_beep").await;
        // Wait for the message (TwiML update) or a hang-up, at most the 30 s a box records.
        let changed = self.changed.clone();
        let _ = tokio::time::timeout(
            Duration::from_millis((30_000.0 / self.shared.options.speed) as u64),
            changed.notified(),
        )
        .await;
        if self.twiml_updated() {
            // The message plays (a few seconds), then `<Hangup/>`.
            self.pause(5000).await;
        }
    }

    /// Runs the TwiML verbs after the voice answer: the notice, then the stream.
    async fn execute(&self, verbs: &[Verb]) {
        for verb in verbs {
            if self.hung_up_by_api() {
                return;
            }
            match verb {
                Verb::Say { text, .. } => {
                    // About 6 Korean syllables a second.
                    self.pause(text.chars().count() as u64 * 160).await;
                }
                Verb::Pause { length } => {
                    // A hang-up through the REST API cuts the pause short.
                    let changed = self.changed.clone();
                    tokio::select! {
                        () = self.pause(u64::from(*length) * 1000) => {}
                        () = changed.notified() => {}
                    }
                }
                Verb::ConnectStream { url, parameters } => {
                    // Twilio goes on to the next verb once the socket closes (or fails).
                    self.stream(url, parameters).await;
                }
                Verb::Hangup => return,
            }
        }
    }

    /// The Media Streams client: `connected`, `start` with the parameters, 20 ms µ-law frames
    /// (the first ones carry the persona, see [`crate::elevenlabs::persona_frame`]) until the
    /// backend closes the socket, the backend hangs up, or two simulated minutes pass.
    async fn stream(&self, url: &str, parameters: &std::collections::BTreeMap<String, String>) {
        use futures::{SinkExt, StreamExt};
        use protocols::twilio::{
            FromTwilio, MediaFormat, MediaPayload, StreamStart, StreamStop, ToTwilio,
        };
        use tokio_tungstenite::tungstenite::Message;

        let target = match *self.shared.deliver_to.lock().expect("sandbox lock") {
            Some(addr) => {
                let path = url
                    .split_once("://")
                    .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
                    .unwrap_or_else(|| "/".into());
                format!("ws://{addr}{path}")
            }
            None => url.to_owned(),
        };
        let mut socket =
            match tokio_tungstenite::connect_async_with_config(target.as_str(), None, true).await {
                Ok((socket, _)) => socket,
                Err(err) => {
                    self.note(|log| log.stream.problem = Some(format!("connect: {err}")));
                    return;
                }
            };
        let stream_sid = self.shared.new_sid("MZ");
        let account_sid = self.shared.account_sid.clone();
        let text = |message: &FromTwilio| {
            Message::text(serde_json::to_string(message).expect("Media Streams messages serialize"))
        };
        let connected = FromTwilio::Connected {
            protocol: "Call".into(),
            version: "1.0.0".into(),
        };
        let start = FromTwilio::Start {
            sequence_number: "1".into(),
            start: StreamStart {
                account_sid: account_sid.clone(),
                stream_sid: stream_sid.clone(),
                call_sid: self.sid.clone(),
                tracks: vec!["inbound".into()],
                custom_parameters: parameters.clone(),
                media_format: Some(MediaFormat {
                    encoding: "audio/x-mulaw".into(),
                    sample_rate: 8000,
                    channels: 1,
                }),
            },
            stream_sid: stream_sid.clone(),
        };
        if socket.send(text(&connected)).await.is_err() || socket.send(text(&start)).await.is_err()
        {
            self.note(|log| log.stream.problem = Some("closed during the handshake".into()));
            return;
        }
        if let Some(load) = self.shared.options.load.clone() {
            self.load_stream(socket, &stream_sid, &load).await;
            return;
        }
        let persona = self
            .request
            .to
            .strip_prefix("+8210555001")
            .unwrap_or("01")
            .to_owned();
        let frame_every = Duration::from_secs_f64((0.020 / self.shared.options.speed).max(0.000_5));
        let mut ticker = tokio::time::interval(frame_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let max_frames = 6_000u64; // two minutes of audio
        let (mut sent, mut received, mut clears) = (0u64, 0u64, 0u64);
        let mut sequence = 2u64;
        let closed_by_backend = loop {
            tokio::select! {
                _ = ticker.tick() => {
                    let hung_up = self.hung_up_by_api();
                    if hung_up || sent >= max_frames {
                        let stop = FromTwilio::Stop {
                            sequence_number: sequence.to_string(),
                            stop: StreamStop { account_sid: account_sid.clone(), call_sid: self.sid.clone() },
                            stream_sid: stream_sid.clone(),
                        };
                        let _ = socket.send(text(&stop)).await;
                        let _ = socket.close(None).await;
                        break hung_up;
                    }
                    let audio = if sent < 5 {
                        crate::elevenlabs::persona_frame(&persona)
                    } else {
                        crate::probe::frame().unwrap_or_else(|| vec![0xFF; 160])
                    };
                    sent += 1;
                    let media = FromTwilio::Media {
                        sequence_number: sequence.to_string(),
                        media: MediaPayload {
                            track: Some("inbound".into()),
                            chunk: Some(sent.to_string()),
                            timestamp: Some((sent * 20).to_string()),
                            payload: BASE64.encode(audio),
                        },
                        stream_sid: stream_sid.clone(),
                    };
                    sequence += 1;
                    if socket.send(text(&media)).await.is_err() {
                        break true;
                    }
                }
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Text(body))) => match serde_json::from_str::<ToTwilio>(body.as_str()) {
                        Ok(ToTwilio::Media { media, .. }) => {
                            if BASE64.decode(media.payload).is_ok() {
                                received += 1;
                            }
                        }
                        Ok(ToTwilio::Clear { .. }) => clears += 1,
                        Ok(ToTwilio::Mark { .. }) => {}
                        Err(err) => {
                            self.note(|log| log.stream.problem = Some(format!("unreadable message: {err}")));
                        }
                    },
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break true,
                    Some(Ok(_)) => {}
                },
            }
        };
        self.note(|log| {
            log.stream.frames_sent = sent;
            log.stream.frames_received = received;
            log.stream.clears = clears;
            log.stream.closed_by_backend = closed_by_backend;
        });
    }

    async fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.shuffle(&mut rand::rng());
        for callback in &pending {
            self.deliver_status(callback).await;
        }
    }
}

/// What Twilio would trip over, or a compliance rule broken, in a voice answer: the consent
/// `<Say language="ko-KR">` must run before `<Connect><Stream>`, the stream URL must be `wss://`
/// (or `ws://` on loopback) without a query string, and each parameter under 500 characters.
pub fn check_consent_twiml(verbs: &[Verb]) -> Option<String> {
    let say = verbs
        .iter()
        .position(|v| matches!(v, Verb::Say { language, .. } if language == "ko-KR"));
    let connect = verbs
        .iter()
        .position(|v| matches!(v, Verb::ConnectStream { .. }));
    let (Some(say), Some(connect)) = (say, connect) else {
        return Some("the answer lacks a ko-KR <Say> or a <Connect><Stream>".into());
    };
    if say > connect {
        return Some("the consent <Say> comes after <Connect>".into());
    }
    if let Some(Verb::ConnectStream { url, parameters }) = verbs.get(connect) {
        let loopback = url.starts_with("ws://127.0.0.1") || url.starts_with("ws://localhost");
        if !(url.starts_with("wss://") || loopback) {
            return Some(format!("stream url {url} is not wss://"));
        }
        if url.contains('?') {
            return Some("stream url has a query string".into());
        }
        if parameters
            .iter()
            .any(|(name, value)| name.len() + value.len() >= 500)
        {
            return Some("a <Parameter> is 500 characters or more".into());
        }
    }
    None
}
