//! `fanout`: `clients` sockets join one room; one publisher emits
//! `to-room` at a fixed rate; reports delivered messages/s, the delivery
//! latency (publish time stamped in the message, read on arrival) and what
//! the servers and the load generator spent per delivery.
//!
//! `cluster` is the same with the subscribers spread over several nodes of
//! one cluster and the publisher on the first: every delivery to a
//! subscriber on another node crosses the broker.
//!
//! The pieces ([`subscribe`], [`receive`], [`publish`]) run in one process
//! ([`run`]) or with the subscribers spread over child processes (loadgen's
//! `--procs`): the publish time is wall-clock time, which every process on
//! one machine shares.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use super::per_client;
use crate::client::{Client, Incoming, Target};
use crate::procfs::{self, Servers};
use crate::report::{self, Latency};

#[derive(Debug, Clone)]
pub struct Params {
    /// Subscribers in total, spread round-robin over `nodes`.
    pub clients: usize,
    /// Where subscribers connect; the publisher connects to the first.
    pub nodes: Vec<Target>,
    pub duration: Duration,
    /// Messages the publisher sends per second.
    pub rate: u64,
    pub payload_bytes: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    /// Nodes the subscribers were spread over (1: a single server).
    pub nodes: usize,
    pub subscribers: usize,
    pub connect_failures: usize,
    pub published: u64,
    pub delivered: u64,
    pub expected: u64,
    pub seconds: f64,
    /// Deliveries per second asked for: rate × subscribers.
    pub offered_per_second: f64,
    /// How long publishing took (`seconds` when the publisher kept to its
    /// rate; longer when it could not send as fast as asked).
    pub publish_seconds: f64,
    pub delivered_per_second: f64,
    pub latency: Latency,
    /// From the first publish until the last delivery arrived.
    pub delivery_seconds: f64,
    /// Server CPU (every node) over the same window; absent without pids.
    pub server_cpu_seconds: Option<f64>,
    pub server_cpu_us_per_delivery: Option<f64>,
    /// Server memory the subscribers added, per subscriber.
    pub server_rss_per_subscriber_bytes: Option<f64>,
    /// The load generator's own CPU (every process) over the window: with
    /// the server's, it says which side ran out of cores.
    pub loadgen_cpu_seconds: f64,
}

/// What one process's subscribers received.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Part {
    pub subscribers: usize,
    pub connect_failures: usize,
    pub delivered: u64,
    /// Microseconds since the Unix epoch of the last delivery.
    pub last_delivery_us: u64,
    pub loadgen_cpu_seconds: f64,
    pub histogram: Vec<(u64, u64)>,
}

/// Told to receivers once publishing ends: how many messages each should
/// get, and how long to wait for stragglers.
#[derive(Debug, Clone, Copy)]
pub struct Finish {
    pub published: u64,
    pub drain_until: Instant,
}

/// How long receivers wait for the rest after publishing ends.
pub const DRAIN: Duration = Duration::from_secs(2);

/// Receivers stop on their own this long after the run should have ended
/// (connecting included), whatever the publisher does: bounded runs.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(300);

pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

const ROOM: &str = "bench-room";

/// The publish time stamped in a `room-message`, wherever the server put
/// the `t` key (a handler may re-serialize the object with sorted keys).
fn sent_at(event: &str) -> Option<u64> {
    let rest = event.strip_prefix("[\"room-message\",")?;
    let rest = &rest[rest.find("\"t\":")? + 4..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// Subscribers that have joined the room and are receiving (answering
/// heartbeats from the moment they connect, so a slow start of a big run
/// does not time them out).
pub struct Receiving {
    tasks: Vec<tokio::task::JoinHandle<Received>>,
}

struct Received {
    /// Latencies in µs: a histogram per subscriber would cost ~140 KB each
    /// (14 GB for 100,000), so they are merged into one at the end.
    latencies: Vec<u32>,
    got: u64,
    last_us: u64,
    joined: bool,
    client: Option<Client>,
}

/// Connects `clients` subscribers spread over `nodes` (at most 64 handshakes
/// at once per node), joins each to the room and starts it receiving until
/// it has what was published (told through `finish`), the drain deadline
/// passes, or `give_up` passes before publishing ends. Returns once every
/// subscriber has joined or failed, with how many failed.
pub async fn subscribe(
    nodes: &[Target],
    clients: usize,
    source_offset: usize,
    finish: watch::Receiver<Option<Finish>>,
    give_up: Instant,
) -> anyhow::Result<(Receiving, usize)> {
    anyhow::ensure!(!nodes.is_empty(), "fanout needs a server");
    let (joined_tx, mut joined_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let mut tasks = Vec::with_capacity(clients);
    for (n, node) in nodes.iter().enumerate() {
        let share = super::share(clients, nodes.len(), n);
        let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(64));
        for i in 0..share {
            let source = super::source_for(source_offset + n, i);
            let (node, gate, joined_tx) = (node.clone(), gate.clone(), joined_tx.clone());
            let finish = finish.clone();
            tasks.push(tokio::spawn(async move {
                let permit = gate.acquire_owned().await.expect("semaphore open");
                let client = join(&node, source).await;
                drop(permit);
                let _ = joined_tx.send(client.is_some());
                // The count below ends when every task has said.
                drop(joined_tx);
                match client {
                    Some(client) => receive_one(client, finish, give_up).await,
                    None => Received {
                        latencies: Vec::new(),
                        got: 0,
                        last_us: 0,
                        joined: false,
                        client: None,
                    },
                }
            }));
        }
    }
    drop(joined_tx);
    let mut failures = 0;
    while let Some(joined) = joined_rx.recv().await {
        failures += usize::from(!joined);
    }
    Ok((Receiving { tasks }, failures))
}

async fn join(node: &Target, source: std::net::IpAddr) -> Option<Client> {
    let mut c = Client::connect(node, Some(source)).await.ok()?;
    c.send(&format!("420[\"join\",\"{ROOM}\"]")).await.ok()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, c.next()).await {
            Ok(Ok(Incoming::Ack(0, _))) => return Some(c),
            Ok(Ok(_)) => {}
            _ => return None,
        }
    }
}

