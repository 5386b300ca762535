//! Two nodes on a real broker: Redis (`EDDY_TEST_REDIS`) and NATS
//! (`EDDY_TEST_NATS`). CI sets both; without them these tests say so and
//! pass vacuously on a developer machine.

use std::sync::Arc;
use std::time::Duration;

use eddy_cluster::{Broadcast, BrokerUrl, Cluster, Command, Event, Options, RoomCounts, SocketOp};
use tokio::sync::mpsc;

fn brokers() -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    for (name, var) in [("redis", "EDDY_TEST_REDIS"), ("nats", "EDDY_TEST_NATS")] {
        match std::env::var(var) {
            Ok(url) => found.push((name, url)),
            Err(_) => eprintln!("{var} is not set: the {name} broker is not tested here"),
        }
    }
    found
}

fn node(url: &str, prefix: &str, name: &str) -> (Arc<Cluster>, mpsc::Receiver<Event>) {
    Cluster::start(Options {
        broker: BrokerUrl::parse(url).unwrap(),
        prefix: prefix.into(),
        node_name: name.into(),
    })
    .unwrap()
}

/// The next event that `pick` accepts, within a few seconds.
async fn expect<T>(
    events: &mut mpsc::Receiver<Event>,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let event = events.recv().await.expect("events end");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    })
    .await
    .expect("the event did not come")
}

async fn until(mut ok: impl FnMut() -> bool) {
    for _ in 0..100 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached in 5 s");
}

fn broadcast(rooms: &[&str], head: &str) -> Broadcast {
    Broadcast {
        id: 0,
        app: "chat".into(),
        namespace: "/".into(),
        rooms: rooms.iter().map(|r| (*r).to_owned()).collect(),
        except: vec![],
        head: head.into(),
        attachments: vec![bytes::Bytes::from_static(b"\x01\x02")],
    }
}

#[tokio::test]
async fn two_nodes_see_each_other_and_exchange_messages() {
    for (kind, url) in brokers() {
        let prefix = format!("test-{}", rand_suffix());
        let (a, mut a_events) = node(&url, &prefix, "a");
        let (b, mut b_events) = node(&url, &prefix, "b");
        until(|| a.status().up && b.status().up).await;

        // Heartbeats make each a peer of the other.
        a.beat(vec![("chat".into(), 3)]);
        b.beat(vec![("chat".into(), 2)]);
        expect(&mut a_events, |e| {
            matches!(e, Event::NodeJoined(id) if id == b.id()).then_some(())
        })
        .await;
        expect(&mut b_events, |e| {
            matches!(e, Event::NodeJoined(id) if id == a.id()).then_some(())
        })
        .await;
        assert!(a.has_peers() && b.has_peers(), "{kind}");
        assert_eq!(a.remote_connections("chat"), 2);
        assert_eq!(a.peers()[0].name, "b");

        // B has members of `lobby` and `x`: it follows those topics.
        b.subscribe(b.topics().room("chat", "/", "lobby"));
        b.subscribe(b.topics().room("chat", "/", "x"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.room_counts(RoomCounts {
            app: "chat".into(),
            snapshot: false,
            entries: vec![("/".into(), "lobby".into(), 4)],
        });
        until(|| a.remote_room_size("chat", "/", "lobby") == 4).await;

        // A broadcast to a room B follows arrives; to one it does not, not.
        a.broadcast(broadcast(&["nobody-here"], "42[\"lost\"]"));
        a.broadcast(broadcast(&["lobby"], "42[\"hello\"]"));
        let got = expect(&mut b_events, |e| match e {
            Event::Broadcast(b) => Some(b),
            _ => None,
        })
        .await;
        assert_eq!(got.head, "42[\"hello\"]", "{kind}: only the followed room");
        assert_eq!(
            got.attachments,
            vec![bytes::Bytes::from_static(b"\x01\x02")]
        );
        // Several rooms B follows: delivered once.
        a.broadcast(broadcast(&["lobby", "x"], "42[\"both\"]"));
        a.broadcast(broadcast(&["lobby"], "42[\"after\"]"));
        let heads: Vec<String> = vec![
            expect(&mut b_events, |e| match e {
                Event::Broadcast(b) => Some(b.head),
                _ => None,
            })
            .await,
            expect(&mut b_events, |e| match e {
                Event::Broadcast(b) => Some(b.head),
                _ => None,
            })
            .await,
        ];
        assert_eq!(heads, ["42[\"both\"]", "42[\"after\"]"], "{kind}");

        // A command reaches the node named by the socket id's tag.
        a.command(Command {
            app: "chat".into(),
            namespace: "/".into(),
            socket: format!("{}rest-of-id", b.tag()),
            op: SocketOp::Disconnect,
        });
        let command = expect(&mut b_events, |e| match e {
            Event::Command(c) => Some(c),
            _ => None,
        })
        .await;
        assert_eq!(command.op, SocketOp::Disconnect);

        // Registry changes reach everyone.
        b.app_changed("chat");
        let app = expect(&mut a_events, |e| match e {
            Event::AppChanged(app) => Some(app),
            _ => None,
        })
        .await;
        assert_eq!(app, "chat");

        // A node saying goodbye is forgotten at once, with its rooms.
        b.bye();
        expect(&mut a_events, |e| {
            matches!(e, Event::NodeLeft(id) if id == b.id()).then_some(())
        })
        .await;
        assert!(!a.has_peers());
        assert_eq!(a.remote_room_size("chat", "/", "lobby"), 0);
        let status = a.status();
        assert_eq!(status.broker, kind);
        assert!(status.published >= 5 && status.received >= 3, "{status:?}");
    }
}

fn rand_suffix() -> String {
    format!("{:x}", rand::random::<u64>())
}
