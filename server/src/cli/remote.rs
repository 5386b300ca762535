//! Which server an admin command talks to, with which token and which extra
//! CA: a flag, else `EDDY_SERVER` / `EDDY_ADMIN_TOKEN` / `EDDY_CA_FILE`, else
//! what `eddy login` stored, else (the server only) `http://127.0.0.1:8080`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::client::AdminClient;
use super::credentials::{self, Credentials};

pub(super) const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Where the server is and how to authenticate.
#[derive(Args, Clone)]
pub(super) struct Remote {
    /// The server's base URL [env: EDDY_SERVER; default: the one `eddy
    /// login` stored, else http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    pub(super) server: Option<String>,
    /// An admin token [env: EDDY_ADMIN_TOKEN; default: the one `eddy login`
    /// stored for this server]. On the command line other users of the
    /// machine can see it: prefer `eddy login`.
    #[arg(long)]
    pub(super) token: Option<String>,
    /// A PEM file of certificate authorities to trust besides this
    /// machine's, for an https:// server whose certificate a private CA
    /// signed [env: EDDY_CA_FILE; default: the one `eddy login` stored with
    /// this server, unless both server and token are given].
    #[arg(long, value_name = "PATH")]
    pub(super) ca_file: Option<PathBuf>,
    /// Longest to wait for the server's answer to one request, in seconds
    /// (more than a deploy's own bounds: compile 60 s, start-up 1 s).
    #[arg(long, env = "EDDY_CLIENT_TIMEOUT_SECS", default_value_t = 120)]
    pub(super) timeout_secs: u64,
}

/// The server, token and CA file a command will use.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) server: String,
    pub(super) token: Option<String>,
    pub(super) ca_file: Option<PathBuf>,
    /// `eddy login` stored a token for another server than this one (it is
    /// not sent there).
    pub(super) stored_for: Option<String>,
}

/// Flags first, then the environment (`var`), then the stored credentials.
/// A stored token goes only to the server it was stored with: pointing
/// `--server` elsewhere must not hand that server the token. The stored CA
/// file is trusted for that server only, too.
pub(super) fn resolve(
    server: Option<&str>,
    token: Option<&str>,
    ca_file: Option<&PathBuf>,
    var: impl Fn(&str) -> Option<String>,
    stored: Option<&Credentials>,
) -> Target {
    let server = server_of(server, &var, stored);
    let token = token_of(token, &var);
    let login = stored.filter(|c| same_server(&c.server, &server));
    let ca_file = ca_file_of(ca_file, &var).or_else(|| login.and_then(|c| c.ca_file.clone()));
    let stored_for = match (&token, login, stored) {
        (None, None, Some(other)) => Some(other.server.clone()),
        _ => None,
    };
    Target {
        server,
        token: token.or_else(|| login.map(|c| c.token.clone())),
        ca_file,
        stored_for,
    }
}

