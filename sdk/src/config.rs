//! The app's config: variables and secrets its operators set through the
//! admin API, CLI or UI (`PUT /admin/api/v1/apps/{app}/config/{name}`). A
//! change reaches running instances within a second, without a redeploy,
//! so read config where it is used rather than caching it in a static.
//!
//! ```no_run
//! # fn f(cx: &eddy_sdk::Context) -> Result<(), eddy_sdk::config::ConfigError> {
//! let greeting = cx.config().get("greeting")?.unwrap_or_else(|| "hello".into());
//! let max_players: u32 = cx.config().get_parsed("max_players")?.unwrap_or(8);
//! let banned: Vec<String> = cx.config().get_json("banned_words")?.unwrap_or_default();
//! # Ok(()) }
//! ```

use std::str::FromStr;

use serde::de::DeserializeOwned;

use crate::EventError;
use crate::host;

/// Why a config value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The value is a secret this server cannot decrypt (it has no
    /// `EDDY_SECRET_KEY`, or another key than the one it was written with).
    SecretUnavailable,
    /// The registry could not be reached; the message says why.
    Unavailable(String),
    /// The value does not parse as the type asked for; the message says why.
    Invalid(String),
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretUnavailable => f.write_str("the config secret cannot be decrypted here"),
            Self::Unavailable(why) => write!(f, "config unavailable: {why}"),
            Self::Invalid(why) => write!(f, "config value invalid: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for EventError {
    fn from(e: ConfigError) -> Self {
        Self::new("config_failed", e.to_string())
    }
}

/// The value of `name`, if it is set.
pub fn get(name: &str) -> Result<Option<String>, ConfigError> {
    host::config_get(name)
}

/// The value of `name` parsed with [`FromStr`] (numbers, booleans, …),
/// surrounding whitespace ignored.
///
/// A value that does not parse is [`ConfigError::Invalid`] naming the
/// variable and the type, never the parser's message: parsers quote what
/// they read, and a secret must not reach a client through an error ack.
pub fn get_parsed<T: FromStr>(name: &str) -> Result<Option<T>, ConfigError> {
    get(name)?
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| invalid::<T>(name, "does not parse"))
        })
        .transpose()
}

/// The value of `name` parsed as JSON. As with [`get_parsed`], an error
/// never quotes the value.
pub fn get_json<T: DeserializeOwned>(name: &str) -> Result<Option<T>, ConfigError> {
    get(name)?
        .map(|v| {
            serde_json::from_str(&v).map_err(|e| {
                // serde's category and position only: its message quotes input.
                let why = format!(
                    "is not that JSON ({:?} at line {} column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                );
                invalid::<T>(name, &why)
            })
        })
        .transpose()
}

fn invalid<T>(name: &str, why: &str) -> ConfigError {
    ConfigError::Invalid(format!(
        "config {name} {why} as {}",
        std::any::type_name::<T>()
    ))
}

/// The app's config as a value: the functions of [`crate::config`] as
/// methods, from [`Context::config`](crate::Context::config) or
/// [`TimerContext::config`](crate::TimerContext::config).
#[derive(Debug, Clone, Copy, Default)]
pub struct Config;

impl Config {
    /// See [`get`].
    pub fn get(&self, name: &str) -> Result<Option<String>, ConfigError> {
        get(name)
    }

    /// See [`get_parsed`].
    pub fn get_parsed<T>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        get_parsed(name)
    }

    /// See [`get_json`].
    pub fn get_json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        get_json(name)
    }
}
