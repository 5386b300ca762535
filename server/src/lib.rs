#![doc = include_str!("../README.md")]

pub mod api;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod control;
pub mod dispatch;
pub mod http;
pub mod live;
pub mod metrics;
pub mod open_files;
pub mod server;
pub mod session;
pub mod socket;
pub mod state;
pub mod tenant;
pub mod transport;

#[cfg(test)]
mod code_map;
