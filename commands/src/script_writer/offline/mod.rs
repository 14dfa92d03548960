//! The offline writer: reads the request with keyword rules (Korean and English) and writes the
//! script a receptionist would. Three common calls have templates — appointment confirmation
//! (other times offered on a change, the reason asked on a cancellation when the owner wants
//! it), payment reminders with their amount and due date, and event attendance — used only when
//! the template keeps every fact the request gives. Any other request (a parcel redelivery, a
//! check after a treatment, a notice…) goes the [`general`] way: the owner's instruction turned
//! into what the agent says, in the owner's words. Deterministic: the same request always gives
//! the same script. Used when no OpenAI key is configured, and by the sandbox to answer as a
//! model would. `corpus.json` holds the requests the pass rate is measured on.

use async_trait::async_trait;
use domain::script::{FlowStep, Language, NextStep, ScriptContent, placeholders, validate};

use super::{ScriptRequest, ScriptWriter, WriterError, WrittenScript, describe};

pub mod analysis;
mod en;
mod general;
mod hangul;
mod ko;

use analysis::{Analysis, Intent, analyse};

/// A script before its variables are listed (they are read off the texts).
struct Draft {
    greeting: String,
    purpose: String,
    main_flow: Vec<FlowStep>,
    closing: String,
}

fn step(
    n: u32,
    action: &str,
    expected: &[&str],
    positive: Option<u32>,
    negative: Option<u32>,
) -> FlowStep {
    FlowStep {
        step: n,
        action: action.to_owned(),
        expected_responses: expected.iter().map(|s| (*s).to_owned()).collect(),
        next_step: NextStep { positive, negative },
    }
}

impl Draft {
    /// The finished script, declaring exactly the variables its texts use, in order of use.
    fn finish(self) -> ScriptContent {
        let mut content = ScriptContent {
            greeting: self.greeting,
            purpose: self.purpose,
            main_flow: self.main_flow,
            closing: self.closing,
            variables: Vec::new(),
        };
        let mut variables: Vec<String> = Vec::new();
        for (_, text) in content.texts() {
            for name in placeholders(text) {
                let braced = format!("{{{name}}}");
                if !variables.contains(&braced) {
                    variables.push(braced);
                }
            }
        }
        content.variables = variables;
        content
    }
}

/// The rule-based writer.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineWriter;

impl OfflineWriter {
    /// Writes the script for `request` (the synchronous core of [`ScriptWriter::write`]).
    pub fn compose(request: &ScriptRequest) -> ScriptContent {
        let analysis = analyse(&request.natural_input, request.business_type.as_deref());
        let draft = match (template(&analysis), request.language) {
            (Intent::Appointment, Language::Ko) => ko::appointment(&analysis),
            (Intent::Payment, Language::Ko) => ko::payment(&analysis),
            (Intent::Event, Language::Ko) => ko::event(&analysis),
            (Intent::Appointment, Language::En) => en::appointment(&analysis),
            (Intent::Payment, Language::En) => en::payment(&analysis),
            (Intent::Event, Language::En) => en::event(&analysis),
            (Intent::General, language) => {
                general::write(&request.natural_input, &analysis, language)
            }
        };
        draft.finish()
    }
}

/// The template for the call, when it keeps the request's facts: a payment reminder or an event
/// call must not drop a date the day reader cannot read ("이번 달 25일").
fn template(analysis: &Analysis) -> Intent {
    match analysis.intent {
        Intent::Payment | Intent::Event if analysis.when.unread_date => Intent::General,
        intent => intent,
    }
}

#[async_trait]
impl ScriptWriter for OfflineWriter {
    async fn write(&self, request: &ScriptRequest) -> Result<WrittenScript, WriterError> {
        let content = Self::compose(request);
        // The rules above always produce a valid script; checking keeps that promise honest.
        validate(&content).map_err(|errors| WriterError::failed(describe(&errors)))?;
        Ok(WrittenScript {
            content,
            usage: None,
        })
    }

    fn name(&self) -> &'static str {
        "offline"
    }
}

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod tests;
