//! One configuration tree: defaults → TOML file (`--config` / `EDDY_CONFIG`)
//! → `EDDY_*` environment variables → `eddy serve` flags.
//!
//! Every top-level key `foo_bar` is also the environment variable
//! `EDDY_FOO_BAR` and the flag `--foo-bar`; [`Config::set`] is the single
//! place that parses a value from text, so all three layers report errors
//! the same way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The server's configuration. Per-app limits are data in the registry, not here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address for clients, the admin UI and the APIs. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// Directory for the SQLite registry and the compiled-artifact cache. Default `./eddy-data`.
    pub data_dir: PathBuf,
    /// The registry: `sqlite://PATH` or `postgres://…`. Default: SQLite in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// How nodes reach each other: `local` (one node), `redis://…` or `nats://…`. Default `local`.
    pub broker_url: String,
    /// Prefix of this cluster's broker topics (several clusters can share a broker). Default `eddy`.
    pub broker_prefix: String,
    /// This node's name in the admin UI and logs. Default: the listen address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The admin bearer token. When unset, the first start generates one and prints it once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// Largest handler component an upload may be, in bytes. Default 32 MiB.
    pub max_component_bytes: usize,
    /// Tracing filter (`info`, `eddy=debug,warn`, …). Default `info`.
    pub log: String,
    /// Serve the `demo` app (the `echo` handler) when no app is configured. Default `true`.
    pub demo: bool,
    /// Diagnostics: a raw Engine.IO endpoint at `/engine.io/` echoing every message. Default `false`.
    pub engine_io_echo: bool,
    /// Engine.IO heartbeat: the server pings this often. Default 25000 ms.
    pub ping_interval_ms: u64,
    /// Engine.IO heartbeat: a client that has not answered a ping after this long is closed. Default 20000 ms.
    pub ping_timeout_ms: u64,
    /// Largest Engine.IO message (websocket frame or polling POST body), in bytes. Default 1000000.
    pub max_payload: u64,
    /// Time a client has to join a namespace after opening a session. Default 45000 ms.
    pub connect_timeout_ms: u64,
    /// Time a client has to finish a polling → websocket upgrade once it opened the websocket. Default 10000 ms.
    pub upgrade_timeout_ms: u64,
    /// Bound on queued outbound frames per session; a client that stays over it is disconnected. Default 4096.
    pub outbox_max_frames: usize,
    /// Bound on queued outbound bytes per session; a client that stays over it is disconnected. Default 4 MiB.
    pub outbox_max_bytes: usize,
    /// Initial websocket read buffer per connection, in bytes (tungstenite's default is 128 KiB). Default 2048.
    pub ws_read_buffer: usize,
    /// Most binary attachments one Socket.IO packet may announce. Default 64.
    pub max_attachments: usize,
    /// Most simultaneous client connections (TCP) the server accepts. Default
    /// 100000, lowered at start to what the open-files limit allows.
    pub max_connections: usize,
    /// Most connections one client address may hold open (0 = no limit).
    /// Trusted proxies are not limited. Default 1000.
    pub max_connections_per_address: u32,
    /// New Engine.IO sessions per second one client address may open (bursts
    /// of twice that; 0 = no limit). Over it a handshake gets 429. Default 20.
    pub sessions_per_second_per_address: u32,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or
    /// ranges, `10.0.0.0/8`); anyone else's is ignored. Default none.
    pub trusted_proxies: Vec<String>,
    /// Time a client has to send a request body (a polling POST, an upload). Default 30000 ms.
    pub request_body_timeout_ms: u64,
    /// On SIGINT/SIGTERM, time given to sockets and in-flight requests to finish. Default 5000 ms.
    pub shutdown_grace_ms: u64,
    /// Most WebAssembly handler instances alive at once, all apps together. Default 1000.
    pub wasm_max_instances: u32,
    /// Upper bound for any app's handler memory, in MiB. Default 512.
    pub wasm_max_memory_mb: u64,
    /// Longest a handler instance's start-up (instantiation) may take, at a
    /// deploy's trial and at runtime. Default 1000 ms.
    pub wasm_start_timeout_ms: u64,
    /// Longest a deploy waits for an upload to compile. Default 60000 ms.
    pub wasm_compile_timeout_ms: u64,
    /// Apps served by this node, until the registry holds them.
    pub apps: Vec<AppConfig>,
}

