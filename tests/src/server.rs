//! A real `eddy` process on 127.0.0.1 with a port chosen by the OS.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::{Http, PING_INTERVAL_MS, PING_TIMEOUT_MS, RawWs, WAIT};

pub struct TestServer {
    child: Child,
    pub addr: SocketAddr,
}

impl TestServer {
    /// Starts `bin` with the test defaults (fast heartbeat, 1 s connect
    /// timeout, no config file) plus `args`, and waits until it listens.
    pub async fn start(bin: &str, args: &[&str]) -> anyhow::Result<Self> {
        Self::start_on(bin, "127.0.0.1:0", args).await
    }

    pub async fn start_on(bin: &str, listen: &str, args: &[&str]) -> anyhow::Result<Self> {
        let mut command = Command::new(Path::new(bin));
        command
            .args(["serve", "--listen", listen, "--log", "warn"])
            .args(["--ping-interval-ms", &PING_INTERVAL_MS.to_string()])
            .args(["--ping-timeout-ms", &PING_TIMEOUT_MS.to_string()])
            .args(["--connect-timeout-ms", "1000"])
            .args(args)
            .env_remove("EDDY_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {bin}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let addr = tokio::time::timeout(WAIT * 2, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("eddy listening on http://") {
                    return Ok(url.parse::<SocketAddr>()?);
                }
            }
            bail!("eddy exited before listening")
        })
        .await
        .context("eddy did not start in time")??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child, addr })
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

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
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

    /// Prometheus text from `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        Ok(self.http().get("/metrics").await?.body)
    }

    /// One sample from `/metrics`, e.g. `eddy_sessions{app="demo"}`.
    pub async fn metric(&self, series: &str) -> anyhow::Result<u64> {
        let text = self.metrics().await?;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("no sample {series} in:\n{text}"))
    }
}
