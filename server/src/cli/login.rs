//! `eddy login`, `eddy logout`, `eddy whoami`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::Value;

use super::apps::str_cell;
use super::client::AdminClient;
use super::credentials::{self, Credentials};
use super::remote::{Remote, ca_file_of, same_server, server_of, token_of};
use super::table::{Output, Table, time_cell};

#[derive(Args)]
pub(super) struct LoginArgs {
    /// The server's base URL [env: EDDY_SERVER; default: the one stored by
    /// the last login, else http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// The admin token [env: EDDY_ADMIN_TOKEN; default: read from stdin,
    /// which keeps it out of the process list and the shell's history].
    #[arg(long)]
    token: Option<String>,
    /// A PEM file of certificate authorities to trust besides this
    /// machine's, for an https:// server whose certificate a private CA
    /// signed; stored (as an absolute path) for the other commands [env:
    /// EDDY_CA_FILE; default: the one stored by the last login to this
    /// server].
    #[arg(long, value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// Longest to wait for the server's answer, in seconds.
    #[arg(long, env = "EDDY_CLIENT_TIMEOUT_SECS", default_value_t = 120)]
    timeout_secs: u64,
}

pub(super) fn login(args: LoginArgs) -> anyhow::Result<()> {
    let path = credentials::path()?;
    // The stored file gives the server (and that server's CA file) only: a
    // login checks a token it was given, never the one it is about to
    // replace.
    let stored = credentials::read(&path).ok().flatten();
    let var = |name: &str| std::env::var(name).ok();
    let server = server_of(args.server.as_deref(), var, stored.as_ref());
    let ca_file = match ca_file_of(args.ca_file.as_ref(), var) {
        Some(path) => Some(std::path::absolute(&path).with_context(|| {
            format!("cannot make the CA file path {} absolute", path.display())
        })?),
        None => stored
            .as_ref()
            .filter(|c| same_server(&c.server, &server))
            .and_then(|c| c.ca_file.clone()),
    };
    let token = match token_of(args.token.as_deref(), var) {
        Some(token) => token,
        None => prompt_token(&server)?,
    };
    let client = AdminClient::new(
        &server,
        token.clone(),
        ca_file.as_deref(),
        std::time::Duration::from_secs(args.timeout_secs),
    )?;
    let me = client
        .get("/whoami")
        .with_context(|| format!("cannot sign in to {server}"))?;
    let trusting = ca_file
        .as_ref()
        .map(|ca| format!(" (with the CA file {})", ca.display()))
        .unwrap_or_default();
    credentials::write(
        &path,
        &Credentials {
            server: server.clone(),
            token,
            ca_file,
        },
    )?;
    println!("signed in to {} as {}", server, describe(&me));
    eprintln!("credentials stored in {}{trusting}", path.display());
    Ok(())
}

/// Reads the token as one line of stdin (a prompt first when a person is
/// typing).
fn prompt_token(server: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    if stdin.is_terminal() {
        eprint!("admin token for {server} (not shown as you type): ");
        std::io::stderr().flush()?;
        let quiet = NoEcho::new();
        stdin.lock().read_line(&mut line)?;
        drop(quiet);
        eprintln!();
    } else {
        stdin.lock().read_line(&mut line)?;
    }
    let token = line.trim().to_owned();
    anyhow::ensure!(
        !token.is_empty(),
        "no token: give --token, set EDDY_ADMIN_TOKEN, or type it when asked"
    );
    Ok(token)
}

/// The terminal's echo, off until this is dropped, so a typed token does
/// not stay on the screen. (An interrupt at the prompt ends the process
/// before this is dropped and leaves echo off; `stty echo` turns it back on.)
struct NoEcho {
    saved: rustix::termios::Termios,
}

impl NoEcho {
    fn new() -> Option<Self> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok()?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        tcsetattr(&stdin, OptionalActions::Now, &quiet).ok()?;
        Some(Self { saved })
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        let _ =
            rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &self.saved);
    }
}

pub(super) fn logout() -> anyhow::Result<()> {
    let path = credentials::path()?;
    let stored = credentials::read(&path).ok().flatten();
    if credentials::remove(&path)? {
        let server = stored.map_or_else(|| "the server".to_owned(), |c| c.server);
        println!("signed out of {server} (deleted {})", path.display());
    } else {
        println!("not signed in ({} does not exist)", path.display());
    }
    Ok(())
}

pub(super) fn whoami(remote: &Remote, output: Output) -> anyhow::Result<()> {
    let me = remote.client()?.get("/whoami")?;
    output.print(&me, whoami_text);
    Ok(())
}

/// `alice (tenant-owner of acme, token 7)`.
fn describe(me: &Value) -> String {
    let role = str_cell(&me["role"]);
    let scope = match me["tenant"].as_str() {
        Some(tenant) => format!(" of {tenant}"),
        None => String::new(),
    };
    format!(
        "{} ({role}{scope}, token {})",
        str_cell(&me["label"]),
        me["id"]
    )
}

fn whoami_text(me: &Value) -> String {
    let mut fields = Table::fields();
    fields
        .field("label", str_cell(&me["label"]))
        .field("token id", me["id"].to_string())
        .field("role", str_cell(&me["role"]))
        .field(
            "tenant",
            me["tenant"]
                .as_str()
                .unwrap_or("none (platform)")
                .to_owned(),
        )
        .field("apps", apps_scope(me))
        .field(
            "expires",
            if me["expires_at"].is_null() {
                "never".to_owned()
            } else {
                format!("{} UTC", time_cell(&me["expires_at"]))
            },
        )
        .field("permissions", list(&me["permissions"]));
    fields.render()
}

/// A token's app scope: every app of its tenant, or a list.
pub(super) fn apps_scope(token: &Value) -> String {
    match (&token["apps"], token["tenant"].as_str()) {
        (Value::Array(_), _) => list(&token["apps"]),
        (_, Some(tenant)) => format!("all of {tenant}"),
        (_, None) => "all".to_owned(),
    }
}

fn list(values: &Value) -> String {
    values
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn whoami_shows_role_scope_expiry_and_permissions() {
        let me = json!({ "id": 7, "label": "alice", "role": "deployer", "tenant": "acme",
            "apps": ["chat", "news"], "expires_at": 1_709_251_200_000_i64,
            "permissions": ["apps:read", "deployments:write"] });
        assert_eq!(
            whoami_text(&me),
            "label        alice\n\
             token id     7\n\
             role         deployer\n\
             tenant       acme\n\
             apps         chat, news\n\
             expires      2024-03-01 00:00 UTC\n\
             permissions  apps:read, deployments:write\n"
        );
        assert_eq!(describe(&me), "alice (deployer of acme, token 7)");
        let admin = json!({ "id": 1, "label": "EDDY_ADMIN_TOKEN", "role": "platform-admin",
            "tenant": null, "apps": null, "expires_at": null, "permissions": [] });
        let text = whoami_text(&admin);
        assert!(text.contains("tenant       none (platform)\n"), "{text}");
        assert!(text.contains("apps         all\n") && text.contains("expires      never\n"));
        assert_eq!(
            apps_scope(&json!({ "tenant": "acme", "apps": null })),
            "all of acme"
        );
    }
}