async fn receive_one(
    mut client: Client,
    mut finish: watch::Receiver<Option<Finish>>,
    give_up: Instant,
) -> Received {
    let mut latencies = Vec::new();
    let (mut got, mut last_us) = (0u64, 0u64);
    let mut open = true;
    loop {
        let done = *finish.borrow_and_update();
        if done.is_some_and(|f| got >= f.published) {
            break;
        }
        let deadline = done.map_or(give_up, |f| f.drain_until);
        tokio::select! {
            changed = finish.changed() => if changed.is_err() { break },
            next = tokio::time::timeout_at(deadline, client.next()) => match next {
                Ok(Ok(Incoming::Event(json))) => {
                    if let Some(sent) = sent_at(&json) {
                        last_us = now_us();
                        let us = last_us.saturating_sub(sent).clamp(1, u64::from(u32::MAX));
                        latencies.push(us as u32);
                        got += 1;
                    }
                }
                Ok(Ok(Incoming::Ack(..))) => {}
                Ok(Err(_)) => { open = false; break }
                Err(_) => break,
            },
        }
    }
    Received {
        latencies,
        got,
        last_us,
        joined: true,
        client: open.then_some(client),
    }
}

/// Waits for every subscriber to finish receiving (called as publishing
/// starts: this process's CPU is counted from here, not from connecting).
/// Returns the clients still open, to close once the caller has read the
/// servers' CPU time.
pub async fn receive(receiving: Receiving) -> (Part, Vec<Client>) {
    let started_cpu = procfs::own_cpu_seconds();
    let mut total = report::histogram();
    let mut part = Part::default();
    let mut open = Vec::with_capacity(receiving.tasks.len());
    for task in receiving.tasks {
        let r = task.await.expect("subscriber task");
        for &us in &r.latencies {
            let _ = total.record(u64::from(us));
        }
        part.subscribers += usize::from(r.joined);
        part.delivered += r.got;
        part.last_delivery_us = part.last_delivery_us.max(r.last_us);
        open.extend(r.client);
    }
    part.histogram = report::encode(&total);
    part.loadgen_cpu_seconds = procfs::own_cpu_seconds() - started_cpu;
    (part, open)
}

pub async fn close(clients: Vec<Client>) {
    per_client(clients, |_, c| c.close()).await;
}

/// Publishes `rate` messages per second for `duration` from `publisher`:
/// at each tick (at most every millisecond) it sends what is due, so rates
/// above 1000/s work at the timer's granularity; a publisher that falls
/// behind catches up in a burst. Returns how many it sent and how long
/// that took.
pub async fn publish(
    publisher: &mut Client,
    duration: Duration,
    rate: u64,
    payload_bytes: usize,
) -> anyhow::Result<(u64, Duration)> {
    let padding = "x".repeat(payload_bytes);
    let total = (rate as f64 * duration.as_secs_f64()).round() as u64;
    let start = Instant::now();
    let step = Duration::from_secs_f64((1.0 / rate.max(1) as f64).max(0.001));
    let mut ticker = tokio::time::interval(step);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut published = 0u64;
    let mut frame = String::with_capacity(payload_bytes + 64);
    while published < total {
        ticker.tick().await;
        let elapsed = start.elapsed().as_secs_f64();
        let due = ((elapsed * rate as f64) as u64 + 1).min(total);
        while published < due {
            frame.clear();
            use std::fmt::Write;
            let _ = write!(
                frame,
                "42[\"to-room\",\"{ROOM}\",{{\"t\":{},\"pad\":\"{padding}\"}}]",
                now_us()
            );
            publisher.feed(&frame).await?;
            published += 1;
        }
        publisher.flush().await?;
        publisher.answer_pings().await?;
    }
    Ok((published, start.elapsed()))
}

