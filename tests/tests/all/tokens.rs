//! Admin token lifecycle through the running server: a revoked token is
//! refused on its next call; a restart with a changed `EDDY_ADMIN_TOKEN`
//! revokes the previous one; the CLI lists and revokes.

use eddy_tests::{ADMIN_TOKEN, Admin, TestServer};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

#[tokio::test]
async fn a_revoked_token_gets_401_on_its_next_call() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let admin = server.admin();
    let created = admin
        .call(
            "POST",
            "/tokens",
            Some(json!({ "label": "ci", "expires_in_seconds": 3600 })),
        )
        .await
        .unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(created["expires_at"].as_i64().is_some());
    let ci = Admin::with_token(server.addr, &secret);
    assert_eq!(ci.call("GET", "/apps", None).await.unwrap().status, 200);

    let list = admin.call("GET", "/tokens", None).await.unwrap();
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains(&secret),
        "the list never shows a secret"
    );
    let tokens = list.json();
    let row = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == created["id"])
        .unwrap()
        .clone();
    assert_eq!(row["label"], "ci");
    assert!(row["last_used_at"].as_i64().is_some(), "{row}");
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["configured"] == true)
    );

    let revoked = admin
        .call("DELETE", &format!("/tokens/{}", created["id"]), None)
        .await
        .unwrap();
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(revoked.json()["revoked_at"].as_i64().is_some());
    let refused = ci.call("GET", "/apps", None).await.unwrap();
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(
        admin
            .call("DELETE", "/tokens/9999", None)
            .await
            .unwrap()
            .status,
        404
    );
    let audit = admin
        .call("GET", "/audit?limit=1", None)
        .await
        .unwrap()
        .json();
    assert_eq!(audit[0]["action"], "token.revoke");
}

#[tokio::test]
async fn a_changed_admin_token_revokes_the_previous_one_on_restart() {
    let mut first = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    assert_eq!(
        first
            .admin()
            .call("GET", "/apps", None)
            .await
            .unwrap()
            .status,
        200
    );
    let dir = first.keep_data();
    assert_eq!(first.stop().await.unwrap(), 0);

    let replacement = "a-brand-new-admin-token-for-the-restart";
    let second = TestServer::start_in_with_token(BIN, dir, replacement, &["--no-demo"])
        .await
        .unwrap();
    let old = Admin::with_token(second.addr, ADMIN_TOKEN);
    assert_eq!(old.call("GET", "/apps", None).await.unwrap().status, 401);
    let new = Admin::with_token(second.addr, replacement);
    let tokens = new.call("GET", "/tokens", None).await.unwrap().json();
    let configured: Vec<(bool, bool)> = tokens
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["configured"] == true)
        .map(|t| (t["id"] == 1, t["revoked_at"].is_i64()))
        .collect();
    assert_eq!(configured, [(true, true), (false, false)], "{tokens}");
}

#[tokio::test]
async fn the_cli_creates_lists_and_revokes_tokens() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let url = server.url();
    let eddy = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .args(args)
            .args(["--server", &url])
            .env("EDDY_ADMIN_TOKEN", ADMIN_TOKEN)
            .env_remove("EDDY_CONFIG")
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let (ok, secret, stderr) =
        eddy(&["token", "create", "--label", "laptop", "--expires-in", "7d"]);
    assert!(ok, "{stderr}");
    let secret = secret.trim();
    assert!(
        secret.starts_with("et_") && stderr.contains("in 7d"),
        "{stderr}"
    );
    let (ok, list, stderr) = eddy(&["token", "list"]);
    assert!(ok, "{stderr}");
    assert!(!list.contains(secret));
    let line = list.lines().find(|l| l.ends_with("laptop")).expect(&list);
    assert!(line.contains("active"), "{list}");
    let id = line.split_whitespace().next().unwrap();
    let (ok, out, stderr) = eddy(&["token", "revoke", id]);
    assert!(ok && out.contains("revoked"), "{stderr}");
    let (_, list, _) = eddy(&["token", "list"]);
    assert!(
        list.lines()
            .any(|l| l.ends_with("laptop") && l.contains("revoked")),
        "{list}"
    );
    let laptop = Admin::with_token(server.addr, secret);
    assert_eq!(laptop.call("GET", "/apps", None).await.unwrap().status, 401);
}
