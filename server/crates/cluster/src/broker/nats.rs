//! NATS core subjects (no JetStream): at-most-once, like Redis pub/sub. The
//! client reconnects and resubscribes by itself; while it is away, messages
//! for other nodes are dropped rather than queued, so nothing stale arrives
//! later.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use futures_util::StreamExt;
use tokio::task::JoinHandle;

use super::{Inbound, Interest, Link, RETRY, TIMEOUT, deliver, drain};

const BATCH: usize = 512;

pub fn start(url: String, link: Link) {
    tokio::spawn(run(url, link));
}

async fn run(url: String, link: Link) {
    let Link {
        mut outgoing,
        mut interest,
        incoming,
        status,
    } = link;
    let events_status = status.clone();
    let events_incoming = incoming.clone();
    let options = async_nats::ConnectOptions::new()
        .no_echo()
        .retry_on_initial_connect()
        .connection_timeout(TIMEOUT)
        .reconnect_delay_callback(|attempts| RETRY * (attempts.min(4) as u32))
        .event_callback(move |event| {
            let status = events_status.clone();
            let incoming = events_incoming.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        let again = status.last_error().is_some();
                        status.set_up();
                        if again {
                            status.reconnects.fetch_add(1, Ordering::Relaxed);
                            let _ = incoming.try_send(Inbound::Reconnected);
                        }
                    }
                    async_nats::Event::Disconnected | async_nats::Event::Closed => {
                        status.set_publishing(false);
                        status.set_subscribed(false);
                        status.failed("nats", &event);
                    }
                    other => tracing::debug!(event = %other, "nats"),
                }
            }
        });
    let client = match options.connect(url.as_str()).await {
        Ok(client) => client,
        Err(e) => {
            // Only a malformed address gets here (retry_on_initial_connect).
            status.failed("nats connect", &e);
            return;
        }
    };
    let mut subscriptions: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            n = outgoing.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    return;
                }
                if !status.is_up() {
                    status.dropped.fetch_add(n as u64, Ordering::Relaxed);
                    batch.clear();
                    drain(&mut outgoing, &status);
                    continue;
                }
                for (topic, payload) in batch.drain(..) {
                    match client.publish(topic, payload).await {
                        Ok(()) => status.published.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            status.failed("nats publish", &e);
                            status.dropped.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            }
            change = interest.recv() => match change {
                None => return,
                Some(Interest::Subscribe(topic)) => {
                    if subscriptions.contains_key(&topic) {
                        continue;
                    }
                    match client.subscribe(topic.clone()).await {
                        Ok(mut subscriber) => {
                            let incoming = incoming.clone();
                            let status = status.clone();
                            let task = tokio::spawn(async move {
                                while let Some(message) = subscriber.next().await {
                                    deliver(&incoming, &status, message.payload);
                                }
                            });
                            subscriptions.insert(topic, task);
                        }
                        Err(e) => status.failed("nats subscribe", &e),
                    }
                }
                Some(Interest::Unsubscribe(topic)) => {
                    // Dropping the subscriber unsubscribes.
                    if let Some(task) = subscriptions.remove(&topic) {
                        task.abort();
                    }
                }
            },
        }
    }
}
