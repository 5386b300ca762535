//! Follows `sdk/README.md` from `cargo new` to a live handler: the crate is
//! made from the README's own `Cargo.toml` and `src/lib.rs` blocks, built
//! for wasm32-wasip2, served by the real binary, and used by clients. If
//! the README drifts from what works, this fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use eddy_tests::{TestServer, server::fresh_dir};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The fenced block of `lang` that follows the line containing `marker`.
fn block_after(text: &str, marker: &str, lang: &str) -> String {
    let from = text
        .find(marker)
        .unwrap_or_else(|| panic!("README lost {marker:?}"));
    let fence = format!("```{lang}\n");
    let start = text[from..].find(&fence).expect("a fenced block") + from + fence.len();
    let end = text[start..].find("```").expect("closing fence") + start;
    text[start..end].to_owned()
}

#[tokio::test]
async fn the_sdk_readme_walkthrough_works() {
    let readme = std::fs::read_to_string(repo().join("sdk/README.md")).unwrap();
    let manifest_extra = block_after(&readme, "`Cargo.toml`:", "toml");
    let lib_rs = block_after(&readme, "`src/lib.rs`:", "rust");

    // `cargo new --lib chat` + `cargo add eddy-sdk --path …`, then the README's edits.
    let dir = fresh_dir("walkthrough");
    let krate = dir.join("chat");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"chat\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\neddy-sdk = {{ path = {:?} }}\n\n{manifest_extra}\n[workspace]\n",
        repo().join("sdk")
    );
    std::fs::write(krate.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(krate.join("src/lib.rs"), lib_rs).unwrap();

    // A target directory of its own (the plugins have a `chat` too), kept
    // between runs so dependencies build once.
    let target_dir = repo().join("plugins/target-walkthrough");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .unwrap();
    assert!(status.success(), "the README's handler does not build");
    let wasm = target_dir.join("wasm32-wasip2/release/chat.wasm");

    // The README's `eddy app create` and `eddy deploy`, with the same binary.
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let eddy = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("EDDY_SERVER", server.url())
            .env("EDDY_ADMIN_TOKEN", eddy_tests::ADMIN_TOKEN)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "eddy {args:?}: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let created = eddy(&["app", "create", "chat"]);
    assert!(created.contains("secret:     sk_"), "{created}");
    let deployed = eddy(&["deploy", "--app", "chat", wasm.to_str().unwrap()]);
    assert!(
        deployed.starts_with("version 1 of chat is live"),
        "{deployed}"
    );
    let path = "/apps/chat/socket.io/?EIO=4&transport=websocket";

    let mut ada = server.ws(path).await.unwrap();
    ada.text().await.unwrap();
    ada.send("40{\"name\":\"Ada\"}").await.unwrap();
    assert!(ada.text().await.unwrap().starts_with("40{\"sid\""));
    let mut bob = server.ws(path).await.unwrap();
    bob.text().await.unwrap();
    bob.send("40{\"name\":\"Bob\"}").await.unwrap();
    assert!(bob.text().await.unwrap().starts_with("40{\"sid\""));

    ada.send("421[\"say\",\"hello\"]").await.unwrap();
    assert_eq!(ada.text().await.unwrap(), "431[1]");
    assert_eq!(bob.text().await.unwrap(), "42[\"said\",\"Ada\",\"hello\"]");
    bob.send("427[\"count\"]").await.unwrap();
    assert_eq!(bob.text().await.unwrap(), "437[1]");
    ada.send("428[\"count\"]").await.unwrap();
    assert_eq!(ada.text().await.unwrap(), "438[2]");
    ada.send("429[\"shout\"]").await.unwrap();
    let error = ada.text().await.unwrap();
    assert!(
        error.starts_with("439[{\"error\":{\"code\":\"unknown_event\""),
        "{error}"
    );

    let mut nameless = server.ws(path).await.unwrap();
    nameless.text().await.unwrap();
    nameless.send("40").await.unwrap();
    assert_eq!(
        nameless.text().await.unwrap(),
        "44{\"message\":\"a name is required\"}"
    );
    std::fs::remove_dir_all(dir).ok();
}
