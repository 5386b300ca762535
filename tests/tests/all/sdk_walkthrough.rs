//! Follows the walkthroughs word for word, so that if the docs drift from
//! what works, this fails:
//!
//! - `README.md`'s "A handler in five minutes": its fenced blocks, in order,
//!   become one shell script (`sh` blocks as they are, the `toml` block
//!   appended to `Cargo.toml`, the `rust` block written to `src/lib.rs`,
//!   the `python` block to `client.py`), run beside a link `eddy/` to this
//!   checkout, so `../eddy/sdk` is this SDK; `eddy` is the test server's
//!   binary and the server the one it starts, and `python3` the one of
//!   `tests/python/.venv` (which has python-socketio). Then more clients
//!   use the deployed handler.
//! - `sdk/README.md` from `cargo new` to a live handler: the crate is made
//!   from its own `Cargo.toml` and `src/lib.rs` blocks, built for
//!   wasm32-wasip2, served by the real binary, and used by clients, its
//!   Python `client.py` among them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;

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

/// A fenced block of a README section, with the paragraph that leads to it.
struct Block {
    lang: String,
    lead: String,
    body: String,
}

/// The fenced blocks under the heading `## {heading}`, up to the next `## `.
fn section_blocks(text: &str, heading: &str) -> (String, Vec<Block>) {
    let start = text
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README lost its section {heading:?}"))
        + 1;
    let end = text[start + 3..]
        .find("\n## ")
        .map_or(text.len(), |i| i + start + 3);
    let section = &text[start..end];
    let mut blocks = Vec::new();
    let mut lead = String::new();
    let mut paragraph_done = false;
    let mut open: Option<Block> = None;
    for line in section.lines() {
        match (open.as_mut(), line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_owned(),
                    lead: std::mem::take(&mut lead),
                    body: String::new(),
                })
            }
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some(block), None) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
            // The lead-in is the last paragraph before the block.
            (None, None) if line.trim().is_empty() => paragraph_done = true,
            (None, None) => {
                if std::mem::take(&mut paragraph_done) {
                    lead.clear();
                }
                lead.push_str(line);
                lead.push('\n');
            }
        }
    }
    assert!(open.is_none(), "an unclosed fence in {heading:?}");
    (section.to_owned(), blocks)
}

/// The section's blocks as one `bash` script, run from the directory the
/// reader starts in. `rust` and `toml` blocks become the file edits their
/// lead-in paragraph names. One line is added: before the build, `target/` is
/// linked to a directory kept between runs, so the dependencies build once.
fn walkthrough_script(blocks: &[Block]) -> String {
    let mut script = String::from("set -eux\n");
    for Block { lang, lead, body } in blocks {
        let edit = |how: &str, file: &str| {
            assert!(
                lead.contains(&format!("`{file}`")),
                "{lang} block after {lead:?}"
            );
            format!("cat {how} {file} <<'EDDY_README_BLOCK'\n{body}EDDY_README_BLOCK\n")
        };
        match lang.as_str() {
            "sh" => {
                if body.contains("cargo build") {
                    script.push_str("[ -e target ] || ln -s \"$WALKTHROUGH_TARGET\" target\n");
                }
                script.push_str(body);
            }
            "toml" => script.push_str(&edit(">>", "Cargo.toml")),
            "rust" => script.push_str(&edit(">", "src/lib.rs")),
            "python" => script.push_str(&edit(">", "client.py")),
            other => panic!("the walkthrough has a {other:?} block the test cannot follow"),
        }
    }
    script
}

