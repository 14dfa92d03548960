//! The writer's request on the wire: a [`ScriptRequest`] as the user message (the
//! `protocols::openai::script` brief) and back. The schema, prompt and Chat Completions types live
//! in `protocols`; this is the conversion at the adapter's edge.

use domain::script::Language;
use protocols::openai::script::ScriptBrief;

use crate::script_writer::ScriptRequest;

/// The brief a request becomes.
pub fn brief(request: &ScriptRequest) -> ScriptBrief {
    ScriptBrief {
        natural_input: request.natural_input.clone(),
        business_type: request.business_type.clone(),
        language: Some(request.language.as_str().to_owned()),
    }
}

/// The request a brief carries; bare text (no header) gets the language its words show.
pub fn request_from(brief: &ScriptBrief) -> ScriptRequest {
    let language = match brief.language.as_deref() {
        None => Language::detect(&brief.natural_input),
        Some(code) => Language::parse(code).unwrap_or_default(),
    };
    ScriptRequest {
        natural_input: brief.natural_input.clone(),
        business_type: brief.business_type.clone(),
        language,
    }
}

/// The user message for a request.
pub fn user_message(request: &ScriptRequest) -> String {
    brief(request).to_message()
}

/// Reads a user message written by [`user_message`] back into the request (what a model would
/// understand from it). Other text is taken as the request itself.
pub fn parse_user_message(message: &str) -> ScriptRequest {
    request_from(&ScriptBrief::from_message(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_message_round_trips() {
        let request =
            ScriptRequest::new("내일 예약 확인 전화해줘", Language::En).for_business("clinic");
        assert_eq!(parse_user_message(&user_message(&request)), request);
        let bare = ScriptRequest::new("Confirm tomorrow's bookings", Language::Ko);
        assert_eq!(parse_user_message(&user_message(&bare)), bare);
        assert_eq!(
            parse_user_message("예약 확인해줘"),
            ScriptRequest::new("예약 확인해줘", Language::Ko)
        );
    }
}
