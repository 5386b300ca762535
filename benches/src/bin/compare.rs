//! `compare`: runs every loadgen scenario against Eddy and then against each
//! peer (Node Socket.IO, socketioxide), and writes
//! `benches/results/<date>.{json,md,svg}` (and the table in
//! `docs/benchmarks.md`). `benches/compare` builds the release binaries and
//! the peers first; see `docs/benchmarks.md`.
//!
//! ```text
//! compare                      # the full comparison (about 15 minutes)
//! compare --only echo,fanout   # some scenarios
//! compare --smoke --out DIR    # a few clients for a second each: checks the harness
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Parser;
use eddy_bench::compare::servers::{Kind, Programs};
use eddy_bench::compare::{self, Setup, plan, render};

#[derive(Parser, Debug)]
#[command(about = "Eddy vs Node Socket.IO and socketioxide through the same loadgen scenarios")]
struct Args {
    /// Tiny runs that only check the harness end to end (CI).
    #[arg(long)]
    smoke: bool,
    /// Where results go.
    #[arg(long, default_value = "benches/results")]
    out: PathBuf,
    /// Scenarios to run, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// The eddy binary (default: next to this one).
    #[arg(long)]
    eddy: Option<PathBuf>,
    /// The loadgen binary (default: next to this one).
    #[arg(long)]
    loadgen: Option<PathBuf>,
    /// Node.js.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// The Node peer's folder (with node_modules).
    #[arg(long, default_value = "benches/peers/node")]
    peer: PathBuf,
    /// The socketioxide peer's binary.
    #[arg(
        long,
        default_value = "benches/peers/socketioxide/target/release/socketioxide-peer"
    )]
    socketioxide: PathBuf,
    /// The peers to compare with, comma-separated, in column order.
    #[arg(long, value_delimiter = ',', default_value = "node,socketioxide")]
    peers: Vec<String>,
    /// NATS for Eddy's NATS cluster row (skipped when unreachable).
    #[arg(long, env = "EDDY_TEST_NATS", default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// Redis for the cluster scenarios (skipped when unreachable).
    #[arg(
        long,
        env = "EDDY_TEST_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis: String,
    /// The registry Eddy's cluster nodes share (default: one SQLite registry each).
    #[arg(long)]
    database: Option<String>,
    /// Update the results section of this Markdown file (full runs only).
    #[arg(long, default_value = "docs/benchmarks.md")]
    docs: PathBuf,
    /// Do not touch the docs.
    #[arg(long)]
    no_docs: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let here = std::env::current_exe()?
        .parent()
        .context("the binary's folder")?
        .to_owned();
    let programs = Programs {
        eddy: args.eddy.clone().unwrap_or_else(|| here.join("eddy")),
        node: args.node.clone(),
        peer_dir: args.peer.clone(),
        socketioxide: args.socketioxide.clone(),
    };
    let peers = args
        .peers
        .iter()
        .map(|p| match Kind::from_key(p) {
            Some(Kind::Eddy) | None => bail!("unknown peer {p:?} (node, socketioxide)"),
            Some(k) => Ok(k),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut needed = vec![("eddy", programs.eddy.clone())];
    if peers.contains(&Kind::Node) {
        needed.push((
            "the Node peer",
            programs.peer_dir.join("node_modules/socket.io"),
        ));
    }
    if peers.contains(&Kind::Socketioxide) {
        needed.push(("the socketioxide peer", programs.socketioxide.clone()));
    }
    for (what, path) in &needed {
        if !path.exists() {
            bail!(
                "{what} is not at {} (benches/compare builds and installs everything)",
                path.display()
            );
        }
    }
    let reachable = |url: &str, what: &str| {
        let up = compare::servers::broker_reachable(url);
        if !up {
            eprintln!("note: nothing at {url}: the {what} scenarios are skipped");
        }
        up.then(|| url.to_owned())
    };
    let redis = reachable(&args.redis, "Redis cluster");
    let nats = reachable(&args.nats, "NATS cluster");
    for (found, var) in [(&redis, "EDDY_TEST_REDIS"), (&nats, "EDDY_TEST_NATS")] {
        if args.smoke && found.is_none() && std::env::var_os(var).is_some() {
            bail!("{var} is set but unreachable: the smoke must run its cluster scenario");
        }
    }
    let setup = Setup {
        programs,
        loadgen: args.loadgen.clone().unwrap_or_else(|| here.join("loadgen")),
        peers,
        redis,
        nats,
        database: args.database.clone(),
        only: args.only.clone(),
        command: std::iter::once("benches/compare".to_owned())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
    };
    let size = if args.smoke {
        plan::Size::Smoke
    } else {
        plan::Size::Full
    };
    let date = compare::date::today();
    let report = compare::run(&setup, plan::scenarios(size), date.clone())?;
    if report.scenarios.iter().all(|s| s.skipped.is_some()) {
        bail!("no scenario ran");
    }

    std::fs::create_dir_all(&args.out)?;
    let stem = if args.smoke {
        format!("{date}-smoke")
    } else {
        unused_stem(&args.out, &date)
    };
    let chart = format!("{stem}.svg");
    write(
        &args.out.join(format!("{stem}.json")),
        &serde_json::to_string_pretty(&report)?,
    )?;
    write(&args.out.join(&chart), &render::svg(&report))?;
    let table = render::markdown(&report, &chart);
    write(&args.out.join(format!("{stem}.md")), &table)?;
    println!("{table}");

    if args.smoke {
        // The smoke checks the harness: every number must be real (a rate
        // above zero; a cost may round to zero in a one-second run).
        for s in report.scenarios.iter().filter(|s| s.skipped.is_none()) {
            if !s.problems.is_empty() {
                bail!("{}: {}", s.name, s.problems.join("; "));
            }
            for m in &s.metrics {
                let real = |v: f64| match m.better {
                    plan::Better::Higher => v.is_finite() && v > 0.0,
                    plan::Better::Lower => v.is_finite() && v >= 0.0,
                };
                if !real(m.eddy) {
                    bail!("{} {}: Eddy gave {}", s.name, m.name, m.eddy);
                }
                let ran = |p: &&compare::PeerValue| s.outcomes.contains_key(p.peer.key());
                if let Some(p) = m.peers.iter().filter(ran).find(|p| !real(p.value)) {
                    bail!("{} {}: {} gave {}", s.name, m.name, p.peer.label(), p.value);
                }
            }
        }
    } else if !args.no_docs {
        let doc = std::fs::read_to_string(&args.docs)
            .with_context(|| format!("read {}", args.docs.display()))?;
        // The docs show the chart from where the results are.
        let from_docs = render::relative(&args.docs, &args.out.join(&chart));
        let section = render::markdown(&report, &from_docs);
        let updated = render::splice(&doc, &section)
            .with_context(|| format!("{} has no results markers", args.docs.display()))?;
        write(&args.docs, &updated)?;
    }
    Ok(())
}

/// `<date>`, or `<date>-2`, `-3`, … when a run of that day is already
/// there: an earlier run is evidence, not something to overwrite.
fn unused_stem(dir: &Path, date: &str) -> String {
    (1..)
        .map(|n| match n {
            1 => date.to_owned(),
            n => format!("{date}-{n}"),
        })
        .find(|stem| !dir.join(format!("{stem}.json")).exists())
        .expect("some suffix is free")
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
