//! Redis pub/sub: one multiplexed connection publishes (pipelined, in
//! order), one pub/sub connection receives and follows the node's interest.
//! Pub/sub is at-most-once: a message published while a subscriber is away
//! is not replayed.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use redis::AsyncConnectionConfig;
use redis::aio::{MultiplexedConnection, PubSubSink};
use tokio::sync::mpsc;

use super::{BrokerStatus, Inbound, Interest, Link, RETRY, TIMEOUT, deliver, drain};

/// Messages sent in one pipeline.
const BATCH: usize = 512;
/// How often an idle subscription checks that the connection is alive.
const PING_EVERY: Duration = Duration::from_secs(3);

pub fn start(client: redis::Client, link: Link) {
    let Link {
        outgoing,
        interest,
        incoming,
        status,
    } = link;
    tokio::spawn(publish(client.clone(), outgoing, status.clone()));
    tokio::spawn(subscribe(client, interest, incoming, status));
}

async fn connect(client: &redis::Client) -> Result<MultiplexedConnection, String> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT));
    match client
        .get_multiplexed_async_connection_with_config(&config)
        .await
    {
        Ok(conn) => Ok(conn),
        Err(e) => Err(e.to_string()),
    }
}

async fn publish(
    client: redis::Client,
    mut outgoing: mpsc::Receiver<(String, bytes::Bytes)>,
    status: Arc<BrokerStatus>,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    let mut batch = Vec::with_capacity(BATCH);
    let mut failed_before = false;
    loop {
        if conn.is_none() {
            match connect(&client).await {
                Ok(c) => {
                    conn = Some(c);
                    status.set_publishing(true);
                    if failed_before {
                        status.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    status.set_publishing(false);
                    status.failed("redis publish connection", &e);
                    failed_before = true;
                    drain(&mut outgoing, &status);
                    tokio::time::sleep(RETRY).await;
                    if outgoing.is_closed() {
                        return;
                    }
                    continue;
                }
            }
        }
        if outgoing.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        let n = batch.len() as u64;
        let mut pipe = redis::pipe();
        for (topic, payload) in batch.drain(..) {
            pipe.cmd("PUBLISH")
                .arg(topic)
                .arg(payload.as_ref())
                .ignore();
        }
        let Some(c) = conn.as_mut() else { continue };
        match pipe.query_async::<()>(c).await {
            Ok(()) => {
                status.published.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                status.dropped.fetch_add(n, Ordering::Relaxed);
                status.set_publishing(false);
                status.failed("redis publish", &e);
                failed_before = true;
                conn = None;
            }
        }
    }
}

async fn subscribe(
    client: redis::Client,
    mut interest: mpsc::UnboundedReceiver<Interest>,
    incoming: mpsc::Sender<Inbound>,
    status: Arc<BrokerStatus>,
) {
    let mut wanted: HashSet<String> = HashSet::new();
    let mut failed_before = false;
    loop {
        let pubsub = match tokio::time::timeout(TIMEOUT, client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(e)) => {
                fail(&status, &mut failed_before, &e);
                if !wait_retry(&mut interest, &mut wanted).await {
                    return;
                }
                continue;
            }
            Err(_) => {
                fail(&status, &mut failed_before, &"connection timed out");
                if !wait_retry(&mut interest, &mut wanted).await {
                    return;
                }
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        while let Ok(change) = interest.try_recv() {
            apply(&mut wanted, change);
        }
        let all: Vec<&String> = wanted.iter().collect();
        let mut resubscribed = true;
        for chunk in all.chunks(256) {
            if let Err(e) = request(sink.subscribe(chunk)).await {
                fail(&status, &mut failed_before, &e);
                resubscribed = false;
                break;
            }
        }
        if !resubscribed {
            if !wait_retry(&mut interest, &mut wanted).await {
                return;
            }
            continue;
        }
        status.set_subscribed(true);
        if failed_before {
            status.reconnects.fetch_add(1, Ordering::Relaxed);
            let _ = incoming.try_send(Inbound::Reconnected);
        }
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let ended = loop {
            tokio::select! {
                change = interest.recv() => {
                    let Some(change) = change else { return };
                    if let Err(e) = follow(&mut sink, &mut wanted, change).await {
                        break e;
                    }
                }
                message = stream.next() => match message {
                    Some(message) => deliver(
                        &incoming,
                        &status,
                        bytes::Bytes::copy_from_slice(message.get_payload_bytes()),
                    ),
                    None => break "the connection closed".to_owned(),
                },
                _ = ping.tick() => {
                    if let Err(e) = request(sink.ping::<redis::Value>()).await {
                        break e;
                    }
                }
            }
        };
        fail(&status, &mut failed_before, &ended);
        if !wait_retry(&mut interest, &mut wanted).await {
            return;
        }
    }
}

fn fail(status: &BrokerStatus, failed_before: &mut bool, error: &dyn std::fmt::Display) {
    status.set_subscribed(false);
    status.failed("redis subscription", error);
    *failed_before = true;
}

/// A pub/sub request with the broker timeout.
async fn request<T>(
    future: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the broker did not answer in time".to_owned()),
    }
}

async fn follow(
    sink: &mut PubSubSink,
    wanted: &mut HashSet<String>,
    change: Interest,
) -> Result<(), String> {
    match change {
        Interest::Subscribe(topic) => {
            if wanted.insert(topic.clone()) {
                request(sink.subscribe(&topic)).await?;
            }
        }
        Interest::Unsubscribe(topic) => {
            if wanted.remove(&topic) {
                request(sink.unsubscribe(&topic)).await?;
            }
        }
    }
    Ok(())
}

fn apply(wanted: &mut HashSet<String>, change: Interest) {
    match change {
        Interest::Subscribe(topic) => {
            wanted.insert(topic);
        }
        Interest::Unsubscribe(topic) => {
            wanted.remove(&topic);
        }
    }
}

/// Waits before reconnecting, keeping up with interest changes meanwhile;
/// false when the node is gone.
async fn wait_retry(
    interest: &mut mpsc::UnboundedReceiver<Interest>,
    wanted: &mut HashSet<String>,
) -> bool {
    let deadline = tokio::time::sleep(RETRY);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => return true,
            change = interest.recv() => match change {
                Some(change) => apply(wanted, change),
                None => return false,
            },
        }
    }
}
