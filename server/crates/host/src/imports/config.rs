//! `eddy:handler/config`: the app's config variables and secrets, read
//! through the embedder (which caches them and decrypts secrets).

use crate::bindings::eddy::handler::config::{ConfigError, Host};
use crate::state::HostState;

/// Longest config name (longer ones are never set).
const MAX_NAME_BYTES: usize = 128;

impl Host for HostState {
    async fn get(&mut self, name: String) -> Result<Option<String>, ConfigError> {
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Ok(None);
        }
        let caps = self
            .call
            .as_ref()
            .map(|scope| scope.caps.clone())
            .ok_or_else(|| {
                ConfigError::Unavailable("config is only available inside a hook".into())
            })?;
        caps.config_get(&name).await
    }
}
