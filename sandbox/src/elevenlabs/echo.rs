//! The echo agent of the load mode: after the initiation it sends every user audio chunk straight
//! back as agent audio, untouched, so the Twilio stand-in's load callee can time each frame's
//! round trip through the bridge (see [`crate::load`]). It never speaks, calls no tool and ends
//! when the client does.

use super::*;

impl Agent {
    pub(super) async fn echo(&mut self) -> Result<(), Stop> {
        self.send_metadata().await?;
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    // Anything but audio (pongs, contextual updates, …) is accepted and ignored.
                    let Ok(Incoming::Audio(chunk)) = parse_client(text.as_str()) else {
                        continue;
                    };
                    self.log.audio_chunks_received += 1;
                    let event_id = self.next_id();
                    self.send(&ServerMessage::Audio {
                        audio_event: AudioEvent {
                            audio_base_64: chunk,
                            event_id,
                        },
                    })
                    .await?;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(Stop::Gone),
                Some(Ok(_)) => {}
            }
        }
    }
}