#[tokio::test]
async fn the_readme_walkthrough_works_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let (section, blocks) = section_blocks(&readme, "A handler in five minutes");
    let script = walkthrough_script(&blocks);
    assert!(
        section.contains("`/apps/my-app/socket.io/`"),
        "the section names another app: update the clients below"
    );

    // The reader's directory: a link `eddy` to this checkout beside the
    // crate to be made. Its path is the same on every run (per checkout),
    // so the cached build of `../eddy/sdk` stays valid.
    let checkout = repo();
    let tag: String = checkout
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let home = std::env::temp_dir().join(format!("eddy-readme-walkthrough{tag}"));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(home.join("bin")).unwrap();
    std::os::unix::fs::symlink(&checkout, home.join("eddy")).unwrap();
    std::os::unix::fs::symlink(BIN, home.join("bin/eddy")).unwrap();
    // The reader has done the section's `pip install`: the test's venv
    // (made by ./scripts/test) is that install, first on the PATH.
    let venv = checkout.join("tests/python/.venv/bin");
    assert!(
        venv.join("python3").is_file(),
        "the python-socketio venv is missing: run ./scripts/test (it creates tests/python/.venv)"
    );
    let path = format!(
        "{}:{}:{}",
        home.join("bin").display(),
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    // What an earlier run built must not stand in for what this one does not.
    let target = checkout.join("plugins/target-walkthrough");
    let _ = std::fs::remove_file(target.join("wasm32-wasip2/release/my_app.wasm"));
    // On a clean clone nothing has made it yet, and cargo cannot build
    // through a link to a directory that does not exist.
    std::fs::create_dir_all(&target).unwrap();

    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let mut child = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&home)
        .env("PATH", path)
        // The walkthrough's own target/ is this link (see walkthrough_script).
        .env("WALKTHROUGH_TARGET", &target)
        // CI builds offline: the SDK's dependencies are in the cargo cache.
        .env("CARGO_NET_OFFLINE", "true")
        // `eddy login` talks to EDDY_SERVER (as the section says) and
        // stores the token it reads from stdin in a file of this test's.
        .env("EDDY_SERVER", server.url())
        .env("EDDY_CREDENTIALS", home.join("credentials.toml"))
        .env_remove("EDDY_ADMIN_TOKEN")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        // The reader's crate is not linted with ours (scripts/test builds
        // with clippy-driver as the workspace's wrapper).
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", eddy_tests::ADMIN_TOKEN).as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let pgid = child.id().unwrap();
    // A cold build of the SDK's dependencies takes a minute or two on CI.
    let out = match tokio::time::timeout(Duration::from_secs(600), child.wait_with_output()).await {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .status();
            panic!("the walkthrough took more than 10 minutes:\n{script}");
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the walkthrough fails:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("signed in to "), "{stdout}");
    assert!(stdout.contains("secret:     sk_"), "{stdout}");
    assert!(stdout.contains("version 1 of my-app is live"), "{stdout}");
    // The SDK's version stamp survived a plain release build (no LTO).
    let listed = server
        .admin()
        .call("GET", "/apps/my-app/deployments", None)
        .await
        .unwrap();
    let sdk = std::fs::read_to_string(checkout.join("sdk/Cargo.toml")).unwrap();
    let stamped = listed.json()[0]["sdk_version"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !stamped.is_empty() && sdk.contains(&format!("\nversion = \"{stamped}\"\n")),
        "{}",
        listed.body
    );
    // The Python client read the refusal, then was heard by nobody.
    assert!(stdout.contains("refused: a name is required\n"), "{stdout}");
    assert!(stdout.contains("said to 0 others\n"), "{stdout}");

    // A client without a name is refused; one says something into the
    // lobby, where nobody else is yet; a second one's words reach the first.
    let path = "/apps/my-app/socket.io/?EIO=4&transport=websocket";
    let mut nameless = server.ws(path).await.unwrap();
    nameless.text().await.unwrap();
    nameless.send("40").await.unwrap();
    assert_eq!(
        nameless.text().await.unwrap(),
        "44{\"message\":\"a name is required\"}"
    );
    let mut ada = server.ws(path).await.unwrap();
    ada.text().await.unwrap();
    ada.send("40{\"name\":\"Ada\"}").await.unwrap();
    assert!(ada.text().await.unwrap().starts_with("40{\"sid\""));
    let mut bob = server.ws(path).await.unwrap();
    bob.text().await.unwrap();
    bob.send("40{\"name\":\"Bob\"}").await.unwrap();
    assert!(bob.text().await.unwrap().starts_with("40{\"sid\""));
    ada.send("421[\"say\",\"hello\"]").await.unwrap();
    assert_eq!(ada.text().await.unwrap(), "431[0]");
    bob.send("422[\"say\",\"hi\"]").await.unwrap();
    assert_eq!(bob.text().await.unwrap(), "432[1]");
    assert_eq!(ada.text().await.unwrap(), "42[\"said\",\"hi\"]");
    std::fs::remove_dir_all(home).ok();
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
        // The reader's crate is not linted with ours (scripts/test builds
        // with clippy-driver as the workspace's wrapper).
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR")
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

    // The page's Python client, with the python-socketio of the test venv.
    let python = repo().join("tests/python/.venv/bin/python3");
    assert!(
        python.is_file(),
        "the python-socketio venv is missing: run ./scripts/test (it creates tests/python/.venv)"
    );
    std::fs::write(
        dir.join("client.py"),
        block_after(&readme, "`client.py`:", "python"),
    )
    .unwrap();
    let out = tokio::process::Command::new(&python)
        .arg("client.py")
        .current_dir(&dir)
        .env("EDDY_SERVER", server.url())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("client.py took more than a minute")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client.py fails:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "refused: a name is required\nmessages so far: 3\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}