/// The server: the flag, `EDDY_SERVER`, the stored one, the default.
pub(super) fn server_of(
    flag: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
    stored: Option<&Credentials>,
) -> String {
    flag.map(str::to_owned)
        .or_else(|| var("EDDY_SERVER").filter(|v| !v.is_empty()))
        .or_else(|| stored.map(|c| c.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
}

/// A token given now: the flag, or `EDDY_ADMIN_TOKEN`.
pub(super) fn token_of(flag: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    flag.map(str::to_owned)
        .or_else(|| var("EDDY_ADMIN_TOKEN"))
        .filter(|v| !v.is_empty())
}

/// A CA file given now: the flag, or `EDDY_CA_FILE`.
pub(super) fn ca_file_of(
    flag: Option<&PathBuf>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    flag.cloned().or_else(|| {
        var("EDDY_CA_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

pub(super) fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

impl Remote {
    /// The target, reading the credentials file only when a flag or the
    /// environment leaves the server or the token to find. (A command given
    /// both takes nothing from the login, its CA file neither: a script
    /// that names the server names its CA file too.)
    pub(super) fn target(&self) -> anyhow::Result<Target> {
        let var = |name: &str| std::env::var(name).ok();
        let given = |flag: &Option<String>, name: &str| {
            flag.is_some() || var(name).is_some_and(|v| !v.is_empty())
        };
        let stored = if given(&self.server, "EDDY_SERVER") && given(&self.token, "EDDY_ADMIN_TOKEN")
        {
            None
        } else {
            credentials::read(&credentials::path()?)?
        };
        Ok(resolve(
            self.server.as_deref(),
            self.token.as_deref(),
            self.ca_file.as_ref(),
            var,
            stored.as_ref(),
        ))
    }

    pub(super) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub(super) fn client(&self) -> anyhow::Result<AdminClient> {
        let target = self.target()?;
        let Some(token) = target.token else {
            match target.stored_for {
                Some(other) => anyhow::bail!(
                    "no admin token for {}: `eddy login` stored one for {other}, which is not sent elsewhere; \
                     run `eddy login --server {}`, or give --token or EDDY_ADMIN_TOKEN",
                    target.server,
                    target.server
                ),
                None => anyhow::bail!(
                    "an admin token is needed: run `eddy login`, or give --token or EDDY_ADMIN_TOKEN"
                ),
            }
        };
        AdminClient::new(
            &target.server,
            token,
            target.ca_file.as_deref(),
            self.timeout(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cli::fake_env as env;

    fn target(server: &str, token: Option<&str>) -> Target {
        Target {
            server: server.into(),
            token: token.map(Into::into),
            ca_file: None,
            stored_for: None,
        }
    }

    const FILE: &str = "http://stored:8080";

    fn stored() -> Credentials {
        Credentials {
            server: FILE.into(),
            token: "et_file".into(),
            ca_file: None,
        }
    }

    #[test]
    fn a_flag_beats_the_environment_which_beats_the_file_which_beats_the_default() {
        let both = [
            ("EDDY_SERVER", "http://env:1"),
            ("EDDY_ADMIN_TOKEN", "et_env"),
        ];
        let file = stored();
        assert_eq!(
            resolve(
                Some("http://flag:1"),
                Some("et_flag"),
                None,
                env(&both),
                Some(&file)
            ),
            target("http://flag:1", Some("et_flag"))
        );
        assert_eq!(
            resolve(None, None, None, env(&both), Some(&file)),
            target("http://env:1", Some("et_env"))
        );
        assert_eq!(
            resolve(None, None, None, env(&[]), Some(&file)),
            target(FILE, Some("et_file"))
        );
        assert_eq!(
            resolve(None, None, None, env(&[]), None),
            target(DEFAULT_SERVER, None)
        );
        // Empty variables count as unset.
        let empty = [("EDDY_SERVER", ""), ("EDDY_ADMIN_TOKEN", "")];
        assert_eq!(
            resolve(None, None, None, env(&empty), Some(&file)),
            target(FILE, Some("et_file"))
        );
        // Each setting on its own: a token flag with the stored server.
        assert_eq!(
            resolve(None, Some("et_flag"), None, env(&[]), Some(&file)),
            target(FILE, Some("et_flag"))
        );
    }

    #[test]
    fn a_stored_token_goes_only_to_its_own_server() {
        let file = stored();
        assert_eq!(
            resolve(
                Some("http://stored:8080/"),
                None,
                None,
                env(&[]),
                Some(&file)
            ),
            target("http://stored:8080/", Some("et_file"))
        );
        let elsewhere = resolve(Some("http://other:1"), None, None, env(&[]), Some(&file));
        assert_eq!(elsewhere.token, None);
        assert_eq!(elsewhere.stored_for.as_deref(), Some(FILE));
        let by_env = resolve(
            None,
            None,
            None,
            env(&[("EDDY_SERVER", "http://other:1")]),
            Some(&file),
        );
        assert_eq!(by_env.token, None);
    }

    #[test]
    fn the_ca_file_is_the_flag_else_eddy_ca_file_else_the_one_stored_with_the_server() {
        const HTTPS: &str = "https://stored:8443";
        let file = Credentials {
            server: HTTPS.into(),
            token: "et_file".into(),
            ca_file: Some("/login/ca.pem".into()),
        };
        let ca = |flag: Option<&str>, server: Option<&str>, vars: &[(&str, &str)]| {
            let flag = flag.map(PathBuf::from);
            resolve(server, None, flag.as_ref(), env(vars), Some(&file)).ca_file
        };
        let var = [("EDDY_CA_FILE", "/env/ca.pem")];
        assert_eq!(
            ca(Some("/flag/ca.pem"), None, &var),
            Some("/flag/ca.pem".into())
        );
        assert_eq!(ca(None, None, &var), Some("/env/ca.pem".into()));
        assert_eq!(ca(None, None, &[]), Some("/login/ca.pem".into()));
        assert_eq!(
            ca(None, None, &[("EDDY_CA_FILE", "")]),
            Some("/login/ca.pem".into()),
            "an empty variable counts as unset"
        );
        // The stored CA is trusted for its own server only.
        assert_eq!(
            ca(None, Some("https://stored:8443/"), &[]),
            Some("/login/ca.pem".into())
        );
        assert_eq!(ca(None, Some("https://other:8443"), &[]), None);
        assert_eq!(
            ca(None, None, &[("EDDY_SERVER", "https://other:8443")]),
            None
        );
        // It comes with the stored server even when the token does not.
        let with_token = resolve(None, Some("et_flag"), None, env(&[]), Some(&file));
        assert_eq!(with_token.ca_file, Some("/login/ca.pem".into()));
        assert_eq!(resolve(None, None, None, env(&[]), None).ca_file, None);
    }
}
