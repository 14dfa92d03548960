//! The callee's media stream in load mode: real-time 20 ms frames stamped by
//! [`crate::load::LoadCallee`] for a fixed time, each echo timed as it comes back.

use futures::{SinkExt, StreamExt};
use protocols::twilio::{FromTwilio, MediaPayload, StreamStop, ToTwilio};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::callee::Driver;
use super::*;
use crate::load::{FRAME_PERIOD, LoadCallee, RoundTrip, StreamStats};

pub(super) type MediaSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where a load stream is in its life.
enum Phase {
    Streaming,
    /// The last frame is out; waiting for the echoes still on their way until the deadline.
    Draining(tokio::time::Instant),
}

impl Driver {
    /// Streams stamped frames for `load.stream_for` after `connected` and `start` were sent,
    /// then waits (at most `load.drain_for`) for the last echoes, sends `stop` and closes.
    pub(super) async fn load_stream(
        &self,
        mut socket: MediaSocket,
        stream_sid: &str,
        load: &LoadCallee,
    ) {
        let tag = load.tag();
        let opened_at = std::time::Instant::now();
        let mut stats = StreamStats {
            call_sid: self.sid.clone(),
            opened_at,
            ended_at: opened_at,
            first_echo_at: None,
            frames_sent: 0,
            frames_echoed: 0,
            frames_misrouted: 0,
            round_trips: Vec::new(),
            problem: None,
        };
        // Which sequences came back, so a duplicate or a stranger counts as misrouted.
        let mut echoed: Vec<bool> = Vec::new();
        let stream_until = tokio::time::Instant::now() + load.stream_for;
        let mut ticker = tokio::time::interval(FRAME_PERIOD);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut phase = Phase::Streaming;
        let mut sequence = 2u64;
        let closed_by_backend = loop {
            let drain_deadline = match phase {
                Phase::Streaming => None,
                Phase::Draining(deadline) => Some(deadline),
            };
            if drain_deadline.is_some() && stats.frames_echoed == stats.frames_sent {
                break false;
            }
            tokio::select! {
                _ = ticker.tick(), if drain_deadline.is_none() => {
                    if self.hung_up_by_api() {
                        stats.problem = Some("the backend hung up during the stream".into());
                        break true;
                    }
                    if tokio::time::Instant::now() >= stream_until {
                        phase = Phase::Draining(tokio::time::Instant::now() + load.drain_for);
                        continue;
                    }
                    let frame = load.frame(tag, stats.frames_sent);
                    stats.frames_sent += 1;
                    echoed.push(false);
                    let media = FromTwilio::Media {
                        sequence_number: sequence.to_string(),
                        media: MediaPayload {
                            track: Some("inbound".into()),
                            chunk: Some(stats.frames_sent.to_string()),
                            timestamp: Some((stats.frames_sent * 20).to_string()),
                            payload: BASE64.encode(frame),
                        },
                        stream_sid: stream_sid.to_owned(),
                    };
                    sequence += 1;
                    if socket.send(media_text(&media)).await.is_err() {
                        stats.problem = Some("the media socket failed while sending".into());
                        break true;
                    }
                }
                _ = sleep_until(drain_deadline) => {
                    break false;
                }
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Text(body))) => {
                        let Ok(ToTwilio::Media { media, .. }) = serde_json::from_str::<ToTwilio>(body.as_str()) else {
                            continue;
                        };
                        let Some((their_tag, their_sequence, sent, round_trip)) =
                            BASE64.decode(media.payload).ok().and_then(|bytes| load.echo(&bytes))
                        else {
                            continue;
                        };
                        let slot = usize::try_from(their_sequence).ok().and_then(|i| echoed.get_mut(i));
                        match slot {
                            Some(seen) if their_tag == tag && !*seen => {
                                *seen = true;
                                stats.frames_echoed += 1;
                                stats.first_echo_at.get_or_insert_with(std::time::Instant::now);
                                let sent_after_open = sent.saturating_duration_since(stats.opened_at);
                                stats.round_trips.push(RoundTrip {
                                    sent_after_open_ms: u32::try_from(sent_after_open.as_millis()).unwrap_or(u32::MAX),
                                    micros: u32::try_from(round_trip.as_micros()).unwrap_or(u32::MAX),
                                });
                            }
                            _ => stats.frames_misrouted += 1,
                        }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                        stats.problem = Some(format!(
                            "the backend closed the media socket after {} of {} s",
                            stats.opened_at.elapsed().as_secs(),
                            load.stream_for.as_secs()
                        ));
                        break true;
                    }
                    Some(Ok(_)) => {}
                },
            }
        };
        if !closed_by_backend {
            let stop = FromTwilio::Stop {
                sequence_number: sequence.to_string(),
                stop: StreamStop {
                    account_sid: self.shared.account_sid.clone(),
                    call_sid: self.sid.clone(),
                },
                stream_sid: stream_sid.to_owned(),
            };
            let _ = socket.send(media_text(&stop)).await;
            let _ = socket.close(None).await;
        }
        stats.ended_at = std::time::Instant::now();
        self.note_stream(
            stats.frames_sent,
            stats.frames_echoed,
            closed_by_backend,
            stats.problem.clone(),
        );
        load.finished(stats);
    }
}

fn media_text(message: &FromTwilio) -> Message {
    Message::text(serde_json::to_string(message).expect("Media Streams messages serialize"))
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
