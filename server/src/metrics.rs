//! Counters the data plane bumps without locks, and their Prometheus text
//! rendering. Labels are bounded: an app slug and a fixed reason set, never
//! a socket or session id.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::session::CloseReason;
use crate::tenant::App;

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
    /// Handler call durations.
    pub handler_latency: LatencyHistogram,
    /// Wall time spent in event handlers, in nanoseconds (CPU time for a
    /// compute-bound handler; it includes awaits on the key-value store).
    pub handler_nanos: Counter,
    closes: [Counter; CloseReason::ALL.len()],
}

/// Bytes on the wire for one app's sessions (Engine.IO frames and payloads,
/// both transports); shared by the app's sessions.
#[derive(Debug, Default)]
pub struct Traffic {
    pub bytes_in: Counter,
    pub bytes_out: Counter,
}

impl AppMetrics {
    pub fn closed(&self, reason: CloseReason) {
        self.closes[reason as usize].inc();
    }

    pub fn closes(&self, reason: CloseReason) -> u64 {
        self.closes[reason as usize].get()
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
pub struct ServerMetrics {
    pub connections_accepted: Counter,
    pub connections_refused: Counter,
}

/// What the per-address limits refused.
#[derive(Debug, Default)]
pub struct AddressRefusals {
    /// Connections from an address holding `max_connections_per_address`.
    pub connections: Counter,
    /// Handshakes over `sessions_per_second_per_address` (429).
    pub sessions: Counter,
}

/// Renders the Prometheus text exposition format.
pub fn render(
    server: &ServerMetrics,
    refusals: &AddressRefusals,
    open_connections: usize,
    apps: &[std::sync::Arc<App>],
    cluster: &eddy_cluster::Cluster,
) -> String {
    let mut out = String::with_capacity(2048);
    let mut family =
        |name: &str, kind: &str, help: &str, rows: &mut dyn Iterator<Item = (String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in rows {
                if labels.is_empty() {
                    let _ = writeln!(out, "{name} {value}");
                } else {
                    let _ = writeln!(out, "{name}{{{labels}}} {value}");
                }
            }
        };
    family(
        "eddy_tcp_connections",
        "gauge",
        "Open client TCP connections.",
        &mut std::iter::once((String::new(), open_connections as u64)),
    );
    family(
        "eddy_tcp_connections_accepted_total",
        "counter",
        "Client TCP connections accepted.",
        &mut std::iter::once((String::new(), server.connections_accepted.get())),
    );
    family(
        "eddy_tcp_connections_refused_total",
        "counter",
        "Client TCP connections refused at max_connections.",
        &mut std::iter::once((String::new(), server.connections_refused.get())),
    );
    family(
        "eddy_address_refusals_total",
        "counter",
        "Refused by a per-address limit: connections (max_connections_per_address) and sessions (sessions_per_second_per_address).",
        &mut [
            ("connections", refusals.connections.get()),
            ("sessions", refusals.sessions.get()),
        ]
        .into_iter()
        .map(|(limit, v)| (format!("limit=\"{limit}\""), v)),
    );
    let broker = cluster.status();
    let kind = format!("broker=\"{}\"", broker.broker);
    family(
        "eddy_broker_up",
        "gauge",
        "1 while the broker carries messages both ways (always 1 for local).",
        &mut std::iter::once((kind.clone(), u64::from(broker.up))),
    );
    family(
        "eddy_cluster_nodes",
        "gauge",
        "Live nodes in the cluster, this one included.",
        &mut std::iter::once((String::new(), cluster.peers().len() as u64 + 1)),
    );
    for (name, help, value) in [
        (
            "eddy_broker_published_total",
            "Messages sent to the broker.",
            broker.published,
        ),
        (
            "eddy_broker_received_total",
            "Messages received from the broker.",
            broker.received,
        ),
        (
            "eddy_broker_dropped_total",
            "Cross-node messages lost (broker away or node behind).",
            broker.dropped,
        ),
        (
            "eddy_broker_reconnects_total",
            "Broker connections re-established after a failure.",
            broker.reconnects,
        ),
    ] {
        family(
            name,
            "counter",
            help,
            &mut std::iter::once((kind.clone(), value)),
        );
    }
    let app = |a: &App| format!("app=\"{}\"", a.slug);
    family(
        "eddy_sessions",
        "gauge",
        "Open Engine.IO sessions.",
        &mut apps.iter().map(|a| (app(a), a.sessions.len() as u64)),
    );
    family(
        "eddy_sockets",
        "gauge",
        "Sockets connected to a namespace.",
        &mut apps.iter().map(|a| (app(a), a.socket_count() as u64)),
    );
    type Field = fn(&AppMetrics) -> &Counter;
    let counters: [(&str, &str, Field); 13] = [
        (
            "eddy_sessions_opened_total",
            "Engine.IO sessions opened.",
            |m| &m.sessions_opened,
        ),
        (
            "eddy_connects_total",
            "Namespace connections accepted.",
            |m| &m.connects,
        ),
        (
            "eddy_connects_refused_total",
            "Namespace connections refused by the app.",
            |m| &m.connects_refused,
        ),
        (
            "eddy_events_in_total",
            "Events received from clients.",
            |m| &m.events_in,
        ),
        (
            "eddy_emits_total",
            "Packets queued to sockets by handlers (one per recipient).",
            |m| &m.emits,
        ),
        (
            "eddy_handler_errors_total",
            "Events whose handler returned an error.",
            |m| &m.handler_errors,
        ),
        (
            "eddy_parse_errors_total",
            "Malformed packets received (each closes its session).",
            |m| &m.parse_errors,
        ),
        (
            "eddy_unknown_acks_total",
            "Acks received for ids nobody waited on.",
            |m| &m.unknown_acks,
        ),
        (
            "eddy_handler_timeouts_total",
            "Handler calls stopped at the app's deadline.",
            |m| &m.handler_timeouts,
        ),
        (
            "eddy_handler_memory_faults_total",
            "Handler calls stopped at the app's memory limit.",
            |m| &m.handler_memory_faults,
        ),
        (
            "eddy_handler_traps_total",
            "Handler calls that trapped (panics included).",
            |m| &m.handler_traps,
        ),
        (
            "eddy_handler_host_faults_total",
            "Handler calls that failed on the server's side.",
            |m| &m.handler_host_faults,
        ),
        (
            "eddy_handler_start_faults_total",
            "New handler instances whose start-up ran past the start deadline (each faults the app for a backoff).",
            |m| &m.handler_start_faults,
        ),
    ];
    for (name, help, get) in counters {
        family(
            name,
            "counter",
            help,
            &mut apps.iter().map(|a| (app(a), get(&a.metrics).get())),
        );
    }
    family(
        "eddy_limit_breaches_total",
        "counter",
        "Requests refused by an app's limits, by limit.",
        &mut apps.iter().flat_map(|a| {
            let m = &a.metrics;
            [
                ("connections", m.breach_connections.get()),
                ("event_rate", m.breach_event_rate.get()),
                ("payload", m.breach_payload.get()),
                ("kv_quota", m.breach_kv_quota.get()),
                ("rooms", m.breach_rooms.get()),
                ("namespaces", m.breach_namespaces.get()),
            ]
            .map(|(limit, v)| (format!("app=\"{}\",limit=\"{limit}\"", a.slug), v))
        }),
    );
    family(
        "eddy_handler_latency_microseconds",
        "gauge",
        "Handler call duration since start at a quantile, in microseconds (within about 20%).",
        &mut apps.iter().flat_map(|a| {
            [0.5, 0.9, 0.99].map(|q| {
                let micros = a.metrics.handler_latency.quantile(q);
                (format!("app=\"{}\",quantile=\"{q}\"", a.slug), micros)
            })
        }),
    );
    family(
        "eddy_bytes_in_total",
        "counter",
        "Bytes received from clients (Engine.IO frames and payloads).",
        &mut apps
            .iter()
            .map(|a| (app(a), a.sessions.traffic.bytes_in.get())),
    );
    family(
        "eddy_bytes_out_total",
        "counter",
        "Bytes sent to clients (Engine.IO frames and payloads).",
        &mut apps
            .iter()
            .map(|a| (app(a), a.sessions.traffic.bytes_out.get())),
    );
    family(
        "eddy_handler_busy_microseconds_total",
        "counter",
        "Wall time spent in event handlers, in microseconds.",
        &mut apps
            .iter()
            .map(|a| (app(a), a.metrics.handler_nanos.get() / 1_000)),
    );
    family(
        "eddy_handler_memory_bytes",
        "gauge",
        "Guest linear memory held by the app's handler instances.",
        &mut apps
            .iter()
            .map(|a| (app(a), a.handler().footprint().memory_bytes)),
    );
    family(
        "eddy_handler_faulted",
        "gauge",
        "1 while the app's handler refuses new instances after a failed start-up.",
        &mut apps.iter().map(|a| {
            (
                app(a),
                u64::from(a.handler().footprint().faulted_for_ms.is_some()),
            )
        }),
    );
    family(
        "eddy_app_active_version",
        "gauge",
        "The deployed version the app runs (absent for built-in apps).",
        &mut apps
            .iter()
            .filter_map(|a| Some((app(a), a.active_version()? as u64))),
    );
    family(
        "eddy_sessions_closed_total",
        "counter",
        "Engine.IO sessions closed, by reason.",
        &mut apps.iter().flat_map(|a| {
            CloseReason::ALL.iter().map(move |r| {
                (
                    format!("app=\"{}\",reason=\"{}\"", a.slug, r.as_str()),
                    a.metrics.closes(*r),
                )
            })
        }),
    );
    out
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
