//! The providers' wire formats, in one place for the real adapters (`media-bridge`, the OpenAI
//! writer and summarizer in `commands`) and the stand-ins (`sandbox`): serde types, form
//! encodings, signatures and TwiML. No I/O and no domain types: adapters convert at their edge.
//!
//! - [`twilio`]: REST resources, callbacks, `X-Twilio-Signature`, TwiML, Media Streams.
//! - [`elevenlabs`]: the agent WebSocket, the signed URL, conversation details, subscription.
//! - [`openai`]: Chat Completions with Structured Outputs, and the script and summary schemas.

pub mod elevenlabs;
pub mod openai;
pub mod twilio;
