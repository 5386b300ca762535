//! The `eddy` command line. `eddy [serve]` runs a server; the other
//! commands manage one through its admin API (`--server`, `--token`).

mod client;
mod commands;
mod serve;
mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use serve::ServeArgs;

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
    /// Bring the registry's schema up to date without serving.
    Migrate(ServeArgs),
    /// Manage apps.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// Upload a handler component and (by default) make it live.
    Deploy {
        #[command(flatten)]
        remote: Remote,
        /// The app to deploy to.
        #[arg(long)]
        app: String,
        /// The component (`cargo build --release --target wasm32-wasip2` output).
        file: PathBuf,
        /// A note stored with the version.
        #[arg(long)]
        notes: Option<String>,
        /// Store and check the version without making it live.
        #[arg(long)]
        no_activate: bool,
    },
    /// List an app's versions.
    Deployments {
        #[command(flatten)]
        remote: Remote,
        #[arg(long)]
        app: String,
    },
    /// Make an earlier version live again (default: the previous one).
    Rollback {
        #[command(flatten)]
        remote: Remote,
        #[arg(long)]
        app: String,
        version: Option<i64>,
    },
    /// Manage admin tokens: create (printed once), list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an admin token; it is printed this once (the registry keeps
    /// only its hash).
    Create {
        #[command(flatten)]
        remote: Remote,
        /// Who or what the token is for (shown in the list and the audit log).
        #[arg(long, default_value = "cli")]
        label: String,
        /// Make it stop working after this long: 90s, 15m, 12h, 30d
        /// [default: it does not expire].
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List admin tokens: id, state, created, last used (to the minute),
    /// expiry, label. Never the tokens themselves.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Revoke an admin token by id (from `eddy token list`): calls with it
    /// get 401 from now on, on every node.
    Revoke {
        #[command(flatten)]
        remote: Remote,
        id: i64,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (defaults, file, environment and
    /// flags merged; secrets redacted) or the first error in it.
    Check(ServeArgs),
}

#[derive(Subcommand)]
enum AppCommand {
    /// Create an app; prints its key (the secret only this once).
    Create {
        #[command(flatten)]
        remote: Remote,
        slug: String,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        max_connections: Option<u64>,
        #[arg(long)]
        max_events_per_second: Option<u64>,
        #[arg(long)]
        max_payload: Option<u64>,
        #[arg(long)]
        handler_deadline_ms: Option<u64>,
        #[arg(long)]
        handler_memory_mb: Option<u64>,
        #[arg(long)]
        kv_quota_bytes: Option<u64>,
        #[arg(long)]
        max_rooms_per_socket: Option<u64>,
        #[arg(long)]
        max_room_name_bytes: Option<u64>,
        #[arg(long)]
        max_namespaces: Option<u64>,
        /// A browser origin allowed to connect (repeat for several); none: any origin.
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
    },
    /// List apps.
    List {
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete an app with its deployments and data.
    Delete {
        #[command(flatten)]
        remote: Remote,
        slug: String,
        /// Confirm: the app's data is deleted.
        #[arg(long)]
        yes: bool,
    },
}

/// Where the server is and how to authenticate.
#[derive(Args, Clone)]
struct Remote {
    /// The server's base URL.
    #[arg(long, env = "EDDY_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin token.
    #[arg(long, env = "EDDY_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Longest to wait for the server's answer to one request, in seconds
    /// (more than a deploy's own bounds: compile 60 s, start-up 1 s).
    #[arg(long, env = "EDDY_CLIENT_TIMEOUT_SECS", default_value_t = 120)]
    timeout_secs: u64,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve::serve(cli.serve),
        Some(Command::Serve(args)) => serve::serve(args),
        Some(Command::Config {
            command: ConfigCommand::Check(args),
        }) => serve::config_check(args),
        Some(Command::Migrate(args)) => serve::migrate(args),
        Some(command) => commands::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eddy: {error:#}");
            ExitCode::from(2)
        }
    }
}
