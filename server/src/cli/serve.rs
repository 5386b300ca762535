//! `eddy serve`, `eddy config check`, `eddy migrate`: the commands that run
//! on the server's own machine.

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use tokio::net::TcpListener;

use crate::config::{Config, Flag};

/// Flags override `EDDY_*` variables, which override the config file.
#[derive(Args, Default)]
pub(super) struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "EDDY_CONFIG")]
    config: Option<PathBuf>,
    /// Client address (and admin, without --admin-listen) [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    /// Internal address for the admin UI, the admin API and /metrics [default: none: --listen serves them].
    #[arg(long)]
    admin_listen: Option<String>,
    /// Data directory [default: ./eddy-data].
    #[arg(long)]
    data_dir: Option<String>,
    /// Registry URL: sqlite://PATH or postgres://… [default: SQLite in the data directory].
    #[arg(long = "database", value_name = "URL")]
    database_url: Option<String>,
    /// How nodes reach each other: local, redis://… or nats://… [default: local].
    #[arg(long = "broker", value_name = "URL")]
    broker_url: Option<String>,
    /// Prefix of the cluster's broker topics [default: eddy].
    #[arg(long)]
    broker_prefix: Option<String>,
    /// This node's name in the admin UI [default: the listen address].
    #[arg(long)]
    node_name: Option<String>,
    /// Tracing filter [default: info].
    #[arg(long)]
    log: Option<String>,
    /// Do not serve the `demo` app.
    #[arg(long)]
    no_demo: bool,
    /// Serve a raw Engine.IO echo endpoint at /engine.io/ (diagnostics).
    #[arg(long)]
    engine_io_echo: bool,
    /// Engine.IO ping interval [default: 25000].
    #[arg(long)]
    ping_interval_ms: Option<String>,
    /// Engine.IO ping timeout [default: 20000].
    #[arg(long)]
    ping_timeout_ms: Option<String>,
    /// Largest Engine.IO message in bytes [default: 1000000].
    #[arg(long)]
    max_payload: Option<String>,
    /// Time to join a namespace [default: 45000].
    #[arg(long)]
    connect_timeout_ms: Option<String>,
}

impl ServeArgs {
    /// The settings given as flags; each names the config key it sets.
    fn flags(&self) -> Vec<Flag> {
        let given = [
            ("--listen", "listen", &self.listen),
            ("--admin-listen", "admin_listen", &self.admin_listen),
            ("--data-dir", "data_dir", &self.data_dir),
            ("--database", "database_url", &self.database_url),
            ("--broker", "broker_url", &self.broker_url),
            ("--broker-prefix", "broker_prefix", &self.broker_prefix),
            ("--node-name", "node_name", &self.node_name),
            ("--log", "log", &self.log),
            (
                "--ping-interval-ms",
                "ping_interval_ms",
                &self.ping_interval_ms,
            ),
            (
                "--ping-timeout-ms",
                "ping_timeout_ms",
                &self.ping_timeout_ms,
            ),
            ("--max-payload", "max_payload", &self.max_payload),
            (
                "--connect-timeout-ms",
                "connect_timeout_ms",
                &self.connect_timeout_ms,
            ),
        ];
        let mut flags: Vec<Flag> = given
            .into_iter()
            .filter_map(|(name, key, value)| {
                Some(Flag {
                    name,
                    key,
                    value: value.clone()?,
                })
            })
            .collect();
        let switches = [
            ("--no-demo", "demo", self.no_demo, "false"),
            (
                "--engine-io-echo",
                "engine_io_echo",
                self.engine_io_echo,
                "true",
            ),
        ];
        for (name, key, on, value) in switches {
            if on {
                flags.push(Flag {
                    name,
                    key,
                    value: value.into(),
                });
            }
        }
        flags
    }

    fn load(&self) -> Result<Config, crate::config::ConfigError> {
        // Variables that are not Unicode cannot be settings; leave them be.
        let env = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        Config::load(self.config.as_deref(), env, &self.flags())
    }
}

