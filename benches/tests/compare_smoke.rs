//! The comparison harness end to end, tiny: `compare --smoke` starts Eddy and
//! the Node peer in turn, runs every loadgen scenario (the cluster one on
//! the Redis in `EDDY_TEST_REDIS`), and must write a report whose every
//! number is real. Full runs are manual (`benches/compare`).

use std::path::Path;
use std::process::Command;

#[test]
fn compare_smoke_runs_every_scenario_against_both_servers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let peer = root.join("peers/node");
    assert!(
        peer.join("node_modules/socket.io").exists(),
        "the Node peer is not installed: npm ci in benches/peers/node (./scripts/test does it)"
    );
    let out = std::env::temp_dir().join(format!("eddy-compare-smoke-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_compare"))
        .arg("--smoke")
        .arg("--no-docs")
        .arg("--out")
        .arg(&out)
        .arg("--eddy")
        .arg(env!("CARGO_BIN_EXE_eddy-bench-server"))
        .arg("--loadgen")
        .arg(env!("CARGO_BIN_EXE_loadgen"))
        .arg("--peer")
        .arg(&peer)
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
    let mut want = vec!["echo", "fanout", "idle", "storm"];
    if std::env::var_os("EDDY_TEST_REDIS").is_some() {
        want.push("cluster");
    } else {
        eprintln!("EDDY_TEST_REDIS is not set: the cluster scenario was skipped");
    }
    for name in want {
        assert!(ran.contains(&name), "{name} did not run: {ran:?}");
    }
    for ext in ["md", "svg"] {
        assert!(
            json.with_extension(ext).exists(),
            "no .{ext} next to the JSON"
        );
    }
    std::fs::remove_dir_all(out).ok();
}
