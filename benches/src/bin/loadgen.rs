//! `loadgen`: drives an Engine.IO/Socket.IO server (eddy or the Node peer)
//! through one scenario and prints the result as JSON on stdout.
//!
//! ```text
//! loadgen echo   --addr 127.0.0.1:8080 --path /apps/demo/socket.io/ --clients 50 --duration 10
//! loadgen fanout --clients 1000 --rate 200 --duration 10
//! loadgen cluster --addr 127.0.0.1:8080 --node 127.0.0.1:8081 --clients 1000 --rate 200
//! loadgen idle   --clients 15000 --hold 20 --server-pid 1234 --procs 2
//! loadgen storm  --clients 10000 --concurrency 512 --procs 2
//! ```
//!
//! Every run is bounded in clients and time. One process holds at most
//! 20,000 open files on the benchmark machine, so `--procs` spreads clients
//! over child processes, each connecting from its own 127.0.0.x addresses.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use eddy_bench::client::Target;
use eddy_bench::procfs;
use eddy_bench::scenario::{echo, fanout, idle, storm};
use serde_json::json;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Scenario {
    Echo,
    Fanout,
    /// `fanout` with subscribers spread over `--addr` and every `--node`.
    Cluster,
    Idle,
    Storm,
}

#[derive(Parser, Debug, Clone)]
#[command(about = "Load generator for Socket.IO servers")]
struct Args {
    scenario: Scenario,
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Other nodes of the cluster under test (cluster; repeatable).
    #[arg(long = "node")]
    nodes: Vec<SocketAddr>,
    /// Engine.IO path on the server.
    #[arg(long, default_value = "/apps/demo/socket.io/")]
    path: String,
    /// Clients (connections) in total.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Measured seconds (echo, fanout).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds before measuring (echo).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Bytes of payload per message.
    #[arg(long, default_value_t = 32)]
    payload: usize,
    /// Publisher messages per second (fanout).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Seconds to hold idle connections (idle).
    #[arg(long, default_value_t = 10.0)]
    hold: f64,
    /// Concurrent handshakes (storm).
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Server process id, to read its memory and CPU from /proc (idle).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Processes to spread the clients over (echo, idle, storm).
    #[arg(long, default_value_t = 1)]
    procs: usize,
    /// Internal: this process is child number N of a multi-process run.
    #[arg(long, hide = true)]
    child: Option<usize>,
}

const MAX_CLIENTS: usize = 200_000;
const MAX_SECONDS: f64 = 600.0;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.clients == 0 || args.clients > MAX_CLIENTS {
        bail!("--clients must be between 1 and {MAX_CLIENTS}");
    }
    if [args.duration, args.hold, args.warmup]
        .iter()
        .any(|s| !(0.0..=MAX_SECONDS).contains(s))
    {
        bail!("durations must be between 0 and {MAX_SECONDS} seconds");
    }
    if args.procs > 1 && matches!(args.scenario, Scenario::Fanout | Scenario::Cluster) {
        bail!("fanout and cluster run in one process (--procs 1)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let target = Target {
        addr: args.addr,
        path: args.path.clone(),
    };
    let value = match args.child {
        Some(index) => runtime.block_on(child(&args, &target, index))?,
        None if args.procs > 1 => parent(&args)?,
        None => runtime.block_on(single(&args, &target))?,
    };
    println!("{value}");
    Ok(())
}

fn echo_params(a: &Args, clients: usize) -> echo::Params {
    echo::Params {
        clients,
        duration: Duration::from_secs_f64(a.duration),
        warmup: Duration::from_secs_f64(a.warmup),
        payload_bytes: a.payload,
    }
}

async fn single(a: &Args, target: &Target) -> anyhow::Result<serde_json::Value> {
    let outcome = match a.scenario {
        Scenario::Echo => {
            serde_json::to_value(echo::run(target, &echo_params(a, a.clients), 0).await)?
        }
        Scenario::Fanout | Scenario::Cluster => {
            let mut nodes = vec![target.clone()];
            if a.scenario == Scenario::Cluster {
                if a.nodes.is_empty() {
                    bail!("cluster needs at least one --node besides --addr");
                }
                nodes.extend(a.nodes.iter().map(|&addr| Target {
                    addr,
                    path: target.path.clone(),
                }));
            }
            let p = fanout::Params {
                clients: a.clients,
                nodes,
                duration: Duration::from_secs_f64(a.duration),
                rate: a.rate,
                payload_bytes: a.payload,
            };
            serde_json::to_value(fanout::run(&p).await?)?
        }
        Scenario::Storm => {
            serde_json::to_value(storm::run(target, a.clients, a.concurrency, 0).await)?
        }
        Scenario::Idle => {
            let pid = a.server_pid.context("idle needs --server-pid")?;
            let rss_before = procfs::rss_bytes(pid)?;
            let (clients, failures) = idle::connect(target, a.clients, 0).await;
            let connected = clients.len();
            // Let the server settle (allocator, first heartbeat) before measuring.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let rss = procfs::rss_bytes(pid)?;
            let cpu = procfs::cpu_seconds(pid)?;
            let held = idle::hold(clients, Duration::from_secs_f64(a.hold)).await;
            let cpu_used = procfs::cpu_seconds(pid)? - cpu;
            let survived = held.len();
            idle::close(held).await;
            serde_json::to_value(idle_outcome(
                connected, failures, survived, rss_before, rss, a.hold, cpu_used,
            ))?
        }
    };
    Ok(
        json!({ "scenario": format!("{:?}", a.scenario).to_lowercase(), "clients": a.clients, "outcome": outcome }),
    )
}

