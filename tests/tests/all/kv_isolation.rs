//! One app's key-value flood must not stall the rest of the node: another
//! app's admin writes stay fast while it runs, and the flooding handlers
//! hear `busy` from their own bound instead of running past their deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eddy_tests::TestServer;
use eddy_tests::plugins::PRESENCE;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

/// Flooding clients: each keeps one `enter` in flight (two kv reads and
/// two kv writes per event, in the `presence` plugin).
const CLIENTS: usize = 24;

/// The bounds we hold another app's admin writes to during the flood. On a
/// 2-core machine they took p50 1–2 ms, p99 4–6 ms idle; during the flood
/// p50 7 ms, p99 22 ms with the per-app bound and the SQLite write queue,
/// and p50 66–69 ms, p99 93–164 ms without them (with 22–26 handler
/// timeouts in the flooding app). The median tells the two apart with room
/// to spare on a busy machine; the p99 bound catches a stall.
const ADMIN_WRITE_P50_BOUND: Duration = Duration::from_millis(25);
const ADMIN_WRITE_P99_BOUND: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Outcomes {
    ok: AtomicU64,
    busy: AtomicU64,
    timeout: AtomicU64,
    other: AtomicU64,
}

async fn admin_writes(server: &TestServer, n: usize) -> Vec<Duration> {
    let admin = server.admin();
    let mut took = Vec::with_capacity(n);
    for i in 0..n {
        let started = Instant::now();
        let reply = admin
            .call(
                "PATCH",
                "/apps/quiet",
                Some(json!({ "name": format!("Quiet {i}") })),
            )
            .await
            .unwrap();
        took.push(started.elapsed());
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    took.sort();
    took
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::test]
async fn a_kv_flood_does_not_stall_other_apps_admin_writes() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin
        .app_with(
            "noisy",
            PRESENCE,
            json!({ "max_events_per_second": 100000, "max_connections": 1000 }),
        )
        .await
        .unwrap();
    admin.create_app("quiet", json!({})).await.unwrap();
    let idle = admin_writes(&server, 30).await;

    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Outcomes::default());
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (ws, reply) = server.join_app("noisy").await.unwrap();
        assert!(reply.starts_with("40"), "{reply}");
        let mut ws = ws.live();
        let (stop, outcomes) = (stop.clone(), outcomes.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                ws.send(&format!("42{n}[\"enter\",\"room-{c}\",\"name-{n}\"]"));
                let ack_prefix = format!("43{n}[");
                let ack = loop {
                    let text = ws.text().await.unwrap();
                    if text.starts_with(&ack_prefix) {
                        break text;
                    }
                };
                let counter = if !ack.contains("\"error\"") {
                    &outcomes.ok
                } else if ack.contains("busy") {
                    &outcomes.busy
                } else if ack.contains("handler_timeout") {
                    &outcomes.timeout
                } else {
                    &outcomes.other
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Let the flood build up before measuring.
    let warm = Instant::now();
    while outcomes.ok.load(Ordering::Relaxed) < 200 {
        assert!(
            warm.elapsed() < Duration::from_secs(10),
            "the flood never got going"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let flooded_at = Instant::now();
    let during = admin_writes(&server, 30).await;
    let flood_secs = flooded_at.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "admin write idle p50 {:?} p99 {:?}; during a {CLIENTS}-client kv flood p50 {:?} p99 {:?} \
         (events: {} ok, {} busy, {} handler_timeout, {} other, {:.0}/s)",
        percentile(&idle, 0.5),
        percentile(&idle, 0.99),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        load(&outcomes.ok),
        load(&outcomes.busy),
        load(&outcomes.timeout),
        load(&outcomes.other),
        load(&outcomes.ok) as f64 / flood_secs,
    );
    assert!(
        percentile(&during, 0.5) < ADMIN_WRITE_P50_BOUND,
        "another app's admin writes took {:?} (median) during the flood",
        percentile(&during, 0.5)
    );
    assert!(
        percentile(&during, 0.99) < ADMIN_WRITE_P99_BOUND,
        "another app's admin writes took up to {:?} during the flood",
        percentile(&during, 0.99)
    );
    assert_eq!(load(&outcomes.other), 0, "only busy or ok");
}
