//! `fanout`: `clients` sockets join one room; one publisher emits
//! `to-room` at a fixed rate; reports delivered messages/s and the delivery
//! latency (publish time stamped in the message, read on arrival).
//!
//! `cluster` is the same with the subscribers spread over several nodes of
//! one cluster and the publisher on the first: every delivery to a
//! subscriber on another node crosses the broker.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{connect_all, per_client};
use crate::client::{Client, Incoming, Target};
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
    pub delivered_per_second: f64,
    pub latency: Latency,
}

fn now_us() -> u64 {
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

pub async fn run(p: &Params) -> anyhow::Result<Outcome> {
    anyhow::ensure!(!p.nodes.is_empty(), "fanout needs a server");
    let mut subscribers = Vec::with_capacity(p.clients);
    let mut connect_failures = 0;
    for (i, node) in p.nodes.iter().enumerate() {
        let share = p.clients / p.nodes.len() + usize::from(i < p.clients % p.nodes.len());
        let (mut connected, failed) = connect_all(node, share, 64, i).await;
        subscribers.append(&mut connected);
        connect_failures += failed;
    }
    for s in &mut subscribers {
        s.send(&format!("420[\"join\",\"{ROOM}\"]")).await?;
        loop {
            if let Incoming::Ack(0, _) = s.next().await? {
                break;
            }
        }
    }
    let n = subscribers.len();
    // A cluster node subscribes to a room's broker topic when its first
    // member joins; let that finish so the run measures steady state.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let end = tokio::time::Instant::now() + p.duration;
    let drain_until = end + Duration::from_secs(2);
    let receivers = tokio::spawn(per_client(subscribers, move |_, mut client| async move {
        let mut h = report::histogram();
        while let Ok(Ok(incoming)) = tokio::time::timeout_at(drain_until, client.next()).await {
            if let Incoming::Event(json) = incoming
                && let Some(sent) = sent_at(&json)
            {
                let _ = h.record(now_us().saturating_sub(sent).max(1));
            }
        }
        client.close().await;
        h
    }));

    let mut publisher = Client::connect(&p.nodes[0], None).await?;
    let padding = "x".repeat(p.payload_bytes);
    let interval = Duration::from_secs_f64(1.0 / p.rate.max(1) as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut published = 0u64;
    while tokio::time::Instant::now() < end {
        ticker.tick().await;
        let frame = format!(
            "42[\"to-room\",\"{ROOM}\",{{\"t\":{},\"pad\":\"{padding}\"}}]",
            now_us()
        );
        publisher.send(&frame).await?;
        published += 1;
    }
    let histograms = receivers.await?;
    publisher.close().await;
    let mut total = report::histogram();
    for h in &histograms {
        total.add(h).expect("same bounds");
    }
    let seconds = p.duration.as_secs_f64();
    Ok(Outcome {
        nodes: p.nodes.len(),
        subscribers: n,
        connect_failures,
        published,
        delivered: total.len(),
        expected: published * n as u64,
        seconds,
        delivered_per_second: total.len() as f64 / seconds,
        latency: Latency::from_histogram(&total),
    })
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
