//! One configuration tree: defaults → TOML file (`--config` / `EDDY_CONFIG`)
//! → `EDDY_*` environment variables → `eddy serve` flags.
//!
//! The fields of [`Config`] are the only list of keys: every top-level key
//! `foo_bar` is also the variable `EDDY_FOO_BAR`. The layers are merged into
//! one table (`layers.rs`) and deserialized once; each value is checked as
//! it is deserialized (`values.rs`), so an error names the variable, the
//! flag or the file key it came from.
//!
//! A leaf: it imports nothing from the rest of the server. Each subsystem
//! builds its own settings from it, once, at start (`EngineSettings`,
//! `AddressLimits`, `cluster::options`, the `Compiler`).

mod layers;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub(crate) use layers::Flag;
pub use values::BuiltinHandler;
pub(crate) use values::{IpRange, Secret, SecretKey};

/// Settings whose values an error never repeats (`<redacted>` instead).
const SECRET_SETTINGS: [&str; 2] = ["admin_token", "secret_key"];

/// The server's configuration. Per-app limits are data in the registry, not here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address for clients and the tenant API, and for the admin UI, the
    /// admin API and `/metrics` unless `admin_listen` is set. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// An internal address for the admin UI, the admin API and `/metrics`,
    /// which `listen` then answers 404. Default: empty, `listen` serves them.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "values::optional_address"
    )]
    pub admin_listen: Option<SocketAddr>,
    /// Directory for the SQLite registry and the compiled-artifact cache. Default `./eddy-data`.
    pub data_dir: PathBuf,
    /// The registry: `sqlite://PATH` or `postgres://…`. Default: SQLite in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// How nodes reach each other: `local` (one node), `redis://…` or `nats://…`. Default `local`.
    #[serde(deserialize_with = "values::broker_url")]
    pub broker_url: String,
    /// Prefix of this cluster's broker topics (several clusters can share a broker). Default `eddy`.
    #[serde(deserialize_with = "values::broker_prefix")]
    pub broker_prefix: String,
    /// This node's name in the admin UI and logs. Default: the listen address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// The admin bearer token. When unset, the first start generates one and prints it once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<Secret>,
    /// The key that encrypts app secrets in the registry: 32 bytes as 64 hex
    /// digits or base64 (`openssl rand -hex 32`). Every node of a cluster
    /// needs the same one. Without it, plain config variables work and
    /// setting a secret is refused. No flag: a flag shows in `ps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<SecretKey>,
    /// Largest handler component an upload may be, in bytes. Default 32 MiB.
    pub max_component_bytes: usize,
    /// Tracing filter (`info`, `eddy=debug,warn`, …). Default `info`.
    pub log: String,
    /// Serve the `demo` app (the `echo` handler) when no app is configured. Default `true`.
    pub demo: bool,
    /// Diagnostics: a raw Engine.IO endpoint at `/engine.io/` echoing every message. Default `false`.
    pub engine_io_echo: bool,
    /// Engine.IO heartbeat: the server pings this often. Default 25000 ms.
    #[serde(deserialize_with = "values::positive")]
    pub ping_interval_ms: u64,
    /// Engine.IO heartbeat: a client that has not answered a ping after this long is closed. Default 20000 ms.
    #[serde(deserialize_with = "values::positive")]
    pub ping_timeout_ms: u64,
    /// Largest Engine.IO message (websocket frame or polling POST body), in bytes. Default 1000000.
    #[serde(deserialize_with = "values::positive")]
    pub max_payload: u64,
    /// Time a client has to join a namespace after opening a session. Default 45000 ms.
    #[serde(deserialize_with = "values::positive")]
    pub connect_timeout_ms: u64,
    /// Time a client has to finish a polling → websocket upgrade once it opened the websocket. Default 10000 ms.
    #[serde(deserialize_with = "values::positive")]
    pub upgrade_timeout_ms: u64,
    /// Bound on queued outbound frames per session; a client that stays over it is disconnected. Default 4096.
    #[serde(deserialize_with = "values::positive")]
    pub outbox_max_frames: usize,
    /// Bound on queued outbound bytes per session; a client that stays over it is disconnected. Default 4 MiB.
    #[serde(deserialize_with = "values::positive")]
    pub outbox_max_bytes: usize,
    /// Initial websocket read buffer per connection, in bytes (tungstenite's default is 128 KiB). Default 2048.
    #[serde(deserialize_with = "values::ws_read_buffer")]
    pub ws_read_buffer: usize,
    /// Most binary attachments one Socket.IO packet may announce. Default 64.
    pub max_attachments: usize,
    /// Most simultaneous client connections (TCP) the server accepts. Default
    /// 100000, lowered at start to what the open-files limit allows.
    #[serde(deserialize_with = "values::positive")]
    pub max_connections: usize,
    /// Most connections one client address may hold open (0 = no limit).
    /// Trusted proxies are not limited. Default 1000.
    pub max_connections_per_address: u32,
    /// New Engine.IO sessions per second one client address may open (bursts
    /// of twice that; 0 = no limit). Over it a handshake gets 429. Default 20.
    pub sessions_per_second_per_address: u32,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or
    /// ranges, `10.0.0.0/8`); anyone else's is ignored. Default none.
    pub trusted_proxies: Vec<IpRange>,
    /// Time a client has to send a request body (a polling POST, an upload). Default 30000 ms.
    #[serde(deserialize_with = "values::positive")]
    pub request_body_timeout_ms: u64,
    /// On SIGINT/SIGTERM, time given to sockets and in-flight requests to finish. Default 5000 ms.
    pub shutdown_grace_ms: u64,
    /// Most WebAssembly handler instances alive at once, all apps together. Default 1000.
    #[serde(deserialize_with = "values::positive")]
    pub wasm_max_instances: u32,
    /// Upper bound for any app's handler memory, in MiB. Default 512.
    #[serde(deserialize_with = "values::positive")]
    pub wasm_max_memory_mb: u64,
    /// Longest a handler instance's start-up (instantiation) may take, at a
    /// deploy's trial and at runtime. Default 1000 ms.
    #[serde(deserialize_with = "values::positive")]
    pub wasm_start_timeout_ms: u64,
    /// Longest a deploy waits for an upload to compile. Default 60000 ms.
    #[serde(deserialize_with = "values::positive")]
    pub wasm_compile_timeout_ms: u64,
    /// Apps served by this node, until the registry holds them.
    #[serde(deserialize_with = "values::apps")]
    pub apps: Vec<AppConfig>,
}

