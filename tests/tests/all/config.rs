//! App config and secrets through the running server: set, listed and
//! deleted over the admin API (SQLite and PostgreSQL) and the CLI; a
//! secret is never returned, never in the audit log or the server's log,
//! and stored encrypted; without `EDDY_SECRET_KEY` a secret is refused; a
//! server restarted with another key reports secrets unreadable; tenants
//! cannot reach each other's config.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use eddy_tests::{Admin, TestServer, registries};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

const KEY_A: &str = "a1a2a3a4a5a6a7a8a9aaabacadaeaf00a1a2a3a4a5a6a7a8a9aaabacadaeaf00";
/// The same length and alphabet, another key.
const KEY_B: &str = "b1b2b3b4b5b6b7b8b9babbbcbdbebf00b1b2b3b4b5b6b7b8b9babbbcbdbebf00";

/// The secret value: it must never show anywhere but in the handler.
const SECRET: &str = "sk-live-4f9e2c71-never-in-clear";
/// A plain value: found in the raw registry, which shows the search works.
const PLAIN: &str = "plain-marker-83b1d0";

async fn put(admin: &Admin, path: &str, body: Value) -> (u16, Value) {
    let reply = admin.call("PUT", path, Some(body)).await.unwrap();
    let json = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, json)
}

async fn list(admin: &Admin, slug: &str) -> Value {
    let reply = admin
        .call("GET", &format!("/apps/{slug}/config"), None)
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(!reply.body.contains(SECRET), "a listing holds the secret");
    reply.json()
}

fn entry<'a>(listing: &'a Value, name: &str) -> &'a Value {
    listing
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {listing}"))
}

/// Every byte the server wrote under `dir` (the SQLite registry, its WAL).
fn bytes_under(dir: &Path, out: &mut Vec<u8>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            bytes_under(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.extend_from_slice(&bytes);
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn config_round_trip_and_a_secret_never_leaves_the_server() {
    for (backend, registry) in registries().await {
        let mut args = vec!["--no-demo", "--log", "debug"];
        if let Some(url) = &registry {
            args.extend(["--database", url]);
        }
        let server = TestServer::start_logged(BIN, &args, &[("EDDY_SECRET_KEY", KEY_A)])
            .await
            .unwrap();
        let admin = server.admin();
        admin.create_app("shop", json!({})).await.unwrap();

        let (status, body) = put(
            &admin,
            "/apps/shop/config/API_URL",
            json!({ "value": PLAIN }),
        )
        .await;
        assert_eq!(status, 204, "{backend}: {body}");
        let (status, body) = put(
            &admin,
            "/apps/shop/config/STRIPE_KEY",
            json!({ "value": SECRET, "secret": true }),
        )
        .await;
        assert_eq!(status, 204, "{backend}: {body}");

        let listing = list(&admin, "shop").await;
        let plain = entry(&listing, "API_URL");
        assert_eq!(plain["value"], PLAIN, "{backend}");
        assert_eq!(plain["secret"], false);
        assert!(plain["updated_at"].as_i64().unwrap() > 0);
        let secret = entry(&listing, "STRIPE_KEY");
        assert_eq!(secret["secret"], true);
        assert_eq!(secret["readable"], true, "{backend}");
        assert!(secret.get("value").is_none(), "{backend}: {secret}");

        // Replaced: the new value is listed.
        put(
            &admin,
            "/apps/shop/config/API_URL",
            json!({ "value": "v2" }),
        )
        .await;
        assert_eq!(entry(&list(&admin, "shop").await, "API_URL")["value"], "v2");

        // Refusals say why, and never repeat a value.
        let (status, body) = put(
            &admin,
            "/apps/shop/config/has%20space",
            json!({ "value": "x" }),
        )
        .await;
        assert_eq!((status, &body["code"]), (422, &json!("invalid")), "{body}");
        let big = "s".repeat(64 * 1024 + 1);
        let (status, body) = put(
            &admin,
            "/apps/shop/config/BIG",
            json!({ "value": big, "secret": true }),
        )
        .await;
        assert_eq!(status, 422, "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("65536 bytes"), "{detail}");
        assert!(!detail.contains("sss"), "{detail}");
        // The limit is on the plaintext, for a secret too.
        let (status, body) = put(
            &admin,
            "/apps/shop/config/BIG",
            json!({ "value": "s".repeat(64 * 1024), "secret": true }),
        )
        .await;
        assert_eq!(status, 204, "{backend}: {body}");
        let (status, body) = put(
            &admin,
            "/apps/shop/config/X",
            json!({ "value": "x", "secrt": true }),
        )
        .await;
        assert_eq!((status, &body["code"]), (422, &json!("invalid_json")));
        let (status, _) = put(&admin, "/apps/nope/config/X", json!({ "value": "x" })).await;
        assert_eq!(status, 404);

        // Deleted once; the second time it is not there.
        let gone = admin
            .call("DELETE", "/apps/shop/config/BIG", None)
            .await
            .unwrap();
        assert_eq!(gone.status, 204);
        let again = admin
            .call("DELETE", "/apps/shop/config/BIG", None)
            .await
            .unwrap();
        assert_eq!(again.status, 404, "{}", again.body);

        // The audit log names the entries, never a value.
        let audit = admin.call("GET", "/audit?app=shop", None).await.unwrap();
        assert_eq!(audit.status, 200);
        assert!(audit.body.contains("STRIPE_KEY"), "{}", audit.body);
        assert!(audit.body.contains("config.delete"), "{}", audit.body);
        for value in [SECRET, PLAIN] {
            assert!(
                !audit.body.contains(value),
                "{backend}: {value} in the audit log"
            );
        }

        // Stored encrypted: the plaintext is nowhere in the registry.
        match &registry {
            None => {
                let mut raw = Vec::new();
                bytes_under(&server.data_dir, &mut raw);
                assert!(contains(&raw, PLAIN), "the search finds a plain value");
                assert!(!contains(&raw, SECRET), "the secret is stored in clear");
            }
            Some(url) => {
                let store = eddy_store::Store::connect(url).await.unwrap();
                let app = store.app("shop").await.unwrap();
                let (stored, secret) = store
                    .config_get(app.id, "STRIPE_KEY")
                    .await
                    .unwrap()
                    .unwrap();
                assert!(secret);
                assert_eq!(stored[0], 1, "the scheme's version byte");
                assert!(!contains(&stored, SECRET), "the secret is stored in clear");
                assert!(stored.len() > SECRET.len());
                let (plain, _) = store.config_get(app.id, "API_URL").await.unwrap().unwrap();
                assert_eq!(plain, b"v2");
                store.close().await;
            }
        }

        // Nothing of it in the server's log, at debug level, to its end.
        let log = server.log().clone();
        assert_eq!(server.stop().await.unwrap(), 0);
        let text = log.to_end().await.unwrap();
        assert!(
            text.contains("config set"),
            "{backend}: the log is read:\n{text}"
        );
        assert!(
            !text.contains(SECRET),
            "{backend}: the secret is in the log"
        );
        assert!(!text.contains(KEY_A), "{backend}: the key is in the log");
    }
}

#[tokio::test]
async fn without_a_secret_key_a_secret_is_refused_and_plain_variables_work() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    admin.create_app("shop", json!({})).await.unwrap();
    let (status, body) = put(
        &admin,
        "/apps/shop/config/TOKEN",
        json!({ "value": SECRET, "secret": true }),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "secret_key_missing");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("EDDY_SECRET_KEY"), "{detail}");
    assert!(!detail.contains(SECRET), "{detail}");
    let (status, _) = put(&admin, "/apps/shop/config/MODE", json!({ "value": "x" })).await;
    assert_eq!(status, 204);
    let listing = list(&admin, "shop").await;
    assert_eq!(listing.as_array().unwrap().len(), 1, "{listing}");
}

#[tokio::test]
async fn a_malformed_secret_key_stops_the_server_naming_the_variable() {
    let out = Command::new(BIN)
        .args(["config", "check"])
        .env_remove("EDDY_CONFIG")
        .env("EDDY_SECRET_KEY", &KEY_A[..63])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("EDDY_SECRET_KEY: invalid value \"<redacted>\""),
        "{stderr}"
    );
    assert!(!stderr.contains(&KEY_A[..63]), "{stderr}");
}

