//! A real `eddy` process on 127.0.0.1 with a port chosen by the OS.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::Notify;

use crate::{Http, PING_INTERVAL_MS, PING_TIMEOUT_MS, RawWs, WAIT};

pub struct TestServer {
    child: Child,
    /// Clients' address.
    pub addr: SocketAddr,
    /// The admin UI's, the admin API's and `/metrics`'s: `addr` unless the
    /// server was started with `--admin-listen`.
    pub admin_addr: SocketAddr,
    /// What the server wrote to stderr, when started with [`TestServer::start_logged`].
    log: Option<ServerLog>,
    /// The server's own data directory, removed when the server is dropped
    /// (unless [`TestServer::keep_data`] was called, for a restart).
    pub data_dir: PathBuf,
    keep_data: bool,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if !self.keep_data {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// A fresh, empty directory for one server.
pub fn fresh_dir(tag: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("eddy-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

impl TestServer {
    /// Starts `bin` with the test defaults (fast heartbeat, 1 s connect
    /// timeout, no config file) plus `args`, and waits until it listens.
    pub async fn start(bin: &str, args: &[&str]) -> anyhow::Result<Self> {
        Self::start_on(bin, "127.0.0.1:0", args).await
    }

    /// Starts with a config file holding `toml` (apps, limits, …).
    pub async fn start_with_config(bin: &str, toml: &str, args: &[&str]) -> anyhow::Result<Self> {
        let data_dir = fresh_dir("config");
        let file = data_dir.join("eddy.toml");
        std::fs::write(&file, toml)?;
        let mut all = vec!["--config", file.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        Self::launch(bin, "127.0.0.1:0", &all, data_dir, &[]).await
    }

    pub async fn start_on(bin: &str, listen: &str, args: &[&str]) -> anyhow::Result<Self> {
        Self::launch(bin, listen, args, fresh_dir("server"), &[]).await
    }

    /// Starts with stderr collected instead of passed through (the tests
    /// of what the server logs): see [`TestServer::log`].
    pub async fn start_logged(
        bin: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let log = ServerLog::default();
        Self::launch_with(
            bin,
            "127.0.0.1:0",
            args,
            fresh_dir("server"),
            env,
            Some(log),
        )
        .await
    }

    /// Starts with extra environment variables (`EDDY_*` settings).
    pub async fn start_with_env(
        bin: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::launch(bin, "127.0.0.1:0", args, fresh_dir("server"), env).await
    }

    /// Starts on an existing data directory (a restart keeps the registry).
    pub async fn start_in(bin: &str, data_dir: PathBuf, args: &[&str]) -> anyhow::Result<Self> {
        Self::launch(bin, "127.0.0.1:0", args, data_dir, &[]).await
    }

    /// Starts on an existing data directory with extra environment
    /// variables (a restart under other settings).
    pub async fn start_in_with_env(
        bin: &str,
        data_dir: PathBuf,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::launch(bin, "127.0.0.1:0", args, data_dir, env).await
    }

    /// Starts on `data_dir` with `admin_token` as `EDDY_ADMIN_TOKEN` instead
    /// of the test default.
    pub async fn start_in_with_token(
        bin: &str,
        data_dir: PathBuf,
        admin_token: &str,
        args: &[&str],
    ) -> anyhow::Result<Self> {
        let env = [("EDDY_ADMIN_TOKEN", admin_token)];
        Self::launch(bin, "127.0.0.1:0", args, data_dir, &env).await
    }

    /// `env` comes last: it may override the test defaults (the admin token,
    /// the per-address limits).
    async fn launch(
        bin: &str,
        listen: &str,
        args: &[&str],
        data_dir: PathBuf,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        Self::launch_with(bin, listen, args, data_dir, env, None).await
    }

    async fn launch_with(
        bin: &str,
        listen: &str,
        args: &[&str],
        data_dir: PathBuf,
        env: &[(&str, &str)],
        log: Option<ServerLog>,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(Path::new(bin));
        // The test's own `--log` (a logged server's tests of what it never
        // logs) replaces the quiet default.
        let log_level = if args.contains(&"--log") {
            &[][..]
        } else {
            &["--log", "warn"][..]
        };
        // Short heartbeats by default (tests of them finish fast); a test
        // that gives its own keeps them.
        let (interval, timeout) = (PING_INTERVAL_MS.to_string(), PING_TIMEOUT_MS.to_string());
        let heartbeat = if args.contains(&"--ping-timeout-ms") {
            Vec::new()
        } else {
            vec![
                "--ping-interval-ms",
                &interval,
                "--ping-timeout-ms",
                &timeout,
            ]
        };
        command
            .args(["serve", "--listen", listen])
            .args(log_level)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(heartbeat)
            .args(["--connect-timeout-ms", "1000"])
            .args(args)
            .env_remove("EDDY_CONFIG")
            .env("EDDY_ADMIN_TOKEN", crate::ADMIN_TOKEN)
            // Every test client comes from 127.0.0.1: no per-address limits
            // unless a test sets them (`start_with_env`).
            .env("EDDY_MAX_CONNECTIONS_PER_ADDRESS", "0")
            .env("EDDY_SESSIONS_PER_SECOND_PER_ADDRESS", "0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(if log.is_some() {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {bin}"))?;
        if let Some(log) = &log {
            log.collect(child.stderr.take().expect("piped stderr"));
        }
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        // The admin address comes first, when there is one.
        let (addr, admin_addr) = tokio::time::timeout(WAIT * 2, async {
            let mut admin = None;
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("eddy admin listening on http://") {
                    admin = Some(url.parse::<SocketAddr>()?);
                }
                if let Some(url) = line.strip_prefix("eddy listening on http://") {
                    let addr = url.parse::<SocketAddr>()?;
                    return Ok((addr, admin.unwrap_or(addr)));
                }
            }
            bail!("eddy exited before listening")
        })
        .await
        .context("eddy did not start in time")??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            addr,
            admin_addr,
            log,
            data_dir,
            keep_data: false,
        })
    }

    /// What the server has written to stderr (started with [`TestServer::start_logged`]).
    pub fn log(&self) -> &ServerLog {
        self.log
            .as_ref()
            .expect("a server started with TestServer::start_logged")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn http(&self) -> Http {
        Http::new(self.addr)
    }

    /// A raw websocket to `path_and_query` (e.g. `/engine.io/?EIO=4&transport=websocket`).
    pub async fn ws(&self, path_and_query: &str) -> anyhow::Result<RawWs> {
        RawWs::connect(&format!("ws://{}{}", self.addr, path_and_query)).await
    }

    /// A raw websocket client of an app that has asked to join `/`, and the
    /// server's answer (a CONNECT `40{…}` or a CONNECT_ERROR `44{…}`).
    pub async fn join_app(&self, app: &str) -> anyhow::Result<(RawWs, String)> {
        let mut ws = self
            .ws(&format!("/apps/{app}/socket.io/?EIO=4&transport=websocket"))
            .await?;
        ws.text().await?;
        ws.send("40").await?;
        let reply = ws.text().await?;
        Ok((ws, reply))
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// CPU time the server process has used (user + system), from
    /// `/proc/PID/stat`, in clock ticks (100 per second on Linux).
    pub fn cpu_ticks(&self) -> anyhow::Result<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // The command name (field 2) may hold spaces: count after its ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .context("a /proc stat line")?
            .1
            .split_whitespace()
            .collect();
        // utime and stime are fields 14 and 15; fields[0] is field 3.
        let ticks = |n: usize| -> anyhow::Result<u64> {
            Ok(fields
                .get(n - 3)
                .context("a short /proc stat line")?
                .parse()?)
        };
        Ok(ticks(14)? + ticks(15)?)
    }

    /// The share of one core the server used over the next `window`
    /// (1.0: one core busy all along).
    pub async fn cpu_share(&self, window: Duration) -> anyhow::Result<f64> {
        const TICKS_PER_SECOND: f64 = 100.0;
        let before = self.cpu_ticks()?;
        let started = std::time::Instant::now();
        tokio::time::sleep(window).await;
        let used = (self.cpu_ticks()? - before) as f64 / TICKS_PER_SECOND;
        Ok(used / started.elapsed().as_secs_f64())
    }

    /// Keeps the data directory when this server goes away (to restart on it).
    pub fn keep_data(&mut self) -> PathBuf {
        self.keep_data = true;
        self.data_dir.clone()
    }

    /// SIGKILL: no graceful anything, as in a crash.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// SIGTERM, then the exit code.
    pub async fn stop(mut self) -> anyhow::Result<i32> {
        let pid = self.pid();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill failed");
        let status = tokio::time::timeout(WAIT * 2, self.child.wait()).await??;
        Ok(status.code().unwrap_or(-1))
    }

    /// The admin API, authenticated with the test admin token.
    pub fn admin(&self) -> crate::Admin {
        crate::Admin::new(self.admin_addr)
    }

    /// Plain HTTP to the admin address (the admin UI, `/metrics`).
    pub fn admin_http(&self) -> Http {
        Http::new(self.admin_addr)
    }

    /// Prometheus text from `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self.admin_http().get("/metrics").await?.body)
    }

    /// One sample from `/metrics`, e.g. `eddy_sessions{app="demo"}`.
    pub async fn metric(&self, series: &str) -> anyhow::Result<u64> {
        let text = self.metrics().await?;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("no sample {series} in:\n{text}"))
    }