/// An app served by a built-in native handler, defined in the config file
/// (diagnostics and benchmarks). Tenant apps live in the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// URL-safe name: clients connect at `/apps/{slug}/socket.io/`.
    #[serde(deserialize_with = "values::slug")]
    pub slug: String,
    /// The built-in handler. Default `echo` (the only one).
    #[serde(default)]
    pub handler: BuiltinHandler,
}

impl AppConfig {
    pub fn builtin(slug: &str, handler: BuiltinHandler) -> Self {
        Self {
            slug: slug.into(),
            handler,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: None,
            data_dir: PathBuf::from("./eddy-data"),
            database_url: None,
            broker_url: "local".into(),
            broker_prefix: "eddy".into(),
            node_name: None,
            admin_token: None,
            secret_key: None,
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

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A key of the file: `max_payload in eddy.toml: must be greater than 0`.
    #[error("{key} in {}: {message}", path.display())]
    Key {
        key: String,
        path: PathBuf,
        message: String,
    },
    /// A variable or a flag: `EDDY_MAX_PAYLOAD: invalid value "x": …`.
    #[error("{origin}: invalid value {value:?}: {message}")]
    Value {
        origin: String,
        value: String,
        message: String,
    },
    #[error("{name} is not a setting; did you mean {suggestion}?")]
    UnknownVariable { name: String, suggestion: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Builds the configuration from all layers: defaults, then the file (if
    /// any), then the `EDDY_*` variables among `env`, then `flags`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[Flag],
    ) -> Result<Self, ConfigError> {
        let mut layers = layers::Layers::of::<Self>();
        if let Some(path) = file {
            layers.file(path)?;
        }
        layers.env(env)?;
        for flag in flags {
            layers.flag(flag)?;
        }
        layers.deserialize::<Self>()?.checked()
    }

    /// The configuration of a file's text alone, as if read from `path`.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut layers = layers::Layers::of::<Self>();
        layers.file_text(text, path)?;
        layers.deserialize::<Self>()?.checked()
    }

    /// The checks between keys, once each key has passed its own.
    fn checked(self) -> Result<Self, ConfigError> {
        // Port 0 picks a free port for each, so two listeners still.
        if self.admin_listen == Some(self.listen) && self.listen.port() != 0 {
            return Err(ConfigError::Invalid(format!(
                "admin_listen is listen's address ({}): leave admin_listen empty to serve the admin UI, the admin API and /metrics there",
                self.listen
            )));
        }
        Ok(self)
    }

    /// The effective configuration as TOML, with every secret redacted: the
    /// admin token, and the password of the registry and broker URLs.
    pub fn to_toml(&self) -> String {
        let shown = Self {
            database_url: self.database_url.as_deref().map(values::redact_password),
            broker_url: values::redact_password(&self.broker_url),
            ..self.clone()
        };
        toml::to_string_pretty(&shown).expect("config always serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn flag(name: &'static str, key: &'static str, value: &str) -> Flag {
        Flag {
            name,
            key,
            value: value.into(),
        }
    }

    /// A config file for one test, removed when dropped.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(test: &str, text: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("eddy-config-{test}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("eddy.toml");
            std::fs::write(&path, text).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            std::fs::remove_dir_all(self.0.parent().unwrap()).ok();
        }
    }

    fn toml(text: &str) -> Result<Config, String> {
        Config::from_toml(text, Path::new("eddy.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_match_the_design() {
        let c = Config::load(None, [], &[]).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./eddy-data"));
        assert_eq!((c.ping_interval_ms, c.ping_timeout_ms), (25_000, 20_000));
        assert_eq!(c.max_payload, 1_000_000);
        assert_eq!(c.connect_timeout_ms, 45_000);
        assert!(c.demo && !c.engine_io_echo);
        assert_eq!(c.log, "info");
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let file = TempFile::new(
            "layers",
            "ping_interval_ms = 1\nping_timeout_ms = 2\nmax_payload = 3\n[[apps]]\nslug = \"chat\"\n",
        );
        let env = vars(&[
            ("EDDY_PING_TIMEOUT_MS", "20"),
            ("EDDY_MAX_PAYLOAD", "30"),
            ("EDDY_DEMO", "no"),
            ("EDDY_TRUSTED_PROXIES", "10.0.0.2, 10.1.0.0/16"),
        ]);
        let flags = [flag("--max-payload", "max_payload", "300")];
        let c = Config::load(Some(&file.0), env, &flags).unwrap();
        // file over default, env over file, flag over env.
        assert_eq!(
            (c.ping_interval_ms, c.ping_timeout_ms, c.max_payload),
            (1, 20, 300)
        );
        // No layer set these: the defaults stand.
        assert_eq!(c.connect_timeout_ms, 45_000);
        assert!(!c.demo);
        assert_eq!(
            c.trusted_proxies,
            vec![
                IpRange::parse("10.0.0.2").unwrap(),
                IpRange::parse("10.1.0.0/16").unwrap()
            ]
        );
        assert_eq!(
            c.apps,
            vec![AppConfig::builtin("chat", BuiltinHandler::Echo)]
        );
    }

    #[test]
    fn an_error_names_the_variable() {
        let env = vars(&[("EDDY_PING_INTERVAL_MS", "soon")]);
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "EDDY_PING_INTERVAL_MS: invalid value \"soon\": invalid digit found in string"
        );
        let env = vars(&[("EDDY_MAX_CONNECTIONS", "0")]);
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "EDDY_MAX_CONNECTIONS: invalid value \"0\": must be greater than 0"
        );
        let env = vars(&[("EDDY_MAX_ATTACHMENTS", "-1")]);
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "EDDY_MAX_ATTACHMENTS: invalid value \"-1\": invalid value: integer `-1`"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_error_names_the_flag() {
        let flags = [flag("--listen", "listen", "localhost")];
        let err = Config::load(None, [], &flags).unwrap_err().to_string();
        assert!(
            err.starts_with("--listen: invalid value \"localhost\": "),
            "{err}"
        );
        // The flag wins over the variable, and so is the one blamed.
        let env = vars(&[("EDDY_MAX_PAYLOAD", "10")]);
        let flags = [flag("--max-payload", "max_payload", "0")];
        let err = Config::load(None, env, &flags).unwrap_err().to_string();
        assert_eq!(
            err,
            "--max-payload: invalid value \"0\": must be greater than 0"
        );
    }

    #[test]
    fn an_error_names_the_file_key() {
        let file = TempFile::new("file-key", "max_payload = 0\n");
        let err = Config::load(Some(&file.0), [], &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "max_payload in {}: must be greater than 0",
                file.0.display()
            )
        );
        let err = toml("[[apps]]\nslug = \"a\"\n[[apps]]\nslug = \"Bad Slug\"").unwrap_err();
        assert!(err.starts_with("apps[1].slug in eddy.toml: "), "{err}");
        let err = toml("trusted_proxies = [\"10.0.0.0/33\"]").unwrap_err();
        assert_eq!(
            err,
            "trusted_proxies[0] in eddy.toml: \"10.0.0.0/33\" is not an address or a range like 10.0.0.0/8"
        );
        // A variable that replaced the file's value takes the blame instead.
        let env = vars(&[("EDDY_MAX_PAYLOAD", "0")]);
        let err = Config::load(Some(&file.0), env, &[])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("EDDY_MAX_PAYLOAD: "), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml("ping_intervall_ms = 5").unwrap_err();
        assert!(
            err.starts_with("ping_intervall_ms in eddy.toml: unknown field `ping_intervall_ms`"),
            "{err}"
        );
        let err = toml("[[apps]]\nslug = \"a\"\nhandlr = \"echo\"").unwrap_err();
        assert!(
            err.starts_with("apps[0].handlr in eddy.toml: unknown field `handlr`"),
            "{err}"
        );
        let err = toml("listen = ").unwrap_err();
        assert!(err.starts_with("invalid config file eddy.toml: "), "{err}");
    }

    #[test]
    fn a_misspelt_variable_is_refused_and_other_eddy_variables_are_not() {
        let env = vars(&[("EDDY_PING_INTERVALL_MS", "5")]);
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "EDDY_PING_INTERVALL_MS is not a setting; did you mean EDDY_PING_INTERVAL_MS?"
        );
        let env = vars(&[("EDDY_listen", "127.0.0.1:1")]);
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert!(err.contains("did you mean EDDY_LISTEN?"), "{err}");
        // The CLI's variables and the test suites' are not settings.
        let others = [
            "EDDY_CONFIG",
            "EDDY_SERVER",
            "EDDY_CLIENT_TIMEOUT_SECS",
            "EDDY_BIN",
            "EDDY_PLUGINS_DIR",
            "EDDY_TEST_POSTGRES",
            "EDDY_TEST_REDIS",
            "EDDY_TEST_NATS",
            "EDDY_TEST_CHROMIUM",
            "EDDY_STORY_DATABASE",
            "EDDY_CONFORMANCE_DIR",
            "EDDY_SCREENSHOTS",
            "EDDY_DOCS_SCREENSHOTS",
        ];
        let env = others
            .iter()
            .map(|name| (name.to_string(), "x".to_string()));
        assert_eq!(Config::load(None, env, &[]).unwrap(), Config::default());
    }

