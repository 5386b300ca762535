//! The live sessions of one endpoint, by sid.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;
use tokio::sync::Notify;

use super::{CloseReason, Session};
use crate::metrics::Traffic;

/// The live sessions of one endpoint (an app, or the echo endpoint), by sid.
#[derive(Default)]
pub struct SessionTable {
    map: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    /// Woken when a removal leaves the table empty: shutdown waits on it
    /// instead of counting sessions on a timer.
    emptied: Notify,
    pub traffic: Arc<Traffic>,
}

impl SessionTable {
    pub fn get(&self, sid: &str) -> Option<Arc<Session>> {
        self.map.read().get(sid).cloned()
    }

    pub(super) fn insert(&self, session: Arc<Session>) {
        self.map.write().insert(session.sid.clone(), session);
    }

    pub(super) fn remove(&self, sid: &str) {
        let empty = {
            let mut map = self.map.write();
            map.remove(sid);
            map.is_empty()
        };
        if empty {
            self.emptied.notify_waiters();
        }
    }

    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.read().is_empty()
    }

    /// Resolves once the table is empty (at once if it is).
    pub async fn emptied(&self) {
        super::notified_once(&self.emptied, || self.is_empty()).await;
    }

    /// Closes every session with `reason`.
    pub fn close_all(&self, reason: CloseReason) {
        let sessions: Vec<_> = self.map.read().values().cloned().collect();
        for s in sessions {
            s.close(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;

    use super::*;
    use crate::config::Config;
    use crate::session::{EngineSettings, HandshakeInfo, Layer, Transport};

    fn open(table: &Arc<SessionTable>) -> Arc<Session> {
        let settings = Arc::new(EngineSettings::from_config(&Config::default()));
        Session::new(
            Layer::Echo,
            Transport::WebSocket,
            HandshakeInfo::default(),
            settings,
            table,
        )
    }

    #[tokio::test]
    async fn emptied_resolves_when_the_last_session_is_removed_and_not_before() {
        let table = Arc::new(SessionTable::default());
        assert!(table.emptied().now_or_never().is_some(), "empty at once");
        let a = open(&table);
        let b = open(&table);
        let mut emptied = Box::pin(table.emptied());
        assert!((&mut emptied).now_or_never().is_none());
        table.remove(&a.sid);
        assert!(
            (&mut emptied).now_or_never().is_none(),
            "one session is left"
        );
        table.remove(&b.sid);
        assert!((&mut emptied).now_or_never().is_some());
    }

    #[tokio::test]
    async fn teardown_of_the_last_session_wakes_a_waiter() {
        let table = Arc::new(SessionTable::default());
        let s = open(&table);
        let waiter = tokio::spawn({
            let table = table.clone();
            async move { table.emptied().await }
        });
        table.close_all(CloseReason::ServerShuttingDown);
        assert_eq!(s.close_reason(), Some(CloseReason::ServerShuttingDown));
        s.teardown().await;
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the waiter wakes")
            .unwrap();
    }
}
