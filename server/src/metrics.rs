//! Counters the data plane bumps without locks, and their Prometheus text
//! rendering. Labels are bounded: an app slug and a fixed reason set, never
//! a socket or session id.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

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
    closes: [Counter; CloseReason::ALL.len()],
}

impl AppMetrics {
    pub fn closed(&self, reason: CloseReason) {
        self.closes[reason as usize].inc();
    }

    pub fn closes(&self, reason: CloseReason) -> u64 {
        self.closes[reason as usize].get()
    }
}

/// Process-wide counters.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    pub connections_accepted: Counter,
    pub connections_refused: Counter,
}

/// Renders the Prometheus text exposition format.
pub fn render(
    server: &ServerMetrics,
    open_connections: usize,
    apps: &[std::sync::Arc<App>],
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
    let counters: [(&str, &str, Field); 12] = [
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
