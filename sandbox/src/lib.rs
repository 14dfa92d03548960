//! Stand-ins for the outside providers that speak their real wire protocols on loopback, so the
//! real adapters run unchanged against them in tests and in the embedded default.
//!
//! - [`openai`]: OpenAI Chat Completions with Structured Outputs (`json_schema`).

pub mod openai;
