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

/// Clients per loopback source address: below the ~28,000 ephemeral ports
/// one address has towards one server.
pub const CLIENTS_PER_SOURCE_ADDRESS: usize = 20_000;

/// Client `index`'s source address, from `source_offset` on.
pub fn source_for(source_offset: usize, index: usize) -> std::net::IpAddr {
    source_address(source_offset + index / CLIENTS_PER_SOURCE_ADDRESS)
}

/// Part `index` of `total` split over `parts` as evenly as can be (the
/// first `total % parts` get one more).
pub fn share(total: usize, parts: usize, index: usize) -> usize {
    total / parts + usize::from(index < total % parts)
}

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
            Client::connect(&target, Some(source_for(source_offset, i))).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_differ_by_at_most_one() {
        let shares: Vec<usize> = (0..6).map(|i| share(100_000, 6, i)).collect();
        assert_eq!(shares.iter().sum::<usize>(), 100_000);
        assert_eq!(shares, [16_667, 16_667, 16_667, 16_667, 16_666, 16_666]);
        assert_eq!(share(3, 2, 0) + share(3, 2, 1), 3);
    }

    #[test]
    fn a_source_address_serves_a_bounded_number_of_clients() {
        assert_eq!(
            source_for(0, 0),
            source_for(0, CLIENTS_PER_SOURCE_ADDRESS - 1)
        );
        assert_ne!(source_for(0, 0), source_for(0, CLIENTS_PER_SOURCE_ADDRESS));
        assert_eq!(source_for(1, 0), source_for(0, CLIENTS_PER_SOURCE_ADDRESS));
    }
}
