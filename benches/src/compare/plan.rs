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
    /// loadgen arguments after the scenario name, without addresses.
    pub args: Vec<String>,
    /// Two server processes joined through Redis instead of one.
    pub cluster: bool,
    /// loadgen reads the server's memory and CPU (needs its pid).
    pub needs_pid: bool,
    pub metrics: Vec<MetricSpec>,
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
    ]
}

/// The scenarios in the order they run.
pub fn scenarios(size: Size) -> Vec<Scenario> {
    let smoke = size == Size::Smoke;
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
    vec![
        Scenario {
            name: "echo",
            what: "closed-loop events with acks, 32-byte payload",
            args: echo,
            cluster: false,
            needs_pid: false,
            metrics: vec![
                metric(
                    "acks/s",
                    "acks/s",
                    Better::Higher,
                    "/outcome/acks_per_second",
                ),
                metric("ack p50", "µs", Better::Lower, "/outcome/latency/p50_us"),
                metric("ack p99", "µs", Better::Lower, "/outcome/latency/p99_us"),
            ],
        },
        Scenario {
            name: "fanout",
            what: "one publisher, every subscriber in one room",
            args: fanout.clone(),
            cluster: false,
            needs_pid: false,
            metrics: fanout_metrics(),
        },
        Scenario {
            name: "cluster",
            what: "fanout with subscribers spread over two processes joined by Redis",
            args: fanout,
            cluster: true,
            needs_pid: false,
            metrics: fanout_metrics(),
        },
        Scenario {
            name: "idle",
            what: "connected websockets that only answer heartbeats",
            args: idle,
            cluster: false,
            needs_pid: true,
            metrics: vec![
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
        },
        Scenario {
            name: "storm",
            what: "connect as fast as the server accepts",
            args: storm,
            cluster: false,
            needs_pid: false,
            metrics: vec![metric(
                "connects/s",
                "conn/s",
                Better::Higher,
                "/outcome/connects_per_second",
            )],
        },
    ]
}

/// Why an outcome cannot be compared, if it cannot: lost clients, errors.
pub fn problems(scenario: &Scenario, outcome: &serde_json::Value) -> Vec<String> {
    let o = &outcome["outcome"];
    let mut out = Vec::new();
    let count = |key: &str| o[key].as_u64().unwrap_or(0);
    if count("connect_failures") > 0 {
        out.push(format!(
            "{} clients failed to connect",
            count("connect_failures")
        ));
    }
    match scenario.name {
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
            ("echo", "acks_per_second latency"),
            ("fanout", "delivered_per_second latency"),
            ("cluster", "delivered_per_second latency"),
            (
                "idle",
                "rss_per_connection_bytes cpu_us_per_connection_second",
            ),
            ("storm", "connects_per_second"),
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
