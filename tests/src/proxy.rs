//! nginx and HAProxy in front of test nodes, run from `deploy/`'s own
//! config files with the test's nodes and port filled in between the
//! markers, each from a scratch folder. nginx can also end TLS, as in front
//! of a hosted server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tokio::process::{Child, Command};

use crate::server::fresh_dir;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Haproxy,
}

pub struct Proxy {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// Clients speak TLS to it ([`Proxy::start_nginx_tls`]).
    tls: bool,
    dir: PathBuf,
    child: Child,
}

/// A file of `deploy/` (the examples the tests start).
pub fn deploy_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(relative)
}

/// Replaces the lines between `# eddy-nodes-begin` and `# eddy-nodes-end`
/// with `nodes`, and the line marked `# eddy-listen` with `listen`.
pub fn fill(template: &str, listen: &str, nodes: &[String]) -> anyhow::Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut skipping = false;
    let (mut saw_listen, mut saw_nodes) = (false, false);
    for line in template.lines() {
        let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        if line.contains("# eddy-nodes-begin") {
            skipping = true;
            saw_nodes = true;
            for node in nodes {
                out.push_str(&format!("{indent}{node}\n"));
            }
            continue;
        }
        if line.contains("# eddy-nodes-end") {
            skipping = false;
            continue;
        }
        if skipping {
            continue;
        }
        if line.contains("# eddy-listen") {
            saw_listen = true;
            out.push_str(&format!("{indent}{listen}\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    ensure!(
        saw_listen && saw_nodes && !skipping,
        "the config lost its markers"
    );
    Ok(out)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Proxy {
    /// Starts the proxy in front of `nodes` and waits until it answers.
    pub async fn start(kind: Kind, nodes: &[SocketAddr]) -> anyhow::Result<Self> {
        let file = match kind {
            Kind::Nginx => "nginx/nginx.conf",
            Kind::Haproxy => "haproxy/haproxy.cfg",
        };
        Self::start_file(kind, file, nodes).await
    }

    /// The tenants' console (`deploy/nginx/console.conf`) in front of the
    /// nodes' admin addresses.
    pub async fn console(admin_nodes: &[SocketAddr]) -> anyhow::Result<Self> {
        Self::start_file(Kind::Nginx, "nginx/console.conf", admin_nodes).await
    }

    /// Starts `deploy/{file}` (a config for `kind`) in front of `nodes`.
    async fn start_file(kind: Kind, file: &str, nodes: &[SocketAddr]) -> anyhow::Result<Self> {
        let dir = fresh_dir(match kind {
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
        });
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let child = match kind {
            Kind::Nginx => nginx(&dir, file, &format!("listen {addr};"), nodes)?,
            Kind::Haproxy => {
                let lines: Vec<String> = nodes
                    .iter()
                    .enumerate()
                    .map(|(i, n)| format!("server n{} {n} check inter 500ms fall 2 rise 2", i + 1))
                    .collect();
                let template = std::fs::read_to_string(deploy_file(file))?;
                let config = fill(&template, &format!("bind {addr}"), &lines)?;
                std::fs::write(dir.join("haproxy.cfg"), config)?;
                Command::new(binary("haproxy")?)
                    .arg("-db")
                    .arg("-f")
                    .arg(dir.join("haproxy.cfg"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .kill_on_drop(true)
                    .spawn()
                    .context("cannot start haproxy")?
            }
        };
        let mut proxy = Self {
            kind,
            addr,
            tls: false,
            dir,
            child,
        };
        proxy.wait_ready().await?;
        Ok(proxy)
    }

    /// Starts nginx in front of `nodes`, ending TLS with `cert` and `key`
    /// (PEM files), and waits until it accepts connections.
    pub async fn start_nginx_tls(
        nodes: &[SocketAddr],
        cert: &Path,
        key: &Path,
    ) -> anyhow::Result<Self> {
        let dir = fresh_dir("nginx-tls");
        let port = free_port()?;
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
        let listen = format!(
            "listen {addr} ssl; ssl_certificate \"{}\"; ssl_certificate_key \"{}\";",
            cert.display(),
            key.display()
        );
        let child = nginx(&dir, "nginx/nginx.conf", &listen, nodes)?;
        let mut proxy = Self {
            kind: Kind::Nginx,
            addr,
            tls: true,
            dir,
            child,
        };
        proxy.wait_ready().await?;
        Ok(proxy)
    }

    /// Until `/healthz` answers through it (over TLS: until it accepts TCP
    /// connections; the harness's client speaks plain HTTP only).
    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let http = crate::Http::new(self.addr);
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait()? {
                bail!("{:?} exited with {status}", self.kind);
            }
            let ready = if self.tls {
                tokio::net::TcpStream::connect(self.addr).await.is_ok()
            } else {
                http.get("/healthz").await.is_ok_and(|r| r.status == 200)
            };
            if ready {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{:?} did not start answering", self.kind)
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn http(&self) -> crate::Http {
        crate::Http::new(self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx from `deploy/{file}` in `dir`, listening as `listen` says, in
/// front of `nodes`.
fn nginx(dir: &Path, file: &str, listen: &str, nodes: &[SocketAddr]) -> anyhow::Result<Child> {
    let lines: Vec<String> = nodes
        .iter()
        .map(|n| format!("server {n} max_fails=1 fail_timeout=5s;"))
        .collect();
    let template = std::fs::read_to_string(deploy_file(file))?;
    let config = fill(&template, listen, &lines)?;
    std::fs::create_dir_all(dir.join("tmp"))?;
    std::fs::write(dir.join("nginx.conf"), config)?;
    Command::new(binary("nginx")?)
        .arg("-p")
        .arg(dir)
        .args(["-e", "error.log", "-c", "nginx.conf", "-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start nginx")
}

/// A proxy binary from Debian's packages (`.ci/run` installs them).
fn binary(name: &str) -> anyhow::Result<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!("{name} is not installed: apt-get install {name} (./scripts/test does, as root)")
}
