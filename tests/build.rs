//! Builds the example and hostile plugins (`plugins/`, its own workspace)
//! for wasm32-wasip2 so tests and benches can load them, tells the crate
//! where they are (`EDDY_PLUGINS_DIR`, for the JS and Python peers), and
//! writes one constant per plugin crate into `$OUT_DIR/plugins.rs` (as
//! wasmtime's test-programs artifacts do), with a `for_each_plugin!` macro
//! over all of them.

use std::path::{Path, PathBuf};

#[path = "../plugins/wasm_build.rs"]
mod wasm_build;

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

    let status = wasm_build::command(&plugins, &["--workspace"])
        .status()
        .expect("cannot run cargo to build the plugins");
    if !status.success() {
        let target = wasm_build::TARGET;
        panic!(
            "building plugins/ for {target} failed. Is the target installed? \
             `rustup target add {target}` (./scripts/test does it)"
        );
    }
    let built = wasm_build::out_dir(&plugins);
    println!("cargo:rustc-env=EDDY_PLUGINS_DIR={}", built.display());

    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("plugins.rs");
    std::fs::write(&out, constants(&plugins, &built)).expect("write plugins.rs");
}

/// The Rust source of a `Plugin` constant per member of `plugins/Cargo.toml`
/// (`hostile/spin`, crate `hostile-spin` → `HOSTILE_SPIN`), and
/// `for_each_plugin!` over them in the order of that list.
fn constants(plugins: &Path, built: &Path) -> String {
    let manifest = std::fs::read_to_string(plugins.join("Cargo.toml")).unwrap();
    let mut consts = String::new();
    let mut idents = Vec::new();
    for member in members(&manifest) {
        let crate_manifest = plugins.join(&member).join("Cargo.toml");
        let text = std::fs::read_to_string(&crate_manifest)
            .unwrap_or_else(|e| panic!("read {}: {e}", crate_manifest.display()));
        let name = package_name(&text)
            .unwrap_or_else(|| panic!("{} names no package", crate_manifest.display()));
        let wasm = built.join(format!("{}.wasm", name.replace('-', "_")));
        assert!(
            wasm.is_file(),
            "plugin {name} built no component at {} (is it a cdylib?)",
            wasm.display()
        );
        let ident = name.to_uppercase().replace('-', "_");
        consts.push_str(&format!(
            "/// The `{name}` plugin (`plugins/{member}`).\n\
             pub const {ident}: Plugin = Plugin {{ name: {name:?}, path: {path:?} }};\n",
            path = wasm.display().to_string(),
        ));
        idents.push(ident);
    }
    let calls: String = idents.iter().map(|i| format!("$m!({i}); ")).collect();
    format!(
        "{consts}\n\
         /// `$m!(IDENT)` for every plugin constant (`ECHO`, `HOSTILE_SPIN`, …).\n\
         #[macro_export]\n\
         macro_rules! for_each_plugin {{\n    ($m:ident) => {{ {calls}}};\n}}\n",
    )
}

/// The quoted strings of the workspace's `members = [ … ]` array.
fn members(manifest: &str) -> Vec<String> {
    let start = manifest
        .find("members")
        .and_then(|at| manifest[at..].find('[').map(|open| at + open + 1))
        .expect("plugins/Cargo.toml has a members list");
    let end = start + manifest[start..].find(']').expect("members list closes");
    manifest[start..end]
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| line.split(','))
        .map(|item| item.trim().trim_matches('"'))
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `name = "…"` of a crate manifest's `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    let package = &manifest[manifest.find("[package]")?..];
    package
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
        })
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
