#![doc = include_str!("../README.md")]

pub mod codes;
pub mod engine;
mod error;
mod json;
pub mod payload;
pub mod socketio;

pub use error::Error;
