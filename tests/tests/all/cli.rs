//! The binary as an operator meets it: configuration layers and errors,
//! `eddy config check`, health probes, graceful shutdown.

use std::process::Command;

use eddy_tests::TestServer;

const BIN: &str = env!("CARGO_BIN_EXE_eddy-test-server");

fn eddy(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("EDDY_CONFIG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_check_prints_the_merged_configuration() {
    let dir = std::env::temp_dir().join(format!("eddy-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("eddy.toml");
    std::fs::write(
        &file,
        "ping_interval_ms = 1000\nmax_payload = 5000\n[[apps]]\nslug = \"chat\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = eddy(
        &[
            "config",
            "check",
            "--config",
            file.to_str().unwrap(),
            "--max-payload",
            "7000",
        ],
        &[
            ("EDDY_PING_TIMEOUT_MS", "1234"),
            ("EDDY_MAX_PAYLOAD", "6000"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let table: toml_like::Table = toml_like::parse(&stdout);
    assert_eq!(table.get("ping_interval_ms"), Some("1000"));
    assert_eq!(table.get("ping_timeout_ms"), Some("1234"));
    assert_eq!(table.get("max_payload"), Some("7000"));
    assert_eq!(table.get("listen"), Some("\"127.0.0.1:8080\""));
    assert!(stdout.contains("slug = \"chat\""), "{stdout}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let (code, _, stderr) = eddy(&["config", "check"], &[("EDDY_PING_INTERVAL_MS", "soon")]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("EDDY_PING_INTERVAL_MS: invalid value \"soon\""),
        "{stderr}"
    );

    let dir = std::env::temp_dir().join(format!("eddy-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("eddy.toml");
    std::fs::write(&file, "ping_intervall_ms = 1000\n").unwrap();
    let (code, _, stderr) = eddy(&["serve", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown field `ping_intervall_ms`"),
        "{stderr}"
    );
    let (code, _, stderr) = eddy(&["serve", "--listen", "nowhere"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--listen: invalid value \"nowhere\""),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn probes_answer() {
    let server = TestServer::start(BIN, &[]).await.unwrap();
    let http = server.http();
    assert_eq!(http.get("/healthz").await.unwrap().status, 200);
    assert_eq!(http.get("/readyz").await.unwrap().status, 200);
    let metrics = http.get("/metrics").await.unwrap();
    assert_eq!(metrics.status, 200);
    assert!(metrics.body.contains("# TYPE eddy_sessions gauge"));
    assert!(metrics.body.contains("eddy_sessions{app=\"demo\"} 0"));
}

#[tokio::test]
async fn no_demo_serves_no_app() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let reply = server
        .http()
        .get("/apps/demo/socket.io/?EIO=4&transport=polling")
        .await
        .unwrap();
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn sigterm_closes_sockets_with_the_shutdown_reason() {
    let server = TestServer::start(BIN, &[]).await.unwrap();
    let mut ws = server
        .ws("/apps/demo/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    ws.socketio_handshake().await.unwrap();
    let http = server.http();
    let path = "/apps/demo/socket.io/?EIO=4&transport=polling";
    let sid = eddy_tests::open_sid(&http.get(path).await.unwrap().body);
    let poll = format!("{path}&sid={sid}");
    assert_eq!(http.post(&poll, "40").await.unwrap().body, "ok");
    assert!(http.get(&poll).await.unwrap().body.starts_with("40"));
    let pending = tokio::spawn(async move { http.get(&poll).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    let stopping = tokio::spawn(server.stop());
    assert_eq!(
        ws.closed().await.unwrap(),
        Some((1001, "server shutting down".into()))
    );
    // No close packet for a shutdown: clients are meant to come back.
    let pending = pending.await.unwrap();
    assert_eq!(pending.status, 503, "{}", pending.body);
    assert_eq!(pending.json()["code"], "shutting_down");
    assert_eq!(
        stopping.await.unwrap().unwrap(),
        0,
        "a graceful stop exits 0"
    );
}

/// Just enough TOML reading for `key = value` lines at the top level.
mod toml_like {
    pub(super) struct Table(Vec<(String, String)>);

    impl Table {
        pub(super) fn get(&self, key: &str) -> Option<&str> {
            self.0
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        }
    }

    pub(super) fn parse(text: &str) -> Table {
        Table(
            text.lines()
                .take_while(|l| !l.starts_with('['))
                .filter_map(|l| l.split_once(" = "))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect(),
        )
    }
}