    /// Waits (up to a few seconds) until a sample reaches `want`, for counters
    /// bumped by teardown that finishes after the client already saw the close.
    pub async fn metric_reaches(&self, series: &str, want: u64) -> anyhow::Result<u64> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.metric(series).await.unwrap_or(0);
            if got >= want || tokio::time::Instant::now() > deadline {
                return Ok(got);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A server's stderr, collected as it comes (and to the end once it exits).
#[derive(Clone, Default)]
pub struct ServerLog {
    text: Arc<Mutex<String>>,
    /// Told of every line, and of the end.
    changed: Arc<Notify>,
    ended: Arc<AtomicBool>,
}

impl ServerLog {
    fn collect(&self, stderr: ChildStderr) {
        let log = self.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                {
                    let mut text = log.text.lock();
                    text.push_str(&line);
                    text.push('\n');
                }
                log.changed.notify_waiters();
            }
            log.ended.store(true, Ordering::Release);
            log.changed.notify_waiters();
        });
    }

    /// Everything so far.
    pub fn text(&self) -> String {
        self.text.lock().clone()
    }

    /// Waits (within [`WAIT`]) until a line contains `needle`; that line.
    pub async fn line_with(&self, needle: &str) -> anyhow::Result<String> {
        self.until(|text| text.lines().find(|l| l.contains(needle)).map(str::to_owned))
            .await
            .with_context(|| format!("no line with {needle:?} in:\n{}", self.text()))
    }

    /// Waits (within [`WAIT`]) until the server closed its stderr (it
    /// exited, as after [`TestServer::stop`]); the whole log.
    pub async fn to_end(&self) -> anyhow::Result<String> {
        // The flag before the text: once it is set, the text is complete.
        self.until(|_| self.ended.load(Ordering::Acquire).then(|| self.text()))
            .await
            .context("the server's stderr did not end")
    }

    async fn until<T>(&self, mut found: impl FnMut(&str) -> Option<T>) -> anyhow::Result<T> {
        tokio::time::timeout(WAIT, async {
            loop {
                // Registered before looking, so no line slips in between.
                let changed = self.changed.notified();
                if let Some(found) = found(&self.text()) {
                    return found;
                }
                changed.await;
            }
        })
        .await
        .map_err(anyhow::Error::from)
    }
}
