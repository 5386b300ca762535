//! `idle`: hold connections that only answer heartbeats. The parent process
//! measures the server's memory and CPU around the hold.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{connect_all, per_client};
use crate::client::{Client, Target};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Outcome {
    pub connections: usize,
    pub connect_failures: usize,
    /// Connections that were still open at the end of the hold.
    pub survived: usize,
    pub server_rss_before_bytes: u64,
    pub server_rss_connected_bytes: u64,
    pub rss_per_connection_bytes: f64,
    pub hold_seconds: f64,
    pub server_cpu_seconds_during_hold: f64,
    pub cpu_us_per_connection_second: f64,
}

/// Connects this process's share; the caller holds them with [`hold`].
pub async fn connect(
    target: &Target,
    clients: usize,
    source_offset: usize,
) -> (Vec<Client>, usize) {
    connect_all(target, clients, 256, source_offset).await
}

/// Keeps every client answering pings for `hold`; returns the clients
/// still open. The caller measures the server before closing them with
/// [`close`], so teardown is not billed to the idle hold.
pub async fn hold(clients: Vec<Client>, hold: Duration) -> Vec<Client> {
    let until = tokio::time::Instant::now() + hold;
    per_client(clients, move |_, mut c| async move {
        c.idle(until).await.is_ok().then_some(c)
    })
    .await
    .into_iter()
    .flatten()
    .collect()
}

pub async fn close(clients: Vec<Client>) {
    per_client(clients, |_, c| c.close()).await;
}
