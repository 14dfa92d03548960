//! Rate limits: governor's GCRA (a token bucket without a timer) per (limit, key), shared by
//! every endpoint. An endpoint declares its limit with [`crate::auth::per_user`]; the whole-API
//! and per-IP limits are applied by the auth layers. It names nothing else of this crate, so the
//! shared state can hold it without an import loop.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commands::Clock;
use governor::Quota;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;

/// A limit: so many requests a minute, with bursts up to the same number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    pub name: &'static str,
    pub per_minute: u32,
}

impl Limit {
    const fn new(name: &'static str, per_minute: u32) -> Self {
        Self { name, per_minute }
    }
}

/// Every request of a signed-in user.
pub const API: Limit = Limit::new("api", 100);
/// `POST scripts/generate`.
pub const GENERATE: Limit = Limit::new("scripts.generate", 10);
/// `POST campaigns/{id}/start`.
pub const START: Limit = Limit::new("campaigns.start", 5);
/// Sign-up and login per client IP, against credential stuffing.
pub const AUTH_PER_IP: Limit = Limit::new("auth.ip", 30);

/// A request over its limit, and how long until the next one passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited; retry after {retry_after_secs} s")]
pub struct RateLimited {
    /// Whole seconds, rounded up and never 0 (`Retry-After`).
    pub retry_after_secs: u64,
}

/// Above this many keys in one limit, keys whose bucket is full again are forgotten.
const FORGET_ABOVE_KEYS: usize = 10_000;

/// Our [`Clock`] as governor's clock, so tests drive the limiter with a `ManualClock`.
#[derive(Clone)]
struct LimiterClock(Arc<dyn Clock>);

impl governor::clock::Clock for LimiterClock {
    type Instant = Nanos;

    /// Nanoseconds since the Unix epoch (0 before it, which no clock of ours reads).
    fn now(&self) -> Nanos {
        let nanos = self.0.now().timestamp_nanos_opt().unwrap_or(0);
        Nanos::from(u64::try_from(nanos).unwrap_or(0))
    }
}

/// The buckets of one limit, one per key.
type KeyedLimiter =
    governor::RateLimiter<String, HashMapStateStore<String>, LimiterClock, NoOpMiddleware<Nanos>>;

/// The shared limiter.
pub struct RateLimiter {
    clock: LimiterClock,
    /// Every limit times this (`RATE_LIMIT_SCALE`; 1 in production).
    scale: f64,
    limiters: Mutex<HashMap<Limit, Arc<KeyedLimiter>>>,
}

impl RateLimiter {
    /// A limiter reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::scaled(clock, 1.0)
    }

    /// A limiter whose every limit is multiplied by `scale` (a contract or load run raises them).
    pub fn scaled(clock: Arc<dyn Clock>, scale: f64) -> Self {
        Self {
            clock: LimiterClock(clock),
            scale,
            limiters: Mutex::default(),
        }
    }

    /// Takes one request from `key`'s bucket of `limit`, or says how long to wait.
    pub fn check(&self, limit: Limit, key: &str) -> Result<(), RateLimited> {
        let limiter = self.limiter(limit);
        if limiter.len() > FORGET_ABOVE_KEYS {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            RateLimited {
                retry_after_secs: whole_seconds_up(wait),
            }
        })
    }

    /// The keyed limiter of `limit`, created on first use.
    fn limiter(&self, limit: Limit) -> Arc<KeyedLimiter> {
        let mut limiters = self.limiters.lock().expect("rate limiter lock");
        limiters
            .entry(limit)
            .or_insert_with(|| {
                Arc::new(KeyedLimiter::hashmap_with_clock(
                    self.quota(limit),
                    self.clock.clone(),
                ))
            })
            .clone()
    }

    /// `per_minute × scale` a minute, refilled evenly, with bursts of the same size.
    fn quota(&self, limit: Limit) -> Quota {
        let per_minute = (f64::from(limit.per_minute) * self.scale).max(1.0);
        let burst =
            NonZeroU32::new(per_minute.min(f64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs_f64(60.0 / per_minute).max(Duration::from_nanos(1));
        Quota::with_period(period)
            .expect("the period is at least a nanosecond")
            .allow_burst(burst)
    }
}

/// A wait as the whole seconds of `Retry-After`, rounded up and never 0.
fn whole_seconds_up(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use commands::ManualClock;

    #[test]
    fn a_burst_up_to_the_limit_passes_then_the_next_waits_for_one_token() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let limiter = RateLimiter::new(clock.clone());
        for _ in 0..5 {
            limiter.check(START, "u1").unwrap();
        }
        let Err(RateLimited { retry_after_secs }) = limiter.check(START, "u1") else {
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
        let Err(RateLimited { retry_after_secs }) = limiter.check(START, "u1") else {
            panic!("the 51st start in a minute must be limited at 10 × 5");
        };
        assert_eq!(retry_after_secs, 2, "50 a minute refill one every 1.2 s");
    }
}
