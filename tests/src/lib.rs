//! The test harness: starts the real `eddy` binary on a free port and hands
//! back raw Engine.IO clients (HTTP long-polling and websocket) that let a
//! test check exact frames. Every wait has a timeout; nothing sleeps to
//! synchronise.

pub mod admin;
pub mod http;
pub mod plugins;
pub mod proxy;
pub mod server;
pub mod ws;

pub use admin::Admin;
pub use http::{EventStream, Http, Reply};
pub use plugins::Plugin;
pub use server::TestServer;
pub use ws::RawWs;

use std::time::Duration;

/// Every test server accepts this admin token (`EDDY_ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "eddy-test-admin-token-0123456789";

/// The longest any single expected thing may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// Test servers heartbeat fast so timeouts are observable (as in Socket.IO's own protocol tests).
pub const PING_INTERVAL_MS: u64 = 300;
pub const PING_TIMEOUT_MS: u64 = 200;

/// A registry URL for a fresh, empty schema on the PostgreSQL server at
/// `base`: each test gets its own (the store's conformance suite uses the
/// same helper).
pub use eddy_store::testing::postgres_schema;

/// The registries to run a test against: SQLite (`None`, the default)
/// always, and PostgreSQL when `EDDY_TEST_POSTGRES` is set (CI sets it).
pub async fn registries() -> Vec<(&'static str, Option<String>)> {
    let mut all = vec![("sqlite", None)];
    if let Some(base) = eddy_store::testing::postgres_server() {
        all.push(("postgres", Some(postgres_schema(&base).await)));
    }
    all
}

/// `hostile-start-flaky` spins at start-up in the second half of every
/// period of wall-clock time (its `PERIOD_MS`): "unlucky".
pub const FLAKY_PERIOD: Duration = Duration::from_millis(8_000);

/// Waits until the wall clock is in the lucky (first) or unlucky (second)
/// half of [`FLAKY_PERIOD`] with at least `room` of it left; at most one
/// period. Sleeping is the point here: the guest reads the same clock.
pub async fn flaky_phase(unlucky: bool, room: Duration) {
    let period = FLAKY_PERIOD.as_millis();
    let half = period / 2;
    assert!(room.as_millis() < half, "room must fit in half a period");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_millis();
    let phase = now % period;
    let (start, end) = if unlucky { (half, period) } else { (0, half) };
    let wait = if phase >= start && phase + room.as_millis() <= end {
        0
    } else {
        (start + period - phase) % period
    };
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
}

/// The sid of an Engine.IO open packet (`0{"sid":…}`).
pub fn open_sid(open: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("an open packet"))
            .expect("open packet JSON");
    json["sid"].as_str().expect("sid").to_owned()
}