/// Puts the parts of every process together.
pub fn outcome(p: &Params, parts: &[Part], published: u64, window: Window) -> Outcome {
    let mut total = report::histogram();
    let (mut subscribers, mut connect_failures, mut delivered, mut last) = (0, 0, 0, 0);
    let mut loadgen_cpu = window.publisher_cpu_seconds;
    for part in parts {
        report::decode_into(&mut total, &part.histogram);
        subscribers += part.subscribers;
        connect_failures += part.connect_failures;
        delivered += part.delivered;
        last = last.max(part.last_delivery_us);
        loadgen_cpu += part.loadgen_cpu_seconds;
    }
    let seconds = p.duration.as_secs_f64();
    Outcome {
        nodes: p.nodes.len(),
        subscribers,
        connect_failures,
        published,
        delivered,
        expected: published * subscribers as u64,
        seconds,
        offered_per_second: p.rate as f64 * subscribers as f64,
        publish_seconds: window.publish_seconds,
        delivered_per_second: delivered as f64 / seconds,
        latency: Latency::from_histogram(&total),
        delivery_seconds: last.saturating_sub(window.first_publish_us) as f64 / 1e6,
        server_cpu_seconds: window.server_cpu_seconds,
        server_cpu_us_per_delivery: procfs::us_per_op(window.server_cpu_seconds, delivered),
        server_rss_per_subscriber_bytes: window
            .server_rss_added_bytes
            .map(|b| b as f64 / subscribers.max(1) as f64),
        loadgen_cpu_seconds: loadgen_cpu,
    }
}

/// What the orchestrating process measured around the publishing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub first_publish_us: u64,
    pub publish_seconds: f64,
    pub server_cpu_seconds: Option<f64>,
    pub server_rss_added_bytes: Option<u64>,
    pub publisher_cpu_seconds: f64,
}

/// The whole scenario in this process.
pub async fn run(p: &Params, servers: &Servers) -> anyhow::Result<Outcome> {
    let rss_before = servers.rss_bytes();
    let (tell, finish) = watch::channel(None);
    let give_up = Instant::now() + p.duration + GIVE_UP_AFTER;
    let (receiving, connect_failures) = subscribe(&p.nodes, p.clients, 0, finish, give_up).await?;
    let rss_added = rss_before
        .zip(servers.rss_bytes())
        .map(|(before, after)| after.saturating_sub(before));
    // A cluster node subscribes to a room's broker topic when its first
    // member joins; let that finish so the run measures steady state.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut publisher = Client::connect(&p.nodes[0], None).await?;
    let receivers = tokio::spawn(receive(receiving));
    let server_cpu = servers.cpu_seconds();
    let own_cpu = procfs::own_cpu_seconds();
    let first_publish_us = now_us();
    let (published, publishing) =
        publish(&mut publisher, p.duration, p.rate, p.payload_bytes).await?;
    let _ = tell.send(Some(Finish {
        published,
        drain_until: Instant::now() + DRAIN,
    }));
    let (mut part, open) = receivers.await?;
    let server_cpu = server_cpu.zip(servers.cpu_seconds()).map(|(a, b)| b - a);
    part.connect_failures = connect_failures;
    // In one process the receivers' CPU is the whole process's, publisher
    // included: count it once.
    part.loadgen_cpu_seconds = 0.0;
    let window = Window {
        first_publish_us,
        publish_seconds: publishing.as_secs_f64(),
        server_cpu_seconds: server_cpu,
        server_rss_added_bytes: rss_added,
        publisher_cpu_seconds: procfs::own_cpu_seconds() - own_cpu,
    };
    publisher.close().await;
    close(open).await;
    Ok(outcome(p, &[part], published, window))
}

#[cfg(test)]
mod tests {
    use super::sent_at;

    #[test]
    fn the_publish_time_is_found_in_any_key_order() {
        assert_eq!(
            sent_at(r#"["room-message",{"t":123,"pad":"xx"}]"#),
            Some(123)
        );
        assert_eq!(
            sent_at(r#"["room-message",{"pad":"xx","t":456}]"#),
            Some(456)
        );
        assert_eq!(sent_at(r#"["other",{"t":1}]"#), None);
    }
}
