//! `compare`: runs every loadgen scenario against Eddy and then against the
//! Node Socket.IO peer, and writes `benches/results/<date>.{json,md,svg}`
//! (and the table in `docs/benchmarks.md`). `benches/compare` builds the
//! release binaries and the peer first; see `docs/benchmarks.md`.
//!
//! ```text
//! compare                      # the full comparison (about three minutes)
//! compare --only echo,fanout   # some scenarios
//! compare --smoke --out DIR    # a few clients for a second each: checks the harness
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Parser;
use eddy_bench::compare::{self, Setup, plan, render, servers::Programs};

#[derive(Parser, Debug)]
#[command(about = "Eddy vs Node Socket.IO through the same loadgen scenarios")]
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
    /// Redis for the cluster scenario (skipped when unreachable).
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
    };
    for (what, path) in [
        ("eddy", &programs.eddy),
        (
            "the Node peer",
            &programs.peer_dir.join("node_modules/socket.io"),
        ),
    ] {
        if !path.exists() {
            bail!(
                "{what} is not at {} (benches/compare builds and installs everything)",
                path.display()
            );
        }
    }
    let redis = Some(args.redis.clone()).filter(|url| {
        let up = compare::servers::redis_reachable(url);
        if !up {
            eprintln!("note: no Redis at {url}: the cluster scenario is skipped");
        }
        up
    });
    if args.smoke && redis.is_none() && std::env::var_os("EDDY_TEST_REDIS").is_some() {
        bail!("EDDY_TEST_REDIS is set but unreachable: the smoke must run the cluster scenario");
    }
    let setup = Setup {
        programs,
        loadgen: args.loadgen.clone().unwrap_or_else(|| here.join("loadgen")),
        redis,
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
        date
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
                if !(real(m.eddy) && real(m.peer)) {
                    bail!("{} {}: Eddy {} vs peer {}", s.name, m.name, m.eddy, m.peer);
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

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
