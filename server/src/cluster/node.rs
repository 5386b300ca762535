//! The node's cluster tasks: say it is alive, follow the topics of the
//! rooms and namespaces it has members in (publishing their counts), and
//! apply what other nodes send.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use eddy_cluster::{Broadcast, Cluster, Command, Event, RoomCounts, SocketOp};
use tokio::sync::mpsc;

use super::ClusterLink;
use crate::control::Control;
use crate::session::OutFrame;
use crate::tenant::Tenants;

/// Heartbeats.
const BEAT: Duration = Duration::from_secs(1);
/// Every room count is sent again this often, in case an update was lost
/// (delivery between nodes is at-most-once).
const RESEND_COUNTS: Duration = Duration::from_secs(10);
/// Membership changes are gathered this long before they are published.
const SETTLE: Duration = Duration::from_millis(5);
/// Safety net: every app is compared with the registry this often.
const RECONCILE: Duration = Duration::from_secs(15);

/// Starts the tasks; they end when `shutdown` resolves.
pub(crate) fn start(
    link: Arc<ClusterLink>,
    events: mpsc::Receiver<Event>,
    tenants: Arc<Tenants>,
    control: Arc<Control>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    if !link.is_clustered() {
        return;
    }
    let shutdown = futures_util::FutureExt::shared(Box::pin(shutdown));
    tokio::spawn(follow(link.clone(), tenants.clone(), shutdown.clone()));
    tokio::spawn(apply(link, events, tenants, control, shutdown));
}

/// The topics this node follows, subscribed and unsubscribed on change.
#[derive(Default)]
struct Following(HashSet<String>);

impl Following {
    fn set(&mut self, cluster: &Cluster, topic: String, wanted: bool) {
        if wanted {
            if self.0.insert(topic.clone()) {
                cluster.subscribe(topic);
            }
        } else if self.0.remove(&topic) {
            cluster.unsubscribe(topic);
        }
    }
}

async fn follow(
    link: Arc<ClusterLink>,
    tenants: Arc<Tenants>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let cluster = link.cluster.clone();
    let mut following = Following::default();
    let mut beat = tokio::time::interval(BEAT);
    let mut resend = tokio::time::interval(RESEND_COUNTS);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => {
                cluster.bye();
                return;
            }
            _ = beat.tick() => {
                cluster.beat(
                    tenants
                        .all()
                        .iter()
                        .map(|a| (a.slug.to_string(), a.socket_count() as u64))
                        .collect(),
                );
            }
            _ = resend.tick() => publish_snapshots(&cluster, &tenants),
            _ = link.changes() => tokio::time::sleep(SETTLE).await,
        }
        publish_changes(&link, &tenants, &mut following);
    }
}

/// Follows or leaves the topics of rooms and namespaces whose membership
/// changed, and tells the other nodes the new room counts.
fn publish_changes(link: &ClusterLink, tenants: &Tenants, following: &mut Following) {
    let cluster = &link.cluster;
    let mut counts: HashMap<Arc<str>, Vec<(String, String, u32)>> = HashMap::new();
    for changed in link.take_changed() {
        let nsp = tenants
            .get(&changed.app)
            .and_then(|app| app.existing_namespace(&changed.namespace));
        match &changed.room {
            Some(room) => {
                let members = nsp.map_or(0, |n| n.members(room));
                let topic = cluster
                    .topics()
                    .room(&changed.app, &changed.namespace, room);
                following.set(cluster, topic, members > 0);
                counts.entry(changed.app.clone()).or_default().push((
                    changed.namespace.to_string(),
                    room.to_string(),
                    members as u32,
                ));
            }
            None => {
                let sockets = nsp.map_or(0, |n| n.len());
                let topic = cluster.topics().namespace(&changed.app, &changed.namespace);
                following.set(cluster, topic, sockets > 0);
            }
        }
    }
    for (app, entries) in counts {
        cluster.room_counts(RoomCounts {
            app: app.to_string(),
            snapshot: false,
            entries,
        });
    }
}

