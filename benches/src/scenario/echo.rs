//! `echo`: every client sends an event with an ack and waits for it, in a
//! closed loop; reports acks/s and round-trip latency.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{connect_all, per_client};
use crate::client::{Incoming, Target};
use crate::report::{self, Latency};

#[derive(Debug, Clone)]
pub struct Params {
    pub clients: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub payload_bytes: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    pub clients: usize,
    pub connect_failures: usize,
    pub errors: usize,
    pub acks: u64,
    pub seconds: f64,
    pub acks_per_second: f64,
    pub latency: Latency,
    pub histogram: Vec<(u64, u64)>,
}

pub async fn run(target: &Target, p: &Params, source_offset: usize) -> Outcome {
    let (clients, connect_failures) = connect_all(target, p.clients, 64, source_offset).await;
    let payload = "x".repeat(p.payload_bytes);
    let start = tokio::time::Instant::now();
    let measure_from = start + p.warmup;
    let end = measure_from + p.duration;
    let results = per_client(clients, move |_, mut client| {
        let payload = payload.clone();
        async move {
            let mut h = report::histogram();
            let mut id = 0u64;
            let mut frame = String::with_capacity(payload.len() + 48);
            loop {
                let now = tokio::time::Instant::now();
                if now >= end {
                    break;
                }
                frame.clear();
                use std::fmt::Write;
                let _ = write!(frame, "42{id}[\"message-with-ack\",\"{payload}\"]");
                let sent = Instant::now();
                if client.send(&frame).await.is_err() {
                    return (h, 1);
                }
                loop {
                    match tokio::time::timeout_at(end + Duration::from_secs(5), client.next()).await
                    {
                        Ok(Ok(Incoming::Ack(got, _))) if got == id => break,
                        Ok(Ok(_)) => continue,
                        _ => return (h, 1),
                    }
                }
                if now >= measure_from {
                    let _ = h.record(sent.elapsed().as_micros().max(1) as u64);
                }
                id += 1;
            }
            client.close().await;
            (h, 0)
        }
    })
    .await;
    let mut total = report::histogram();
    let mut errors = 0;
    for (h, e) in &results {
        total.add(h).expect("same bounds");
        errors += e;
    }
    let seconds = p.duration.as_secs_f64();
    Outcome {
        clients: results.len(),
        connect_failures,
        errors,
        acks: total.len(),
        seconds,
        acks_per_second: total.len() as f64 / seconds,
        latency: Latency::from_histogram(&total),
        histogram: report::encode(&total),
    }
}

/// Merges the outcomes of several processes.
pub fn merge(parts: Vec<Outcome>) -> Outcome {
    let mut h = report::histogram();
    let mut out = Outcome::default();
    for p in parts {
        report::decode_into(&mut h, &p.histogram);
        out.clients += p.clients;
        out.connect_failures += p.connect_failures;
        out.errors += p.errors;
        out.seconds = p.seconds;
    }
    out.acks = h.len();
    out.acks_per_second = out.acks as f64 / out.seconds.max(f64::MIN_POSITIVE);
    out.latency = Latency::from_histogram(&h);
    out
}
