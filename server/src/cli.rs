//! The `eddy` command line: `eddy [serve]` and `eddy config check`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::config::Config;

#[derive(Parser)]
#[command(
    name = "eddy",
    version,
    about = "A multi-tenant realtime host: Socket.IO clients, WebAssembly handlers"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (defaults, file, environment and
    /// flags merged) or the first error in it.
    Check(ServeArgs),
}

/// Flags override `EDDY_*` variables, which override the config file.
#[derive(Args, Default)]
struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "EDDY_CONFIG")]
    config: Option<PathBuf>,
    /// Client and admin address [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    /// Data directory [default: ./eddy-data].
    #[arg(long)]
    data_dir: Option<String>,
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
    fn load(&self) -> Result<Config, crate::config::ConfigError> {
        let mut flags: Vec<(&str, String)> = Vec::new();
        let optional = [
            ("listen", &self.listen),
            ("data_dir", &self.data_dir),
            ("log", &self.log),
            ("ping_interval_ms", &self.ping_interval_ms),
            ("ping_timeout_ms", &self.ping_timeout_ms),
            ("max_payload", &self.max_payload),
            ("connect_timeout_ms", &self.connect_timeout_ms),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                flags.push((key, value.clone()));
            }
        }
        if self.no_demo {
            flags.push(("demo", "false".into()));
        }
        if self.engine_io_echo {
            flags.push(("engine_io_echo", "true".into()));
        }
        Config::load(
            self.config.as_deref(),
            |name| std::env::var(name).ok(),
            &flags,
        )
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Config {
            command: ConfigCommand::Check(args),
        }) => config_check(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eddy: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn config_check(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    print!("{}", config.to_toml());
    eprintln!("configuration is valid");
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    init_tracing(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let address = listener.local_addr()?;
        let state = crate::http::ServerState::start(config).await.map_err(anyhow::Error::msg)?;
        for app in state.tenants.all() {
            tracing::info!(app = %app.slug, handler = %app.handler().describe(), "serving app at /apps/{}/socket.io/", app.slug);
        }
        // A stable line on stdout: scripts and tests wait for it to learn the port.
        println!("eddy listening on http://{address}");
        crate::server::run(listener, state, shutdown_signal()).await;
        Ok(())
    })
}

fn init_tracing(filter: &str) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("invalid log filter {filter:?}"))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
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
