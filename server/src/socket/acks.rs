//! Server-to-client acks waiting for the client's answer.

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::dispatch::Ack;

/// Allocated on first use: most sockets never wait for an ack.
#[derive(Default)]
pub(super) struct AckTable {
    next_id: u64,
    waiting: HashMap<u64, oneshot::Sender<Ack>>,
}

impl AckTable {
    pub(super) fn register(&mut self) -> (u64, oneshot::Receiver<Ack>) {
        let id = self.next_id;
        self.next_id += 1;
        let (tx, rx) = oneshot::channel();
        self.waiting.insert(id, tx);
        (id, rx)
    }

    /// Hands the client's answer to its waiter; false for an id nobody waits on.
    pub(super) fn resolve(&mut self, id: u64, ack: Ack) -> bool {
        match self.waiting.remove(&id) {
            Some(tx) => tx.send(ack).is_ok(),
            None => false,
        }
    }

    pub(super) fn forget(&mut self, id: u64) {
        self.waiting.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(args: &str) -> Ack {
        Ack {
            args: args.into(),
            attachments: vec![],
        }
    }

    #[tokio::test]
    async fn resolves_only_registered_ids_once() {
        let mut t = AckTable::default();
        let (id, rx) = t.register();
        let (id2, _rx2) = t.register();
        assert_ne!(id, id2);
        assert!(!t.resolve(99, ack("[]")));
        assert!(t.resolve(id, ack("[1]")));
        assert!(!t.resolve(id, ack("[2]")));
        assert_eq!(rx.await.unwrap().args, "[1]");
        t.forget(id2);
        assert!(!t.resolve(id2, ack("[]")));
    }
}
