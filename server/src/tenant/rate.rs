//! A token bucket: `rate` events per second, bursts up to twice that.

use std::time::Instant;

#[derive(Debug)]
pub(crate) struct RateLimiter {
    tokens: f64,
    refilled: Instant,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            tokens: f64::MAX,
            refilled: Instant::now(),
        }
    }
}

impl RateLimiter {
    /// Whether a token is there now (none taken).
    pub(crate) fn available(&mut self, rate_per_second: u64, now: Instant) -> bool {
        let rate = rate_per_second as f64;
        let burst = rate * 2.0;
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens.min(burst) + elapsed * rate).min(burst);
        self.refilled = now;
        self.tokens >= 1.0
    }

    /// Takes one token if the rate allows it now.
    pub(crate) fn allow(&mut self, rate_per_second: u64, now: Instant) -> bool {
        let allowed = self.available(rate_per_second, now);
        if allowed {
            self.tokens -= 1.0;
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_bursts_then_the_rate() {
        let mut r = RateLimiter::default();
        let t0 = Instant::now();
        let burst = (0..100).filter(|_| r.allow(10, t0)).count();
        assert_eq!(burst, 20, "a burst of twice the rate");
        assert!(!r.allow(10, t0));
        assert!(
            r.allow(10, t0 + Duration::from_millis(100)),
            "one token per 100 ms"
        );
        assert!(!r.allow(10, t0 + Duration::from_millis(100)));
        assert!(!r.available(10, t0 + Duration::from_millis(100)));
        assert!(
            r.available(10, t0 + Duration::from_millis(200)),
            "looking takes nothing"
        );
        assert!(r.allow(10, t0 + Duration::from_millis(200)));
    }
}
