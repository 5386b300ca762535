//! Builds the `echo` plugin (plugins/echo, a WebAssembly component) so the
//! binary can seed the `demo` app with it on a fresh registry, and embeds
//! the admin UI (`web-admin/`, static files served at `/admin/`).
//!
//! The plugin targets wasm32-wasip2; when that target is missing and rustup
//! is around, it is added, so `cargo run --release` works on a fresh machine.
//!
//! Without the `server` feature (the command line alone) neither is needed,
//! and nothing is built.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "../plugins/wasm_build.rs"]
mod wasm_build;

use wasm_build::TARGET;

fn main() {
    if std::env::var_os("CARGO_FEATURE_SERVER").is_none() {
        // (A change of features reruns this anyway.)
        println!("cargo:rerun-if-changed=build.rs");
        return;
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.parent().unwrap().to_owned();
    embed_admin_ui(&root.join("web-admin"));
    let plugins = root.join("plugins");
    for path in [
        plugins.join("echo"),
        plugins.join("Cargo.toml"),
        plugins.join("Cargo.lock"),
        plugins.join("wasm_build.rs"),
        root.join("sdk/src"),
        root.join("sdk/wit"),
        root.join("sdk/macros/src"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    if !target_installed() {
        println!(
            "cargo:warning=installing the {TARGET} target (the built-in demo handler is a WebAssembly component)"
        );
        let added = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status();
        if !added.is_ok_and(|s| s.success()) {
            panic!("the {TARGET} target is missing: run `rustup target add {TARGET}`");
        }
    }
    let status = wasm_build::command(&plugins, &["-p", "echo"])
        .status()
        .expect("cannot run cargo to build the echo plugin");
    assert!(
        status.success(),
        "building plugins/echo for {TARGET} failed"
    );
    let wasm = wasm_build::out_dir(&plugins).join("echo.wasm");
    println!("cargo:rustc-env=EDDY_ECHO_WASM={}", wasm.display());
}

/// Writes `$OUT_DIR/admin_assets.rs`: every file under `web-admin/` as
/// `(path, bytes, etag)`, so the binary serves the UI with nothing on disk.
fn embed_admin_ui(dir: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for relative in &files {
        let path = dir.join(relative);
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(&path).unwrap();
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        writeln!(
            table,
            "    ({relative:?}, include_bytes!({:?}), \"\\\"{:016x}\\\"\"),",
            path.display().to_string(),
            hasher.finish()
        )
        .unwrap();
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("admin_assets.rs");
    std::fs::write(out, table).unwrap();
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
            files.push(relative.replace('\\', "/"));
        }
    }
}

fn target_installed() -> bool {
    let sysroot = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args(["--print", "sysroot"])
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim()));
    sysroot.is_some_and(|root| root.join("lib/rustlib").join(TARGET).is_dir())
}
