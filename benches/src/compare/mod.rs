//! `compare`: Eddy and its peers (Node Socket.IO, socketioxide), one after
//! the other on the same machine, through the same loadgen scenarios; the
//! result as JSON, Markdown and an SVG chart of the ratios.

pub mod date;
mod machine;
pub mod plan;
pub mod render;
pub mod servers;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use serde::Serialize;

pub use machine::Machine;
use plan::{Better, Broker, Scenario, Sweep};
use servers::{Kind, Programs, Server};

/// What the comparison needs besides the plan.
#[derive(Debug, Clone)]
pub struct Setup {
    pub programs: Programs,
    pub loadgen: PathBuf,
    /// The peers Eddy is compared with, in column order.
    pub peers: Vec<Kind>,
    /// Redis for the cluster scenarios; `None` skips them.
    pub redis: Option<String>,
    /// NATS for Eddy's NATS cluster row; `None` skips it.
    pub nats: Option<String>,
    /// The registry Eddy's cluster nodes share; `None`: one SQLite registry each.
    pub database: Option<String>,
    /// Run only these scenarios (all when empty).
    pub only: Vec<String>,
    /// The command line that started the comparison, for the report.
    pub command: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub date: String,
    pub command: String,
    pub machine: Machine,
    pub versions: BTreeMap<String, String>,
    /// The peers, in the order of every metric's `peers`.
    pub peers: Vec<Kind>,
    pub scenarios: Vec<ScenarioResult>,
}

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub what: String,
    /// Why it did not run, when it did not.
    pub skipped: Option<String>,
    /// Lost clients or messages: the numbers stand, with this caveat.
    pub problems: Vec<String>,
    pub servers: Vec<String>,
    pub loadgen: Vec<String>,
    pub metrics: Vec<MetricResult>,
    /// loadgen's full output per server.
    pub outcomes: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct MetricResult {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    /// NaN (null in JSON) where a server gave no such number.
    pub eddy: f64,
    /// One per peer of the report, in its order.
    pub peers: Vec<PeerValue>,
}

#[derive(Debug, Serialize)]
pub struct PeerValue {
    pub peer: Kind,
    /// NaN when the peer did not run the scenario.
    pub value: f64,
    /// Eddy / peer.
    pub ratio: f64,
}

pub fn run(setup: &Setup, scenarios: Vec<Scenario>, date: String) -> anyhow::Result<Report> {
    let mut results = Vec::new();
    for scenario in scenarios {
        if !setup.only.is_empty() && !setup.only.iter().any(|o| o == scenario.name) {
            continue;
        }
        eprintln!("==> {}: {}", scenario.name, scenario.what);
        match scenario.cluster {
            Some(Broker::Redis) if setup.redis.is_none() => {
                results.push(skipped(
                    &scenario,
                    "no Redis (pass --redis or set EDDY_TEST_REDIS)",
                ));
                continue;
            }
            Some(Broker::Nats) if setup.nats.is_none() => {
                results.push(skipped(
                    &scenario,
                    "no NATS (pass --nats or set EDDY_TEST_NATS)",
                ));
                continue;
            }
            _ => {}
        }
        results.push(run_scenario(setup, &scenario)?);
    }
    Ok(Report {
        date,
        command: setup.command.clone(),
        machine: Machine::describe(),
        versions: versions(&setup.programs, &setup.peers),
        peers: setup.peers.clone(),
        scenarios: results,
    })
}

fn skipped(scenario: &Scenario, why: &str) -> ScenarioResult {
    eprintln!("    skipped: {why}");
    ScenarioResult {
        name: scenario.name.into(),
        what: scenario.what.into(),
        skipped: Some(why.into()),
        problems: vec![],
        servers: vec![],
        loadgen: vec![],
        metrics: vec![],
        outcomes: BTreeMap::new(),
    }
}

