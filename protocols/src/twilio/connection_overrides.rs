//! Webhook connection overrides: a URL fragment (`#rc=3&rp=ct,rt,5xx`) that tells Twilio to
//! retry a webhook it could not deliver. The fragment is never sent to the server and is not part
//! of the signed URL. Twilio's keys: `ct` connect timeout (ms), `rt` read timeout (ms), `tt` total
//! time (ms), `rc` retry count (at most 5), `rp` retry policy — a comma-separated list of `ct`
//! (no connection), `rt` (no answer in time), `4xx`, `5xx` and `all`; the default is `ct`.
//! (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides)

/// Twilio's ceiling on `rc`.
pub const MAX_RETRIES: u32 = 5;

/// The retry part of a URL's connection overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionOverrides {
    /// `rc`: retries after the first attempt.
    pub retries: u32,
    /// `rp` has `ct` (or `all`): retry when no connection could be made.
    pub on_connect_failure: bool,
    /// `rp` has `rt` (or `all`): retry when the server did not answer in time.
    pub on_read_timeout: bool,
    /// `rp` has `5xx` (or `all`): retry when the server answered 5xx.
    pub on_server_error: bool,
    /// `rp` has `4xx` (or `all`): retry when the server answered 4xx.
    pub on_client_error: bool,
}

impl Default for ConnectionOverrides {
    /// Twilio's defaults: no retries, policy `ct`.
    fn default() -> Self {
        Self {
            retries: 0,
            on_connect_failure: true,
            on_read_timeout: false,
            on_server_error: false,
            on_client_error: false,
        }
    }
}

impl ConnectionOverrides {
    /// What we put on every webhook URL: three retries on no connection, a read timeout or a
    /// 5xx — a webhook that met a database blip answers 5xx and comes again.
    pub const RETRY_TRANSIENT: &'static str = "rc=3&rp=ct,rt,5xx";

    /// `url` with [`Self::RETRY_TRANSIENT`] as its fragment (replacing any fragment it had).
    pub fn retrying(url: &str) -> String {
        let (base, _) = Self::split(url);
        format!("{base}#{}", Self::RETRY_TRANSIENT)
    }

    /// The URL Twilio requests and signs (without the fragment), and the overrides the
    /// fragment asks for (Twilio's defaults for unknown or missing keys).
    pub fn split(url: &str) -> (&str, Self) {
        let Some((base, fragment)) = url.split_once('#') else {
            return (url, Self::default());
        };
        let mut overrides = Self::default();
        for (key, value) in fragment.split('&').filter_map(|pair| pair.split_once('=')) {
            match key {
                "rc" => {
                    if let Ok(count) = value.parse::<u32>() {
                        overrides.retries = count.min(MAX_RETRIES);
                    }
                }
                "rp" => {
                    let policies: Vec<&str> = value.split(',').map(str::trim).collect();
                    let has = |name: &str| policies.iter().any(|p| *p == name || *p == "all");
                    overrides.on_connect_failure = has("ct");
                    overrides.on_read_timeout = has("rt");
                    overrides.on_server_error = has("5xx");
                    overrides.on_client_error = has("4xx");
                }
                _ => {}
            }
        }
        (base, overrides)
    }

    /// Whether an answer with HTTP `status` is retried under this policy.
    pub fn retries_status(&self, status: u16) -> bool {
        (self.on_server_error && status >= 500)
            || (self.on_client_error && (400..500).contains(&status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_fragment_retries_connect_failures_timeouts_and_server_errors() {
        let url = ConnectionOverrides::retrying("https://x.kr/twilio/status/1?attempt=2");
        assert_eq!(
            url,
            "https://x.kr/twilio/status/1?attempt=2#rc=3&rp=ct,rt,5xx"
        );
        let (base, overrides) = ConnectionOverrides::split(&url);
        assert_eq!(base, "https://x.kr/twilio/status/1?attempt=2");
        assert_eq!(overrides.retries, 3);
        assert!(overrides.on_connect_failure && overrides.on_read_timeout);
        assert!(overrides.retries_status(503));
        assert!(!overrides.retries_status(404));
    }

    #[test]
    fn without_a_fragment_twilio_retries_nothing_but_connect_failures() {
        let (base, overrides) = ConnectionOverrides::split("https://x.kr/a?b=1");
        assert_eq!(base, "https://x.kr/a?b=1");
        assert_eq!(overrides, ConnectionOverrides::default());
        assert!(!overrides.retries_status(500));
    }

    #[test]
    fn retry_count_is_capped_and_all_means_every_policy() {
        let (_, overrides) = ConnectionOverrides::split("https://x.kr/a#rc=9&rp=all&ct=1000");
        assert_eq!(overrides.retries, MAX_RETRIES);
        assert!(overrides.retries_status(500) && overrides.retries_status(404));
        let (_, bad) = ConnectionOverrides::split("https://x.kr/a#rc=x&rp=");
        assert_eq!(bad.retries, 0);
        assert!(!bad.on_connect_failure);
    }
}
