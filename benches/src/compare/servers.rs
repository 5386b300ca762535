//! The servers under comparison, started one at a time: Eddy (its `demo`
//! app, the `echo` WebAssembly component), the Node Socket.IO peer
//! (`benches/peers/node`) and the socketioxide peer
//! (`benches/peers/socketioxide`, native Rust handlers), alone or as a
//! two-process cluster over Redis (Eddy also over NATS).

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The Engine.IO path both servers serve, so every loadgen line is the same.
pub const PATH: &str = "/apps/demo/socket.io/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Eddy,
    Node,
    Socketioxide,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Eddy => "Eddy",
            Kind::Node => "Node Socket.IO",
            Kind::Socketioxide => "socketioxide",
        }
    }

    /// The name used on the command line and in the JSON report.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Eddy => "eddy",
            Kind::Node => "node",
            Kind::Socketioxide => "socketioxide",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [Kind::Eddy, Kind::Node, Kind::Socketioxide]
            .into_iter()
            .find(|k| k.key() == key)
    }
}

/// Where the programs are.
#[derive(Debug, Clone)]
pub struct Programs {
    pub eddy: PathBuf,
    pub node: PathBuf,
    pub peer_dir: PathBuf,
    /// The socketioxide peer's release binary.
    pub socketioxide: PathBuf,
}

/// One running server process; killed on drop.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub command: String,
    data_dir: Option<PathBuf>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM, then SIGKILL if it lingers.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            self.remove_data();
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.remove_data();
    }

    fn remove_data(&mut self) {
        if let Some(dir) = self.data_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// How a server joins others: a broker URL (Redis, or NATS for Eddy) and
/// a key prefix.
#[derive(Debug, Clone)]
pub struct Cluster<'a> {
    pub broker: &'a str,
    pub prefix: &'a str,
    /// The registry Eddy's nodes share (`postgres://…`); `None`: each node
    /// has its own SQLite registry in its data directory, each with the
    /// same `demo` app (one server per SQLite registry, which it locks).
    pub database: Option<&'a str>,
}

pub fn start(
    kind: Kind,
    programs: &Programs,
    cluster: Option<&Cluster<'_>>,
) -> anyhow::Result<Server> {
    let addr = free_port()?;
    let (mut command, data_dir) = match kind {
        Kind::Eddy => {
            let dir = std::env::temp_dir().join(format!(
                "eddy-compare-{}-{}",
                std::process::id(),
                addr.port()
            ));
            let mut c = Command::new(&programs.eddy);
            c.args(["serve", "--listen", &addr.to_string(), "--log", "warn"])
                .arg("--data-dir")
                .arg(&dir)
                // Set, so the first start does not print a generated one.
                .env("EDDY_ADMIN_TOKEN", ADMIN_TOKEN)
                // Every load-generator client comes from 127.0.0.1: the
                // per-address limits would measure themselves, not the server.
                .env("EDDY_MAX_CONNECTIONS_PER_ADDRESS", "0")
                .env("EDDY_SESSIONS_PER_SECOND_PER_ADDRESS", "0");
            if let Some(cl) = cluster {
                c.args(["--broker", cl.broker, "--broker-prefix", cl.prefix]);
                if let Some(database) = cl.database {
                    c.args(["--database", database]);
                }
            }
            (c, Some(dir))
        }
        Kind::Node => {
            let mut c = Command::new(&programs.node);
            c.arg(programs.peer_dir.join("server.js")).args([
                "--port",
                &addr.port().to_string(),
                "--path",
                PATH,
            ]);
            if let Some(cl) = cluster {
                c.args(["--redis", cl.broker]);
            }
            (c, None)
        }
        Kind::Socketioxide => {
            let mut c = Command::new(&programs.socketioxide);
            c.args(["--port", &addr.port().to_string(), "--path", PATH]);
            if let Some(cl) = cluster {
                c.args(["--redis", cl.broker]);
            }
            (c, None)
        }
    };
    let printed = render_command(&command);
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("start {printed}"))?;
    let mut server = Server {
        child,
        addr,
        command: printed,
        data_dir,
    };
    wait_ready(&mut server)?;
    if kind == Kind::Eddy {
        lift_limits(&server)?;
    }
    Ok(server)
}

