//! `fanout`: `clients` sockets join one room; one publisher emits
//! `to-room` at a fixed rate; reports delivered messages/s and the delivery
//! latency (publish time stamped in the message, read on arrival).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{connect_all, per_client};
use crate::client::{Client, Incoming, Target};
use crate::report::{self, Latency};

#[derive(Debug, Clone)]
pub struct Params {
    pub clients: usize,
    pub duration: Duration,
    /// Messages the publisher sends per second.
    pub rate: u64,
    pub payload_bytes: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
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

pub async fn run(target: &Target, p: &Params) -> anyhow::Result<Outcome> {
    let (mut subscribers, connect_failures) = connect_all(target, p.clients, 64, 0).await;
    for s in &mut subscribers {
        s.send(&format!("420[\"join\",\"{ROOM}\"]")).await?;
        loop {
            if let Incoming::Ack(0, _) = s.next().await? {
                break;
            }
        }
    }
    let n = subscribers.len();
    let end = tokio::time::Instant::now() + p.duration;
    let drain_until = end + Duration::from_secs(2);
    let receivers = tokio::spawn(per_client(subscribers, move |_, mut client| async move {
        let mut h = report::histogram();
        while let Ok(Ok(incoming)) = tokio::time::timeout_at(drain_until, client.next()).await {
            if let Incoming::Event(json) = incoming
                && let Some(rest) = json.strip_prefix("[\"room-message\",{\"t\":")
            {
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if let Ok(sent) = rest[..digits].parse::<u64>() {
                    let _ = h.record(now_us().saturating_sub(sent).max(1));
                }
            }
        }
        client.close().await;
        h
    }));

    let mut publisher = Client::connect(target, None).await?;
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
