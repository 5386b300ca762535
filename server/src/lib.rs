#![doc = include_str!("../README.md")]

pub mod admin;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod control;
pub mod dispatch;
pub mod http;
pub mod metrics;
pub mod open_files;
pub mod server;
pub mod session;
pub mod socket;
pub mod tenant;
pub mod tenant_api;
pub mod transport;
