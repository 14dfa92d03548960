//! The structured script the LLM writes and the owner edits (seed shape, camelCase JSON).

use serde::{Deserialize, Serialize};

/// A call script: what the agent says first, why it calls, the branching flow, how it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptContent {
    /// The first thing the agent says.
    pub greeting: String,
    /// Why the call is made, in one sentence.
    pub purpose: String,
    /// The conversation steps in order.
    #[serde(default)]
    pub main_flow: Vec<FlowStep>,
    /// What the agent says before hanging up.
    pub closing: String,
    /// Placeholders filled per contact, e.g. `고객명`, `예약시간`.
    #[serde(default)]
    pub variables: Vec<String>,
}

/// One step of the conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowStep {
    /// Step number, referenced by [`NextStep`].
    pub step: u32,
    /// What the agent says or does.
    pub action: String,
    /// Answers the agent expects to hear.
    #[serde(default)]
    pub expected_responses: Vec<String>,
    /// Where the conversation goes next.
    #[serde(default)]
    pub next_step: NextStep,
}

/// The step that follows a positive or a negative answer; `None` ends the flow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    /// Next step after a positive answer.
    pub positive: Option<u32>,
    /// Next step after a negative answer.
    pub negative: Option<u32>,
}
