//! What a comparison runs: the scenarios, their loadgen parameters, and the
//! metrics read from each outcome.

use serde::Serialize;

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
}

/// A number taken from loadgen's JSON output.
#[derive(Debug, Clone, Copy)]
pub struct MetricSpec {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    /// JSON pointer into loadgen's output.
    pub pointer: &'static str,
}

/// One scenario, run the same way against each server.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub what: &'static str,
    /// The loadgen scenario it runs (`fanout` for a sweep).
    pub loadgen: &'static str,
    /// loadgen arguments after the scenario name, without addresses.
    pub args: Vec<String>,
    /// Server processes joined through a broker instead of one.
    pub cluster: Option<Broker>,
    /// How many (1 without a broker).
    pub nodes: usize,
    /// Run loadgen once per rate, rising, until delivery falls behind.
    pub sweep: Option<Sweep>,
    /// Only Eddy runs it (the peers have no such broker).
    pub eddy_only: bool,
    pub metrics: Vec<MetricSpec>,
}

/// What joins a cluster scenario's two nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Broker {
    Redis,
    Nats,
}

/// A fan-out sweep: offered deliveries per second, rising; a step holds
/// when every message arrives within the run with p99 under the bound.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub subscribers: usize,
    pub deliveries_per_second: Vec<u64>,
    pub p99_bound_us: u64,
}

impl Sweep {
    /// The publisher's rate for one step (at least one message per second).
    pub fn publish_rate(&self, deliveries_per_second: u64) -> u64 {
        (deliveries_per_second / self.subscribers.max(1) as u64).max(1)
    }
}

/// How big the runs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// A few clients for about a second each: CI's check that the harness works.
    Smoke,
    /// The published comparison.
    Full,
}

