//! What every request handler shares (`ServerState`): the tenants, the
//! control plane, the cluster link, the connection caps and the live view;
//! how it starts (registry, apps, samplers) and how shutdown begins.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use crate::cluster::ClusterLink;
use crate::config::Config;
use crate::control::Control;
use crate::live::{self, Live};
use crate::metrics::ServerMetrics;
use crate::session::{CloseReason, EngineSettings, SessionTable};
use crate::tenant::Tenants;
use crate::transport::{AddressGuard, AddressLimits, OVERFLOW_CONNECTIONS};

/// Everything the request handlers share.
pub(crate) struct ServerState {
    pub config: Arc<Config>,
    pub settings: Arc<EngineSettings>,
    pub tenants: Arc<Tenants>,
    /// The registry and the deploy pipeline.
    pub control: Arc<Control>,
    /// The other nodes, through the broker.
    pub cluster: Arc<ClusterLink>,
    /// Sessions of the diagnostics echo endpoint, when enabled.
    pub echo: Option<Arc<SessionTable>>,
    pub metrics: ServerMetrics,
    /// One permit per open client connection (`max_connections`).
    pub connection_permits: Arc<Semaphore>,
    /// The connection cap in force: `max_connections`, lowered to what the
    /// open-files limit allows.
    pub max_connections: usize,
    /// Connections served over the cap, for probes and the admin API.
    pub overflow_permits: Arc<Semaphore>,
    /// Per-client-address connection and session limits.
    pub addresses: Arc<AddressGuard>,
    /// The dashboard's once-a-second frames.
    pub live: Arc<Live>,
    /// Flips to true once, when shutdown begins (long-lived admin streams end).
    shutting_down: watch::Sender<bool>,
}

impl ServerState {
    /// Opens the registry, brings every app up (compiling handler
    /// components as needed), and starts the background samplers.
    pub(crate) async fn start(config: Config) -> Result<Arc<Self>, String> {
        let settings = Arc::new(EngineSettings::from_config(&config));
        let tenants = Arc::new(Tenants::new([]));
        let (cluster, cluster_events) =
            eddy_cluster::Cluster::start(crate::cluster::options(&config)?)
                .map_err(|e| e.to_string())?;
        let cluster = ClusterLink::new(cluster);
        let control =
            crate::control::bootstrap(&config, settings.clone(), tenants.clone(), cluster.clone())
                .await?;
        let max_connections = crate::open_files::connection_cap(config.max_connections);
        let addresses = AddressGuard::new(AddressLimits::from_config(&config));
        let state = Arc::new(Self {
            settings,
            tenants: tenants.clone(),
            control: control.clone(),
            cluster: cluster.clone(),
            echo: config.engine_io_echo.then(Default::default),
            metrics: ServerMetrics::default(),
            connection_permits: Arc::new(Semaphore::new(max_connections)),
            max_connections,
            overflow_permits: Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS)),
            addresses,
            live: Arc::default(),
            shutting_down: watch::Sender::new(false),
            config: Arc::new(config),
        });
        tokio::spawn(live::run_sampler(
            Arc::downgrade(&state.live),
            state.tenants.clone(),
            state.cluster.clone(),
        ));
        // Stops firing once shutdown begins (a timer not yet fired stays in
        // the registry for the next node or start).
        let scheduler = crate::control::Scheduler {
            store: control.store.clone(),
            node: cluster.cluster.name().to_owned(),
            tenants: tenants.clone(),
            wake: control.timer_wake.clone(),
            shared: cluster.cluster.is_clustered()
                || control.store.backend() == eddy_store::Backend::Postgres,
        };
        tokio::spawn(scheduler.run(state.shutting_down.subscribe()));
        crate::cluster::node::start(
            cluster,
            cluster_events,
            tenants,
            control,
            state.shutdown_started(),
        );
        Ok(state)
    }

    pub(crate) fn open_connections(&self) -> usize {
        self.max_connections - self.connection_permits.available_permits()
    }

    /// Stops new sessions and closes every open one with `server shutting down`.
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.send_replace(true);
        for table in self.session_tables() {
            table.close_all(CloseReason::ServerShuttingDown);
        }
    }

    pub(crate) fn open_sessions(&self) -> usize {
        self.session_tables().iter().map(|t| t.len()).sum()
    }

    /// Resolves once no session is open on any endpoint (the shutdown
    /// drain waits on it, up to its grace period).
    pub(crate) async fn sessions_closed(&self) {
        // Each table in turn; then all again, in case an app came or a
        // table refilled meanwhile.
        loop {
            for table in self.session_tables() {
                table.emptied().await;
            }
            if self.open_sessions() == 0 {
                return;
            }
        }
    }

    fn session_tables(&self) -> Vec<Arc<SessionTable>> {
        let mut tables: Vec<_> = self
            .tenants
            .all()
            .into_iter()
            .map(|a| a.sessions.clone())
            .collect();
        tables.extend(self.echo.clone());
        tables
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.shutting_down.borrow()
    }

    /// Resolves when shutdown begins.
    pub(crate) fn shutdown_started(
        &self,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutting_down.subscribe();
        async move {
            let _ = rx.wait_for(|closing| *closing).await;
        }
    }
}
