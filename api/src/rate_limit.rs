//! Rate limits: a token bucket per (limit, key), refilled continuously, shared by every endpoint.
//! An endpoint declares its limit with [`per_user`]; the whole-API and per-IP limits are applied
//! by the auth layers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use commands::Clock;

use crate::auth::CurrentUser;
use crate::error::ApiError;

/// A limit: so many requests a minute, with bursts up to the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub name: &'static str,
    pub per_minute: u32,
}

/// Every request of a signed-in user.
pub const API: Limit = Limit {
    name: "api",
    per_minute: 100,
};
/// `POST scripts/generate`.
pub const GENERATE: Limit = Limit {
    name: "scripts.generate",
    per_minute: 10,
};
/// `POST campaigns/{id}/start`.
pub const START: Limit = Limit {
    name: "campaigns.start",
    per_minute: 5,
};
/// Sign-up and login per client IP, against credential stuffing.
pub const AUTH_PER_IP: Limit = Limit {
    name: "auth.ip",
    per_minute: 30,
};

/// Buckets older than this are full again and can be forgotten.
const FORGET_AFTER_SECS: i64 = 120;

struct Bucket {
    tokens: f64,
    updated: DateTime<Utc>,
}

/// The shared limiter.
pub struct RateLimiter {
    clock: Arc<dyn Clock>,
    /// Every limit times this (`RATE_LIMIT_SCALE`; 1 in production).
    scale: f64,
    buckets: Mutex<HashMap<(&'static str, String), Bucket>>,
}

impl RateLimiter {
    /// A limiter reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::scaled(clock, 1.0)
    }

    /// A limiter whose every limit is multiplied by `scale` (a contract or load run raises them).
    pub fn scaled(clock: Arc<dyn Clock>, scale: f64) -> Self {
        Self {
            clock,
            scale,
            buckets: Mutex::default(),
        }
    }

    /// Takes one request from `key`'s bucket of `limit`, or says how long to wait.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), ApiError> {
        let now = self.clock.now();
        let capacity = (f64::from(limit.per_minute) * self.scale).max(1.0);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 10_000 {
            buckets.retain(|_, bucket| (now - bucket.updated).num_seconds() < FORGET_AFTER_SECS);
        }
        let bucket = buckets
            .entry((limit.name, key.to_owned()))
            .or_insert(Bucket {
                tokens: capacity,
                updated: now,
            });
        let elapsed = (now - bucket.updated).num_milliseconds().max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let retry_after_secs = ((1.0 - bucket.tokens) / per_second).ceil() as u64;
            Err(ApiError::RateLimited { retry_after_secs })
        }
    }
}

/// Middleware for a route that has its own per-user limit (after authentication).
pub async fn per_user(
    State((limiter, limit)): State<(Arc<RateLimiter>, Limit)>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let user = request
        .extensions()
        .get::<CurrentUser>()
        .ok_or(ApiError::Unauthorized)?;
    limiter.check(limit, &user.account_id.to_string())?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use commands::ManualClock;

    #[test]
    fn a_burst_up_to_the_limit_passes_then_the_next_waits_for_one_token() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let limiter = RateLimiter::new(clock.clone());
        for _ in 0..5 {
            limiter.check(START, "u1").unwrap();
        }
        let Err(ApiError::RateLimited { retry_after_secs }) = limiter.check(START, "u1") else {
            panic!("the sixth start in a minute must be limited");
        };
        assert_eq!(retry_after_secs, 12, "5 a minute refill one every 12 s");
        // Another user and another limit have their own buckets.
        limiter.check(START, "u2").unwrap();
        limiter.check(API, "u1").unwrap();
        clock.advance(chrono::Duration::seconds(12));
        limiter.check(START, "u1").unwrap();
        assert!(limiter.check(START, "u1").is_err());
    }

    #[test]
    fn a_scaled_limiter_multiplies_every_limit() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let limiter = RateLimiter::scaled(clock, 10.0);
        for _ in 0..50 {
            limiter.check(START, "u1").unwrap();
        }
        let Err(ApiError::RateLimited { retry_after_secs }) = limiter.check(START, "u1") else {
            panic!("the 51st start in a minute must be limited at 10 × 5");
        };
        assert_eq!(retry_after_secs, 2, "50 a minute refill one every 1.2 s");
    }
}