#[tokio::test]
async fn a_server_with_another_key_reports_secrets_unreadable_not_garbage() {
    let mut first = TestServer::start_with_env(BIN, &["--no-demo"], &[("EDDY_SECRET_KEY", KEY_A)])
        .await
        .unwrap();
    let admin = first.admin();
    admin.create_app("shop", json!({})).await.unwrap();
    put(
        &admin,
        "/apps/shop/config/TOKEN",
        json!({ "value": SECRET, "secret": true }),
    )
    .await;
    let dir = first.keep_data();
    assert_eq!(first.stop().await.unwrap(), 0);

    let readable = |listing: &Value| entry(listing, "TOKEN")["readable"].clone();
    // Another key, then none: unreadable, and said so.
    for env in [&[("EDDY_SECRET_KEY", KEY_B)][..], &[][..]] {
        let mut server = TestServer::start_in_with_env(BIN, dir.clone(), &["--no-demo"], env)
            .await
            .unwrap();
        let listing = list(&server.admin(), "shop").await;
        assert_eq!(readable(&listing), false, "{env:?}: {listing}");
        server.keep_data();
        assert_eq!(server.stop().await.unwrap(), 0);
    }
    // The right key again: readable.
    let server =
        TestServer::start_in_with_env(BIN, dir, &["--no-demo"], &[("EDDY_SECRET_KEY", KEY_A)])
            .await
            .unwrap();
    assert_eq!(readable(&list(&server.admin(), "shop").await), true);
}

