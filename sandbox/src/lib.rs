//! Stand-ins for the outside providers that speak their real wire protocols on loopback, so the
//! real adapters run unchanged against them in tests and in the embedded default.
//!
//! - [`openai`]: OpenAI Chat Completions with Structured Outputs (`json_schema`).
//! - [`elevenlabs`]: the ElevenLabs agent WebSocket, signed URLs and conversation details.
//! - [`twilio`]: Twilio REST and a simulated callee that sends signed callbacks.
//! - [`load`]: the load mode's stamped frames, timed from the callee through an echo agent.

pub mod elevenlabs;
pub mod load;
mod loopback;
pub mod openai;
pub mod probe;
pub mod twilio;
