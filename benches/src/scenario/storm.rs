//! `storm`: connect clients as fast as the server accepts them.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::connect_all;
use crate::client::Target;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    pub attempted: usize,
    pub connected: usize,
    pub failures: usize,
    pub seconds: f64,
    pub connects_per_second: f64,
}

pub async fn run(
    target: &Target,
    clients: usize,
    concurrency: usize,
    source_offset: usize,
) -> Outcome {
    let started = Instant::now();
    let (connected, failures) = connect_all(target, clients, concurrency, source_offset).await;
    let seconds = started.elapsed().as_secs_f64();
    let n = connected.len();
    super::per_client(connected, |_, c| c.close()).await;
    Outcome {
        attempted: clients,
        connected: n,
        failures,
        seconds,
        connects_per_second: n as f64 / seconds,
    }
}

pub fn merge(parts: Vec<Outcome>) -> Outcome {
    let mut out = Outcome::default();
    for p in parts {
        out.attempted += p.attempted;
        out.connected += p.connected;
        out.failures += p.failures;
        out.seconds = out.seconds.max(p.seconds);
    }
    out.connects_per_second = out.connected as f64 / out.seconds.max(f64::MIN_POSITIVE);
    out
}
