//! The live view behind the dashboard: once a second the sampler turns every
//! app's counters into rates and recent latency quantiles, builds one frame,
//! serializes it once, and hands it to every open stream. The data plane
//! pays nothing for it but the atomic counters it bumps anyway.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;

use crate::cluster::ClusterLink;
use crate::metrics::LatencyHistogram;
use crate::tenant::{App, Tenants};

/// Frames kept for a dashboard that opens now (its charts start full).
pub(crate) const HISTORY: usize = 120;
/// Latency quantiles cover the calls of this many last seconds.
const LATENCY_WINDOW: usize = 5;

/// What the node is doing, once a second.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct LiveFrame {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The node that measured it.
    pub node: String,
    pub uptime_s: u64,
    pub totals: LiveStats,
    /// Every app on the node, by slug.
    pub apps: Vec<AppLive>,
    /// The nodes of the cluster and the broker's health.
    pub cluster: ClusterView,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct AppLive {
    pub slug: String,
    pub active_version: Option<i64>,
    /// Present while the app is faulted (its handler's start-up failed, new
    /// instances are refused): milliseconds until it tries again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faulted_for_ms: Option<u64>,
    #[serde(flatten)]
    pub stats: LiveStats,
}

/// Gauges, per-second rates over the last second, latency over the last
/// five seconds, and fault totals since the node started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub(crate) struct LiveStats {
    pub connections: u64,
    pub sessions: u64,
    pub events_in_per_second: u64,
    /// Packets queued to clients (one per recipient).
    pub emits_per_second: u64,
    pub bytes_in_per_second: u64,
    pub bytes_out_per_second: u64,
    pub handler_calls_per_second: u64,
    /// Microseconds spent in event handlers per second: 1,000,000 is one
    /// core kept busy (wall time in the handler, including key-value awaits).
    pub handler_busy_us_per_second: u64,
    /// Event handler latency over the last five seconds; 0 without calls.
    pub handler_p50_us: u64,
    pub handler_p99_us: u64,
    /// Faults since the node started: timeouts + memory + traps + host.
    pub handler_faults: u64,
    pub handler_timeouts: u64,
    pub handler_memory_faults: u64,
    pub handler_traps: u64,
    /// Requests refused by an app's limits since the node started.
    pub limit_breaches: u64,
    /// Guest linear memory held by the handler's instances now.
    pub handler_memory_bytes: u64,
}

/// The latest frame (as JSON) and the ones before it.
pub(crate) struct Live {
    latest: watch::Sender<Arc<str>>,
    history: Mutex<VecDeque<Arc<str>>>,
    last: Mutex<Option<LiveFrame>>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            latest: watch::Sender::new(Arc::from("")),
            history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            last: Mutex::new(None),
        }
    }
}

