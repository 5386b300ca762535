//! One server per SQLite data directory: a second one refuses to start and
//! names the process that holds it.

use std::time::Duration;

use eddy_tests::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_refuses_to_start() {
    let mut first = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let dir = first.keep_data();
    let second = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-demo",
            "--data-dir",
        ])
        .arg(&dir)
        .env("EDDY_ADMIN_TOKEN", eddy_tests::ADMIN_TOKEN)
        .env_remove("EDDY_CONFIG")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), second)
        .await
        .expect("the second server should exit, not serve")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("pid {}", first.pid())) && stderr.contains("in use"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    // The first one is untouched and keeps serving.
    assert_eq!(
        first
            .admin()
            .call("GET", "/apps", None)
            .await
            .unwrap()
            .status,
        200
    );

    // Once it is gone (even killed), the directory is free again.
    first.kill().await.unwrap();
    let third = TestServer::start_in(BIN, dir.clone(), &["--no-demo"])
        .await
        .unwrap();
    assert_eq!(
        third
            .admin()
            .call("GET", "/apps", None)
            .await
            .unwrap()
            .status,
        200
    );
    drop(third);
    std::fs::remove_dir_all(dir).ok();
}