/// The admin token Eddy is started with.
const ADMIN_TOKEN: &str = "compare-admin-token";

/// The `demo` app's default limits protect a shared host (100 events/s per
/// socket, 10,000 connections); a benchmark measures the server, so it
/// raises them as an operator would for a busy app. The Node peer has no
/// such limits.
fn lift_limits(server: &Server) -> anyhow::Result<()> {
    let body = r#"{"limits":{"max_events_per_second":100000,"max_connections":1000000}}"#;
    let request = format!(
        "PATCH /admin/api/v1/apps/demo HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let reply = http_exchange(server.addr, &request).context("raise the demo app's limits")?;
    if !reply.starts_with("HTTP/1.1 200") {
        bail!(
            "raising the demo app's limits failed: {}",
            reply.lines().next().unwrap_or_default()
        );
    }
    Ok(())
}

/// A port nobody listens on right now.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// Ready means the app answers an Engine.IO handshake.
fn wait_ready(server: &mut Server) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let request = format!(
        "GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait()? {
            bail!("{} exited with {status}", server.command);
        }
        if let Ok(reply) = http_exchange(server.addr, &request)
            && reply.starts_with("HTTP/1.1 200")
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{} was not ready within 60 s", server.command)
}

fn http_exchange(addr: SocketAddr, request: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(request.as_bytes())?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

/// A command line as it could be typed again from the repository root (env
/// assignments first). `compare` runs there (`benches/compare` moves to it),
/// so paths under the current folder are written relative to it: the report
/// names `target/release/eddy`, not where this checkout happens to be.
pub fn render_command(command: &Command) -> String {
    render_command_from(command, std::env::current_dir().ok().as_deref())
}

fn render_command_from(command: &Command, root: Option<&Path>) -> String {
    let shown = |word: &OsStr| match root.and_then(|r| Path::new(word).strip_prefix(r).ok()) {
        Some(relative) if !relative.as_os_str().is_empty() => {
            relative.to_string_lossy().into_owned()
        }
        _ => word.to_string_lossy().into_owned(),
    };
    let mut parts: Vec<String> = command
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v?.to_str()?)))
        .collect();
    parts.push(shown(command.get_program()));
    parts.extend(command.get_args().map(shown));
    parts.join(" ")
}

/// True when something accepts TCP connections at a broker URL's address
/// (`redis://…` or `nats://…`).
pub fn broker_reachable(url: &str) -> bool {
    let (rest, port) = if let Some(rest) = url.strip_prefix("redis://") {
        (rest, 6379)
    } else if let Some(rest) = url.strip_prefix("nats://") {
        (rest, 4222)
    } else {
        return false;
    };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    use std::net::ToSocketAddrs;
    host.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_paths_under_the_repository_relative_to_it() {
        let mut command = Command::new("/home/ci/eddy/target/release/eddy");
        command
            .args(["serve", "--data-dir", "/tmp/eddy-compare-1-2"])
            .arg("/home/ci/eddy/benches/peers/node/server.js")
            .arg("/home/ci/eddy-other/x")
            .env("EDDY_ADMIN_TOKEN", "t");
        assert_eq!(
            render_command_from(&command, Some(Path::new("/home/ci/eddy"))),
            "EDDY_ADMIN_TOKEN=t target/release/eddy serve --data-dir /tmp/eddy-compare-1-2 \
             benches/peers/node/server.js /home/ci/eddy-other/x"
        );
        // Without a current folder, as given.
        assert_eq!(
            render_command_from(&Command::new("/usr/bin/node"), None),
            "/usr/bin/node"
        );
    }
}
