//! TwiML (PROTOCOLS §C): the `<Response>` documents we answer with, written and read with
//! quick-xml. The sandbox reads our answer back to run it the way Twilio would.

use std::collections::BTreeMap;
use std::io;

use std::borrow::Cow;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesRef, BytesStart, BytesText, Event};
use quick_xml::name::QName;
use quick_xml::{Reader, Writer};

/// Escapes text and attribute values for XML (`& < > " '`).
pub fn escape_xml(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// One TwiML verb, in the order it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Say {
        language: String,
        voice: String,
        text: String,
    },
    Pause {
        length: u32,
    },
    /// `<Connect><Stream url>` with its `<Parameter>`s.
    ConnectStream {
        url: String,
        parameters: BTreeMap<String, String>,
    },
    Hangup,
}

/// An attribute whose value survives XML's attribute-value normalization: `& < > " '` escaped
/// as usual, and tab, line feed and carriage return as character references — a parser reads
/// those characters written raw as spaces (found by the `twiml` fuzz target).
fn escaped_attribute<'a>(key: &'a str, value: &str) -> Attribute<'a> {
    let escaped = quick_xml::escape::escape(value)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;");
    Attribute {
        key: QName(key.as_bytes()),
        value: Cow::Owned(escaped.into_bytes()),
    }
}

/// Text content that survives XML's line-ending normalization: a carriage return written raw is
/// read back as a line feed, so it is written as a character reference (found by the `twiml`
/// fuzz target).
fn escaped_text(text: &str) -> BytesText<'static> {
    let escaped = quick_xml::escape::escape(text).replace('\r', "&#13;");
    BytesText::from_escaped(escaped)
}

/// Renders a `<Response>` document.
pub fn render_twiml(verbs: &[Verb]) -> String {
    let mut writer = Writer::new(Vec::new());
    write_document(&mut writer, verbs).expect("writing XML into memory cannot fail");
    String::from_utf8(writer.into_inner()).expect("quick-xml writes the UTF-8 it was given")
}

fn write_document(writer: &mut Writer<Vec<u8>>, verbs: &[Verb]) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer
        .create_element("Response")
        .write_inner_content(|writer| {
            for verb in verbs {
                write_verb(writer, verb)?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_verb(writer: &mut Writer<Vec<u8>>, verb: &Verb) -> io::Result<()> {
    match verb {
        Verb::Say {
            language,
            voice,
            text,
        } => {
            writer
                .create_element("Say")
                .with_attribute(escaped_attribute("language", language))
                .with_attribute(escaped_attribute("voice", voice))
                .write_text_content(escaped_text(text))?;
        }
        Verb::Pause { length } => {
            writer
                .create_element("Pause")
                .with_attribute(("length", length.to_string().as_str()))
                .write_empty()?;
        }
        Verb::ConnectStream { url, parameters } => {
            writer
                .create_element("Connect")
                .write_inner_content(|writer| {
                    writer
                        .create_element("Stream")
                        .with_attribute(escaped_attribute("url", url))
                        .write_inner_content(|writer| {
                            for (name, value) in parameters {
                                writer
                                    .create_element("Parameter")
                                    .with_attribute(escaped_attribute("name", name))
                                    .with_attribute(escaped_attribute("value", value))
                                    .write_empty()?;
                            }
                            Ok(())
                        })?;
                    Ok(())
                })?;
        }
        Verb::Hangup => {
            writer.create_element("Hangup").write_empty()?;
        }
    }
    Ok(())
}

/// What is wrong with a TwiML document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwimlError {
    #[error("not a TwiML <Response> document")]
    NotAResponse,
    #[error("malformed TwiML near {0:?}")]
    Malformed(String),
    #[error("unsupported TwiML verb <{0}>")]
    UnsupportedVerb(String),
    #[error("<{verb}> lacks the attribute {attribute}")]
    MissingAttribute {
        verb: &'static str,
        attribute: &'static str,
    },
}

/// A tag as the verb reader sees it; `<a/>` is one tag with `self_closing`.
struct Tag {
    name: String,
    attributes: BTreeMap<String, String>,
    closing: bool,
    self_closing: bool,
}

/// A tag, or the (trimmed, unescaped, non-empty) text between two tags.
type Token = Result<Tag, String>;

fn malformed(error: impl std::fmt::Display) -> TwimlError {
    TwimlError::Malformed(error.to_string().chars().take(80).collect())
}

fn open_tag(start: &BytesStart<'_>, self_closing: bool) -> Result<Tag, TwimlError> {
    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
    let mut attributes = BTreeMap::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(malformed)?;
        let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(malformed)?;
        attributes.insert(key, value.into_owned());
    }
    Ok(Tag {
        name,
        attributes,
        closing: false,
        self_closing,
    })
}

fn resolve_reference(reference: &BytesRef<'_>) -> Result<String, TwimlError> {
    if let Some(c) = reference.resolve_char_ref().map_err(malformed)? {
        return Ok(c.to_string());
    }
    let name = reference.decode().map_err(malformed)?;
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| TwimlError::Malformed(format!("&{name};")))
}

