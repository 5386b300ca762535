//! `compare`: Eddy and the Node Socket.IO peer, one after the other on the
//! same machine, through the same loadgen scenarios; the result as JSON,
//! Markdown and an SVG chart of the ratios.

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
use plan::{Better, Scenario};
use servers::{Kind, Programs, Server};

/// What the comparison needs besides the plan.
#[derive(Debug, Clone)]
pub struct Setup {
    pub programs: Programs,
    pub loadgen: PathBuf,
    /// Redis for the cluster scenario; `None` skips it.
    pub redis: Option<String>,
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
    pub eddy: f64,
    pub peer: f64,
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
        if scenario.cluster && setup.redis.is_none() {
            results.push(skipped(
                &scenario,
                "no Redis (pass --redis or set EDDY_TEST_REDIS)",
            ));
            continue;
        }
        results.push(run_scenario(setup, &scenario)?);
    }
    Ok(Report {
        date,
        command: setup.command.clone(),
        machine: Machine::describe(),
        versions: versions(&setup.programs),
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
    for kind in [Kind::Eddy, Kind::Node] {
        let servers = start_servers(setup, scenario, kind)?;
        result
            .servers
            .extend(servers.iter().map(|s| s.command.clone()));
        let mut command = Command::new(&setup.loadgen);
        command
            .arg(scenario.name)
            .args(["--addr", &servers[0].addr.to_string()])
            .args(["--path", servers::PATH]);
        for other in &servers[1..] {
            command.args(["--node", &other.addr.to_string()]);
        }
        if scenario.needs_pid {
            command.args(["--server-pid", &servers[0].pid().to_string()]);
        }
        command.args(&scenario.args);
        let printed = servers::render_command(&command);
        eprintln!("    {}: {printed}", kind.label());
        let output = command.output().with_context(|| format!("run {printed}"))?;
        for server in servers {
            server.stop();
        }
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
        for p in plan::problems(scenario, &outcome) {
            eprintln!("    {}: {p}", kind.label());
            result.problems.push(format!("{}: {p}", kind.label()));
        }
        result.loadgen.push(printed);
        result
            .outcomes
            .insert(format!("{kind:?}").to_lowercase(), outcome);
    }
    for spec in &scenario.metrics {
        let value = |kind: &str| {
            result.outcomes[kind]
                .pointer(spec.pointer)
                .and_then(serde_json::Value::as_f64)
                .with_context(|| format!("{} has no {}", kind, spec.pointer))
        };
        let (eddy, peer) = (value("eddy")?, value("node")?);
        result.metrics.push(MetricResult {
            name: spec.name,
            unit: spec.unit,
            better: spec.better,
            eddy,
            peer,
            ratio: eddy / peer,
        });
    }
    Ok(result)
}

/// One server, or two joined through Redis for a cluster scenario.
fn start_servers(setup: &Setup, scenario: &Scenario, kind: Kind) -> anyhow::Result<Vec<Server>> {
    if !scenario.cluster {
        return Ok(vec![servers::start(kind, &setup.programs, None)?]);
    }
    let redis = setup
        .redis
        .as_deref()
        .context("the cluster scenario needs Redis")?;
    let prefix = format!("cmp{:08x}", rand::random::<u32>());
    let cluster = servers::Cluster {
        redis,
        prefix: &prefix,
        database: setup.database.as_deref(),
    };
    // The first node creates the registry; the second joins it.
    let first = servers::start(kind, &setup.programs, Some(&cluster))?;
    let second = servers::start(kind, &setup.programs, Some(&cluster))?;
    // Let them hear each other's heartbeat before any client connects.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    Ok(vec![first, second])
}

fn versions(programs: &Programs) -> BTreeMap<String, String> {
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
