//! `echo`: every client sends an event with an ack and waits for it, in a
//! closed loop; reports acks/s and round-trip latency.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{connect_all, per_client};
use crate::client::{Incoming, Target};
use crate::procfs::{self, Servers};
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
    /// Server CPU over the measured window (absent without pids, and in a
    /// multi-process run, whose windows do not line up).
    pub server_cpu_seconds: Option<f64>,
    pub server_cpu_us_per_ack: Option<f64>,
    /// The load generator's own CPU over the measured window.
    pub loadgen_cpu_seconds: f64,
    pub histogram: Vec<(u64, u64)>,
}

pub async fn run(target: &Target, p: &Params, source_offset: usize, servers: &Servers) -> Outcome {
    let (clients, connect_failures) = connect_all(target, p.clients, 64, source_offset).await;
    let payload = "x".repeat(p.payload_bytes);
    let start = tokio::time::Instant::now();
    let measure_from = start + p.warmup;
    let end = measure_from + p.duration;
    // Both sides' CPU over exactly the measured window.
    let meter = {
        let servers = servers.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from).await;
            let (server, own) = (servers.cpu_seconds(), procfs::own_cpu_seconds());
            tokio::time::sleep_until(end).await;
            (
                server.zip(servers.cpu_seconds()).map(|(a, b)| b - a),
                procfs::own_cpu_seconds() - own,
            )
        })
    };
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
    let (server_cpu_seconds, loadgen_cpu_seconds) = meter.await.unwrap_or((None, 0.0));
    Outcome {
        clients: results.len(),
        connect_failures,
        errors,
        acks: total.len(),
        seconds,
        acks_per_second: total.len() as f64 / seconds,
        latency: Latency::from_histogram(&total),
        server_cpu_seconds,
        server_cpu_us_per_ack: procfs::us_per_op(server_cpu_seconds, total.len()),
        loadgen_cpu_seconds,
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
        out.loadgen_cpu_seconds += p.loadgen_cpu_seconds;
    }
    out.acks = h.len();
    out.acks_per_second = out.acks as f64 / out.seconds.max(f64::MIN_POSITIVE);
    out.latency = Latency::from_histogram(&h);
    out
}