/// The document as tags and text, the declaration and comments left out.
fn tokens(xml: &str) -> Result<Vec<Token>, TwimlError> {
    let mut reader = Reader::from_str(xml);
    let mut tokens = Vec::new();
    // Text arrives in pieces (entity references are events of their own).
    let mut text = String::new();
    let flush = |text: &mut String, tokens: &mut Vec<Token>| {
        let trimmed = text.trim();
        if !trimmed.is_empty() {
            tokens.push(Err(trimmed.to_owned()));
        }
        text.clear();
    };
    loop {
        match reader.read_event().map_err(malformed)? {
            Event::Start(start) => {
                flush(&mut text, &mut tokens);
                tokens.push(Ok(open_tag(&start, false)?));
            }
            Event::Empty(start) => {
                flush(&mut text, &mut tokens);
                tokens.push(Ok(open_tag(&start, true)?));
            }
            Event::End(end) => {
                flush(&mut text, &mut tokens);
                tokens.push(Ok(Tag {
                    name: String::from_utf8_lossy(end.name().as_ref()).into_owned(),
                    attributes: BTreeMap::new(),
                    closing: true,
                    self_closing: false,
                }));
            }
            Event::Text(piece) => text.push_str(&piece.xml10_content().map_err(malformed)?),
            Event::CData(piece) => text.push_str(&piece.decode().map_err(malformed)?),
            Event::GeneralRef(reference) => text.push_str(&resolve_reference(&reference)?),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    flush(&mut text, &mut tokens);
    Ok(tokens)
}

/// Reads the verbs of a TwiML document we (or anyone using these verbs) produced; the sandbox
/// uses it to check our answer the way Twilio would execute it.
pub fn parse_twiml(xml: &str) -> Result<Vec<Verb>, TwimlError> {
    let mut tokens = tokens(xml)?;
    let is_response = |token: Option<&Token>, closing: bool| matches!(token, Some(Ok(tag)) if tag.name == "Response" && tag.closing == closing && !tag.self_closing);
    if !is_response(tokens.first(), false) || !is_response(tokens.last(), true) {
        return Err(TwimlError::NotAResponse);
    }
    tokens.pop();
    verbs(tokens.into_iter().skip(1))
}

fn attribute(tag: &Tag, verb: &'static str, name: &'static str) -> Result<String, TwimlError> {
    tag.attributes
        .get(name)
        .cloned()
        .ok_or(TwimlError::MissingAttribute {
            verb,
            attribute: name,
        })
}

fn verbs(tokens: impl Iterator<Item = Token>) -> Result<Vec<Verb>, TwimlError> {
    let mut verbs = Vec::new();
    let mut iter = tokens.peekable();
    while let Some(token) = iter.next() {
        let tag = token.map_err(TwimlError::Malformed)?;
        if tag.closing {
            return Err(TwimlError::Malformed(format!("</{}>", tag.name)));
        }
        match tag.name.as_str() {
            "Say" => {
                let text = if tag.self_closing {
                    String::new()
                } else {
                    match iter.next() {
                        Some(Err(text)) => {
                            match iter.next() {
                                Some(Ok(close)) if close.closing && close.name == "Say" => {}
                                _ => return Err(TwimlError::Malformed("<Say>".into())),
                            }
                            text
                        }
                        Some(Ok(close)) if close.closing && close.name == "Say" => String::new(),
                        _ => return Err(TwimlError::Malformed("<Say>".into())),
                    }
                };
                verbs.push(Verb::Say {
                    language: tag.attributes.get("language").cloned().unwrap_or_default(),
                    voice: tag.attributes.get("voice").cloned().unwrap_or_default(),
                    text,
                });
            }
            "Pause" => {
                let length = match tag.attributes.get("length") {
                    Some(value) => value
                        .parse()
                        .map_err(|_| TwimlError::Malformed(format!("length={value}")))?,
                    None => 1,
                };
                if !tag.self_closing {
                    iter.next();
                }
                verbs.push(Verb::Pause { length });
            }
            "Hangup" => {
                if !tag.self_closing {
                    iter.next();
                }
                verbs.push(Verb::Hangup);
            }
            "Connect" => {
                let stream = match iter.next() {
                    Some(Ok(stream)) if stream.name == "Stream" && !stream.closing => stream,
                    _ => return Err(TwimlError::Malformed("<Connect> without <Stream>".into())),
                };
                let url = attribute(&stream, "Stream", "url")?;
                let mut parameters = BTreeMap::new();
                if !stream.self_closing {
                    loop {
                        match iter.next() {
                            Some(Ok(param)) if param.name == "Parameter" && !param.closing => {
                                parameters.insert(
                                    attribute(&param, "Parameter", "name")?,
                                    attribute(&param, "Parameter", "value")?,
                                );
                                if !param.self_closing {
                                    iter.next();
                                }
                            }
                            Some(Ok(close)) if close.closing && close.name == "Stream" => break,
                            _ => return Err(TwimlError::Malformed("<Stream>".into())),
                        }
                    }
                }
                match iter.next() {
                    Some(Ok(close)) if close.closing && close.name == "Connect" => {}
                    _ => return Err(TwimlError::Malformed("<Connect>".into())),
                }
                verbs.push(Verb::ConnectStream { url, parameters });
            }
            other => return Err(TwimlError::UnsupportedVerb(other.to_owned())),
        }
    }
    Ok(verbs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_values_with_tabs_and_line_breaks_parse_back_unchanged() {
        // From crashes of the `twiml` fuzz target: `&#10;` in a Stream url parsed to a line feed,
        // was written back raw, and read again as a space; `&#13;` in a <Say> text came back as
        // a line feed.
        let verbs = vec![
            Verb::Say {
                language: "ko\tKR".into(),
                voice: "a\r\nb".into(),
                text: "안녕하세요\r다음 줄\r\n<끝>".into(),
            },
            Verb::ConnectStream {
                url: "wss://x.kr/twilio/media\n<&>\"'".into(),
                parameters: BTreeMap::from([("call\tid".to_owned(), "1\n2\r3".to_owned())]),
            },
        ];
        let rendered = render_twiml(&verbs);
        assert!(
            rendered.contains("&#10;") && rendered.contains("&#9;"),
            "{rendered}"
        );
        assert_eq!(parse_twiml(&rendered).unwrap(), verbs);
    }

    #[test]
    fn twiml_renders_escaped_and_parses_back_in_order() {
        let verbs = vec![
            Verb::Say {
                language: "ko-KR".into(),
                voice: "Polly.Seoyeon-Neural".into(),
                text: "녹음 & <AI> 안내".into(),
            },
            Verb::Pause { length: 1 },
            Verb::ConnectStream {
                url: "wss://x.example/twilio/media".into(),
                parameters: BTreeMap::from([
                    ("call_id".into(), "123".into()),
                    ("token".into(), "a\"b".into()),
                ]),
            },
            Verb::Hangup,
        ];
        let xml = render_twiml(&verbs);
        assert!(xml.contains("녹음 &amp; &lt;AI&gt; 안내"));
        assert_eq!(parse_twiml(&xml), Ok(verbs));
        assert_eq!(parse_twiml("<Foo/>"), Err(TwimlError::NotAResponse));
        assert_eq!(
            parse_twiml("<Response><Dial>1</Dial></Response>"),
            Err(TwimlError::UnsupportedVerb("Dial".into()))
        );
    }

    #[test]
    fn the_rendered_document_keeps_its_exact_shape() {
        let xml = render_twiml(&[Verb::Pause { length: 2 }, Verb::Hangup]);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Pause length=\"2\"/><Hangup/></Response>"
        );
        assert_eq!(
            render_twiml(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"
        );
    }

    #[test]
    fn comments_and_whitespace_are_ignored() {
        let xml = "<?xml version=\"1.0\"?>\n<Response>\n  <!-- hi -->\n  <Say voice=\"v\">a &#38; b</Say>\n  <Hangup></Hangup>\n</Response>\n";
        assert_eq!(
            parse_twiml(xml),
            Ok(vec![
                Verb::Say {
                    language: String::new(),
                    voice: "v".into(),
                    text: "a & b".into()
                },
                Verb::Hangup
            ])
        );
        assert!(matches!(
            parse_twiml("<Response><Say></Response>"),
            Err(TwimlError::Malformed(_))
        ));
    }
}