/// An app served by a built-in native handler, defined in the config file
/// (diagnostics and benchmarks). Tenant apps live in the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// URL-safe name: clients connect at `/apps/{slug}/socket.io/`.
    pub slug: String,
    /// The built-in handler: `echo`.
    #[serde(default = "default_handler")]
    pub handler: String,
}

fn default_handler() -> String {
    "echo".into()
}

impl AppConfig {
    pub fn builtin(slug: &str, handler: &str) -> Self {
        Self {
            slug: slug.into(),
            handler: handler.into(),
        }
    }
}

/// A value that never prints: `Debug` and `config check` show it redacted.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./eddy-data"),
            database_url: None,
            broker_url: "local".into(),
            broker_prefix: "eddy".into(),
            node_name: None,
            admin_token: None,
            max_component_bytes: 32 << 20,
            log: "info".into(),
            demo: true,
            engine_io_echo: false,
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            max_payload: 1_000_000,
            connect_timeout_ms: 45_000,
            upgrade_timeout_ms: 10_000,
            outbox_max_frames: 4096,
            outbox_max_bytes: 4 << 20,
            ws_read_buffer: 2048,
            max_attachments: 64,
            max_connections: 100_000,
            max_connections_per_address: 1000,
            sessions_per_second_per_address: 20,
            trusted_proxies: Vec::new(),
            request_body_timeout_ms: 30_000,
            shutdown_grace_ms: 5_000,
            wasm_max_instances: 1000,
            wasm_max_memory_mb: 512,
            wasm_start_timeout_ms: 1_000,
            wasm_compile_timeout_ms: 60_000,
            apps: Vec::new(),
        }
    }
}

/// The keys that can be set from the environment or a flag, in the order
/// `eddy config check` documents them.
pub const SCALAR_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "broker_url",
    "broker_prefix",
    "node_name",
    "admin_token",
    "max_component_bytes",
    "log",
    "demo",
    "engine_io_echo",
    "ping_interval_ms",
    "ping_timeout_ms",
    "max_payload",
    "connect_timeout_ms",
    "upgrade_timeout_ms",
    "outbox_max_frames",
    "outbox_max_bytes",
    "ws_read_buffer",
    "max_attachments",
    "max_connections",
    "max_connections_per_address",
    "sessions_per_second_per_address",
    "trusted_proxies",
    "request_body_timeout_ms",
    "shutdown_grace_ms",
    "wasm_max_instances",
    "wasm_max_memory_mb",
    "wasm_start_timeout_ms",
    "wasm_compile_timeout_ms",
];

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: invalid value {value:?} for {key}: expected {expected}")]
    Value {
        origin: String,
        key: String,
        value: String,
        expected: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
}

/// The environment variable that sets `key`.
pub fn env_name(key: &str) -> String {
    format!("EDDY_{}", key.to_ascii_uppercase())
}

