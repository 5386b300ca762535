//! The server's base URL, taken apart: `http://` or `https://`, a host (a
//! name, an IPv4 address, or an IPv6 address in brackets), an optional port
//! (80 or 443 by default) and an optional path prefix (a server behind a
//! proxy at `https://example.com/eddy`).

use anyhow::{bail, ensure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ServerUrl {
    /// `https://`: TLS to the server.
    pub(super) tls: bool,
    /// The host and port as written: the `Host` header.
    pub(super) authority: String,
    /// The host alone (no brackets): what TCP resolves and TLS verifies.
    pub(super) host: String,
    pub(super) port: u16,
    /// `/prefix` without a trailing slash, or empty.
    pub(super) base_path: String,
}

impl ServerUrl {
    pub(super) fn parse(url: &str) -> anyhow::Result<Self> {
        let shape = "must look like https://host[:port] or http://host[:port]";
        let Some((scheme, rest)) = url.split_once("://") else {
            bail!("the server URL {url:?} {shape}");
        };
        let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "https" => (true, 443),
            "http" => (false, 80),
            _ => bail!("the server URL {url:?} {shape}"),
        };
        ensure!(
            !rest.contains(['?', '#']),
            "the server URL {url:?} holds a query or fragment: give its base URL only"
        );
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        ensure!(
            !authority.contains('@'),
            "the server URL {url:?} holds a user name: give the admin token with `eddy login` or --token"
        );
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let Some((host, after)) = bracketed.split_once(']') else {
                    bail!(
                        "the server URL {url:?} opens an IPv6 address with [ and never closes it"
                    );
                };
                match after {
                    "" => (host, None),
                    _ => match after.strip_prefix(':') {
                        Some(port) => (host, Some(port)),
                        None => bail!("the server URL {url:?} {shape}"),
                    },
                }
            }
            None => match authority.split_once(':') {
                Some((_, port)) if port.contains(':') => {
                    bail!(
                        "the server URL {url:?}: an IPv6 address goes in brackets, as in https://[::1]:8443"
                    )
                }
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        ensure!(!host.is_empty(), "the server URL {url:?} names no host");
        let port = match port {
            None => default_port,
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => bail!(
                    "the server URL {url:?}: the port {text:?} is not a number from 1 to 65535"
                ),
            },
        };
        Ok(Self {
            tls,
            authority: authority.to_owned(),
            host: host.to_owned(),
            port,
            base_path: format!("/{}", path.trim_end_matches('/'))
                .trim_end_matches('/')
                .to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(tls: bool, authority: &str, host: &str, port: u16, base_path: &str) -> ServerUrl {
        ServerUrl {
            tls,
            authority: authority.into(),
            host: host.into(),
            port,
            base_path: base_path.into(),
        }
    }

    #[test]
    fn urls_come_apart_into_scheme_host_port_and_prefix() {
        let cases = [
            (
                "http://127.0.0.1:8080",
                url(false, "127.0.0.1:8080", "127.0.0.1", 8080, ""),
            ),
            (
                "https://eddy.example.com",
                url(true, "eddy.example.com", "eddy.example.com", 443, ""),
            ),
            (
                "HTTPS://eddy.example.com:8443/",
                url(true, "eddy.example.com:8443", "eddy.example.com", 8443, ""),
            ),
            ("http://node", url(false, "node", "node", 80, "")),
            (
                "https://example.com/eddy/",
                url(true, "example.com", "example.com", 443, "/eddy"),
            ),
            (
                "https://example.com/a/b//",
                url(true, "example.com", "example.com", 443, "/a/b"),
            ),
            (
                "https://[::1]:8443",
                url(true, "[::1]:8443", "::1", 8443, ""),
            ),
            (
                "https://[fe80::1]",
                url(true, "[fe80::1]", "fe80::1", 443, ""),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(ServerUrl::parse(text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn a_malformed_url_is_an_error_that_says_what_is_wrong() {
        let cases = [
            ("127.0.0.1:8080", "must look like"),
            ("ftp://host", "must look like"),
            ("https://", "names no host"),
            ("https://:443", "names no host"),
            ("https://host:http", "is not a number"),
            ("https://host:0", "is not a number"),
            ("https://host:65536", "is not a number"),
            ("https://::1:8443", "in brackets"),
            ("https://[::1:8443", "never closes"),
            ("https://[::1]8443", "must look like"),
            ("https://admin@host", "user name"),
            ("https://host/eddy?x=1", "query"),
            ("https://host#top", "fragment"),
        ];
        for (text, expected) in cases {
            let error = ServerUrl::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains(text), "names the URL: {error}");
        }
    }
}