const fn metric(
    name: &'static str,
    unit: &'static str,
    better: Better,
    pointer: &'static str,
) -> MetricSpec {
    MetricSpec {
        name,
        unit,
        better,
        pointer,
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn fanout_metrics() -> Vec<MetricSpec> {
    vec![
        metric(
            "delivered/s",
            "msg/s",
            Better::Higher,
            "/outcome/delivered_per_second",
        ),
        metric(
            "delivery p50",
            "µs",
            Better::Lower,
            "/outcome/latency/p50_us",
        ),
        metric(
            "delivery p99",
            "µs",
            Better::Lower,
            "/outcome/latency/p99_us",
        ),
        metric(
            "server CPU per delivery",
            "µs",
            Better::Lower,
            "/outcome/server_cpu_us_per_delivery",
        ),
    ]
}

fn sweep_metrics() -> Vec<MetricSpec> {
    vec![
        metric(
            "ceiling (p99 < 50 ms)",
            "msg/s",
            Better::Higher,
            "/outcome/ceiling_per_second",
        ),
        metric(
            "p99 at the ceiling",
            "µs",
            Better::Lower,
            "/outcome/ceiling_p99_us",
        ),
        metric(
            "server CPU per delivery at the ceiling",
            "µs",
            Better::Lower,
            "/outcome/ceiling_server_cpu_us_per_delivery",
        ),
    ]
}

/// The offered deliveries per second of a full sweep (from 25k/s: on the
/// 2026-11-30 run no server held 100k/s to 10,000 subscribers).
const SWEEP_RATES: [u64; 13] = [
    25_000, 50_000, 100_000, 200_000, 400_000, 600_000, 800_000, 1_000_000, 1_200_000, 1_600_000,
    2_000_000, 2_500_000, 3_000_000,
];

/// The scenarios in the order they run.
pub fn scenarios(size: Size) -> Vec<Scenario> {
    let smoke = size == Size::Smoke;
    // 100,000 websockets need several server processes (20,000 open files
    // each) and several loadgen processes; held a minute, one broadcast to
    // all of them every second.
    let (scale_nodes, scale) = if smoke {
        (
            3,
            args(&[
                "--clients",
                "12",
                "--procs",
                "2",
                "--rate",
                "1",
                "--duration",
                "2",
            ]),
        )
    } else {
        (
            6,
            args(&[
                "--clients",
                "100000",
                "--procs",
                "6",
                "--rate",
                "1",
                "--duration",
                "60",
            ]),
        )
    };
    let (echo, fanout, idle, storm) = if smoke {
        (
            args(&["--clients", "3", "--duration", "1", "--warmup", "0.2"]),
            args(&["--clients", "6", "--rate", "20", "--duration", "1"]),
            args(&["--clients", "20", "--hold", "1"]),
            args(&["--clients", "20", "--concurrency", "8"]),
        )
    } else {
        (
            args(&["--clients", "50", "--duration", "5", "--warmup", "1"]),
            args(&["--clients", "500", "--rate", "400", "--duration", "5"]),
            args(&["--clients", "10000", "--hold", "30"]),
            args(&["--clients", "5000", "--concurrency", "256"]),
        )
    };
    let sweep = |subscribers: usize, procs: usize| {
        let (rates, duration) = if smoke {
            (vec![60, 120], "0.5")
        } else {
            (SWEEP_RATES.to_vec(), "3")
        };
        let (subscribers, procs) = if smoke {
            (6, procs.min(2))
        } else {
            (subscribers, procs)
        };
        (
            Sweep {
                subscribers,
                deliveries_per_second: rates,
                // The smoke checks the harness, not a busy CI machine's latency.
                p99_bound_us: if smoke { 1_000_000 } else { 50_000 },
            },
            args(&[
                "--clients",
                &subscribers.to_string(),
                "--procs",
                &procs.to_string(),
                "--duration",
                duration,
            ]),
        )
    };
    let single = |name, what, loadgen, args, metrics| Scenario {
        name,
        what,
        loadgen,
        args,
        cluster: None,
        nodes: 1,
        sweep: None,
        eddy_only: false,
        metrics,
    };
    let (sweep_500, sweep_500_args) = sweep(500, 1);
    let (sweep_10k, sweep_10k_args) = sweep(10_000, 2);
    let cluster_sweep = |name, what, broker, eddy_only| {
        let (sweep, args) = sweep(500, 1);
        Scenario {
            name,
            what,
            loadgen: "cluster",
            args,
            cluster: Some(broker),
            nodes: 2,
            sweep: Some(sweep),
            eddy_only,
            metrics: sweep_metrics(),
        }
    };
    vec![
        single(
            "echo",
            "closed-loop events with acks, 32-byte payload",
            "echo",
            echo,
            vec![
                metric(
                    "acks/s",
                    "acks/s",
                    Better::Higher,
                    "/outcome/acks_per_second",
                ),
                metric("ack p50", "µs", Better::Lower, "/outcome/latency/p50_us"),
                metric("ack p99", "µs", Better::Lower, "/outcome/latency/p99_us"),
                metric(
                    "server CPU per ack",
                    "µs",
                    Better::Lower,
                    "/outcome/server_cpu_us_per_ack",
                ),
            ],
        ),
        single(
            "fanout",
            "one publisher, every subscriber in one room",
            "fanout",
            fanout.clone(),
            fanout_metrics(),
        ),
        Scenario {
            cluster: Some(Broker::Redis),
            nodes: 2,
            ..single(
                "cluster",
                "fanout with subscribers spread over two processes joined by Redis",
                "cluster",
                fanout,
                fanout_metrics(),
            )
        },
        Scenario {
            sweep: Some(sweep_500),
            ..single(
                "sweep-500",
                "fanout to 500 subscribers at rising rates until delivery falls behind",
                "fanout",
                sweep_500_args,
                sweep_metrics(),
            )
        },
        Scenario {
            sweep: Some(sweep_10k),
            ..single(
                "sweep-10k",
                "fanout to 10,000 subscribers (loadgen in two processes) at rising rates",
                "fanout",
                sweep_10k_args,
                sweep_metrics(),
            )
        },
        cluster_sweep(
            "cluster-sweep",
            "the 500-subscriber sweep over two nodes joined by Redis",
            Broker::Redis,
            false,
        ),
        cluster_sweep(
            "cluster-sweep-nats",
            "the same over NATS (Eddy only: the peers have no NATS adapter)",
            Broker::Nats,
            true,
        ),
        Scenario {
            cluster: Some(Broker::Redis),
            nodes: scale_nodes,
            ..single(
                "scale",
                "100,000 websockets over several nodes joined by Redis, held 60 s, a broadcast to all every second",
                "cluster",
                scale,
                vec![
                    metric(
                        "subscribers connected",
                        "conn",
                        Better::Higher,
                        "/outcome/subscribers",
                    ),
                    metric(
                        "RSS per connection",
                        "bytes",
                        Better::Lower,
                        "/outcome/server_rss_per_subscriber_bytes",
                    ),
                    metric(
                        "server CPU per delivery",
                        "µs",
                        Better::Lower,
                        "/outcome/server_cpu_us_per_delivery",
                    ),
                    metric(
                        "broadcast to all, p99",
                        "µs",
                        Better::Lower,
                        "/outcome/latency/p99_us",
                    ),
                    metric(
                        "broadcast to all, slowest",
                        "µs",
                        Better::Lower,
                        "/outcome/latency/max_us",
                    ),
                ],
            )
        },
        single(
            "idle",
            "connected websockets that only answer heartbeats",
            "idle",
            idle,
            vec![
                metric(
                    "RSS per connection",
                    "bytes",
                    Better::Lower,
                    "/outcome/rss_per_connection_bytes",
                ),
                metric(
                    "CPU per connection",
                    "µs/s",
                    Better::Lower,
                    "/outcome/cpu_us_per_connection_second",
                ),
            ],
        ),
        single(
            "storm",
            "connect as fast as the server accepts",
            "storm",
            storm,
            vec![metric(
                "connects/s",
                "conn/s",
                Better::Higher,
                "/outcome/connects_per_second",
            )],
        ),
    ]
}

/// Whether one sweep step held: every message delivered within the run,
/// p99 under the bound, and the publisher sent them in the run's time
/// (within 5 %: a server that slows its publisher down does not hold).
pub fn step_held(sweep: &Sweep, outcome: &serde_json::Value, seconds: f64) -> bool {
    let o = &outcome["outcome"];
    let count = |key: &str| o[key].as_u64().unwrap_or(0);
    count("connect_failures") == 0
        && count("published") > 0
        && o["publish_seconds"]
            .as_f64()
            .is_some_and(|took| took <= seconds * 1.05)
        && count("delivered") >= count("expected")
        && o["latency"]["p99_us"]
            .as_u64()
            .is_some_and(|p99| p99 < sweep.p99_bound_us)
}

/// Why an outcome cannot be compared, if it cannot: lost clients, errors.
pub fn problems(scenario: &Scenario, outcome: &serde_json::Value) -> Vec<String> {
    let o = &outcome["outcome"];
    let mut out = Vec::new();
    if scenario.sweep.is_some() {
        // A sweep runs until a step fails: that is its result, not a problem.
        return out;
    }
    let count = |key: &str| o[key].as_u64().unwrap_or(0);
    if count("connect_failures") > 0 {
        out.push(format!(
            "{} clients failed to connect",
            count("connect_failures")
        ));
    }
    match scenario.loadgen {
        "echo" if count("errors") > 0 => {
            out.push(format!("{} clients saw errors", count("errors")))
        }
        "fanout" | "cluster" if count("delivered") < count("expected") => out.push(format!(
            "{} of {} messages delivered within the run",
            count("delivered"),
            count("expected")
        )),
        "idle" if count("survived") < count("connections") => out.push(format!(
            "{} of {} connections survived the hold",
            count("survived"),
            count("connections")
        )),
        "storm" if count("failures") > 0 => {
            out.push(format!("{} connects failed", count("failures")))
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_points_into_the_outcome_of_its_scenario() {
        // The field names loadgen prints, per scenario.
        let outcomes = [
            ("echo", "acks_per_second latency server_cpu_us_per_ack"),
            (
                "fanout",
                "delivered_per_second latency server_cpu_us_per_delivery",
            ),
            (
                "cluster",
                "delivered_per_second latency server_cpu_us_per_delivery",
            ),
            (
                "sweep-500",
                "ceiling_per_second ceiling_p99_us ceiling_server_cpu_us_per_delivery",
            ),
            (
                "sweep-10k",
                "ceiling_per_second ceiling_p99_us ceiling_server_cpu_us_per_delivery",
            ),
            (
                "cluster-sweep",
                "ceiling_per_second ceiling_p99_us ceiling_server_cpu_us_per_delivery",
            ),
            (
                "cluster-sweep-nats",
                "ceiling_per_second ceiling_p99_us ceiling_server_cpu_us_per_delivery",
            ),
            (
                "idle",
                "rss_per_connection_bytes cpu_us_per_connection_second",
            ),
            ("storm", "connects_per_second"),
            (
                "scale",
                "subscribers server_rss_per_subscriber_bytes server_cpu_us_per_delivery latency",
            ),
        ];
        for size in [Size::Smoke, Size::Full] {
            for s in scenarios(size) {
                let fields = outcomes.iter().find(|(n, _)| *n == s.name).unwrap().1;
                for m in &s.metrics {
                    let field = m.pointer.split('/').nth(2).unwrap();
                    assert!(fields.contains(field), "{} {}", s.name, m.pointer);
                }
            }
        }
    }

    #[test]
    fn a_sweep_step_holds_only_when_everything_arrived_in_time() {
        let sweep = Sweep {
            subscribers: 500,
            deliveries_per_second: vec![100_000],
            p99_bound_us: 50_000,
        };
        assert_eq!(sweep.publish_rate(100_000), 200);
        assert_eq!(sweep.publish_rate(10), 1, "at least one message a second");
        let step = |took: f64, delivered: u64, p99: u64| {
            serde_json::json!({"outcome": {
                "connect_failures": 0, "published": 600, "publish_seconds": took,
                "delivered": delivered, "expected": 600 * 500, "latency": {"p99_us": p99}
            }})
        };
        assert!(step_held(&sweep, &step(3.0, 300_000, 49_000), 3.0));
        assert!(
            !step_held(&sweep, &step(3.0, 299_999, 1_000), 3.0),
            "one lost"
        );
        assert!(
            !step_held(&sweep, &step(3.0, 300_000, 50_000), 3.0),
            "p99 at the bound"
        );
        assert!(
            !step_held(&sweep, &step(3.3, 300_000, 1_000), 3.0),
            "publisher late"
        );
        let mut failed = step(3.0, 300_000, 1_000);
        failed["outcome"]["connect_failures"] = 1.into();
        assert!(!step_held(&sweep, &failed, 3.0), "a subscriber missing");
    }

    #[test]
    fn every_sweep_and_cluster_names_what_it_needs() {
        for size in [Size::Smoke, Size::Full] {
            for s in scenarios(size) {
                if s.sweep.is_some() {
                    assert!(s.args.iter().any(|a| a == "--duration"), "{}", s.name);
                    assert!(
                        !s.args.iter().any(|a| a == "--rate"),
                        "{}: the sweep sets it",
                        s.name
                    );
                }
                assert_eq!(s.cluster.is_some(), s.nodes > 1, "{}", s.name);
                assert_eq!(s.eddy_only, s.cluster == Some(Broker::Nats), "{}", s.name);
            }
        }
    }

    #[test]
    fn incomplete_runs_are_reported() {
        let fanout = &scenarios(Size::Smoke)[1];
        let ok = serde_json::json!({"outcome": {"delivered": 10, "expected": 10}});
        assert!(problems(fanout, &ok).is_empty());
        let lossy = serde_json::json!({"outcome": {"delivered": 9, "expected": 10}});
        assert_eq!(
            problems(fanout, &lossy),
            ["9 of 10 messages delivered within the run"]
        );
    }
}
