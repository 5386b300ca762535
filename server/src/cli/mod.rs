//! The `eddy` command line. `eddy [serve]` runs a server; the other
//! commands manage one through its admin API (`eddy login` once, or
//! `--server` and `--token` on each). Built without the `server` feature,
//! it is those other commands alone: `serve`, `migrate` and `config check`
//! only say so (`without_server.rs`).

mod apps;
mod client;
mod config;
mod credentials;
mod deployments;
mod login;
mod logs;
mod remote;
#[cfg(feature = "server")]
mod serve;
mod sse;
mod table;
mod tenants;
mod tls;
mod tokens;
mod url;
#[cfg(not(feature = "server"))]
mod without_server;
#[cfg(not(feature = "server"))]
use without_server as serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use apps::AppCommand;
use remote::Remote;
use serve::ServeArgs;
use table::Output;
use tenants::TenantCommand;
use tokens::TokenCommand;

#[derive(Parser)]
#[command(
    name = "eddy",
    version,
    about = "A multi-tenant realtime host: Socket.IO clients, WebAssembly handlers"
)]
#[command(args_conflicts_with_subcommands = true)]
// Without the server, `eddy` alone only says it has none (`main`).
#[cfg_attr(not(feature = "server"), command(override_usage = "eddy <COMMAND>"))]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[cfg(feature = "server")]
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    #[cfg_attr(not(feature = "server"), command(hide = true, about = NOT_HERE))]
    Serve(ServeArgs),
    /// Check the server's configuration, or set, list and unset an app's
    /// config variables and secrets.
    #[cfg_attr(
        not(feature = "server"),
        command(about = "Set, list and unset an app's config variables and secrets")
    )]
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Bring the registry's schema up to date without serving.
    #[cfg_attr(not(feature = "server"), command(hide = true, about = NOT_HERE))]
    Migrate(ServeArgs),
    /// Check an admin token against a server and store both for the other
    /// commands (in a file only you can read).
    Login(login::LoginArgs),
    /// Delete the credentials `eddy login` stored.
    Logout,
    /// Who the token is: label, role, tenant, apps, expiry, permissions.
    Whoami {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
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
        /// The app whose versions to list.
        #[arg(long)]
        app: String,
        #[command(flatten)]
        output: Output,
    },
    /// Make an earlier version live again (default: the previous one).
    Rollback {
        #[command(flatten)]
        remote: Remote,
        /// The app to roll back.
        #[arg(long)]
        app: String,
        /// The version to make live (from `eddy deployments`) [default: the
        /// one live before the current one].
        version: Option<i64>,
    },
    /// Show an app's recent log lines (its handler's log calls, stdout,
    /// stderr, faults, deploy notices), oldest first; with --follow and
    /// --json, one JSON object per line.
    Logs {
        #[command(flatten)]
        remote: Remote,
        /// The app whose log to show.
        #[arg(long)]
        app: String,
        /// Then keep printing new lines as they are written, until
        /// interrupted.
        #[arg(long, short = 'f')]
        follow: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Manage tenants and their quotas (platform admins).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage admin tokens: create (printed once), list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The platform's ceilings: each app limit's range and each tenant
    /// quota's maximum, with the defaults a new app or tenant gets.
    Platform {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: Output,
    },
}

// Parsed once per process: the size of its largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (defaults, file, environment and
    /// flags merged; secrets redacted) or the first error in it.
    #[cfg_attr(not(feature = "server"), command(hide = true, about = NOT_HERE))]
    Check(ServeArgs),
    #[command(flatten)]
    App(config::AppConfigCommand),
}

/// The about of a server command in an eddy built without the server.
#[cfg(not(feature = "server"))]
const NOT_HERE: &str = "Not in this eddy: it was installed without the server";

/// The numeric flags that were given, as a JSON object for a request body
/// (a flag left out is a key left out: the server keeps or defaults it).
fn given_flags(flags: &[(&str, Option<u64>)]) -> serde_json::Map<String, serde_json::Value> {
    flags
        .iter()
        .filter_map(|(key, value)| Some(((*key).to_owned(), (*value)?.into())))
        .collect()
}

