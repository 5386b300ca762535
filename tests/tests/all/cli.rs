//! The binary as an operator meets it: configuration layers and errors,
//! `eddy config check`, health probes, graceful shutdown, and the admin
//! commands after `eddy login` (stored credentials, roles, logs), also over
//! HTTPS through nginx (which needs nginx and the openssl command line).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use eddy_tests::plugins::ECHO;
use eddy_tests::proxy::Proxy;
use eddy_tests::{ADMIN_TOKEN, TestServer, WAIT};
use serde_json::Value;
use tokio::io::AsyncBufReadExt as _;

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

/// The admin CLI as a person runs it after `eddy login`: the credentials
/// file is its own, and nothing comes from the test's environment.
struct Login {
    file: PathBuf,
}

impl Login {
    fn new() -> Self {
        let dir = eddy_tests::server::fresh_dir("credentials");
        Self {
            file: dir.join("eddy").join("credentials.toml"),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("EDDY_CREDENTIALS", &self.file)
            .env_remove("EDDY_CONFIG")
            .env_remove("EDDY_ADMIN_TOKEN")
            .env_remove("EDDY_SERVER")
            .env_remove("EDDY_CA_FILE");
        command
    }

    /// Runs `eddy ARGS` with `stdin` as its input; (success, stdout, stderr).
    fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: &str) -> (bool, String, String) {
        let mut command = self.command(args);
        command
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        self.run_with(args, &[], "")
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.run(args);
        assert!(ok, "eddy {args:?} failed: {err}");
        out
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("eddy {args:?}: {e}: {out}"))
    }

    fn logged_in(server: &TestServer) -> Self {
        let login = Self::new();
        login.ok(&["login", "--server", &server.url(), "--token", ADMIN_TOKEN]);
        login
    }
}