/// Every room count of every app, for a node that just appeared (or after
/// an outage during which updates may have been lost).
fn publish_snapshots(cluster: &Cluster, tenants: &Tenants) {
    for app in tenants.all() {
        let entries = app
            .namespaces()
            .iter()
            .flat_map(|nsp| {
                nsp.room_counts()
                    .into_iter()
                    .map(|(room, n)| (nsp.name().to_owned(), room, n))
            })
            .collect();
        cluster.room_counts(RoomCounts {
            app: app.slug.to_string(),
            snapshot: true,
            entries,
        });
    }
}

async fn apply(
    link: Arc<ClusterLink>,
    mut events: mpsc::Receiver<Event>,
    tenants: Arc<Tenants>,
    control: Arc<Control>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let cluster = link.cluster.clone();
    let mut reconcile = tokio::time::interval(RECONCILE);
    reconcile.tick().await;
    tokio::pin!(shutdown);
    loop {
        let event = tokio::select! {
            _ = &mut shutdown => return,
            _ = reconcile.tick() => {
                if !cluster.is_clustered() {
                    // One node: every change is made here; nothing to catch up on.
                    continue;
                }
                let control = control.clone();
                tokio::spawn(async move {
                    if let Err(error) = control.sync_all().await {
                        tracing::warn!(%error, "reconciling with the registry failed");
                    }
                });
                continue;
            }
            event = events.recv() => match event {
                Some(event) => event,
                None => return,
            },
        };
        match event {
            Event::Broadcast(broadcast) => deliver(&tenants, broadcast),
            Event::Command(command) => command_socket(&tenants, command),
            Event::AppChanged(slug) => {
                let control = control.clone();
                tokio::spawn(async move {
                    if let Err(error) = control.sync_app(&slug).await {
                        tracing::warn!(app = %slug, %error, "cannot apply a change made on another node");
                    }
                });
            }
            Event::NodeJoined(_) => publish_snapshots(&cluster, &tenants),
            Event::NodeLeft(_) => {}
            Event::Reconnected => {
                publish_snapshots(&cluster, &tenants);
                let control = control.clone();
                tokio::spawn(async move {
                    if let Err(error) = control.sync_all().await {
                        tracing::warn!(%error, "reconciling with the registry failed");
                    }
                });
            }
        }
    }
}

/// A broadcast from another node, to the local members.
fn deliver(tenants: &Tenants, b: Broadcast) {
    let Some(app) = tenants.get(&b.app) else {
        return;
    };
    let Some(nsp) = app.existing_namespace(&b.namespace) else {
        return;
    };
    let rooms: Vec<&str> = b.rooms.iter().map(String::as_str).collect();
    let except: Vec<&str> = b.except.iter().map(String::as_str).collect();
    let head = OutFrame::text(b.head);
    let to = (!rooms.is_empty()).then_some(rooms.as_slice());
    let delivered = nsp.deliver(to, &except, None, &head, &b.attachments);
    app.metrics.emits.add(delivered as u64);
}

/// A command from another node for a socket here.
fn command_socket(tenants: &Tenants, c: Command) {
    let Some(app) = tenants.get(&c.app) else {
        return;
    };
    let Some(socket) = app.socket(&c.namespace, &c.socket) else {
        return;
    };
    match c.op {
        SocketOp::Emit { head, attachments } => {
            if socket.send(OutFrame::text(head), &attachments) {
                app.metrics.emits.inc();
            }
        }
        SocketOp::Join { room } => {
            if let Err(refused) = socket.join(&room) {
                app.refused_join(&room, refused);
            }
        }
        SocketOp::Leave { room } => socket.leave(&room),
        SocketOp::Disconnect => crate::dispatch::disconnect_by_server(socket),
    }
}
