//! `application/x-www-form-urlencoded` bodies as Twilio uses them: pairs in order, keys may
//! repeat (`StatusCallbackEvent=…&StatusCallbackEvent=…`), and typed readers of one field.

/// Form pairs in order; a key may repeat (`StatusCallbackEvent=…&StatusCallbackEvent=…`).
pub type Form = Vec<(String, String)>;

/// Encodes pairs as `application/x-www-form-urlencoded`, repeating keys as given.
pub fn encode_form<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key.as_ref(), value.as_ref());
    }
    serializer.finish()
}

/// Decodes an `application/x-www-form-urlencoded` body, keeping repeated keys.
pub fn parse_form(body: &[u8]) -> Form {
    form_urlencoded::parse(body).into_owned().collect()
}

/// A form field that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the form field {0} is missing")]
    Missing(&'static str),
    #[error("the form field {field} has an invalid value {value:?}")]
    Invalid { field: &'static str, value: String },
}

/// The first non-empty value of field `name`.
pub fn first<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

pub(crate) fn required(form: &[(String, String)], name: &'static str) -> Result<String, FormError> {
    first(form, name)
        .map(str::to_owned)
        .ok_or(FormError::Missing(name))
}

pub(crate) fn optional_number<T: std::str::FromStr>(
    form: &[(String, String)],
    name: &'static str,
) -> Result<Option<T>, FormError> {
    first(form, name)
        .map(|value| {
            value.parse().map_err(|_| FormError::Invalid {
                field: name,
                value: value.to_owned(),
            })
        })
        .transpose()
}

pub(crate) fn all<'a>(form: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .collect()
}
