//! The session's CSRF token: an HMAC of the session id under the server's signing secret — one
//! per session, nothing to store, useless for any other session. The web pages put it in their
//! forms (`_csrf`) and scripts (`x-csrf-token`); the JSON API asks for the header whenever a
//! state-changing request is signed in by the session cookie alone (a Bearer token is never
//! sent by a browser on its own, so it needs none).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::auth::CurrentUser;

/// The header that carries the token.
pub const HEADER: &str = "x-csrf-token";

fn mac(secret: &str, user: &CurrentUser) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(b"csrf:");
    mac.update(user.session_id.to_string().as_bytes());
    mac
}

/// The session's token, under the signing secret `secret`.
pub fn token(secret: &str, user: &CurrentUser) -> String {
    hex::encode(mac(secret, user).finalize().into_bytes())
}

/// Whether `given` is the session's token (compared in constant time).
pub fn verify(secret: &str, user: &CurrentUser, given: &str) -> bool {
    hex::decode(given.trim()).is_ok_and(|bytes| mac(secret, user).verify_slice(&bytes).is_ok())
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_token_is_good_for_its_session_only() {
        let user = CurrentUser {
            account_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
        };
        let other = CurrentUser {
            session_id: Uuid::new_v4(),
            ..user
        };
        let token = token("secret", &user);
        assert!(verify("secret", &user, &token));
        assert!(!verify("secret", &other, &token));
        assert!(!verify("another secret", &user, &token));
        assert!(!verify("secret", &user, "not hex"));
    }
}
