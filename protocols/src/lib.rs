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

/// A key as written in a compact JSON message, with its quotes and colon (and, for a string
/// value, the value's opening quote), e.g. `"payload":"`, ready to be found again and again.
pub(crate) struct Key {
    key: &'static str,
    finder: std::sync::OnceLock<memchr::memmem::Finder<'static>>,
}

impl Key {
    pub(crate) const fn new(key: &'static str) -> Self {
        Self {
            key,
            finder: std::sync::OnceLock::new(),
        }
    }

    /// What follows the key's first occurrence in `text`.
    fn rest<'a>(&self, text: &'a str) -> Option<&'a str> {
        let finder = self
            .finder
            .get_or_init(|| memchr::memmem::Finder::new(self.key));
        let at = finder.find(text.as_bytes())?;
        text.get(at + self.key.len()..)
    }

    /// The raw text of the string value after the key, for reading a 20 ms frame by position
    /// instead of parsing it; `None` when the key is missing or the value holds an escape (then
    /// the caller parses the message whole). Inside a JSON string every `"` is escaped, so the
    /// key matches only where the message has that key, and a value without a backslash ends
    /// at the next `"`.
    pub(crate) fn string_in<'a>(&self, text: &'a str) -> Option<&'a str> {
        let rest = self.rest(text)?;
        let value = &rest[..memchr::memchr(b'"', rest.as_bytes())?];
        memchr::memchr(b'\\', value.as_bytes())
            .is_none()
            .then_some(value)
    }

    /// The unsigned integer after the key, read as [`Key::string_in`] reads strings; `None`
    /// unless digits follow at once and the number ends there.
    pub(crate) fn number_in(&self, text: &str) -> Option<u64> {
        let rest = self.rest(text)?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest.as_bytes().get(digits) {
            Some(b',' | b'}') => rest[..digits].parse().ok(),
            _ => None,
        }
    }
}

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
