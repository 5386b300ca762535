//! The official Engine.IO v4 and Socket.IO v5 protocol test suites
//! (`../shared/conformance`, prepared by `./scripts/test` in
//! `target/conformance` with its own `npm ci`) against the real binary:
//! the Engine.IO suite on the diagnostics echo, the Socket.IO suite on the
//! `demo` app. Every case must pass. `./scripts/test` runs them on their
//! own after the rest (`cargo test --test all -- conformance:: --ignored`):
//! the suites' 200 ms ping timeout should measure the server, not a machine
//! saturated by the other tests running beside them.

use std::path::PathBuf;
use std::time::Duration;

use eddy_tests::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

/// Where the suites were prepared (`EDDY_CONFORMANCE_DIR`, by default
/// `target/conformance` at the repository root).
fn suites_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EDDY_CONFORMANCE_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/conformance"),
        PathBuf::from,
    );
    if dir.join("eio-v4/node_modules/mocha").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the protocol suites are not prepared in {} (./scripts/test does it)",
        dir.display()
    );
    eprintln!(
        "skipped: the protocol suites are not prepared in {} (./scripts/test does it)",
        dir.display()
    );
    None
}

/// Runs one suite with mocha's JSON reporter and returns (passes, failures).
async fn run_suite(suite: &str, url: &str, path: &str) -> (u64, Vec<String>) {
    let Some(dir) = suites_dir() else {
        return (0, Vec::new());
    };
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg("node_modules/mocha/bin/mocha")
            .args(["--exit", "--reporter", "json", "test-suite.js"])
            .current_dir(dir.join(suite))
            .env("SUITE_URL", url)
            .env("SUITE_PATH", path)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the suite finishes within 3 minutes")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = stdout
        .find('{')
        .and_then(|start| serde_json::from_str(&stdout[start..]).ok())
        .unwrap_or_else(|| {
            panic!(
                "no JSON report from {suite}:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let failures = report["failures"]
        .as_array()
        .map(|cases| {
            cases
                .iter()
                .map(|c| format!("{}: {}", c["fullTitle"], c["err"]["message"]))
                .collect()
        })
        .unwrap_or_default();
    (report["stats"]["passes"].as_u64().unwrap_or(0), failures)
}

#[tokio::test]
#[ignore = "run alone, after the other tests, by ./scripts/test"]
async fn the_official_engine_io_v4_suite_passes() {
    if suites_dir().is_none() {
        return;
    }
    let server = TestServer::start(BIN, &["--engine-io-echo"]).await.unwrap();
    let (passes, failures) = run_suite("eio-v4", &server.url(), "/engine.io/").await;
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    assert_eq!(passes, 25, "the Engine.IO v4 suite has 25 cases");
}

#[tokio::test]
#[ignore = "run alone, after the other tests, by ./scripts/test"]
async fn the_official_socket_io_v5_suite_passes() {
    if suites_dir().is_none() {
        return;
    }
    let server = TestServer::start(BIN, &[]).await.unwrap();
    let (passes, failures) = run_suite("sio-v5", &server.url(), "/apps/demo/socket.io/").await;
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    assert_eq!(passes, 32, "the Socket.IO v5 suite has 32 cases");
}