    #[test]
    fn admin_listen_is_off_by_default_and_empty_unsets_it() {
        assert_eq!(Config::default().admin_listen, None);
        assert!(!Config::default().to_toml().contains("admin_listen"));
        let env = vars(&[("EDDY_ADMIN_LISTEN", "127.0.0.1:9090")]);
        let c = Config::load(None, env, &[]).unwrap();
        assert_eq!(c.admin_listen.unwrap().to_string(), "127.0.0.1:9090");
        // An empty flag beats the variable: one port again.
        let env = vars(&[("EDDY_ADMIN_LISTEN", "127.0.0.1:9090")]);
        let flags = [flag("--admin-listen", "admin_listen", "")];
        assert_eq!(Config::load(None, env, &flags).unwrap().admin_listen, None);
        assert_eq!(toml("admin_listen = \"\"").unwrap().admin_listen, None);
        let err = toml("admin_listen = \"localhost\"").unwrap_err();
        assert!(err.starts_with("admin_listen in eddy.toml: "), "{err}");
        let err =
            toml("listen = \"127.0.0.1:8080\"\nadmin_listen = \"127.0.0.1:8080\"").unwrap_err();
        assert!(
            err.starts_with("admin_listen is listen's address (127.0.0.1:8080)"),
            "{err}"
        );
        // Port 0 twice is two free ports.
        let c = toml("listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"").unwrap();
        assert!(c.admin_listen.is_some());
    }

    #[test]
    fn a_bad_builtin_handler_is_refused_naming_the_choices() {
        let err = toml("[[apps]]\nslug = \"a\"\nhandler = \"nope\"").unwrap_err();
        assert_eq!(
            err,
            "apps[0].handler in eddy.toml: unknown variant `nope`, expected `echo`"
        );
        let c = toml("[[apps]]\nslug = \"a\"\nhandler = \"echo\"").unwrap();
        assert_eq!(c.apps[0].handler, BuiltinHandler::Echo);
    }

    #[test]
    fn apps_are_validated() {
        let err = toml("[[apps]]\nslug = \"a\"\n[[apps]]\nslug = \"a\"").unwrap_err();
        assert_eq!(err, "apps in eddy.toml: app \"a\" is defined twice");
    }

    #[test]
    fn broker_settings_are_checked() {
        let env = vars(&[("EDDY_BROKER_URL", "kafka://user:pw@x")]);
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("EDDY_BROKER_URL: invalid value \"kafka://user:<redacted>@x\": "),
            "{err}"
        );
        let err = toml("broker_prefix = \"has.dots\"").unwrap_err();
        assert!(err.starts_with("broker_prefix in eddy.toml: "), "{err}");
        let err = toml("ws_read_buffer = 255").unwrap_err();
        assert_eq!(
            err,
            "ws_read_buffer in eddy.toml: must be at least 256 bytes"
        );
    }