impl Live {
    /// Frames from now on; the current one is marked seen.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<str>> {
        let mut rx = self.latest.subscribe();
        rx.mark_unchanged();
        rx
    }

    /// The last [`HISTORY`] frames as JSON, oldest first.
    pub(crate) fn history(&self) -> Vec<Arc<str>> {
        self.history.lock().iter().cloned().collect()
    }

    /// An app's row of the latest frame.
    pub(crate) fn app(&self, slug: &str) -> Option<AppLive> {
        let last = self.last.lock();
        last.as_ref()?.apps.iter().find(|a| a.slug == slug).cloned()
    }

    fn publish(&self, frame: LiveFrame) {
        let json: Arc<str> = serde_json::to_string(&frame)
            .expect("a live frame serializes")
            .into();
        {
            let mut history = self.history.lock();
            if history.len() == HISTORY {
                history.pop_front();
            }
            history.push_back(json.clone());
        }
        *self.last.lock() = Some(frame);
        self.latest.send_replace(json);
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct ClusterView {
    pub broker: BrokerView,
    /// This node first, then the others by name.
    pub nodes: Vec<NodeView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct BrokerView {
    /// `local`, `redis` or `nats`.
    pub kind: &'static str,
    /// Publishing and receiving both work (always true for `local`).
    pub up: bool,
    pub published: u64,
    pub received: u64,
    /// Messages for other nodes lost while the broker was away or behind.
    pub dropped: u64,
    pub reconnects: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct NodeView {
    pub id: String,
    pub name: String,
    /// The node that answered.
    pub this_node: bool,
    pub started_ms: u64,
    /// Sockets connected, all apps.
    pub connections: u64,
    /// Sockets per app.
    pub apps: BTreeMap<String, u64>,
    /// Milliseconds since its last heartbeat (0 for this node).
    pub last_seen_ms_ago: u64,
}

impl ClusterView {
    pub(crate) fn of(tenants: &Tenants, cluster: &eddy_cluster::Cluster) -> Self {
        let status = cluster.status();
        let apps: BTreeMap<String, u64> = tenants
            .all()
            .iter()
            .map(|a| (a.slug.to_string(), a.socket_count() as u64))
            .collect();
        let mut nodes = vec![NodeView {
            id: cluster.id().to_string(),
            name: cluster.name().to_owned(),
            this_node: true,
            started_ms: cluster.started_ms(),
            connections: apps.values().sum(),
            apps,
            last_seen_ms_ago: 0,
        }];
        for peer in cluster.peers() {
            nodes.push(NodeView {
                id: peer.id.to_string(),
                name: peer.name,
                this_node: false,
                started_ms: peer.started_ms,
                connections: peer.apps.values().sum(),
                apps: peer.apps.into_iter().collect(),
                last_seen_ms_ago: peer.last_seen.elapsed().as_millis() as u64,
            });
        }
        Self {
            broker: BrokerView {
                kind: status.broker,
                up: status.up,
                published: status.published,
                received: status.received,
                dropped: status.dropped,
                reconnects: status.reconnects,
                last_error: status.last_error,
            },
            nodes,
        }
    }
}

/// Samples once a second for as long as `live` has an owner.
pub(crate) async fn run_sampler(
    live: Weak<Live>,
    tenants: Arc<Tenants>,
    cluster: Arc<ClusterLink>,
) {
    let node = cluster.cluster.name().to_owned();
    let started = Instant::now();
    let mut sampler = Sampler::default();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(live) = live.upgrade() else { return };
        let (totals, apps) = sampler.sample(&tenants.all());
        let view = ClusterView::of(&tenants, &cluster.cluster);
        live.publish(LiveFrame {
            at_ms: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64,
            node: node.clone(),
            uptime_s: started.elapsed().as_secs(),
            totals,
            apps,
            cluster: view,
        });
    }
}

/// The counters of one app at the previous sample.
struct Marks {
    /// Which `App` these belong to: an app deleted and created again under
    /// the same slug starts from zero.
    app: Weak<App>,
    events_in: u64,
    emits: u64,
    bytes_in: u64,
    bytes_out: u64,
    calls: u64,
    handler_nanos: u64,
    /// Latency histograms of the last seconds, oldest first.
    latency: VecDeque<Vec<u64>>,
}

#[derive(Default)]
struct Sampler {
    marks: HashMap<Arc<str>, Marks>,
}

impl Sampler {
    fn sample(&mut self, apps: &[Arc<App>]) -> (LiveStats, Vec<AppLive>) {
        let mut rows = Vec::with_capacity(apps.len());
        let mut totals = LiveStats::default();
        let mut window_sum = vec![0u64; LatencyHistogram::BUCKETS];
        for app in apps {
            let (stats, window) = self.sample_app(app);
            for (sum, n) in window_sum.iter_mut().zip(&window) {
                *sum += n;
            }
            add(&mut totals, &stats);
            rows.push(AppLive {
                slug: app.slug.to_string(),
                active_version: app.active_version(),
                faulted_for_ms: app.handler().footprint().faulted_for_ms,
                stats,
            });
        }
        totals.handler_p50_us = LatencyHistogram::quantile_of(&window_sum, 0.5);
        totals.handler_p99_us = LatencyHistogram::quantile_of(&window_sum, 0.99);
        self.marks
            .retain(|slug, _| apps.iter().any(|a| a.slug == *slug));
        (totals, rows)
    }

    /// One app's stats, and its latency histogram over the window.
    fn sample_app(&mut self, app: &Arc<App>) -> (LiveStats, Vec<u64>) {
        let m = &app.metrics;
        let traffic = &app.sessions.traffic;
        let now = Marks {
            app: Arc::downgrade(app),
            events_in: m.events_in.get(),
            emits: m.emits.get(),
            bytes_in: traffic.bytes_in.get(),
            bytes_out: traffic.bytes_out.get(),
            calls: m.handler_latency.count(),
            handler_nanos: m.handler_nanos.get(),
            latency: VecDeque::new(),
        };
        let histogram = m.handler_latency.snapshot();
        let known = self
            .marks
            .get(&app.slug)
            .is_some_and(|marks| std::ptr::eq(marks.app.as_ptr(), Arc::as_ptr(app)));
        if !known {
            // First sight: rates start at the next sample.
            let mut fresh = now;
            fresh.latency.push_back(histogram);
            self.marks.insert(app.slug.clone(), fresh);
            return (gauges(app), vec![0; LatencyHistogram::BUCKETS]);
        }
        let marks = self.marks.get_mut(&app.slug).expect("known");
        let oldest = marks.latency.front().expect("at least one histogram");
        let window: Vec<u64> = histogram
            .iter()
            .zip(oldest)
            .map(|(now, then)| now.saturating_sub(*then))
            .collect();
        let stats = LiveStats {
            events_in_per_second: now.events_in.saturating_sub(marks.events_in),
            emits_per_second: now.emits.saturating_sub(marks.emits),
            bytes_in_per_second: now.bytes_in.saturating_sub(marks.bytes_in),
            bytes_out_per_second: now.bytes_out.saturating_sub(marks.bytes_out),
            handler_calls_per_second: now.calls.saturating_sub(marks.calls),
            handler_busy_us_per_second: now.handler_nanos.saturating_sub(marks.handler_nanos)
                / 1_000,
            handler_p50_us: LatencyHistogram::quantile_of(&window, 0.5),
            handler_p99_us: LatencyHistogram::quantile_of(&window, 0.99),
            ..gauges(app)
        };
        if marks.latency.len() == LATENCY_WINDOW {
            marks.latency.pop_front();
        }
        marks.latency.push_back(histogram);
        let latency = std::mem::take(&mut marks.latency);
        *marks = Marks { latency, ..now };
        (stats, window)
    }
}

/// What is read off the app directly: gauges and totals.
fn gauges(app: &App) -> LiveStats {
    let m = &app.metrics;
    LiveStats {
        connections: app.socket_count() as u64,
        sessions: app.sessions.len() as u64,
        handler_faults: m.handler_faults(),
        handler_timeouts: m.handler_timeouts.get(),
        handler_memory_faults: m.handler_memory_faults.get(),
        handler_traps: m.handler_traps.get(),
        limit_breaches: m.limit_breaches(),
        handler_memory_bytes: app.handler().footprint().memory_bytes,
        ..LiveStats::default()
    }
}

/// Adds an app's numbers into the totals (quantiles are merged separately).
fn add(totals: &mut LiveStats, s: &LiveStats) {
    totals.connections += s.connections;
    totals.sessions += s.sessions;
    totals.events_in_per_second += s.events_in_per_second;
    totals.emits_per_second += s.emits_per_second;
    totals.bytes_in_per_second += s.bytes_in_per_second;
    totals.bytes_out_per_second += s.bytes_out_per_second;
    totals.handler_calls_per_second += s.handler_calls_per_second;
    totals.handler_busy_us_per_second += s.handler_busy_us_per_second;
    totals.handler_faults += s.handler_faults;
    totals.handler_timeouts += s.handler_timeouts;
    totals.handler_memory_faults += s.handler_memory_faults;
    totals.handler_traps += s.handler_traps;
    totals.limit_breaches += s.limit_breaches;
    totals.handler_memory_bytes += s.handler_memory_bytes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::EngineSettings;

    fn app(slug: &str) -> Arc<App> {
        let settings = EngineSettings::from_config(&crate::config::Config::default());
        App::builtin(
            slug,
            crate::dispatch::builtin(crate::config::BuiltinHandler::Echo),
            &settings,
        )
    }

    #[test]
    fn rates_are_differences_between_samples() {
        let (a, b) = (app("a"), app("b"));
        let mut sampler = Sampler::default();
        let (totals, rows) = sampler.sample(&[a.clone(), b.clone()]);
        assert_eq!(totals.events_in_per_second, 0);
        assert_eq!(rows.len(), 2);

        a.metrics.events_in.add(7);
        b.metrics.events_in.add(5);
        a.sessions.traffic.bytes_out.add(1000);
        for micros in [100, 100, 100, 5_000] {
            a.metrics
                .handler_latency
                .record(Duration::from_micros(micros));
        }
        a.metrics.handler_nanos.add(5_300_000);
        let (totals, rows) = sampler.sample(&[a.clone(), b.clone()]);
        assert_eq!(totals.events_in_per_second, 12);
        assert_eq!(rows[0].stats.events_in_per_second, 7);
        assert_eq!(rows[0].stats.bytes_out_per_second, 1000);
        assert_eq!(rows[0].stats.handler_calls_per_second, 4);
        assert_eq!(rows[0].stats.handler_busy_us_per_second, 5_300);
        let p50 = rows[0].stats.handler_p50_us;
        let p99 = rows[0].stats.handler_p99_us;
        assert!((90..=130).contains(&p50), "{p50}");
        assert!((4_000..=6_200).contains(&p99), "{p99}");
        assert_eq!(totals.handler_p99_us, p99);

        // A quiet second: rates drop to zero, latency still covers the window.
        let (totals, rows) = sampler.sample(&[a.clone(), b]);
        assert_eq!(totals.events_in_per_second, 0);
        assert_eq!(rows[0].stats.handler_p99_us, p99);
        // After the window has passed, no calls means no latency.
        for _ in 0..LATENCY_WINDOW {
            sampler.sample(std::slice::from_ref(&a));
        }
        let (_, rows) = sampler.sample(std::slice::from_ref(&a));
        assert_eq!(rows[0].stats.handler_p99_us, 0);
        assert_eq!(sampler.marks.len(), 1, "b's marks went with it");
    }

    #[test]
    fn an_app_created_again_starts_from_zero() {
        let mut sampler = Sampler::default();
        let first = app("a");
        first.metrics.events_in.add(1_000);
        sampler.sample(std::slice::from_ref(&first));
        let again = app("a");
        again.metrics.events_in.add(3);
        let (_, rows) = sampler.sample(std::slice::from_ref(&again));
        assert_eq!(rows[0].stats.events_in_per_second, 0);
        again.metrics.events_in.add(2);
        let (_, rows) = sampler.sample(&[again]);
        assert_eq!(rows[0].stats.events_in_per_second, 2);
    }

    #[test]
    fn history_keeps_the_last_frames() {
        let live = Live::default();
        let mut rx = live.subscribe();
        for i in 0..HISTORY + 5 {
            live.publish(LiveFrame {
                at_ms: i as u64,
                node: "n".into(),
                uptime_s: 0,
                totals: LiveStats::default(),
                apps: vec![],
                cluster: super::ClusterView {
                    broker: super::BrokerView {
                        kind: "local",
                        up: true,
                        published: 0,
                        received: 0,
                        dropped: 0,
                        reconnects: 0,
                        last_error: None,
                    },
                    nodes: vec![],
                },
            });
        }
        let history = live.history();
        assert_eq!(history.len(), HISTORY);
        assert!(history[0].contains("\"at_ms\":5,"));
        assert!(rx.has_changed().unwrap());
        assert!(
            rx.borrow_and_update()
                .contains(&format!("\"at_ms\":{},", HISTORY + 4))
        );
        assert_eq!(
            live.last.lock().as_ref().unwrap().at_ms,
            (HISTORY + 4) as u64
        );
    }
}
