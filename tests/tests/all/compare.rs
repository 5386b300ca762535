//! The comparison harness end to end, tiny: `compare --smoke` starts Eddy and
//! the Node peer in turn, runs every loadgen scenario (the cluster one on
//! the Redis in `EDDY_TEST_REDIS`), and must write a report whose every
//! number is real. Full runs are manual (`benches/compare`).
//!
//! Eddy here is the harness's own server binary (`eddy-test-server`): one
//! server binary serves the tests and the benches.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A binary of the `eddy-bench` package. Cargo hands a test the paths of
/// its own package's binaries only, so these are found where Cargo puts
/// every binary of a build: the folder above this test's `deps/`. `cargo
/// test --workspace --tests --bench '*'` (`./scripts/test`) builds them,
/// since the package's bench target needs them; a binary older than the
/// bench sources is refused rather than tested stale.
fn bench_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test binary lives in target/<profile>/deps");
    let path = dir.join(name);
    let build = "run the tests as ./scripts/test does (`cargo test --workspace --tests \
                 --bench '*'`), or `cargo build -p eddy-bench --bins` first";
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is not built: {build}", path.display()));
    let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/src");
    let newest = newest_file(&sources);
    assert!(
        built >= newest,
        "{} is older than benches/src: {build}",
        path.display()
    );
    path
}

/// When the newest file under `dir` was modified.
fn newest_file(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let modified = if path.is_dir() {
            newest_file(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).unwrap()
        };
        newest = newest.max(modified);
    }
    newest
}

#[test]
fn compare_smoke_runs_every_scenario_against_both_servers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches");
    let peer = root.join("peers/node");
    assert!(
        peer.join("node_modules/socket.io").exists(),
        "the Node peer is not installed: npm ci in benches/peers/node (./scripts/test does it)"
    );
    let out = std::env::temp_dir().join(format!("eddy-compare-smoke-{}", std::process::id()));
    let status = Command::new(bench_binary("compare"))
        .arg("--smoke")
        .arg("--no-docs")
        .arg("--out")
        .arg(&out)
        .arg("--eddy")
        .arg(env!("CARGO_BIN_EXE_eddy-test-server"))
        .arg("--loadgen")
        .arg(bench_binary("loadgen"))
        .arg("--peer")
        .arg(&peer)
        // The socketioxide peer is its own crate graph: CI does not build
        // it (benches/compare does).
        .args(["--peers", "node"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run compare");
    assert!(status.success(), "compare --smoke failed: {status}");

    let json = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a JSON report");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ran: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["skipped"].is_null())
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let mut want = vec!["echo", "fanout", "sweep-500", "sweep-10k", "idle", "storm"];
    if std::env::var_os("EDDY_TEST_REDIS").is_some() {
        want.extend(["cluster", "cluster-sweep", "scale"]);
    } else {
        eprintln!("EDDY_TEST_REDIS is not set: the Redis cluster scenarios were skipped");
    }
    if std::env::var_os("EDDY_TEST_NATS").is_some() {
        want.push("cluster-sweep-nats");
    } else {
        eprintln!("EDDY_TEST_NATS is not set: the NATS cluster scenario was skipped");
    }
    for name in want {
        assert!(ran.contains(&name), "{name} did not run: {ran:?}");
    }
    // Every rate is measured with the server's CPU beside it.
    let echo = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "echo")
        .unwrap();
    for server in ["eddy", "node"] {
        let cpu = &echo["outcomes"][server]["outcome"]["server_cpu_us_per_ack"];
        assert!(cpu.as_f64().is_some_and(|c| c > 0.0), "{server}: {cpu}");
    }
    for ext in ["md", "svg"] {
        assert!(
            json.with_extension(ext).exists(),
            "no .{ext} next to the JSON"
        );
    }
    std::fs::remove_dir_all(out).ok();
}