fn idle_outcome(
    connections: usize,
    connect_failures: usize,
    survived: usize,
    rss_before: u64,
    rss_connected: u64,
    hold: f64,
    cpu: f64,
) -> idle::Outcome {
    idle::Outcome {
        connections,
        connect_failures,
        survived,
        server_rss_before_bytes: rss_before,
        server_rss_connected_bytes: rss_connected,
        rss_per_connection_bytes: rss_connected.saturating_sub(rss_before) as f64
            / connections.max(1) as f64,
        hold_seconds: hold,
        server_cpu_seconds_during_hold: cpu,
        cpu_us_per_connection_second: cpu * 1e6
            / (connections.max(1) as f64 * hold.max(f64::MIN_POSITIVE)),
    }
}

/// One share of a multi-process run. For `idle`, prints a ready line once
/// connected and starts holding when the parent says so on stdin.
async fn child(a: &Args, target: &Target, index: usize) -> anyhow::Result<serde_json::Value> {
    let share = share(a.clients, a.procs, index);
    let offset = index * 50;
    Ok(match a.scenario {
        Scenario::Echo => {
            serde_json::to_value(echo::run(target, &echo_params(a, share), offset).await)?
        }
        Scenario::Storm => {
            serde_json::to_value(storm::run(target, share, a.concurrency, offset).await)?
        }
        Scenario::Idle => {
            let (clients, failures) = idle::connect(target, share, offset).await;
            println!(
                "{}",
                json!({ "ready": clients.len(), "failures": failures })
            );
            std::io::stdout().flush()?;
            let mut line = String::new();
            tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await??;
            let held = idle::hold(clients, Duration::from_secs_f64(a.hold)).await;
            println!("{}", json!({ "survived": held.len() }));
            std::io::stdout().flush()?;
            // Close only once the parent has read the server's CPU time.
            let mut line = String::new();
            tokio::task::spawn_blocking(move || std::io::stdin().read_line(&mut line)).await??;
            idle::close(held).await;
            json!({ "closed": true })
        }
        Scenario::Fanout | Scenario::Cluster => bail!("fanout runs in one process"),
    })
}

fn share(total: usize, procs: usize, index: usize) -> usize {
    total / procs + usize::from(index < total % procs)
}

fn parent(a: &Args) -> anyhow::Result<serde_json::Value> {
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for index in 0..a.procs {
        let mut argv: Vec<String> = std::env::args().skip(1).collect();
        argv.extend(["--child".into(), index.to_string()]);
        let child = Command::new(&exe)
            .args(&argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("spawn a loadgen child")?;
        children.push(child);
    }
    let mut outputs = Vec::new();
    if a.scenario == Scenario::Idle {
        let pid = a.server_pid.context("idle needs --server-pid")?;
        let rss_before = procfs::rss_bytes(pid)?;
        let mut readers = Vec::new();
        let (mut connected, mut failures) = (0, 0);
        for child in &mut children {
            let mut reader = BufReader::new(child.stdout.take().expect("piped"));
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let ready: serde_json::Value =
                serde_json::from_str(&line).context("child ready line")?;
            connected += ready["ready"].as_u64().unwrap_or(0) as usize;
            failures += ready["failures"].as_u64().unwrap_or(0) as usize;
            readers.push(reader);
        }
        std::thread::sleep(Duration::from_secs(1));
        let rss = procfs::rss_bytes(pid)?;
        let cpu = procfs::cpu_seconds(pid)?;
        for child in &mut children {
            writeln!(child.stdin.as_mut().expect("piped"), "hold")?;
        }
        let mut survived = 0;
        for reader in &mut readers {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let v: serde_json::Value = serde_json::from_str(&line).context("child result")?;
            survived += v["survived"].as_u64().unwrap_or(0) as usize;
        }
        let cpu_used = procfs::cpu_seconds(pid)? - cpu;
        for child in &mut children {
            writeln!(child.stdin.as_mut().expect("piped"), "close")?;
        }
        for child in &mut children {
            child.wait()?;
        }
        let outcome = idle_outcome(
            connected, failures, survived, rss_before, rss, a.hold, cpu_used,
        );
        return Ok(
            json!({ "scenario": "idle", "clients": a.clients, "procs": a.procs, "outcome": outcome }),
        );
    }
    for child in children {
        let out = child.wait_with_output()?;
        anyhow::ensure!(out.status.success(), "a loadgen child failed");
        outputs.push(String::from_utf8(out.stdout)?);
    }
    let outcome = match a.scenario {
        Scenario::Echo => serde_json::to_value(echo::merge(
            outputs
                .iter()
                .map(|o| serde_json::from_str(o.trim()))
                .collect::<Result<_, _>>()?,
        ))?,
        Scenario::Storm => serde_json::to_value(storm::merge(
            outputs
                .iter()
                .map(|o| serde_json::from_str(o.trim()))
                .collect::<Result<_, _>>()?,
        ))?,
        _ => unreachable!("handled above"),
    };
    Ok(
        json!({ "scenario": format!("{:?}", a.scenario).to_lowercase(), "clients": a.clients, "procs": a.procs, "outcome": outcome }),
    )
}
