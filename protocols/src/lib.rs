//! The providers' wire formats, in one place for the real adapters (`media-bridge`, the OpenAI
//! writer and summarizer in `commands`) and the stand-ins (`sandbox`): serde types, form
//! encodings, signatures and TwiML. No I/O and no domain types: adapters convert at their edge.
//!
//! - [`twilio`]: REST resources, callbacks, `X-Twilio-Signature`, TwiML, Media Streams.
//! - [`elevenlabs`]: the agent WebSocket, the signed URL, conversation details, subscription.
//! - [`openai`]: Chat Completions with Structured Outputs, and the script and summary schemas.

pub mod elevenlabs;
pub mod frames;
pub mod openai;
pub mod twilio;

/// Appends `text` to `out` as a JSON string literal (quotes and escapes included): the per-frame
/// messages are written straight, without a serializer, since they are one fixed shape each.
pub(crate) fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    // Base64 never needs escaping: one pass without early exit (which the compiler vectorizes)
    // tells so, and the text is copied whole.
    let needs_escape = text.bytes().fold(false, |any, b| {
        any | (b == b'"') | (b == b'\\') | (b < 0x20)
    });
    if !needs_escape {
        out.push_str(text);
        out.push('"');
        return;
    }
    let mut plain = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[plain..i]);
        if escaped.is_empty() {
            out.push_str(&format!("\\u{byte:04x}"));
        } else {
            out.push_str(escaped);
        }
        plain = i + 1;
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::push_json_string;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for text in [
            "",
            "QUJD+/==",
            "a\"b\\c",
            "line\nfeed\r\ttab",
            "\u{1}\u{8}\u{c}\u{1f}",
            "한국어 é",
        ] {
            let mut out = String::new();
            push_json_string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap());
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), text);
        }
    }
}