    #[test]
    fn config_check_prints_no_secrets() {
        let env = vars(&[
            (
                "EDDY_DATABASE_URL",
                "postgres://eddy:hunter2@db:5432/eddy?sslmode=require&password=x",
            ),
            ("EDDY_BROKER_URL", "redis://:s3cret@cache:6379/0"),
            ("EDDY_ADMIN_TOKEN", "et_supersecret"),
        ]);
        let c = Config::load(None, env, &[]).unwrap();
        let text = c.to_toml();
        for secret in ["hunter2", "s3cret", "supersecret", "password=x"] {
            assert!(!text.contains(secret), "{secret} printed:\n{text}");
        }
        assert!(text.contains("admin_token = \"<redacted>\""));
        assert!(text.contains(
            "postgres://eddy:<redacted>@db:5432/eddy?sslmode=require&password=<redacted>"
        ));
        assert!(text.contains("redis://:<redacted>@cache:6379/0"));
        assert!(!format!("{c:?}").contains("supersecret"));
        assert_eq!(c.admin_token.unwrap().expose(), "et_supersecret");
    }

    #[test]
    fn a_malformed_secret_key_is_refused_naming_the_variable_never_the_value() {
        let near_miss = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeg";
        let env = vars(&[("EDDY_SECRET_KEY", near_miss)]);
        let err = Config::load(None, env, &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("EDDY_SECRET_KEY: invalid value \"<redacted>\": "),
            "{err}"
        );
        assert!(err.contains("openssl rand -hex 32"), "{err}");
        assert!(!err.contains("ccddeeg"), "{err}");
        let err = toml("secret_key = \"short\"").unwrap_err();
        assert!(err.starts_with("secret_key in eddy.toml: "), "{err}");
        assert!(!err.contains("short"), "{err}");
        let good = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let c = Config::load(None, vars(&[("EDDY_SECRET_KEY", good)]), &[]).unwrap();
        assert_eq!(c.secret_key.as_ref().unwrap().expose()[1], 0x11);
        assert!(c.to_toml().contains("secret_key = \"<redacted>\""));
        assert!(!c.to_toml().contains("ccddeeff"));
        assert!(!format!("{c:?}").contains("ccddeeff"));
    }

