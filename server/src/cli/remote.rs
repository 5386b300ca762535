//! Which server an admin command talks to, and with which token: a flag,
//! else `EDDY_SERVER` / `EDDY_ADMIN_TOKEN`, else what `eddy login` stored,
//! else (the server only) `http://127.0.0.1:8080`.

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
    /// Longest to wait for the server's answer to one request, in seconds
    /// (more than a deploy's own bounds: compile 60 s, start-up 1 s).
    #[arg(long, env = "EDDY_CLIENT_TIMEOUT_SECS", default_value_t = 120)]
    pub(super) timeout_secs: u64,
}

/// The server and token a command will use.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) server: String,
    pub(super) token: Option<String>,
    /// `eddy login` stored a token for another server than this one (it is
    /// not sent there).
    pub(super) stored_for: Option<String>,
}

/// Flags first, then the environment (`var`), then the stored credentials.
/// A stored token goes only to the server it was stored with: pointing
/// `--server` elsewhere must not hand that server the token.
pub(super) fn resolve(
    server: Option<&str>,
    token: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
    stored: Option<&Credentials>,
) -> Target {
    let server = server_of(server, &var, stored);
    let token = token_of(token, &var);
    match stored {
        Some(c) if token.is_none() && same_server(&c.server, &server) => Target {
            server,
            token: Some(c.token.clone()),
            stored_for: None,
        },
        Some(c) if token.is_none() => Target {
            server,
            token,
            stored_for: Some(c.server.clone()),
        },
        _ => Target {
            server,
            token,
            stored_for: None,
        },
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

fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

impl Remote {
    /// The target, reading the credentials file only when a flag or the
    /// environment leaves something to find.
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
        AdminClient::new(&target.server, token, self.timeout())
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
            stored_for: None,
        }
    }

    const FILE: &str = "http://stored:8080";

    fn stored() -> Credentials {
        Credentials {
            server: FILE.into(),
            token: "et_file".into(),
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
                env(&both),
                Some(&file)
            ),
            target("http://flag:1", Some("et_flag"))
        );
        assert_eq!(
            resolve(None, None, env(&both), Some(&file)),
            target("http://env:1", Some("et_env"))
        );
        assert_eq!(
            resolve(None, None, env(&[]), Some(&file)),
            target(FILE, Some("et_file"))
        );
        assert_eq!(
            resolve(None, None, env(&[]), None),
            target(DEFAULT_SERVER, None)
        );
        // Empty variables count as unset.
        let empty = [("EDDY_SERVER", ""), ("EDDY_ADMIN_TOKEN", "")];
        assert_eq!(
            resolve(None, None, env(&empty), Some(&file)),
            target(FILE, Some("et_file"))
        );
        // Each setting on its own: a token flag with the stored server.
        assert_eq!(
            resolve(None, Some("et_flag"), env(&[]), Some(&file)),
            target(FILE, Some("et_flag"))
        );
    }

    #[test]
    fn a_stored_token_goes_only_to_its_own_server() {
        let file = stored();
        assert_eq!(
            resolve(Some("http://stored:8080/"), None, env(&[]), Some(&file)),
            target("http://stored:8080/", Some("et_file"))
        );
        let elsewhere = resolve(Some("http://other:1"), None, env(&[]), Some(&file));
        assert_eq!(elsewhere.token, None);
        assert_eq!(elsewhere.stored_for.as_deref(), Some(FILE));
        let by_env = resolve(
            None,
            None,
            env(&[("EDDY_SERVER", "http://other:1")]),
            Some(&file),
        );
        assert_eq!(by_env.token, None);
    }
}