impl Drop for Login {
    fn drop(&mut self) {
        if let Some(dir) = self.file.parent().and_then(|d| d.parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[tokio::test]
async fn login_stores_a_private_credential_that_the_other_commands_use() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let url = server.url();
    let cli = Login::new();

    // A token the server refuses is not stored.
    let (ok, _, stderr) = cli.run_with(&["login", "--server", &url], &[], "et_not-a-token\n");
    assert!(!ok && stderr.contains("cannot sign in to"), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!cli.file.exists());

    // The token typed on stdin, as a person would.
    let (ok, out, stderr) = cli.run_with(
        &["login", "--server", &url],
        &[],
        &format!("{ADMIN_TOKEN}\n"),
    );
    assert!(ok, "{stderr}");
    assert!(
        out.contains(&format!("signed in to {url} as")) && out.contains("platform-admin"),
        "{out}"
    );
    let mode = std::fs::metadata(&cli.file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let stored = std::fs::read_to_string(&cli.file).unwrap();
    assert!(
        stored.contains(ADMIN_TOKEN) && stored.contains(&url),
        "{stored}"
    );

    // From here on: no --server, no --token, no EDDY_ADMIN_TOKEN.
    let created = cli.ok(&["app", "create", "chat"]);
    assert!(
        created.contains("public key") && created.contains("grants nothing"),
        "{created}"
    );
    let deployed = cli.ok(&["deploy", "--app", "chat", ECHO.path().to_str().unwrap()]);
    assert!(deployed.contains("version 1 of chat is live"), "{deployed}");
    let me = cli.json(&["whoami", "--json"]);
    assert_eq!(me["role"], "platform-admin", "{me}");
    assert!(me["tenant"].is_null(), "{me}");
    let permissions = me["permissions"].as_array().unwrap();
    assert!(permissions.iter().any(|p| p == "tenants:manage"), "{me}");
    let versions = cli.json(&["deployments", "--app", "chat", "--json"]);
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    let apps = cli.ok(&["app", "list"]);
    let header = apps.lines().next().unwrap();
    let row = apps.lines().find(|l| l.starts_with("chat ")).expect(&apps);
    // Aligned: each column starts where its title does.
    let tenant_at = header.find("TENANT").unwrap();
    assert!(row[tenant_at..].starts_with("default "), "{apps}");

    // A flag still beats the file: a wrong token on the command line is used.
    let (ok, _, stderr) = cli.run(&["whoami", "--token", "et_wrong"]);
    assert!(!ok && stderr.contains("HTTP 401"), "{stderr}");

    let (ok, out, _) = cli.run(&["logout"]);
    assert!(ok && out.contains("signed out"), "{out}");
    assert!(!cli.file.exists());
    let (ok, _, stderr) = cli.run(&["whoami"]);
    assert!(!ok && stderr.contains("eddy login"), "{stderr}");
}

#[tokio::test]
async fn a_deployer_token_made_with_the_cli_deploys_only_its_app() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let url = server.url();
    let admin = Login::logged_in(&server);
    let wasm = ECHO.path().to_str().unwrap();

    admin.ok(&[
        "tenant",
        "create",
        "acme",
        "--name",
        "Acme",
        "--max-apps",
        "2",
    ]);
    let tenants = admin.json(&["tenant", "list", "--json"]);
    let acme = tenants
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "acme")
        .expect("acme is listed");
    assert_eq!(acme["quota"]["max_apps"], 2, "{tenants}");
    admin.ok(&[
        "app",
        "create",
        "news",
        "--tenant",
        "acme",
        "--max-connections",
        "500",
    ]);
    admin.ok(&["app", "create", "chat"]);
    let quota = admin.ok(&["tenant", "quota", "acme"]);
    let apps_line = quota
        .lines()
        .find(|l| l.starts_with("max_apps"))
        .expect(&quota);
    assert_eq!(
        apps_line.split_whitespace().collect::<Vec<_>>(),
        ["max_apps", "2", "1"]
    );
    let raised = admin.json(&["tenant", "quota", "acme", "--max-apps", "3", "--json"]);
    assert_eq!(raised["quota"]["max_apps"], 3, "{raised}");

    let (ok, token, stderr) = admin.run(&[
        "token",
        "create",
        "--label",
        "ci",
        "--role",
        "deployer",
        "--tenant",
        "acme",
        "--app",
        "news",
        "--expires-in",
        "1d",
    ]);
    assert!(ok, "{stderr}");
    let token = token.trim().to_owned();
    let list = admin.ok(&["token", "list"]);
    let line = list.lines().find(|l| l.ends_with(" ci")).expect(&list);
    assert!(
        line.contains("deployer") && line.contains("acme: news"),
        "{list}"
    );

    // The deployer's token in the environment beats the stored admin login.
    let deployer = |args: &[&str]| {
        admin.run_with(
            args,
            &[
                ("EDDY_ADMIN_TOKEN", token.as_str()),
                ("EDDY_SERVER", url.as_str()),
            ],
            "",
        )
    };
    let (ok, me, stderr) = deployer(&["whoami", "--json"]);
    assert!(ok, "{stderr}");
    let me: Value = serde_json::from_str(&me).unwrap();
    assert_eq!(
        (me["role"].as_str(), me["tenant"].as_str()),
        (Some("deployer"), Some("acme"))
    );
    assert_eq!(me["apps"], serde_json::json!(["news"]));
    let (ok, out, stderr) = deployer(&["deploy", "--app", "news", wasm]);
    assert!(ok && out.contains("version 1 of news is live"), "{stderr}");
    let (ok, _, stderr) = deployer(&["deploy", "--app", "chat", wasm]);
    assert!(
        !ok && stderr.contains("HTTP 404"),
        "another app is out of sight: {stderr}"
    );
    let (ok, _, stderr) = deployer(&["app", "delete", "news", "--yes"]);
    assert!(
        !ok && stderr.contains("HTTP 403") && stderr.contains("apps:delete"),
        "{stderr}"
    );
    let (ok, _, stderr) = deployer(&["tenant", "list"]);
    assert!(!ok && stderr.contains("HTTP 403"), "{stderr}");
}

#[tokio::test]
async fn logs_show_recent_lines_then_follow_new_ones() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let cli = Login::logged_in(&server);
    let wasm = ECHO.path().to_str().unwrap();
    cli.ok(&["app", "create", "chat"]);
    cli.ok(&["deploy", "--app", "chat", wasm]);
    let lines = cli.json(&["logs", "--app", "chat", "--json"]);
    assert!(
        lines.as_array().unwrap().iter().any(|l| l["message"]
            .as_str()
            .unwrap()
            .starts_with("version 1 is live")),
        "{lines}"
    );
    let text = cli.ok(&["logs", "--app", "chat"]);
    assert!(text.contains("  info   version 1 is live"), "{text}");

