//! `loadgen`: drives an Engine.IO/Socket.IO server (eddy or the Node peer)
//! through one scenario and prints the result as JSON on stdout.
//!
//! ```text
//! loadgen echo   --addr 127.0.0.1:8080 --path /apps/demo/socket.io/ --clients 50 --duration 10
//! loadgen fanout --clients 1000 --rate 200 --duration 10
//! loadgen cluster --addr 127.0.0.1:8080 --node 127.0.0.1:8081 --clients 1000 --rate 200
//! loadgen fanout --clients 10000 --rate 100 --procs 2 --server-pid 1234
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
use eddy_bench::procfs::Servers;
use eddy_bench::scenario::{self, echo, fanout, idle, storm};
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
    /// Server process ids (every node of a cluster; repeatable), to read
    /// their memory and CPU from /proc: required by idle, and adds the
    /// server's CPU per operation to echo and fanout.
    #[arg(long = "server-pid")]
    server_pids: Vec<u32>,
    /// Processes to spread the clients over (in fanout and cluster, the
    /// subscribers; the publisher stays in the first process).
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
    if args.procs == 0 || args.procs > 64 {
        bail!("--procs must be between 1 and 64");
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
        None if args.procs > 1 => parent(&args, &runtime)?,
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

fn fanout_params(a: &Args, target: &Target) -> anyhow::Result<fanout::Params> {
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
    Ok(fanout::Params {
        clients: a.clients,
        nodes,
        duration: Duration::from_secs_f64(a.duration),
        rate: a.rate,
        payload_bytes: a.payload,
    })
}

async fn single(a: &Args, target: &Target) -> anyhow::Result<serde_json::Value> {
    let servers = Servers::new(a.server_pids.clone());
    let outcome = match a.scenario {
        Scenario::Echo => {
            serde_json::to_value(echo::run(target, &echo_params(a, a.clients), 0, &servers).await)?
        }
        Scenario::Fanout | Scenario::Cluster => {
            serde_json::to_value(fanout::run(&fanout_params(a, target)?, &servers).await?)?
        }
        Scenario::Storm => {
            serde_json::to_value(storm::run(target, a.clients, a.concurrency, 0).await)?
        }
        Scenario::Idle => {
            let rss_before = servers.rss_bytes().context("idle needs --server-pid")?;
            let (clients, failures) = idle::connect(target, a.clients, 0).await;
            let connected = clients.len();
            // Let the server settle (allocator, first heartbeat) before measuring.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let rss = servers.rss_bytes().context("read the server's memory")?;
            let cpu = servers.cpu_seconds().context("read the server's CPU")?;
            let held = idle::hold(clients, Duration::from_secs_f64(a.hold)).await;
            let cpu_used = servers.cpu_seconds().context("read the server's CPU")? - cpu;
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
    let share = scenario::share(a.clients, a.procs, index);
    let offset = index * 50;
    Ok(match a.scenario {
        Scenario::Echo => serde_json::to_value(
            echo::run(target, &echo_params(a, share), offset, &Servers::default()).await,
        )?,
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
        Scenario::Fanout | Scenario::Cluster => {
            let p = fanout_params(a, target)?;
            let (tell, finish) = tokio::sync::watch::channel(None);
            let give_up = tokio::time::Instant::now() + p.duration + fanout::GIVE_UP_AFTER;
            let (receiving, failures) = tokio::time::timeout(
                fanout::GIVE_UP_AFTER,
                fanout::subscribe(&p.nodes, share, offset, finish, give_up),
            )
            .await
            .context("subscribers still connecting after the give-up time")??;
            println!("{}", json!({ "failures": failures }));
            std::io::stdout().flush()?;
            read_stdin_line().await?; // go
            let receiving = tokio::spawn(fanout::receive(receiving));
            let published: u64 = read_stdin_line()
                .await?
                .trim()
                .strip_prefix("published ")
                .context("expected `published N` from the parent")?
                .parse()?;
            let _ = tell.send(Some(fanout::Finish {
                published,
                drain_until: tokio::time::Instant::now() + fanout::DRAIN,
            }));
            let (mut part, open) = receiving.await?;
            part.connect_failures = failures;
            println!("{}", serde_json::to_string(&part)?);
            std::io::stdout().flush()?;
            // Close only once the parent has read the servers' CPU time.
            read_stdin_line().await?;
            fanout::close(open).await;
            json!({ "closed": true })
        }
    })
}

/// The parent's next instruction; an error when the parent is gone (end of
/// input), so an orphaned child stops instead of taking that as "go".
async fn read_stdin_line() -> anyhow::Result<String> {
    let (read, line) = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|n| (n, line))
    })
    .await??;
    anyhow::ensure!(read > 0, "the parent loadgen went away");
    Ok(line)
}

