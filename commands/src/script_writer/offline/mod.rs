//! The offline writer: reads the request with keyword rules (Korean and English) and writes the
//! script a receptionist would, for the common calls — appointment confirmation (with other
//! times offered on a change and the reason asked on a cancellation when the owner wants it),
//! payment reminders with their due date, event attendance, and general notices. Deterministic:
//! the same request always gives the same script. Used when no OpenAI key is configured, and by
//! the sandbox to answer as a model would.

use async_trait::async_trait;
use domain::script::{FlowStep, Language, NextStep, ScriptContent, placeholders, validate};

use super::{ScriptRequest, ScriptWriter, WriterError, WrittenScript, describe};

pub mod analysis;
mod en;
mod hangul;
mod ko;

use analysis::{Intent, analyse};

/// A script before its variables are listed (they are read off the texts).
struct Draft {
    greeting: String,
    purpose: String,
    main_flow: Vec<FlowStep>,
    closing: String,
}

/// One step's words in one language: what the agent says and the answers it expects.
struct Line {
    action: String,
    expected: &'static [&'static str],
}

fn line(action: impl Into<String>, expected: &'static [&'static str]) -> Line {
    Line {
        action: action.into(),
        expected,
    }
}

/// Where a step leads (`positive`, `negative`; `None` goes to the closing). The shape of a call
/// is the same in every language; only the words differ.
type Branch = (Option<u32>, Option<u32>);

/// Appointment confirmation: 1 confirm (a no → 2); 2 change or cancel (→ 3 / → 4); 3 other
/// times (one fits → 5, none → 6); 4 the cancellation; 5 moved; 6 ask for a time that suits.
const APPOINTMENT: [Branch; 6] = [
    (None, Some(2)),
    (Some(3), Some(4)),
    (Some(5), Some(6)),
    (None, None),
    (None, None),
    (None, None),
];

/// A yes-or-no question (payment, attendance): 1 ask (yes → 2, no → 3); 2 and 3 end.
const YES_OR_NO: [Branch; 3] = [(Some(2), Some(3)), (None, None), (None, None)];

/// A notice: 1 the announcement (a question → 2); 2 take the question.
const NOTICE: [Branch; 2] = [(Some(2), None), (None, None)];

/// The steps of a flow shaped by `branches`, numbered from 1, with `lines` as their words.
fn flow<const N: usize>(branches: [Branch; N], lines: [Line; N]) -> Vec<FlowStep> {
    lines
        .into_iter()
        .zip(branches)
        .zip(1..)
        .map(|((line, (positive, negative)), n)| FlowStep {
            step: n,
            action: line.action,
            expected_responses: line.expected.iter().map(|s| (*s).to_owned()).collect(),
            next_step: NextStep { positive, negative },
        })
        .collect()
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
        let draft = match (analysis.intent, request.language) {
            (Intent::Appointment, Language::Ko) => ko::appointment(&analysis),
            (Intent::Payment, Language::Ko) => ko::payment(&analysis),
            (Intent::Event, Language::Ko) => ko::event(&analysis),
            (Intent::Notice, Language::Ko) => ko::notice(&analysis),
            (Intent::Appointment, Language::En) => en::appointment(&analysis),
            (Intent::Payment, Language::En) => en::payment(&analysis),
            (Intent::Event, Language::En) => en::event(&analysis),
            (Intent::Notice, Language::En) => en::notice(&analysis),
        };
        draft.finish()
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
mod tests;
