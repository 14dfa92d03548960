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

/// A message text with no backslash at all, so no escapes: the only kind a [`Key`] reads.
#[derive(Clone, Copy)]
pub(crate) struct Unescaped<'a>(&'a str);

impl<'a> Unescaped<'a> {
    pub(crate) fn new(text: &'a str) -> Option<Self> {
        memchr::memchr(b'\\', text.as_bytes())
            .is_none()
            .then_some(Self(text))
    }
}

/// A key of a compact JSON message, written with its quotes (e.g. `"payload"`), for reading a
/// 20 ms frame by position instead of parsing it; its searcher is built once.
///
/// A value is read only from an [`Unescaped`] message in which the key's quoted name
/// occurs exactly once, directly followed by `:`. Without escapes no string holds a `"`, so that
/// occurrence is a string spelled as the key, and followed by `:` it is the key itself: the one
/// key of that name in the message, wherever it sits, so a message that parses has its value
/// there (a second occurrence anywhere would make it ambiguous). A string value then ends at the
/// next `"`. Anything else gives `None`, and the caller parses the message whole.
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

    /// What follows the key and its colon in `text`, if the key occurs there exactly once.
    fn value<'a>(&self, Unescaped(text): Unescaped<'a>) -> Option<&'a str> {
        let finder = self
            .finder
            .get_or_init(|| memchr::memmem::Finder::new(self.key));
        let at = finder.find(text.as_bytes())?;
        let rest = &text[at + self.key.len()..];
        if finder.find(rest.as_bytes()).is_some() {
            return None;
        }
        rest.strip_prefix(':')
    }

    /// The string value of the key (its raw text, which has no escapes).
    pub(crate) fn string_in<'a>(&self, text: Unescaped<'a>) -> Option<&'a str> {
        let value = self.value(text)?.strip_prefix('"')?;
        Some(&value[..memchr::memchr(b'"', value.as_bytes())?])
    }

    /// The unsigned integer value of the key: digits ended by `,` or `}`.
    pub(crate) fn number_in(&self, text: Unescaped<'_>) -> Option<u64> {
        let value = self.value(text)?;
        let digits = value.bytes().take_while(u8::is_ascii_digit).count();
        match value.as_bytes().get(digits) {
            Some(b',' | b'}') => value[..digits].parse().ok(),
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
