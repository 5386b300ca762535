//! The admin UI end to end in a headless Chromium (`tests/js/admin-ui.e2e.mjs`,
//! playwright-core driving Debian's `chromium`). Screenshots land in
//! `target/e2e-screenshots/`; `EDDY_DOCS_SCREENSHOTS=1` also refreshes the
//! ones in `docs/admin/`. A missing Chromium fails here: `.ci/run` installs
//! it, and `apt-get install chromium` does locally.

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

#[test]
fn the_admin_ui_in_a_real_browser() {
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        js.join("node_modules/playwright-core").is_dir(),
        "playwright-core is not installed: run ./scripts/test (npm ci in tests/js)"
    );
    let out = Command::new("timeout")
        .args([
            "300",
            "node",
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            "admin-ui.e2e.mjs",
        ])
        .current_dir(&js)
        .env("EDDY_BIN", BIN)
        .env("EDDY_PLUGINS_DIR", env!("EDDY_PLUGINS_DIR"))
        .env_remove("EDDY_CONFIG")
        .output()
        .expect("cannot run node");
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the admin UI suite failed");
}