impl Config {
    /// Builds the configuration from all layers: defaults, then the file (if
    /// any), then the environment, then `flags` as `(key, value)` pairs.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        flags: &[(&str, String)],
    ) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        for key in SCALAR_KEYS {
            let name = env_name(key);
            if let Some(value) = env(&name) {
                config.set(key, &value, &name)?;
            }
        }
        for (key, value) in flags {
            config.set(key, value, &format!("--{}", key.replace('_', "-")))?;
        }
        config.validate()?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })
    }

    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Sets one scalar key from its text form; `origin` names the layer in errors.
    pub fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<(), ConfigError> {
        let err = |expected| ConfigError::Value {
            origin: origin.to_owned(),
            key: key.to_owned(),
            value: value.to_owned(),
            expected,
        };
        const MS: &str = "milliseconds (a whole number)";
        const BYTES: &str = "a number of bytes";
        const COUNT: &str = "a whole number";
        match key {
            "listen" => {
                self.listen = value
                    .parse()
                    .map_err(|_| err("an address like 127.0.0.1:8080"))?
            }
            "data_dir" => self.data_dir = PathBuf::from(value),
            "database_url" => self.database_url = Some(value.to_owned()),
            "broker_url" => self.broker_url = value.to_owned(),
            "broker_prefix" => self.broker_prefix = value.to_owned(),
            "node_name" => self.node_name = Some(value.to_owned()),
            "admin_token" => self.admin_token = Some(Secret(value.to_owned())),
            "max_component_bytes" => {
                self.max_component_bytes = value.parse().map_err(|_| err(BYTES))?
            }
            "log" => self.log = value.to_owned(),
            "demo" => self.demo = parse_bool(value).ok_or_else(|| err("true or false"))?,
            "engine_io_echo" => {
                self.engine_io_echo = parse_bool(value).ok_or_else(|| err("true or false"))?
            }
            "ping_interval_ms" => self.ping_interval_ms = value.parse().map_err(|_| err(MS))?,
            "ping_timeout_ms" => self.ping_timeout_ms = value.parse().map_err(|_| err(MS))?,
            "max_payload" => self.max_payload = value.parse().map_err(|_| err(BYTES))?,
            "connect_timeout_ms" => self.connect_timeout_ms = value.parse().map_err(|_| err(MS))?,
            "upgrade_timeout_ms" => self.upgrade_timeout_ms = value.parse().map_err(|_| err(MS))?,
            "outbox_max_frames" => {
                self.outbox_max_frames = value.parse().map_err(|_| err(COUNT))?
            }
            "outbox_max_bytes" => self.outbox_max_bytes = value.parse().map_err(|_| err(BYTES))?,
            "ws_read_buffer" => self.ws_read_buffer = value.parse().map_err(|_| err(BYTES))?,
            "max_attachments" => self.max_attachments = value.parse().map_err(|_| err(COUNT))?,
            "max_connections" => self.max_connections = value.parse().map_err(|_| err(COUNT))?,
            "max_connections_per_address" => {
                self.max_connections_per_address = value.parse().map_err(|_| err(COUNT))?
            }
            "sessions_per_second_per_address" => {
                self.sessions_per_second_per_address = value.parse().map_err(|_| err(COUNT))?
            }
            "trusted_proxies" => {
                self.trusted_proxies = value
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            "request_body_timeout_ms" => {
                self.request_body_timeout_ms = value.parse().map_err(|_| err(MS))?
            }
            "shutdown_grace_ms" => self.shutdown_grace_ms = value.parse().map_err(|_| err(MS))?,
            "wasm_max_instances" => {
                self.wasm_max_instances = value.parse().map_err(|_| err(COUNT))?
            }
            "wasm_max_memory_mb" => {
                self.wasm_max_memory_mb = value.parse().map_err(|_| err(COUNT))?
            }
            "wasm_start_timeout_ms" => {
                self.wasm_start_timeout_ms = value.parse().map_err(|_| err(MS))?
            }
            "wasm_compile_timeout_ms" => {
                self.wasm_compile_timeout_ms = value.parse().map_err(|_| err(MS))?
            }
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "{origin}: unknown setting {key:?}"
                )));
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("ping_interval_ms", self.ping_interval_ms),
            ("ping_timeout_ms", self.ping_timeout_ms),
            ("max_payload", self.max_payload),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("upgrade_timeout_ms", self.upgrade_timeout_ms),
            ("outbox_max_frames", self.outbox_max_frames as u64),
            ("outbox_max_bytes", self.outbox_max_bytes as u64),
            ("max_connections", self.max_connections as u64),
            ("request_body_timeout_ms", self.request_body_timeout_ms),
            ("wasm_max_instances", u64::from(self.wasm_max_instances)),
            ("wasm_max_memory_mb", self.wasm_max_memory_mb),
            ("wasm_start_timeout_ms", self.wasm_start_timeout_ms),
            ("wasm_compile_timeout_ms", self.wasm_compile_timeout_ms),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "{key} must be greater than 0"
                )));
            }
        }
        if let Some(bad) = self
            .trusted_proxies
            .iter()
            .find(|p| crate::transport::IpRange::parse(p).is_none())
        {
            return Err(ConfigError::Invalid(format!(
                "trusted_proxies: {bad:?} is not an address or a range like 10.0.0.0/8"
            )));
        }
        eddy_cluster::BrokerUrl::parse(&self.broker_url)
            .map_err(|e| ConfigError::Invalid(format!("broker_url: {e}")))?;
        if !eddy_cluster::topics::valid_prefix(&self.broker_prefix) {
            return Err(ConfigError::Invalid(
                "broker_prefix: use letters, digits, - and _ (at most 64)".into(),
            ));
        }
        if self.ws_read_buffer < 256 {
            return Err(ConfigError::Invalid(
                "ws_read_buffer must be at least 256 bytes".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for app in &self.apps {
            crate::tenant::validate_slug(&app.slug).map_err(ConfigError::Invalid)?;
            if !seen.insert(app.slug.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "app {:?} is defined twice",
                    app.slug
                )));
            }
            if crate::dispatch::builtin(&app.handler).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "app {:?}: unknown handler {:?} (built-in handlers: echo; tenant apps are created in the registry)",
                    app.slug, app.handler
                )));
            }
        }
        Ok(())
    }

    /// The effective configuration as TOML, for `eddy config check`.
    /// The effective configuration as TOML, with every secret redacted: the
    /// admin token, and the password of the registry and broker URLs.
    pub fn to_toml(&self) -> String {
        let shown = Self {
            database_url: self.database_url.as_deref().map(redact_password),
            broker_url: redact_password(&self.broker_url),
            ..self.clone()
        };
        toml::to_string_pretty(&shown).expect("config always serializes")
    }
}