fn parent(a: &Args, runtime: &tokio::runtime::Runtime) -> anyhow::Result<serde_json::Value> {
    let servers = Servers::new(a.server_pids.clone());
    // Before any child connects.
    let rss_before = servers.rss_bytes();
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
    let mut orphans = KillOnDrop(children.iter().map(std::process::Child::id).collect());
    let value = if matches!(a.scenario, Scenario::Fanout | Scenario::Cluster) {
        parent_fanout(a, runtime, children, &servers, rss_before)
    } else {
        parent_others(a, children, &servers, rss_before)
    }?;
    orphans.0.clear();
    Ok(value)
}

/// Children of a run that failed half-way would go on connecting and
/// holding sockets (and the caller's stderr): they are killed.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn parent_others(
    a: &Args,
    mut children: Vec<std::process::Child>,
    servers: &Servers,
    rss_before: Option<u64>,
) -> anyhow::Result<serde_json::Value> {
    let mut outputs = Vec::new();
    if a.scenario == Scenario::Idle {
        let rss_before = rss_before.context("idle needs --server-pid")?;
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
        let rss = servers.rss_bytes().context("read the server's memory")?;
        let cpu = servers.cpu_seconds().context("read the server's CPU")?;
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
        let cpu_used = servers.cpu_seconds().context("read the server's CPU")? - cpu;
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

/// `fanout`/`cluster` over child processes: the children hold the
/// subscribers, this process publishes and reads the servers around it.
fn parent_fanout(
    a: &Args,
    runtime: &tokio::runtime::Runtime,
    mut children: Vec<std::process::Child>,
    servers: &Servers,
    rss_before: Option<u64>,
) -> anyhow::Result<serde_json::Value> {
    let target = Target {
        addr: a.addr,
        path: a.path.clone(),
    };
    let p = fanout_params(a, &target)?;
    let mut readers = Vec::new();
    for child in &mut children {
        let mut reader = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let _: serde_json::Value = serde_json::from_str(&line)
            .with_context(|| format!("a loadgen child's ready line: {line:?}"))?;
        readers.push(reader);
    }
    let rss_added = rss_before
        .zip(servers.rss_bytes())
        .map(|(before, after)| after.saturating_sub(before));
    let tell = |children: &mut Vec<std::process::Child>, line: &str| -> anyhow::Result<()> {
        for child in children {
            writeln!(child.stdin.as_mut().expect("piped"), "{line}")?;
        }
        Ok(())
    };
    let mut publisher = runtime.block_on(async {
        // Let cluster nodes finish subscribing to the room's topic.
        tokio::time::sleep(Duration::from_millis(500)).await;
        eddy_bench::client::Client::connect(&p.nodes[0], None).await
    })?;
    let server_cpu = servers.cpu_seconds();
    let own_cpu = eddy_bench::procfs::own_cpu_seconds();
    let first_publish_us = fanout::now_us();
    tell(&mut children, "go")?;
    let (published, publishing) = runtime.block_on(fanout::publish(
        &mut publisher,
        p.duration,
        p.rate,
        p.payload_bytes,
    ))?;
    tell(&mut children, &format!("published {published}"))?;
    let mut parts = Vec::new();
    for reader in &mut readers {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        parts.push(
            serde_json::from_str::<fanout::Part>(&line)
                .with_context(|| format!("a loadgen child's result: {line:?}"))?,
        );
    }
    let window = fanout::Window {
        first_publish_us,
        publish_seconds: publishing.as_secs_f64(),
        server_cpu_seconds: server_cpu.zip(servers.cpu_seconds()).map(|(a, b)| b - a),
        server_rss_added_bytes: rss_added,
        publisher_cpu_seconds: eddy_bench::procfs::own_cpu_seconds() - own_cpu,
    };
    tell(&mut children, "close")?;
    runtime.block_on(publisher.close());
    for child in &mut children {
        child.wait()?;
    }
    let outcome = fanout::outcome(&p, &parts, published, window);
    Ok(json!({
        "scenario": format!("{:?}", a.scenario).to_lowercase(),
        "clients": a.clients,
        "procs": a.procs,
        "outcome": outcome,
    }))
}
