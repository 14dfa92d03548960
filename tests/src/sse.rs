//! A minimal reader of the live status stream (Server-Sent Events).

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

/// How long a reader waits for `completed`.
const COMPLETED_DEADLINE: Duration = Duration::from_secs(60);
/// How long a channel reader waits for the next frame.
const FRAME_DEADLINE: Duration = Duration::from_secs(30);

/// One parsed SSE frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub id: i64,
    pub event: String,
    pub data: Value,
}

/// Reads frames off a streaming response.
pub struct Subscriber {
    response: reqwest::Response,
    buffer: String,
    /// Frames of one event arrive with the id on the last one only; earlier ones wait here.
    waiting: Vec<(String, Value)>,
    ready: VecDeque<Frame>,
}

impl Subscriber {
    /// A reader of `response`, which must be an open event stream.
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
            waiting: Vec::new(),
            ready: VecDeque::new(),
        }
    }

    /// The next frame (keep-alive comments skipped), or `None` when the stream ended. Each frame
    /// gets the id of its group (the event that caused it).
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Some(frame);
            }
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                self.parse(&block);
                continue;
            }
            let chunk = self.response.chunk().await.ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    fn parse(&mut self, block: &str) {
        let (mut id, mut event, mut data) = (None, None, String::new());
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().parse().expect("a numeric event id"));
            } else if let Some(v) = line.strip_prefix("event:") {
                event = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        let Some(event) = event else { return };
        let data: Value = serde_json::from_str(&data).expect("JSON frame data");
        match id {
            None => self.waiting.push((event, data)),
            Some(id) => {
                for (event, data) in self.waiting.drain(..) {
                    self.ready.push_back(Frame { id, event, data });
                }
                self.ready.push_back(Frame { id, event, data });
            }
        }
    }

    /// Frames up to and including `completed`.
    pub async fn until_completed(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        tokio::time::timeout(COMPLETED_DEADLINE, async {
            while let Some(frame) = self.next().await {
                let done = frame.event == "completed";
                frames.push(frame);
                if done {
                    return;
                }
            }
            panic!("stream ended before `completed`: {frames:?}");
        })
        .await
        .expect("`completed` within the deadline");
        frames
    }

    /// Reads in a task of its own, so the stream never waits for the test.
    pub fn into_channel(mut self) -> Frames {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(frame) = self.next().await {
                if sender.send(frame).is_err() {
                    return;
                }
            }
        });
        Frames(receiver)
    }
}

/// Frames read by a task of their own ([`Subscriber::into_channel`]).
pub struct Frames(mpsc::UnboundedReceiver<Frame>);

impl Frames {
    /// The next frame as (event, data), within 30 s.
    pub async fn next(&mut self) -> (String, Value) {
        let frame = tokio::time::timeout(FRAME_DEADLINE, self.0.recv())
            .await
            .expect("a frame within 30 s")
            .expect("the stream is open");
        (frame.event, frame.data)
    }
}