fn run_scenario(setup: &Setup, scenario: &Scenario) -> anyhow::Result<ScenarioResult> {
    let mut result = ScenarioResult {
        name: scenario.name.into(),
        what: scenario.what.into(),
        skipped: None,
        problems: vec![],
        servers: vec![],
        loadgen: vec![],
        metrics: vec![],
        outcomes: BTreeMap::new(),
    };
    let kinds = std::iter::once(Kind::Eddy)
        .chain(setup.peers.iter().copied().filter(|_| !scenario.eddy_only));
    for kind in kinds {
        let servers = start_servers(setup, scenario, kind)?;
        result
            .servers
            .extend(servers.iter().map(|s| s.command.clone()));
        let outcome = match &scenario.sweep {
            None => loadgen(setup, scenario, kind, &servers, &[], &mut result),
            Some(sweep) => run_sweep(setup, scenario, sweep, kind, &servers, &mut result),
        };
        for server in servers {
            server.stop();
        }
        let outcome = outcome?;
        for p in plan::problems(scenario, &outcome) {
            eprintln!("    {}: {p}", kind.label());
            result.problems.push(format!("{}: {p}", kind.label()));
        }
        result.outcomes.insert(kind.key().to_owned(), outcome);
    }
    for spec in &scenario.metrics {
        let value = |kind: Kind| {
            result
                .outcomes
                .get(kind.key())
                .and_then(|o| o.pointer(spec.pointer))
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        let eddy = value(Kind::Eddy);
        result.metrics.push(MetricResult {
            name: spec.name,
            unit: spec.unit,
            better: spec.better,
            eddy,
            peers: setup
                .peers
                .iter()
                .map(|&peer| PeerValue {
                    peer,
                    value: value(peer),
                    ratio: eddy / value(peer),
                })
                .collect(),
        });
    }
    Ok(result)
}

/// Runs loadgen once against `servers` (`extra` arguments last) and
/// returns its output.
fn loadgen(
    setup: &Setup,
    scenario: &Scenario,
    kind: Kind,
    servers: &[Server],
    extra: &[String],
    result: &mut ScenarioResult,
) -> anyhow::Result<serde_json::Value> {
    let mut command = Command::new(&setup.loadgen);
    command
        .arg(scenario.loadgen)
        .args(["--addr", &servers[0].addr.to_string()])
        .args(["--path", servers::PATH]);
    for other in &servers[1..] {
        command.args(["--node", &other.addr.to_string()]);
    }
    for server in servers {
        command.args(["--server-pid", &server.pid().to_string()]);
    }
    command.args(&scenario.args).args(extra);
    let printed = servers::render_command(&command);
    eprintln!("    {}: {printed}", kind.label());
    let output = command.output().with_context(|| format!("run {printed}"))?;
    if !output.status.success() {
        bail!(
            "{printed} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut outcome: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("loadgen output of {printed}"))?;
    // The raw histogram is for merging child processes, not for reading.
    if let Some(o) = outcome["outcome"].as_object_mut() {
        o.remove("histogram");
    }
    result.loadgen.push(printed);
    Ok(outcome)
}

/// One fan-out step after another at rising rates, until one does not
/// hold; the outcome is the last rate that held and what stopped the next.
fn run_sweep(
    setup: &Setup,
    scenario: &Scenario,
    sweep: &Sweep,
    kind: Kind,
    servers: &[Server],
    result: &mut ScenarioResult,
) -> anyhow::Result<serde_json::Value> {
    let seconds: f64 = scenario
        .args
        .windows(2)
        .find(|w| w[0] == "--duration")
        .and_then(|w| w[1].parse().ok())
        .context("a sweep names its --duration")?;
    let mut steps = Vec::new();
    let mut ceiling = None;
    let mut stopped = None;
    for &offered in &sweep.deliveries_per_second {
        let rate = sweep.publish_rate(offered);
        let extra = ["--rate".to_owned(), rate.to_string()];
        let run = loadgen(setup, scenario, kind, servers, &extra, result)?;
        let o = &run["outcome"];
        let window = o["delivery_seconds"].as_f64().unwrap_or(0.0).max(seconds);
        let cores = |key: &str| o[key].as_f64().map(|s| s / window);
        let held = plan::step_held(sweep, &run, seconds);
        let step = serde_json::json!({
            "offered_per_second": o["offered_per_second"],
            "delivered_per_second": o["delivered_per_second"],
            "delivered": o["delivered"],
            "expected": o["expected"],
            "p50_us": o["latency"]["p50_us"],
            "p99_us": o["latency"]["p99_us"],
            "server_cpu_us_per_delivery": o["server_cpu_us_per_delivery"],
            "server_cores": cores("server_cpu_seconds"),
            "loadgen_cores": cores("loadgen_cpu_seconds"),
            "held": held,
        });
        eprintln!(
            "      {} offered {offered}/s: delivered {}/s, p99 {} µs, server {:.2} cores, loadgen {:.2} cores: {}",
            kind.label(),
            o["delivered_per_second"].as_f64().unwrap_or(0.0).round(),
            o["latency"]["p99_us"],
            step["server_cores"].as_f64().unwrap_or(f64::NAN),
            step["loadgen_cores"].as_f64().unwrap_or(f64::NAN),
            if held { "held" } else { "fell behind" },
        );
        steps.push(step.clone());
        if held {
            ceiling = Some(step);
        } else {
            stopped = Some(step);
            break;
        }
    }
    let at = |key: &str| {
        ceiling
            .as_ref()
            .map_or(serde_json::Value::Null, |c| c[key].clone())
    };
    Ok(serde_json::json!({
        "scenario": "sweep",
        "outcome": {
            "ceiling_per_second": ceiling.as_ref().map_or(0.0.into(), |c| c["delivered_per_second"].clone()),
            "ceiling_p99_us": at("p99_us"),
            "ceiling_server_cpu_us_per_delivery": at("server_cpu_us_per_delivery"),
            "ceiling_server_cores": at("server_cores"),
            "ceiling_loadgen_cores": at("loadgen_cores"),
            "stopped_at": stopped,
            "steps": steps,
        }
    }))
}

/// One server, or the scenario's nodes joined through a broker.
fn start_servers(setup: &Setup, scenario: &Scenario, kind: Kind) -> anyhow::Result<Vec<Server>> {
    let Some(broker) = scenario.cluster else {
        return Ok(vec![servers::start(kind, &setup.programs, None)?]);
    };
    let url = match broker {
        Broker::Redis => setup.redis.as_deref(),
        Broker::Nats => setup.nats.as_deref(),
    }
    .with_context(|| format!("the {} scenario needs its broker", scenario.name))?;
    let prefix = format!("cmp{:08x}", rand::random::<u32>());
    let cluster = servers::Cluster {
        broker: url,
        prefix: &prefix,
        database: setup.database.as_deref(),
    };
    // The first node creates the registry; the others join it.
    let nodes = (0..scenario.nodes.max(2))
        .map(|_| servers::start(kind, &setup.programs, Some(&cluster)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Let them hear each other's heartbeat before any client connects.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    Ok(nodes)
}

fn versions(programs: &Programs, peers: &[Kind]) -> BTreeMap<String, String> {
    let capture = |program: &std::path::Path, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let mut out = BTreeMap::new();
    let commit = capture("git".as_ref(), &["rev-parse", "--short", "HEAD"]);
    let dirty = capture("git".as_ref(), &["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
    if let Some(c) = commit {
        out.insert(
            "eddy".into(),
            format!("{c}{}", if dirty { " (with local changes)" } else { "" }),
        );
    }
    if peers.contains(&Kind::Socketioxide) {
        let lock = programs
            .socketioxide
            .ancestors()
            .find(|p| p.join("Cargo.lock").exists())
            .map(|p| p.join("Cargo.lock"));
        if let Some(v) = lock
            .and_then(|l| std::fs::read_to_string(l).ok())
            .and_then(|t| locked_version(&t, "socketioxide"))
        {
            out.insert("socketioxide".into(), v);
        }
    }
    if !peers.contains(&Kind::Node) {
        return out;
    }
    if let Some(v) = capture(&programs.node, &["--version"]) {
        out.insert("node".into(), v);
    }
    let manifest = programs
        .peer_dir
        .join("node_modules/socket.io/package.json");
    if let Some(v) = std::fs::read_to_string(manifest)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|j| j["version"].as_str().map(str::to_owned))
    {
        out.insert("socket.io".into(), v);
    }
    out
}

/// The version of `package` in a Cargo.lock.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    lines.find(|l| l.trim() == wanted)?;
    let version = lines.next()?.trim().strip_prefix("version = ")?;
    Some(version.trim_matches('"').to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_locked_version_is_read_from_cargo_lock() {
        let lock = "[[package]]\nname = \"socketioxide-core\"\nversion = \"0.1.0\"\n\n\
                    [[package]]\nname = \"socketioxide\"\nversion = \"0.17.2\"\n";
        assert_eq!(
            super::locked_version(lock, "socketioxide").as_deref(),
            Some("0.17.2")
        );
        assert_eq!(super::locked_version(lock, "tokio"), None);
    }
}
