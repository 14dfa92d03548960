//! OpenAI Chat Completions with Structured Outputs (PROTOCOLS §G): the generic wire types in
//! [`chat`], and the two conversations we hold over it, [`script`] and [`summary`].

pub mod chat;
pub mod script;
pub mod summary;

pub use chat::{
    AssistantMessage, ChatCompletion, ChatMessage, ChatRequest, Choice, ErrorBody, ErrorDetail,
    JsonSchemaFormat, ResponseFormat, StrictSchemaError, Usage, check_strict_format,
};
