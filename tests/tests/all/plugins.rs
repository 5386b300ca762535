//! Every plugin crate in `plugins/` is loaded by some test: a Rust test in
//! this binary names its constant (`plugins::HOSTILE_SPIN`), or a JS suite
//! that `peers.rs` runs deploys it by crate name (`"auth-token"`). A
//! fixture no test loads proves nothing, so a new plugin fails here until a
//! test uses it (as wasmtime asserts a test per guest program).

use std::path::Path;

use eddy_tests::Plugin;

/// The non-comment lines of every file in `dir` ending in `suffix`, but
/// `skip`.
fn sources(dir: &Path, suffix: &str, skip: &str) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(suffix) || name == skip {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            all.push_str(line);
            all.push('\n');
        }
    }
    all
}

/// Whether `text` holds `word` with no identifier character on either side.
fn names(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

#[test]
fn every_plugin_has_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rust = sources(&dir.join("tests/all"), ".rs", "plugins.rs");
    let js = sources(&dir.join("js"), ".mjs", "server.mjs");

    let mut plugins: Vec<(&str, Plugin)> = Vec::new();
    macro_rules! collect {
        ($constant:ident) => {
            plugins.push((stringify!($constant), eddy_tests::plugins::$constant))
        };
    }
    eddy_tests::for_each_plugin!(collect);
    assert!(!plugins.is_empty(), "for_each_plugin! names no plugin");

    let untested: Vec<String> = plugins
        .iter()
        .filter(|(constant, plugin)| {
            let quoted = |q: char| format!("{q}{}{q}", plugin.name());
            !names(&rust, constant) && !js.contains(&quoted('"')) && !js.contains(&quoted('\''))
        })
        .map(|(constant, plugin)| format!("{} (plugins::{constant})", plugin.name()))
        .collect();
    assert!(
        untested.is_empty(),
        "no test loads these plugins: {}. Add a test in tests/tests/all that uses \
         the constant, or drop the plugin from plugins/Cargo.toml",
        untested.join(", ")
    );
}

/// The version the SDK stamps: `version` of `sdk/Cargo.toml`.
fn sdk_version() -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/Cargo.toml");
    let text = std::fs::read_to_string(manifest).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("version = \""))
        .expect("sdk/Cargo.toml sets its own version");
    line.trim_start_matches("version = \"")
        .trim_end_matches('"')
        .to_owned()
}

/// The SDK stamps its version into a custom section of the core module,
/// and the stamp survives the plugins' release build (with LTO) into the
/// component, where the server's loader reads it. (The README walkthrough
/// checks a build without LTO.)
#[test]
fn components_built_with_the_sdk_carry_its_version() {
    use eddy_tests::plugins::{
        AUTH_TOKEN, CHAT, COUNTER, ECHO, GAME, MODERATED_CHAT, POLL, PRESENCE,
    };
    let engine = eddy_host::HostEngine::new(eddy_host::EngineOptions::default()).unwrap();
    let want = sdk_version();
    for plugin in [
        ECHO,
        CHAT,
        PRESENCE,
        AUTH_TOKEN,
        COUNTER,
        GAME,
        POLL,
        MODERATED_CHAT,
    ] {
        let loaded = engine.load(&plugin.bytes()).unwrap();
        assert_eq!(
            loaded.sdk_version.as_deref(),
            Some(want.as_str()),
            "{}",
            plugin.name()
        );
        assert_eq!(
            loaded.contract,
            eddy_host::Contract::V0_2,
            "{}",
            plugin.name()
        );
    }
    // A component written without the SDK has no stamp.
    let raw = engine
        .load(&eddy_tests::plugins::HOSTILE_PROBE.bytes())
        .unwrap();
    assert_eq!(raw.sdk_version, None);
}
