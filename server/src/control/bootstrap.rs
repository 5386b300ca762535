//! Starting the control plane: lock a SQLite data directory, open the
//! registry, make sure an admin token exists, seed the `demo` app on a fresh
//! registry, and bring every app up.

use std::sync::Arc;
use std::time::Duration;

use eddy_store::{AppLimits, NewApp, Store};

use super::dir_lock::{self, DirLock};
use super::{Compiler, Control};
use crate::cluster::ClusterLink;
use crate::config::Config;
use crate::session::EngineSettings;
use crate::tenant::{App, Tenants};

/// The built-in `echo` plugin (plugins/echo), the `demo` app's handler.
const ECHO_COMPONENT: &[u8] = include_bytes!(env!("EDDY_ECHO_WASM"));

/// How often expired key-value entries are swept.
const KV_SWEEP_INTERVAL: Duration = Duration::from_secs(60);

pub(crate) async fn bootstrap(
    config: &Config,
    settings: Arc<EngineSettings>,
    tenants: Arc<Tenants>,
    cluster: Arc<ClusterLink>,
) -> Result<Arc<Control>, String> {
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", config.data_dir.join("eddy.db").display()));
    // Before the database is opened: a second server must not even migrate it.
    let dir_lock = dir_lock::sqlite_dir(&url)
        .map(|dir| DirLock::acquire(&dir))
        .transpose()?;
    let store = Store::connect(&url)
        .await
        .map_err(|e| format!("cannot open the registry at {}: {e}", redact(&url)))?;
    let compiler = Arc::new(Compiler::new(config).map_err(|e| e.to_string())?);
    let control = Arc::new(Control {
        store: store.clone(),
        compiler,
        tenants: tenants.clone(),
        settings: settings.clone(),
        max_component_bytes: config.max_component_bytes,
        sealer: config
            .secret_key
            .as_ref()
            .map(|key| Arc::new(crate::secrets::Sealer::new(key.expose()))),
        cluster,
        timer_wake: Default::default(),
        app_locks: Default::default(),
        _dir_lock: dir_lock,
    });

    admin_token(config, &store).await?;
    if config.demo && !store.ever_had_apps().await.map_err(|e| e.to_string())? {
        seed_demo(&control).await?;
    }
    for record in store.apps().await.map_err(|e| e.to_string())? {
        tenants.insert(control.live_app(&record).await);
    }
    for app in &config.apps {
        if tenants.get(&app.slug).is_some() {
            return Err(format!(
                "the built-in app {:?} from the config file has the slug of a registry app",
                app.slug
            ));
        }
        let handler = crate::dispatch::builtin(app.handler);
        tenants.insert(App::builtin_on(
            &app.slug,
            handler,
            &settings,
            control.cluster.clone(),
        ));
    }
    tokio::spawn(sweep_kv(store));
    Ok(control)
}

/// `EDDY_ADMIN_TOKEN` when given (replacing the one configured before, if
/// it changed); otherwise, when no token is accepted any more, one generated
/// now, printed once, stored hashed (how an operator who revoked every
/// token gets back in: whoever reads the server's stdout).
async fn admin_token(config: &Config, store: &Store) -> Result<(), String> {
    match &config.admin_token {
        Some(token) => {
            let replaced = store
                .ensure_configured_token(token.expose())
                .await
                .map_err(|e| format!("EDDY_ADMIN_TOKEN: {e}"))?;
            if replaced > 0 {
                tracing::warn!(
                    "EDDY_ADMIN_TOKEN changed: the previously configured admin token is revoked"
                );
            }
            Ok(())
        }
        None => {
            if store.admin_token_count().await.map_err(|e| e.to_string())? == 0 {
                let (_, token) = store
                    .create_admin_token("generated at start", None, "system")
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "eddy admin token (shown this once; keep it): {}",
                    token.expose()
                );
                tracing::warn!(
                    "a new admin token was printed on stdout; it is stored only as a hash"
                );
            }
            Ok(())
        }
    }
}

async fn seed_demo(control: &Control) -> Result<(), String> {
    let new = NewApp {
        slug: "demo".into(),
        name: "Demo (echo)".into(),
        tenant: eddy_store::DEFAULT_TENANT.into(),
        limits: AppLimits::default(),
    };
    match control.create_app(&new, "system").await {
        Ok(_) => {}
        // Another node of the cluster, starting at the same time, seeded it.
        Err(super::ControlError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(format!("seeding the demo app: {e}")),
    }
    control
        .deploy(
            "demo",
            ECHO_COMPONENT.to_vec(),
            "the built-in echo handler",
            true,
            "system",
        )
        .await
        .map_err(|e| format!("seeding the demo app: {e}"))?;
    tracing::info!("seeded the demo app (echo) at /apps/demo/socket.io/");
    Ok(())
}

async fn sweep_kv(store: Store) {
    let mut ticker = tokio::time::interval(KV_SWEEP_INTERVAL);
    loop {
        ticker.tick().await;
        match store.kv_sweep().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(expired = n, "swept key-value entries"),
            Err(error) => tracing::warn!(%error, "key-value sweep failed"),
        }
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:…{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_do_not_print() {
        assert_eq!(
            super::redact("postgres://eddy:hunter2@db/eddy"),
            "postgres://eddy:…@db/eddy"
        );
        assert_eq!(
            super::redact("sqlite://./eddy-data/eddy.db"),
            "sqlite://./eddy-data/eddy.db"
        );
    }
}