/// A stand-in for the process environment in tests: `pairs` and nothing else.
#[cfg(test)]
fn fake_env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        #[cfg(feature = "server")]
        None => serve::serve(cli.serve),
        #[cfg(not(feature = "server"))]
        None => Err(anyhow::anyhow!(
            "{}; `eddy --help` lists the commands it has",
            without_server::NO_SERVER
        )),
        Some(command) => run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("eddy: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::serve(args),
        Command::Config {
            command: ConfigCommand::Check(args),
        } => serve::config_check(args),
        Command::Config {
            command: ConfigCommand::App(command),
        } => config::run(command),
        Command::Migrate(args) => serve::migrate(args),
        Command::Login(args) => login::login(args),
        Command::Logout => login::logout(),
        Command::Whoami { remote, output } => login::whoami(&remote, output),
        Command::App { command } => apps::run(command),
        Command::Deploy {
            remote,
            app,
            file,
            notes,
            no_activate,
        } => deployments::deploy(&remote, &app, &file, notes.as_deref(), !no_activate),
        Command::Deployments {
            remote,
            app,
            output,
        } => deployments::list(&remote, &app, output),
        Command::Rollback {
            remote,
            app,
            version,
        } => deployments::rollback(&remote, &app, version),
        Command::Logs {
            remote,
            app,
            follow,
            output,
        } => logs::run(&remote, &app, follow, output),
        Command::Tenant { command } => tenants::run(command),
        Command::Token { command } => tokens::run(command),
        Command::Platform { remote, output } => tenants::platform(remote, output),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    /// Every flag and argument of every command says what it is for in
    /// `--help`.
    #[test]
    fn every_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                let path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(format!("{path} (the command)"));
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        let cli = Cli::command();
        cli.clone().debug_assert();
        walk(&cli, "eddy", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }

    /// Without the server, `--help` lists only the admin commands, and the
    /// server's commands (whatever their flags) say how to get one.
    #[cfg(not(feature = "server"))]
    #[test]
    fn without_the_server_its_commands_are_hidden_and_explain_themselves() {
        let mut cli = Cli::command();
        let help = cli.render_help().to_string();
        for absent in [
            "  serve ",
            "  migrate ",
            "Run the server",
            "Check the server",
        ] {
            assert!(!help.contains(absent), "{absent:?} in\n{help}");
        }
        assert!(
            help.contains("  deploy ") && help.contains("  login "),
            "{help}"
        );
        assert!(help.contains("Usage: eddy <COMMAND>\n"), "{help}");
        let config = cli.find_subcommand_mut("config").unwrap();
        let help = config.render_help().to_string();
        assert!(!help.contains("  check "), "{help}");
        for hidden in [&["serve"][..], &["migrate"], &["config", "check"]] {
            let mut command = Cli::command();
            for name in hidden {
                command = command.find_subcommand(name).unwrap().clone();
            }
            let about = command.get_about().map(ToString::to_string);
            assert_eq!(about.as_deref(), Some(NOT_HERE), "{hidden:?}");
            assert!(command.get_long_about().is_none(), "{hidden:?}");
        }
        for args in [
            &["eddy", "serve"][..],
            &["eddy", "serve", "--listen", "0.0.0.0:80", "--no-demo"],
            &["eddy", "migrate", "--database", "postgres://db/eddy"],
            &["eddy", "config", "check", "--config", "eddy.toml"],
        ] {
            let command = Cli::try_parse_from(args)
                .unwrap_or_else(|e| panic!("{args:?}: {e}"))
                .command
                .unwrap();
            let error = run(command).unwrap_err().to_string();
            assert_eq!(error, without_server::NO_SERVER, "{args:?}");
        }
        // The admin commands still parse, and `config` keeps its app part.
        assert!(Cli::try_parse_from(["eddy", "config", "list", "--app", "chat"]).is_ok());
    }
}
