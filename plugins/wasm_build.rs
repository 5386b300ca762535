//! How a build script of the main workspace builds `plugins/` (its own
//! workspace, its own target directory) for wasm32-wasip2: one command,
//! shared by `server/build.rs` (the demo's `echo`) and `tests/build.rs`
//! (every plugin), included by both with `#[path]`.

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const TARGET: &str = "wasm32-wasip2";

/// `cargo build --release --target wasm32-wasip2` of `plugins/`, for the
/// crates `selection` names (`["--workspace"]`, `["-p", "echo"]`).
pub(crate) fn command(plugins: &Path, selection: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--release", "--target", TARGET])
        .args(selection)
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(plugins.join("target"))
        // Flags meant for this (host) build must not reach the wasm build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        // Under `cargo clippy` the wrappers would lint the plugins too (with
        // the workspace's -D warnings) and give them fresh fingerprints, so
        // the next test build would compile them all again.
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR");
    build
}

/// Where the built components are.
pub(crate) fn out_dir(plugins: &Path) -> PathBuf {
    plugins.join("target").join(TARGET).join("release")
}
