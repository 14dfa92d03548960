//! Signed, expiring download links (recordings and reports), usable without a Bearer header.
//!
//! A link is `{path}?exp={unix seconds}&sig={hex HMAC-SHA256}` where the MAC covers
//! `"download-link\n" + path + "\n" + exp`. The key is HMAC-SHA256(`JWT_SECRET`,
//! `"callbot download links v1"`): every API instance already shares `JWT_SECRET`, and deriving
//! a separate key keeps a link's MAC from ever being usable as anything else. Rotating
//! `JWT_SECRET` therefore also invalidates outstanding links.
//!
//! Checking: a missing or wrong signature is answered as not found (404 `NOT_FOUND`, nothing
//! revealed about what exists); an authentic link past `exp` is 410 `LINK_EXPIRED`. The
//! signature is checked first, so expiry is only ever reported for links we issued.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// How a link failed its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Missing, malformed or forged signature.
    Invalid,
    /// Authentic, but past its expiry.
    Expired,
}

/// Signs and checks download links.
#[derive(Clone)]
pub struct UrlSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(***)")
    }
}

impl UrlSigner {
    /// A signer whose key is derived from `secret` (the JWT secret).
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
        mac.update(b"callbot download links v1");
        let mut key = [0u8; 32];
        key.copy_from_slice(&mac.finalize().into_bytes());
        Self { key }
    }

    fn mac(&self, path: &str, exp: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(b"download-link\n");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(exp.to_string().as_bytes());
        mac
    }

    /// `path?exp=…&sig=…`, valid until `now + ttl` (whole seconds), and that expiry.
    pub fn sign(&self, path: &str, now: DateTime<Utc>, ttl: Duration) -> (String, DateTime<Utc>) {
        let exp = (now + ttl).timestamp();
        let expires_at = Utc.timestamp_opt(exp, 0).single().unwrap_or(now + ttl);
        (self.sign_until(path, exp), expires_at)
    }

    /// `path?exp=…&sig=…` for an expiry in unix seconds.
    pub fn sign_until(&self, path: &str, exp: i64) -> String {
        let sig = hex::encode(self.mac(path, exp).finalize().into_bytes());
        format!("{path}?exp={exp}&sig={sig}")
    }

    /// Checks a link's `exp` and `sig` for `path` at `now`.
    pub fn verify(
        &self,
        path: &str,
        exp: Option<&str>,
        sig: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), LinkError> {
        let exp: i64 = exp.and_then(|e| e.parse().ok()).ok_or(LinkError::Invalid)?;
        let sig = sig
            .and_then(|sig| hex::decode(sig).ok())
            .ok_or(LinkError::Invalid)?;
        self.mac(path, exp)
            .verify_slice(&sig)
            .map_err(|_| LinkError::Invalid)?;
        if now.timestamp() >= exp {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(link: &str) -> (String, String, String) {
        let (path, query) = link.split_once('?').unwrap();
        let pairs: Vec<(String, String)> = form_pairs(query);
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).unwrap().1.clone();
        (path.to_owned(), get("exp"), get("sig"))
    }

    fn form_pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn a_link_works_until_it_expires_and_only_for_its_path() {
        let signer = UrlSigner::new(b"jwt-secret");
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let (link, expires_at) = signer.sign("/a/b", now, Duration::minutes(15));
        assert_eq!(expires_at, now + Duration::minutes(15));
        let (path, exp, sig) = parts(&link);
        assert_eq!(signer.verify(&path, Some(&exp), Some(&sig), now), Ok(()));
        let later = now + Duration::minutes(15);
        assert_eq!(
            signer.verify(&path, Some(&exp), Some(&sig), later),
            Err(LinkError::Expired)
        );
        assert_eq!(
            signer.verify("/a/c", Some(&exp), Some(&sig), now),
            Err(LinkError::Invalid)
        );
        let longer = (exp.parse::<i64>().unwrap() + 3600).to_string();
        assert_eq!(
            signer.verify(&path, Some(&longer), Some(&sig), now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            UrlSigner::new(b"other").verify(&path, Some(&exp), Some(&sig), now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            signer.verify(&path, Some(&exp), None, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            signer.verify(&path, None, Some(&sig), now),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn a_forged_link_is_invalid_even_when_expired() {
        let signer = UrlSigner::new(b"jwt-secret");
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            signer.verify("/a", Some("1"), Some("00ff"), now),
            Err(LinkError::Invalid)
        );
    }
}