    #[test]
    fn the_example_node_config_is_valid() {
        let c = toml(include_str!("../../../deploy/eddy.toml")).unwrap();
        assert_eq!(c.broker_url, "redis://redis.internal:6379");
        assert_eq!(c.node_name.as_deref(), Some("eddy-1"));
        assert_eq!(c.admin_listen.unwrap().port(), 9090);
        assert!(!c.demo);
    }

    /// Every key of the printed configuration can be given back as its
    /// variable (lists comma-separated) and yields the same configuration.
    #[test]
    fn every_printed_key_round_trips_through_its_variable() {
        let c = Config {
            trusted_proxies: vec![IpRange::parse("10.0.0.0/8").unwrap()],
            node_name: Some("n1".into()),
            admin_listen: Some(SocketAddr::from(([10, 0, 0, 1], 9090))),
            ..Config::default()
        };
        let table: toml::Table = toml::from_str(&c.to_toml()).unwrap();
        let env = table
            .iter()
            .filter(|(key, _)| *key != "apps")
            .map(|(key, value)| {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Array(items) => items
                        .iter()
                        .filter_map(toml::Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                };
                (layers::env_name(key), text)
            });
        let loaded = Config::load(None, env.collect::<Vec<_>>(), &[]).unwrap();
        assert_eq!(loaded, c);
    }
}
