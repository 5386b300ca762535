//! Builds the example and hostile plugins (`plugins/`, its own workspace)
//! for wasm32-wasip2 so tests and benches can load them, and tells the
//! crate where they are (`EDDY_PLUGINS_DIR`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_owned();
    let plugins = root.join("plugins");
    for dir in [
        plugins.join("Cargo.toml"),
        plugins.join("Cargo.lock"),
        root.join("sdk"),
    ] {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    rerun_for_sources(&plugins);

    let target_dir = plugins.join("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--workspace",
            "--manifest-path",
        ])
        .arg(plugins.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // Flags meant for this (host) build must not reach the wasm build.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    let status = build
        .status()
        .expect("cannot run cargo to build the plugins");
    if !status.success() {
        panic!(
            "building plugins/ for wasm32-wasip2 failed. Is the target installed? \
             `rustup target add wasm32-wasip2` (./scripts/test does it)"
        );
    }
    println!(
        "cargo:rustc-env=EDDY_PLUGINS_DIR={}",
        target_dir.join("wasm32-wasip2/release").display()
    );
}

fn rerun_for_sources(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if path.is_dir() {
            rerun_for_sources(&path);
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "toml" || e == "wit")
        {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
