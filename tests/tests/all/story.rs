//! The control-plane story with the official client (`tests/js/story.test.mjs`)
//! on SQLite and, when `EDDY_TEST_POSTGRES` is set, on PostgreSQL; and a
//! server killed (SIGKILL) in the middle of deploys, on both.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use eddy_tests::plugins::{CHAT, COUNTER, ECHO, PRESENCE};
use eddy_tests::{TestServer, registries};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

#[tokio::test]
async fn the_story_with_the_official_client() {
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        js.join("node_modules/socket.io-client").is_dir(),
        "run ./scripts/test (npm ci in tests/js)"
    );
    for (backend, database) in registries().await {
        let mut command = Command::new("timeout");
        command
            .args([
                "300",
                "node",
                "--test",
                "--test-reporter=spec",
                "story.test.mjs",
            ])
            .current_dir(&js)
            .env("EDDY_BIN", BIN)
            .env("EDDY_PLUGINS_DIR", env!("EDDY_PLUGINS_DIR"))
            .env_remove("EDDY_CONFIG");
        match &database {
            Some(url) => command.env("EDDY_STORY_DATABASE", url),
            None => command.env_remove("EDDY_STORY_DATABASE"),
        };
        let out = command.output().unwrap();
        println!("{}", String::from_utf8_lossy(&out.stdout));
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "the story failed on {backend}");
    }
}

#[tokio::test]
async fn a_kill_during_deploys_leaves_the_registry_whole() {
    for (backend, database) in registries().await {
        let args: Vec<String> = match &database {
            Some(url) => vec!["--no-demo".into(), "--database".into(), url.clone()],
            None => vec!["--no-demo".into()],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut server = TestServer::start(BIN, &args).await.unwrap();
        server
            .admin()
            .app_with("app", ECHO, json!({}))
            .await
            .unwrap();
        let versions = [COUNTER, CHAT, PRESENCE, ECHO];
        // Kill at different moments: before the upload lands, while it
        // compiles, while it is stored, after.
        for (round, delay_ms) in [0u64, 30, 90, 180, 400].into_iter().enumerate() {
            let component = versions[round % versions.len()].bytes();
            let admin = server.admin();
            let upload = tokio::spawn(async move { admin.upload("app", &component, "").await });
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            let data_dir = server.keep_data();
            server.kill().await.unwrap();
            let _ = upload.await;
            server = TestServer::start_in(BIN, data_dir, &args).await.unwrap();
            let admin = server.admin();
            let listed = admin
                .call("GET", "/apps/app/deployments", None)
                .await
                .unwrap()
                .json();
            let list = listed.as_array().unwrap();
            let active: Vec<_> = list.iter().filter(|d| d["status"] == "active").collect();
            assert_eq!(
                active.len(),
                1,
                "{backend} round {round}: exactly one active version: {listed}"
            );
            let numbers: Vec<i64> = list
                .iter()
                .map(|d| d["version"].as_i64().unwrap())
                .collect();
            let expected: Vec<i64> = (1..=list.len() as i64).rev().collect();
            assert_eq!(
                numbers, expected,
                "{backend} round {round}: no gaps, no half versions"
            );
            // Every stored version is whole: it can be activated.
            for d in list {
                let v = d["version"].as_i64().unwrap();
                let r = admin
                    .call("POST", &format!("/apps/app/deployments/{v}/activate"), None)
                    .await
                    .unwrap();
                assert_eq!(
                    r.status, 200,
                    "{backend} round {round}: version {v}: {}",
                    r.body
                );
            }
            // And the app serves clients.
            let mut ws = server
                .ws("/apps/app/socket.io/?EIO=4&transport=websocket")
                .await
                .unwrap();
            ws.text().await.unwrap();
            ws.send("40").await.unwrap();
            assert!(
                ws.text().await.unwrap().starts_with("40{"),
                "{backend} round {round}"
            );
        }
    }
}