#[tokio::test]
async fn a_tenant_cannot_reach_another_tenants_config_and_a_viewer_cannot_write() {
    let server = TestServer::start_with_env(BIN, &["--no-demo"], &[("EDDY_SECRET_KEY", KEY_A)])
        .await
        .unwrap();
    let platform = server.admin();
    for tenant in ["acme", "globex"] {
        let reply = platform
            .call("POST", "/tenants", Some(json!({ "slug": tenant })))
            .await
            .unwrap();
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    for (slug, tenant) in [("acme-shop", "acme"), ("gx-shop", "globex")] {
        let reply = platform
            .call(
                "POST",
                "/apps",
                Some(json!({ "slug": slug, "tenant": tenant })),
            )
            .await
            .unwrap();
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    put(
        &platform,
        "/apps/gx-shop/config/TOKEN",
        json!({ "value": SECRET, "secret": true }),
    )
    .await;
    let addr = server.admin_addr;
    let token = |role: &'static str| {
        let platform = &platform;
        async move {
            let reply = platform
                .call(
                    "POST",
                    "/tokens",
                    Some(json!({ "label": role, "role": role, "tenant": "acme" })),
                )
                .await
                .unwrap();
            Admin::with_token(addr, reply.json()["token"].as_str().unwrap())
        }
    };
    let owner = token("tenant-owner").await;
    let viewer = token("viewer").await;
    let deployer = token("deployer").await;

    // Another tenant's app does not exist for acme's owner.
    for (method, body) in [
        ("GET", None),
        ("PUT", Some(json!({ "value": "x" }))),
        ("DELETE", None),
    ] {
        let path = if method == "GET" {
            "/apps/gx-shop/config"
        } else {
            "/apps/gx-shop/config/TOKEN"
        };
        let reply = owner.call(method, path, body).await.unwrap();
        assert_eq!(reply.status, 404, "{method}: {}", reply.body);
        assert_eq!(reply.json()["detail"], "app \"gx-shop\" not found");
    }
    assert_eq!(
        entry(&list(&platform, "gx-shop").await, "TOKEN")["secret"],
        true
    );

    // Its own: the owner and the deployer write, the viewer only reads.
    for (who, writer) in [(&owner, true), (&deployer, true), (&viewer, false)] {
        let (status, body) = put(who, "/apps/acme-shop/config/MODE", json!({ "value": "x" })).await;
        if writer {
            assert_eq!(status, 204, "{body}");
        } else {
            assert_eq!((status, &body["permission"]), (403, &json!("config:write")));
        }
        list(who, "acme-shop").await;
    }
    let refused = viewer
        .call("DELETE", "/apps/acme-shop/config/MODE", None)
        .await
        .unwrap();
    assert_eq!(refused.status, 403);
}

/// `eddy …` as a user signed in nowhere, with the server and token in the
/// environment and `stdin` on its standard input.
fn eddy(server: &TestServer, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("EDDY_CONFIG")
        .env("EDDY_SERVER", server.url())
        .env("EDDY_ADMIN_TOKEN", eddy_tests::ADMIN_TOKEN)
        .env(
            "EDDY_CREDENTIALS",
            server.data_dir.join("no-credentials.toml"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_sets_lists_and_unsets_config() {
    let server = TestServer::start_with_env(BIN, &["--no-demo"], &[("EDDY_SECRET_KEY", KEY_A)])
        .await
        .unwrap();
    server.admin().create_app("shop", json!({})).await.unwrap();

    let (ok, out, err) = eddy(
        &server,
        &[
            "config",
            "set",
            "--app",
            "shop",
            "API_URL=https://x.example/?a=b",
            "MODE=live",
        ],
        "",
    );
    assert!(ok, "{err}");
    assert!(out.contains("set variable API_URL of app shop"), "{out}");
    // A secret from standard input: in no argument, and never printed.
    let (ok, out, err) = eddy(
        &server,
        &["config", "set", "--app", "shop", "--secret", "STRIPE_KEY=-"],
        &format!("{SECRET}\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("set secret STRIPE_KEY of app shop"), "{out}");
    assert!(
        !err.contains("shell's history"),
        "no warning for stdin: {err}"
    );

    let (ok, table, err) = eddy(&server, &["config", "list", "--app", "shop"], "");
    assert!(ok, "{err}");
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].ends_with("VALUE"),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("STRIPE_KEY") && l.ends_with("(secret)")),
        "{table}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("API_URL") && l.ends_with("https://x.example/?a=b"))
    );
    assert!(!table.contains(SECRET));
    let (_, json, _) = eddy(&server, &["config", "list", "--app", "shop", "--json"], "");
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert!(!json.to_string().contains(SECRET));

    let (ok, out, err) = eddy(&server, &["config", "unset", "--app", "shop", "MODE"], "");
    assert!(ok, "{err}");
    assert!(out.contains("deleted MODE of app shop"), "{out}");
    let (ok, _, err) = eddy(&server, &["config", "unset", "--app", "shop", "MODE"], "");
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
    let (_, json, _) = eddy(&server, &["config", "list", "--app", "shop", "--json"], "");
    assert_eq!(
        serde_json::from_str::<Value>(&json)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A secret on the command line works, with a word about history.
    let (ok, _, err) = eddy(
        &server,
        &["config", "set", "--app", "shop", "--secret", "T=v"],
        "",
    );
    assert!(ok && err.contains("shell's history"), "{err}");
}
