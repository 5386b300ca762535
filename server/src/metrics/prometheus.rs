//! The Prometheus text exposition of the counters. Labels are bounded: an
//! app slug and a fixed reason set, never a socket or session id. This is
//! the one place the counters meet the apps, sessions and the cluster.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{AddressRefusals, AppMetrics, Counter, ServerMetrics};
use crate::session::CloseReason;
use crate::tenant::App;

/// Renders the Prometheus text exposition format.
pub(crate) fn render(
    server: &ServerMetrics,
    refusals: &AddressRefusals,
    open_connections: usize,
    apps: &[Arc<App>],
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
    let counters: [(&str, &str, Field); 14] = [
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
        (
            "eddy_timers_fired_total",
            "Timers whose on-timer hook this node ran.",
            |m| &m.timers_fired,
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
                ("max_timers", m.breach_max_timers.get()),
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
                    a.metrics.closes(*r as usize),
                )
            })
        }),
    );
    out
}
