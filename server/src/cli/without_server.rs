//! `serve`, `migrate` and `config check` in an eddy built without the
//! `server` feature (the light install for tenants and CI): hidden from
//! `--help`, they take whatever follows them and say how to get a server,
//! instead of clap's "unrecognized subcommand".

use std::ffi::OsString;

use clap::Args;

pub(super) const NO_SERVER: &str = "this eddy was installed without the server \
    (cargo install --path server --no-default-features); \
    install it with default features to run a server";

/// What followed the command (not read: there is no server to give it to).
#[derive(Args)]
pub(super) struct ServeArgs {
    /// The server's flags; this eddy has no server.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _ignored: Vec<OsString>,
}

pub(super) fn serve(_: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!(NO_SERVER)
}

pub(super) fn migrate(_: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!(NO_SERVER)
}

pub(super) fn config_check(_: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!(NO_SERVER)
}
