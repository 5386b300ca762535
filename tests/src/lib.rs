//! The test harness: starts the real `eddy` binary on a free port and hands
//! back raw Engine.IO clients (HTTP long-polling and websocket) that let a
//! test check exact frames. Every wait has a timeout; nothing sleeps to
//! synchronise.

pub mod admin;
pub mod http;
pub mod server;
pub mod ws;

pub use admin::Admin;
pub use http::{Http, Reply};
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

/// The built plugin `name` (`echo`, `chat`, `hostile_spin`, …), compiled by
/// this crate's build script.
pub fn plugin(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("EDDY_PLUGINS_DIR"))
        .join(format!("{}.wasm", name.replace('-', "_")));
    assert!(
        path.is_file(),
        "plugin {name} was not built: {}",
        path.display()
    );
    path
}

/// The sid of an Engine.IO open packet (`0{"sid":…}`).
pub fn open_sid(open: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(open.strip_prefix('0').expect("an open packet"))
            .expect("open packet JSON");
    json["sid"].as_str().expect("sid").to_owned()
}
