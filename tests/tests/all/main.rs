//! Every integration test in one binary (as wasmtime's `tests/all`): each
//! test binary links eddy, wasmtime and sqlx, so one binary instead of one
//! per file saves most of a cold build's link time on a 2-core machine.

mod access;
mod admin_api;
mod admin_listen;
mod admin_ui;
mod cli;
mod cluster;
mod compare;
mod config;
mod conformance;
mod contract;
mod data_dir;
mod edge;
mod engine_io;
mod guest_bounds;
mod host;
mod imports;
mod kv_isolation;
mod limits;
mod observe;
mod peers;
mod plugins;
mod sdk_walkthrough;
mod server_log;
mod socket_io;
mod story;
mod tenant_api;
mod tokens;