/// `scheme://user:secret@host/…` → `scheme://user:<redacted>@host/…`; a URL
/// with no password is unchanged. Query parameters named `password` are
/// redacted too.
fn redact_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "<redacted>");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=<redacted>"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{base}{query}");
    }
    out
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn config_check_prints_no_passwords() {
        let flags = [
            (
                "database_url",
                "postgres://eddy:hunter2@db:5432/eddy?sslmode=require&password=x".to_owned(),
            ),
            ("broker_url", "redis://:s3cret@cache:6379/0".to_owned()),
            ("admin_token", "tok-en".to_owned()),
        ];
        let text = Config::load(None, no_env, &flags).unwrap().to_toml();
        for secret in ["hunter2", "s3cret", "tok-en", "password=x"] {
            assert!(!text.contains(secret), "{secret} printed:\n{text}");
        }
        assert!(text.contains(
            "postgres://eddy:<redacted>@db:5432/eddy?sslmode=require&password=<redacted>"
        ));
        assert!(text.contains("redis://:<redacted>@cache:6379/0"));
        assert_eq!(redact_password("nats://host:4222"), "nats://host:4222");
        assert_eq!(redact_password("local"), "local");
    }

    #[test]
    fn defaults_match_the_design() {
        let c = Config::load(None, no_env, &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./eddy-data"));
        assert_eq!((c.ping_interval_ms, c.ping_timeout_ms), (25_000, 20_000));
        assert_eq!(c.max_payload, 1_000_000);
        assert_eq!(c.connect_timeout_ms, 45_000);
        assert!(c.demo && !c.engine_io_echo);
        assert_eq!(c.log, "info");
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = std::env::temp_dir().join(format!("eddy-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("eddy.toml");
        std::fs::write(&file, "ping_interval_ms = 1\nping_timeout_ms = 2\nmax_payload = 3\n[[apps]]\nslug = \"chat\"\n").unwrap();
        let env = |name: &str| match name {
            "EDDY_PING_TIMEOUT_MS" => Some("20".to_string()),
            "EDDY_MAX_PAYLOAD" => Some("30".to_string()),
            "EDDY_DEMO" => Some("false".to_string()),
            _ => None,
        };
        let c = Config::load(Some(&file), env, &[("max_payload", "300".into())]).unwrap();
        assert_eq!(
            (c.ping_interval_ms, c.ping_timeout_ms, c.max_payload),
            (1, 20, 300)
        );
        assert!(!c.demo);
        assert_eq!(c.apps, vec![AppConfig::builtin("chat", "echo")]);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Config::from_toml("ping_intervall_ms = 5").unwrap_err();
        assert!(err.contains("unknown field `ping_intervall_ms`"), "{err}");
        let err = Config::from_toml("[[apps]]\nslug = \"a\"\nhandlr = \"echo\"").unwrap_err();
        assert!(err.contains("unknown field `handlr`"), "{err}");
    }

    #[test]
    fn bad_values_name_their_origin() {
        let env = |name: &str| (name == "EDDY_PING_INTERVAL_MS").then(|| "soon".to_string());
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "EDDY_PING_INTERVAL_MS: invalid value \"soon\" for ping_interval_ms: expected milliseconds (a whole number)"
        );
        let err = Config::load(None, no_env, &[("listen", "localhost".into())])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("--listen: invalid value \"localhost\""),
            "{err}"
        );
        let err = Config::load(None, no_env, &[("max_payload", "0".into())])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "max_payload must be greater than 0");
    }

    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.set("admin_token", "et_supersecret", "EDDY_ADMIN_TOKEN")
            .unwrap();
        assert!(!c.to_toml().contains("supersecret"));
        assert!(c.to_toml().contains("admin_token = \"<redacted>\""));
        assert!(!format!("{c:?}").contains("supersecret"));
        assert_eq!(c.admin_token.unwrap().expose(), "et_supersecret");
    }

    #[test]
    fn the_example_node_config_is_valid() {
        let c = Config::from_toml(include_str!("../../deploy/eddy.toml")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.broker_url, "redis://redis.internal:6379");
        assert_eq!(c.node_name.as_deref(), Some("eddy-1"));
        assert!(!c.demo);
    }

    #[test]
    fn broker_settings_are_checked() {
        let mut c = Config::default();
        c.set("broker_url", "kafka://x", "test").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("broker_url"));
        let mut c = Config::default();
        c.set("broker_prefix", "has.dots", "test").unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("broker_prefix")
        );
    }

    #[test]
    fn apps_are_validated() {
        let c = Config::from_toml("[[apps]]\nslug = \"Bad Slug\"").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("slug"));
        let c = Config::from_toml("[[apps]]\nslug = \"a\"\nhandler = \"nope\"").unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("unknown handler")
        );
        let c = Config::from_toml("[[apps]]\nslug = \"a\"\n[[apps]]\nslug = \"a\"").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn every_scalar_key_round_trips_through_set() {
        let defaults = Config::default();
        let table: toml::Table = toml::from_str(&defaults.to_toml()).unwrap();
        for key in SCALAR_KEYS {
            // Optional keys have no default to write.
            let Some(value) = table.get(*key) else {
                assert!(
                    ["database_url", "admin_token", "node_name"].contains(key),
                    "{key}"
                );
                continue;
            };
            let text = match value {
                toml::Value::String(s) => s.clone(),
                // Lists are comma-separated in variables and flags.
                toml::Value::Array(items) => items
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            let mut c = Config::default();
            c.set(key, &text, "test")
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(c, defaults, "{key}");
        }
    }
}
