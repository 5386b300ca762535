//! Load scenarios. Each runs its share of clients in this process and
//! returns a mergeable result; `loadgen` spreads large runs over processes.

pub mod echo;
pub mod fanout;
pub mod idle;
pub mod storm;

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::client::{Client, Target, source_address};

/// Connects `n` clients (at most `concurrency` handshakes at once), spread
/// over loopback source addresses starting at `source_offset`.
pub async fn connect_all(
    target: &Target,
    n: usize,
    concurrency: usize,
    source_offset: usize,
) -> (Vec<Client>, usize) {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (target, gate) = (target.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            Client::connect(&target, Some(source_address(source_offset + i / 20_000))).await
        }));
    }
    let mut clients = Vec::with_capacity(n);
    let mut failures = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(c)) => clients.push(c),
            _ => failures += 1,
        }
    }
    (clients, failures)
}

/// Runs one future per client concurrently and collects their outputs.
pub async fn per_client<T, F, Fut>(clients: Vec<Client>, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize, Client) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(f(i, c)))
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("client task"));
    }
    out
}
