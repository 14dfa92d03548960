//! `X-Twilio-Signature` (PROTOCOLS §B7): `base64(HMAC-SHA1(auth_token, url + sorted pairs))`,
//! with the port quirk (Twilio signs the URL sometimes with, sometimes without the default port).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use url::{Position, Url};

type HmacSha1 = hmac::Hmac<Sha1>;

/// The header Twilio signs its requests with.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// `base64(HMAC-SHA1(auth_token, url + sorted name/value pairs))`.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    BASE64.encode(
        signature_mac(auth_token, url, params)
            .finalize()
            .into_bytes(),
    )
}

fn signature_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // By name, then by value for a repeated name (twilio-python sorts the pairs).
    sorted.sort_unstable();
    let mut mac =
        HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (key, value) in sorted {
        mac.update(key.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// Whether `signature` is Twilio's signature of a form request to `url`. Twilio signs the URL
/// sometimes with and sometimes without the default port, so both forms are accepted.
pub fn validate_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(given) = BASE64.decode(signature.trim()) else {
        return false;
    };
    url_variants(url).iter().any(|candidate| {
        signature_mac(auth_token, candidate, params)
            .verify_slice(&given)
            .is_ok()
    })
}

/// Whether a JSON-body request is signed: the URL (with `bodySHA256`) with no params, and the
/// body hashes to that `bodySHA256`.
pub fn validate_json_signature(auth_token: &str, url: &str, body: &[u8], signature: &str) -> bool {
    let Some(expected) = query_value(url, "bodySHA256") else {
        return false;
    };
    let actual = hex::encode(Sha256::digest(body));
    actual.eq_ignore_ascii_case(&expected) && validate_signature(auth_token, url, &[], signature)
}

fn query_value(url: &str, name: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The URL as given, and the other form Twilio may have signed: with the scheme's default port
/// when none is written, without the port when one is. The variant is spliced around the parsed
/// host so the rest of the URL stays byte for byte as given (the `url` crate never prints a
/// default port, so the "with" form cannot come from its serializer).
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Ok(parsed) = Url::parse(url) else {
        return variants;
    };
    let Some(host) = parsed.host_str() else {
        return variants;
    };
    let default_port = match parsed.scheme() {
        "https" | "wss" => 443,
        _ => 80,
    };
    // `port()` hides a written default port, so look for it in the text as well.
    let written_default = format!("{host}:{default_port}").to_ascii_lowercase();
    let has_port = parsed.port().is_some() || url.to_ascii_lowercase().contains(&written_default);
    let authority = &parsed[..Position::AfterHost];
    let rest = &parsed[Position::BeforePath..];
    variants.push(if has_port {
        format!("{authority}{rest}")
    } else {
        format!("{authority}:{default_port}{rest}")
    });
    variants
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::twilio::form::Form;

    fn pairs(list: &[(&str, &str)]) -> Form {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const TOKEN: &str = "12345";
    /// The documented signature of [`vector_params`] posted to [`URL`].
    const SIGNED: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    fn vector_params() -> Form {
        pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ])
    }

    /// Whether `signature` is valid for [`vector_params`] posted to `url`.
    fn vector_validates(url: &str, signature: &str) -> bool {
        validate_signature(TOKEN, url, &vector_params(), signature)
    }

    #[test]
    fn the_documented_vector_signs_and_validates() {
        assert_eq!(compute_signature(TOKEN, URL, &vector_params()), SIGNED);
        assert!(vector_validates(URL, SIGNED));
    }

    #[test]
    fn parameter_order_does_not_change_the_signature() {
        let mut reversed = vector_params();
        reversed.reverse();
        assert_eq!(compute_signature(TOKEN, URL, &reversed), SIGNED);
    }

    #[test]
    fn the_port_quirk_accepts_either_form() {
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        let signed_with_port = "kvajT1Ptam85bY51eRf/AJRuM3w=";
        assert_eq!(
            compute_signature(TOKEN, with_port, &vector_params()),
            signed_with_port
        );
        // Signed with the port, validated against the URL without it — and the reverse.
        assert!(vector_validates(URL, signed_with_port));
        assert!(vector_validates(with_port, SIGNED));
    }

    #[test]
    fn repeated_keys_are_signed_once_per_value_in_sorted_order() {
        let params = pairs(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            compute_signature(TOKEN, URL, &params),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    #[test]
    fn a_json_body_is_validated_by_its_hash() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        let url = format!("{URL}&bodySHA256={hash}");
        assert_eq!(
            compute_signature(TOKEN, &url, &[]),
            "a9nBmqA0ju/hNViExpshrM61xv4="
        );
        assert!(validate_json_signature(
            "12345",
            &url,
            body,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        assert!(!validate_json_signature(
            "12345",
            &url,
            b"{\"property\": \"other\"}",
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn the_older_gist_vector_matches() {
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            compute_signature(TOKEN, URL, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn a_forged_or_garbled_signature_is_refused() {
        assert!(!vector_validates(URL, "AAAADt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!vector_validates(URL, "not base64!"));
        assert!(!validate_signature("54321", URL, &vector_params(), SIGNED));
        let mut tampered = vector_params();
        tampered[2].1 = "9999".into();
        assert!(!validate_signature(TOKEN, URL, &tampered, SIGNED));
    }

    #[test]
    fn port_variants_cover_http_and_explicit_ports() {
        assert_eq!(
            url_variants("http://127.0.0.1:8080/twilio/status/x"),
            vec![
                "http://127.0.0.1:8080/twilio/status/x".to_owned(),
                "http://127.0.0.1/twilio/status/x".to_owned()
            ]
        );
        assert_eq!(
            url_variants("http://example.com/a?b=c"),
            vec![
                "http://example.com/a?b=c".to_owned(),
                "http://example.com:80/a?b=c".to_owned()
            ]
        );
    }
}
