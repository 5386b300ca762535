//! Fan-out: one encoded packet to its recipients on this node, and through
//! the cluster to the nodes that have the others. The packet is encoded
//! once; the other nodes receive those same bytes and queue them as they are.

use bytes::Bytes;
use eddy_cluster::{Broadcast, Command, SocketOp};

use super::Target;
use crate::session::OutFrame;
use crate::socket::{Namespace, Socket};
use crate::tenant::App;

/// Sends `head` (and its binary attachments) to `to` in the namespace named
/// `namespace` of `app`: to the local members of `local` (the namespace on
/// this node, if any socket is in it) and, when other nodes are alive, to
/// theirs. `caller` is the emitting socket, if any. Returns how many
/// sockets it was queued for on this node (plus one for a socket on
/// another node).
pub(crate) fn emit(
    app: &App,
    namespace: &str,
    local: Option<&Namespace>,
    to: Target<'_>,
    caller: Option<&Socket>,
    head: OutFrame,
    attachments: &[Bytes],
) -> usize {
    let cluster = &app.cluster;
    let delivered = match to {
        Target::Socket(id) => {
            if let Some(socket) = caller.filter(|c| c.id() == id) {
                usize::from(socket.send(head, attachments))
            } else if let Some(socket) = local.and_then(|n| n.socket(id)) {
                usize::from(socket.send(head, attachments))
            } else if cluster.has_peers() && cluster.cluster.knows_socket(id) {
                cluster.cluster.command(Command {
                    app: app.slug.to_string(),
                    namespace: namespace.to_owned(),
                    socket: id.to_owned(),
                    op: SocketOp::Emit {
                        head: text(&head),
                        attachments: attachments.to_vec(),
                    },
                });
                1
            } else {
                0
            }
        }
        Target::Rooms { rooms, except } => {
            publish(app, namespace, rooms, except, &head, attachments);
            local.map_or(0, |n| {
                n.deliver(Some(rooms), except, caller, &head, attachments)
            })
        }
        Target::Namespace { except } => {
            publish(app, namespace, &[], except, &head, attachments);
            local.map_or(0, |n| n.deliver(None, except, caller, &head, attachments))
        }
    };
    app.metrics.emits.add(delivered as u64);
    delivered
}

/// A broadcast for the other nodes (none when this node is alone).
fn publish(
    app: &App,
    namespace: &str,
    rooms: &[&str],
    except: &[&str],
    head: &OutFrame,
    attachments: &[Bytes],
) {
    if !app.cluster.has_peers() {
        return;
    }
    app.cluster.cluster.broadcast(Broadcast {
        id: 0,
        app: app.slug.to_string(),
        namespace: namespace.to_owned(),
        rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
        except: except.iter().map(|r| (*r).to_owned()).collect(),
        head: text(head),
        attachments: attachments.to_vec(),
    });
}

fn text(head: &OutFrame) -> String {
    match head {
        OutFrame::Text(text) => text.as_str().to_owned(),
        // Socket.IO packet heads are text; attachments travel beside them.
        OutFrame::Binary(_) => unreachable!("a packet head is a text frame"),
    }
}
