//! Peers no one here wrote: the official JavaScript (`socket.io-client`) and
//! Python (`python-socketio`) clients run their suites (`tests/js`,
//! `tests/python`) against this build of the binary. `./scripts/test`
//! installs them; a missing install fails here, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `program args` in `dir` under a hard time limit, printing its output.
fn run_suite(dir: &Path, program: &str, args: &[&str]) {
    let output = Command::new("timeout")
        .arg("300")
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env("EDDY_BIN", BIN)
        .env("EDDY_PLUGINS_DIR", env!("EDDY_PLUGINS_DIR"))
        .env_remove("EDDY_CONFIG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "{program} suite failed ({})",
        output.status
    );
}

#[test]
fn official_javascript_client() {
    let dir = tests_dir().join("js");
    assert!(
        dir.join("node_modules/socket.io-client").is_dir(),
        "socket.io-client is not installed: run ./scripts/test, or `npm ci` in tests/js"
    );
    run_suite(
        &dir,
        "node",
        &[
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            // The story and the browser suites have their own test targets.
            "socketio-client.test.mjs",
            "plugins.test.mjs",
        ],
    );
}

/// The contract 0.2 examples (`game`, `poll`, `moderated-chat`): timers,
/// config and key-value listing, end to end.
#[test]
fn official_javascript_client_with_the_0_2_examples() {
    let dir = tests_dir().join("js");
    assert!(
        dir.join("node_modules/socket.io-client").is_dir(),
        "socket.io-client is not installed: run ./scripts/test, or `npm ci` in tests/js"
    );
    run_suite(
        &dir,
        "node",
        &[
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "examples.test.mjs",
        ],
    );
}

#[test]
fn official_python_client() {
    let dir = tests_dir().join("python");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "the python-socketio venv is missing: run ./scripts/test (it creates tests/python/.venv)"
    );
    run_suite(
        &dir,
        python.to_str().unwrap(),
        &["-m", "pytest", "-q", "-p", "no:cacheprovider"],
    );
}
