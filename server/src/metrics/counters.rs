//! The counters the data plane bumps without locks. This module sits below
//! everything that counts (it imports nothing of the crate), so sessions,
//! sockets and apps can all hold its types.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How many reasons a session can close for: one counter each, at the
/// reason's position in `session::CloseReason::ALL` (an array of this
/// length, so the compiler keeps the two in step).
pub(crate) const CLOSE_REASONS: usize = 10;

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Per-app counters.
#[derive(Debug, Default)]
pub struct AppMetrics {
    pub sessions_opened: Counter,
    pub connects: Counter,
    pub connects_refused: Counter,
    pub events_in: Counter,
    pub emits: Counter,
    pub handler_errors: Counter,
    pub parse_errors: Counter,
    pub unknown_acks: Counter,
    pub handler_timeouts: Counter,
    pub handler_memory_faults: Counter,
    pub handler_traps: Counter,
    pub handler_host_faults: Counter,
    /// New handler instances whose start-up ran past the start deadline.
    pub handler_start_faults: Counter,
    pub breach_connections: Counter,
    pub breach_event_rate: Counter,
    pub breach_payload: Counter,
    pub breach_kv_quota: Counter,
    pub breach_rooms: Counter,
    pub breach_namespaces: Counter,
    /// Timers refused by `max_timers`.
    pub breach_max_timers: Counter,
    /// Timers this node fired (their `on-timer` hook ran).
    pub timers_fired: Counter,
    /// Handler call durations.
    pub handler_latency: LatencyHistogram,
    /// Wall time spent in event handlers, in nanoseconds (CPU time for a
    /// compute-bound handler; it includes awaits on the key-value store).
    pub handler_nanos: Counter,
    /// Sessions closed, by reason (see [`CLOSE_REASONS`]).
    closes: [Counter; CLOSE_REASONS],
}

/// Bytes on the wire for one app's sessions (Engine.IO frames and payloads,
/// both transports); shared by the app's sessions.
#[derive(Debug, Default)]
pub struct Traffic {
    pub bytes_in: Counter,
    pub bytes_out: Counter,
}

impl AppMetrics {
    /// Counts a session closed for a reason (`CloseReason as usize`).
    pub fn closed(&self, reason: usize) {
        self.closes[reason].inc();
    }

    /// Sessions closed for a reason (`CloseReason as usize`).
    pub fn closes(&self, reason: usize) -> u64 {
        self.closes[reason].get()
    }

    /// Handler calls that ended in a fault, of any kind.
    pub fn handler_faults(&self) -> u64 {
        self.handler_timeouts.get()
            + self.handler_memory_faults.get()
            + self.handler_traps.get()
            + self.handler_host_faults.get()
            + self.handler_start_faults.get()
    }

    /// Requests refused by any of the app's limits.
    pub fn limit_breaches(&self) -> u64 {
        self.breach_connections.get()
            + self.breach_event_rate.get()
            + self.breach_payload.get()
            + self.breach_kv_quota.get()
            + self.breach_rooms.get()
            + self.breach_namespaces.get()
            + self.breach_max_timers.get()
    }
}

/// A lock-free log-linear histogram of durations (four buckets per power of
/// two microseconds, so quantiles are within about 20%).
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: [AtomicU64; Self::BUCKETS],
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl LatencyHistogram {
    pub const BUCKETS: usize = 4 * 34;

    fn index(micros: u64) -> usize {
        if micros < 4 {
            return micros as usize;
        }
        // Four buckets per power of two from 4 µs up: exponent 2 starts at 4.
        let exponent = 63 - micros.leading_zeros() as usize;
        let mantissa = ((micros >> (exponent - 2)) & 3) as usize;
        ((exponent - 1) * 4 + mantissa).min(Self::BUCKETS - 1)
    }

    /// The largest value a bucket holds.
    fn upper(index: usize) -> u64 {
        if index < 4 {
            return index as u64;
        }
        let (exponent, mantissa) = (index / 4 + 1, (index % 4) as u64);
        ((4 + mantissa + 1) << (exponent - 2)) - 1
    }

    pub fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.buckets[Self::index(micros)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The bucket counts now; the difference of two snapshots is the
    /// histogram of the calls between them.
    pub fn snapshot(&self) -> Vec<u64> {
        self.buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }

    /// The value at quantile `q` (0–1), in microseconds; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        Self::quantile_of(&self.snapshot(), q)
    }

    /// [`Self::quantile`] of a snapshot (or a sum or difference of them).
    pub fn quantile_of(counts: &[u64], q: f64) -> u64 {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(i);
            }
        }
        Self::upper(Self::BUCKETS - 1)
    }
}

/// Process-wide counters.
#[derive(Debug, Default)]
pub(crate) struct ServerMetrics {
    pub connections_accepted: Counter,
    pub connections_refused: Counter,
}

/// What the per-address limits refused.
#[derive(Debug, Default)]
pub(crate) struct AddressRefusals {
    /// Connections from an address holding `max_connections_per_address`.
    pub connections: Counter,
    /// Handshakes over `sessions_per_second_per_address` (429).
    pub sessions: Counter,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_close() {
        let h = LatencyHistogram::default();
        assert_eq!(h.quantile(0.5), 0);
        for micros in 1..=1000u64 {
            h.record(Duration::from_micros(micros));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 - 500.0).abs() / 500.0 < 0.25, "{p50}");
        assert!((p99 - 990.0).abs() / 990.0 < 0.25, "{p99}");
        h.record(Duration::from_secs(100_000));
        assert!(h.quantile(1.0) > 1_000_000);
    }

    #[test]
    fn bucket_bounds_are_increasing() {
        let mut last = 0;
        for i in 1..LatencyHistogram::BUCKETS {
            let upper = LatencyHistogram::upper(i);
            assert!(upper >= last, "{i}");
            assert_eq!(LatencyHistogram::index(upper), i, "{i}");
            last = upper;
        }
    }
}
