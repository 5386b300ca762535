//! The faulted state of a pool whose instances fail to start. A start-up
//! that times out has burnt a core for the whole start deadline; retried on
//! every event, a start-up that loops (even only sometimes, on a coin flip)
//! would keep a core busy for as long as clients keep sending. So after a
//! failed start, new instances are refused for a while, twice as long after
//! each further failure. A successful start does not reset the count (a
//! coin-flip start would otherwise earn a fresh short backoff every other
//! try); a quiet spell does. Warm instances keep serving meanwhile.
//!
//! A pure state machine over `now`, tested without time.

use std::time::{Duration, Instant};

/// The first backoff after a failed start.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// The longest backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Failures older than this are forgotten: the next one starts over.
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
pub(crate) struct StartBackoff {
    /// Failed starts since the last quiet spell.
    failures: u32,
    last_failure: Option<Instant>,
    /// New instances are refused until then.
    until: Option<Instant>,
}

impl StartBackoff {
    /// How long new instances are still refused, if they are.
    pub(crate) fn refused_for(&self, now: Instant) -> Option<Duration> {
        self.until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Records a failed start; returns the backoff it earned.
    pub(crate) fn failed(&mut self, now: Instant) -> Duration {
        let quiet = self
            .last_failure
            .is_none_or(|last| now.saturating_duration_since(last) >= FORGET_AFTER);
        self.failures = if quiet { 1 } else { self.failures + 1 };
        self.last_failure = Some(now);
        let doublings = (self.failures - 1).min(16);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF);
        self.until = Some(now + backoff);
        backoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_healthy_pool_refuses_nothing() {
        assert_eq!(StartBackoff::default().refused_for(Instant::now()), None);
    }

    #[test]
    fn each_failure_doubles_the_backoff_up_to_the_cap() {
        let t0 = Instant::now();
        let mut b = StartBackoff::default();
        let mut now = t0;
        let mut seen = Vec::new();
        for _ in 0..12 {
            let backoff = b.failed(now);
            assert_eq!(b.refused_for(now), Some(backoff));
            assert_eq!(b.refused_for(now + backoff / 2), Some(backoff / 2));
            assert_eq!(b.refused_for(now + backoff), None);
            seen.push(backoff.as_secs());
            now += backoff;
        }
        assert_eq!(
            seen,
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300],
            "doubling from {FIRST_BACKOFF:?}, capped at {MAX_BACKOFF:?}"
        );
    }

    #[test]
    fn a_quiet_spell_forgets_earlier_failures() {
        let t0 = Instant::now();
        let mut b = StartBackoff::default();
        b.failed(t0);
        assert_eq!(b.failed(t0 + S), 2 * FIRST_BACKOFF);
        // Successful starts in between do not matter; only time does.
        let later = t0 + S + FORGET_AFTER;
        assert_eq!(b.failed(later), FIRST_BACKOFF);
    }
}