pub(super) fn config_check(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    print!("{}", config.to_toml());
    eprintln!("configuration is valid");
    Ok(())
}

pub(super) fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    init_tracing(&config.log)?;
    let open_files = crate::open_files::raise_soft_limit();
    tracing::debug!(?open_files, "open-files limit");
    crate::open_files::make_private(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let public = bind(config.listen).await?;
        let admin = match config.admin_listen {
            Some(address) => Some(bind(address).await?),
            None => None,
        };
        // The addresses actually bound (port 0 picks one); the public one
        // is the node's default name.
        let address = public.local_addr()?;
        let admin_address = admin.as_ref().map(TcpListener::local_addr).transpose()?;
        let config = crate::config::Config {
            listen: address,
            admin_listen: admin_address,
            ..config
        };
        let state = crate::state::ServerState::start(config).await.map_err(anyhow::Error::msg)?;
        for app in state.tenants.all() {
            tracing::info!(app = %app.slug, handler = %app.handler().describe(), "serving app at /apps/{}/socket.io/", app.slug);
        }
        // Stable lines on stdout: scripts and tests wait for them to learn
        // the ports, the public one last (it means "ready").
        if let Some(admin) = admin_address {
            println!("eddy admin listening on http://{admin}");
        }
        println!("eddy listening on http://{address}");
        let listeners = crate::server::Listeners { public, admin };
        crate::server::run(listeners, state, shutdown_signal()).await;
        Ok(())
    })
}

async fn bind(address: std::net::SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

/// Opens the registry and applies pending migrations, without serving.
pub(super) fn migrate(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", config.data_dir.join("eddy.db").display()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = eddy_store::Store::connect(&url).await?;
        store.close().await;
        anyhow::Ok(())
    })?;
    eprintln!("the registry schema is up to date");
    Ok(())
}

fn init_tracing(filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("invalid log filter {filter:?}"))?;
    let colour = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
    Ok(())
}

/// Colour codes only for a person at a terminal who has not opted out
/// (<https://no-color.org>: `NO_COLOR` set and not empty): a file, a pipe
/// or the journal gets plain text.
fn colour(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("signal received");
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(!colour(false, None), "a file or a pipe");
        assert!(!colour(true, Some("1".into())));
        assert!(colour(true, Some("".into())), "an empty NO_COLOR is unset");
    }

    /// Every flag of `eddy serve` sets the key it names, and its name in
    /// errors is the one clap accepts.
    #[test]
    fn every_flag_sets_its_key() {
        let args = [
            "eddy",
            "--listen=127.0.0.1:9",
            "--admin-listen=127.0.0.1:10",
            "--data-dir=/d",
            "--database=sqlite:///d/e.db",
            "--broker=nats://n:4222",
            "--broker-prefix=p",
            "--node-name=n1",
            "--log=debug",
            "--no-demo",
            "--engine-io-echo",
            "--ping-interval-ms=1",
            "--ping-timeout-ms=2",
            "--max-payload=3",
            "--connect-timeout-ms=4",
        ];
        let serve = Cli::try_parse_from(args).unwrap().serve;
        let flags = serve.flags();
        assert_eq!(flags.len(), args.len() - 1);
        for flag in &flags {
            assert!(
                args.iter().any(|a| a.split('=').next() == Some(flag.name)),
                "{}",
                flag.name
            );
        }
        let c = Config::load(None, [], &flags).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9");
        assert_eq!(c.admin_listen.unwrap().to_string(), "127.0.0.1:10");
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.database_url.as_deref(), Some("sqlite:///d/e.db"));
        assert_eq!(c.broker_url, "nats://n:4222");
        assert_eq!(c.broker_prefix, "p");
        assert_eq!(c.node_name.as_deref(), Some("n1"));
        assert_eq!(c.log, "debug");
        assert!(!c.demo && c.engine_io_echo);
        assert_eq!(
            (
                c.ping_interval_ms,
                c.ping_timeout_ms,
                c.max_payload,
                c.connect_timeout_ms
            ),
            (1, 2, 3, 4)
        );
    }
}
