//! App config and secrets: set, listed, deleted, with secrets encrypted
//! before they reach the registry (`secrets.rs`) and never returned. A
//! change reaches handlers through `tenant::config`'s cache: at once on
//! this node (its copy is forgotten), within a second on the others.

use serde::Serialize;

use super::{Control, ControlError};

/// One config entry as the admin API lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ConfigView {
    pub name: String,
    pub secret: bool,
    /// When it was last set, in milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// A plain variable's value (UTF-8 text). Never present for a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// For a secret only: whether this server can decrypt it. `false` when
    /// the server has no secret key or not the one the secret was set with;
    /// its handlers then get `secret-unavailable` until it is set again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readable: Option<bool>,
}

impl Control {
    /// The app's config by name; secrets without their values.
    pub(crate) async fn config_list(&self, slug: &str) -> Result<Vec<ConfigView>, ControlError> {
        let app = self.store.app(slug).await?;
        let rows = self.store.config_values(app.id).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let readable = row.secret.then(|| {
                    self.sealer
                        .as_ref()
                        .is_some_and(|s| s.open(app.id, &row.name, &row.value).is_ok())
                });
                ConfigView {
                    value: (!row.secret).then(|| String::from_utf8_lossy(&row.value).into_owned()),
                    name: row.name,
                    secret: row.secret,
                    updated_at: row.updated_at,
                    readable,
                }
            })
            .collect())
    }

    /// Sets config `name` of app `slug`; a secret is encrypted first, and
    /// refused when the server has no secret key. The value's limit is on
    /// the text as given ([`eddy_store::MAX_CONFIG_VALUE`] bytes of UTF-8).
    #[tracing::instrument(name = "config_set", skip_all, fields(app = slug, name = name, secret = secret))]
    pub(crate) async fn config_set(
        &self,
        slug: &str,
        name: &str,
        value: &str,
        secret: bool,
        actor: &str,
    ) -> Result<(), ControlError> {
        let max = eddy_store::MAX_CONFIG_VALUE;
        if value.len() > max {
            // The size, never the value: it may be a secret.
            return Err(ControlError::Invalid(format!(
                "config {name}: a value is at most {max} bytes of UTF-8 text, this one is {}",
                value.len()
            )));
        }
        let app = self.store.app(slug).await?;
        let stored = if secret {
            let sealer = self.sealer.as_ref().ok_or(ControlError::SecretKeyMissing)?;
            sealer
                .seal(app.id, name, value.as_bytes())
                .map_err(|e| ControlError::Internal(e.to_string()))?
        } else {
            value.as_bytes().to_vec()
        };
        self.store
            .config_set(app.id, name, &stored, secret, actor)
            .await?;
        self.config_changed(slug, app.id);
        tracing::info!(app = %slug, name, secret, actor, "config set");
        Ok(())
    }

    /// Deletes config `name` of app `slug`; not found when there is none.
    #[tracing::instrument(name = "config_delete", skip_all, fields(app = slug, name = name))]
    pub(crate) async fn config_delete(
        &self,
        slug: &str,
        name: &str,
        actor: &str,
    ) -> Result<(), ControlError> {
        let app = self.store.app(slug).await?;
        if !self.store.config_delete(app.id, name, actor).await? {
            return Err(ControlError::NotFound(format!(
                "config {name:?} of app {slug:?} not found"
            )));
        }
        self.config_changed(slug, app.id);
        tracing::info!(app = %slug, name, actor, "config deleted");
        Ok(())
    }

    /// This node's handlers read the change at once; other nodes' caches
    /// expire within `tenant::config::MAX_AGE`.
    fn config_changed(&self, slug: &str, app_id: i64) {
        if let Some(app) = self.tenants.get(slug).filter(|a| a.id == app_id) {
            app.config.forget();
        }
    }
}