    follow_sees_the_next_version(&cli, wasm).await;
}

/// `eddy logs --app chat --follow` prints version 1 going live (from the
/// recent lines), then version 2, deployed while it follows.
async fn follow_sees_the_next_version(cli: &Login, wasm: &str) {
    let mut follow =
        tokio::process::Command::from(cli.command(&["logs", "--app", "chat", "--follow"]));
    let mut follow = follow
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    // The recent lines come after the stream is open: a line written from
    // now on (through the stream, not the recent lines) is not missed.
    assert!(next_line(&mut out).await.contains("version 1 is live"));
    cli.ok(&["deploy", "--app", "chat", wasm]);
    let line = next_line(&mut out).await;
    assert!(line.contains("  info   version 2 is live"), "{line}");
    follow.kill().await.unwrap();
}

/// The next line `eddy logs --follow` prints, within [`WAIT`].
async fn next_line(out: &mut tokio::io::Lines<impl tokio::io::AsyncBufRead + Unpin>) -> String {
    tokio::time::timeout(WAIT, out.next_line())
        .await
        .expect("a log line in time")
        .unwrap()
        .expect("the stream is open")
}

/// A self-signed certificate for 127.0.0.1 and its key, by the openssl
/// command line. Not a CA certificate (openssl's default): rustls refuses
/// one as a server's own.
fn self_signed_for_127_0_0_1(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec"])
        .args([
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command line (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

#[tokio::test]
async fn the_admin_commands_reach_a_server_behind_https_with_its_ca_file() {
    let server = TestServer::start(BIN, &["--no-demo"]).await.unwrap();
    let dir = eddy_tests::server::fresh_dir("tls");
    let (cert, key) = self_signed_for_127_0_0_1(&dir);
    let proxy = Proxy::start_nginx_tls(&[server.addr], &cert, &key)
        .await
        .unwrap();
    let url = proxy.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let cert = cert.to_str().unwrap();
    let cli = Login::new();

    // Not signed by a CA this machine trusts: refused, and the error says
    // what to give. (A machine with no CA at all says that, also naming
    // --ca-file.)
    let (ok, _, stderr) = cli.run(&["whoami", "--server", &url, "--token", ADMIN_TOKEN]);
    assert!(!ok, "an untrusted certificate was accepted");
    assert!(
        stderr.contains("is not trusted") || stderr.contains("no certificate authority to trust"),
        "{stderr}"
    );
    assert!(stderr.contains("--ca-file"), "{stderr}");

    // Trusted with --ca-file, or with EDDY_CA_FILE.
    let me = cli.json(&[
        "whoami",
        "--server",
        &url,
        "--token",
        ADMIN_TOKEN,
        "--ca-file",
        cert,
        "--json",
    ]);
    assert_eq!(me["role"], "platform-admin", "{me}");
    let (ok, out, stderr) = cli.run_with(
        &["whoami", "--server", &url, "--token", ADMIN_TOKEN],
        &[("EDDY_CA_FILE", cert)],
        "",
    );
    assert!(ok && out.contains("platform-admin"), "{stderr}");

    // `eddy login` stores the CA file with the server; the other commands
    // use both, server-sent events included.
    let (ok, _, stderr) = cli.run(&[
        "login",
        "--server",
        &url,
        "--token",
        ADMIN_TOKEN,
        "--ca-file",
        cert,
    ]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("with the CA file"), "{stderr}");
    let stored = std::fs::read_to_string(&cli.file).unwrap();
    assert!(
        stored.contains("ca_file") && stored.contains(cert),
        "{stored}"
    );
    let wasm = ECHO.path().to_str().unwrap();
    cli.ok(&["app", "create", "chat"]);
    cli.ok(&["deploy", "--app", "chat", wasm]);
    follow_sees_the_next_version(&cli, wasm).await;
    drop(proxy);
    std::fs::remove_dir_all(dir).ok();
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

/// The tenants release's "done when", through the CLI: a platform admin
/// creates two tenants and an owner token for each; each owner signs in
/// with `eddy login`, creates and deploys its own app, and can neither see
/// nor touch the other's (which answers as if it did not exist).
#[tokio::test]
async fn two_tenant_owners_sign_in_with_the_cli_and_keep_to_their_own_apps() {
    for (registry, database) in eddy_tests::registries().await {
        let mut args = vec!["--no-demo"];
        if let Some(database) = &database {
            args.extend(["--database", database]);
        }
        let server = TestServer::start(BIN, &args).await.unwrap();
        eprintln!("two tenants through the CLI on {registry}");
        two_tenants_through_the_cli(&server);
    }
}

fn two_tenants_through_the_cli(server: &TestServer) {
    let url = server.url();
    let admin = Login::logged_in(server);
    let wasm = ECHO.path().to_str().unwrap();
    let mut owners = Vec::new();
    for tenant in ["acme", "globex"] {
        admin.ok(&["tenant", "create", tenant]);
        let label = format!("owner of {tenant}");
        let token = admin.ok(&[
            "token",
            "create",
            "--label",
            &label,
            "--role",
            "tenant-owner",
            "--tenant",
            tenant,
        ]);
        let owner = Login::new();
        owner.ok(&["login", "--server", &url, "--token", token.trim()]);
        owners.push((tenant, owner));
    }
    for (tenant, owner) in &owners {
        let me = owner.json(&["whoami", "--json"]);
        assert_eq!(me["role"], "tenant-owner", "{me}");
        assert_eq!(me["tenant"], *tenant, "{me}");
        let app = format!("{tenant}-chat");
        owner.ok(&["app", "create", &app]);
        let deployed = owner.ok(&["deploy", "--app", &app, wasm]);
        assert!(
            deployed.contains(&format!("version 1 of {app} is live")),
            "{deployed}"
        );
    }
    let (acme, globex) = (&owners[0].1, &owners[1].1);
    let listed = acme.json(&["app", "list", "--json"]);
    let slugs: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["acme-chat"], "{listed}");
    let touches: [&[&str]; 5] = [
        &["app", "show", "globex-chat"],
        &["deployments", "--app", "globex-chat"],
        &["deploy", "--app", "globex-chat", wasm],
        &["rollback", "--app", "globex-chat"],
        &["app", "delete", "globex-chat", "--yes"],
    ];
    for args in touches {
        let (ok, _, stderr) = acme.run(args);
        assert!(!ok, "{args:?} worked across tenants");
        assert!(stderr.contains("HTTP 404"), "{args:?}: {stderr}");
        assert!(stderr.contains("not found"), "{args:?}: {stderr}");
    }
    let (ok, _, stderr) = acme.run(&["tenant", "quota", "globex"]);
    assert!(!ok && stderr.contains("HTTP 404"), "{stderr}");
    // Globex's app is as its owner left it.
    let versions = globex.json(&["deployments", "--app", "globex-chat", "--json"]);
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");

    // The platform's ceilings are the platform admin's to read.
    let platform = admin.ok(&["platform"]);
    let row = platform
        .lines()
        .find(|l| l.starts_with("tenant max_apps "))
        .expect(&platform);
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["tenant", "max_apps", "0", "100000", "10"],
        "{platform}"
    );
    let (ok, _, stderr) = acme.run(&["platform"]);
    assert!(!ok && stderr.contains("platform:read"), "{stderr}");
    // A tenant is deleted once it has no apps, and its tokens with it.
    let (ok, _, stderr) = admin.run(&["tenant", "delete", "globex", "--yes"]);
    assert!(!ok && stderr.contains("still has 1 app"), "{stderr}");
    globex.ok(&["app", "delete", "globex-chat", "--yes"]);
    let (ok, _, stderr) = admin.run(&["tenant", "delete", "globex"]);
    assert!(!ok && stderr.contains("--yes"), "{stderr}");
    let deleted = admin.ok(&["tenant", "delete", "globex", "--yes"]);
    assert!(deleted.contains("deleted tenant globex"), "{deleted}");
    let (ok, _, stderr) = globex.run(&["whoami"]);
    assert!(!ok && stderr.contains("HTTP 401"), "{stderr}");
}
