//! A timer's hook: what it reaches (the namespace the timer was set from,
//! with no calling socket) and what came of running it.

use std::sync::Arc;
use std::time::Duration;

use super::context::Scope;
use crate::tenant::App;

/// The capabilities of one timer's hook: one namespace of one app.
pub struct TimerContext {
    app: Arc<App>,
    namespace: Arc<str>,
}

/// What firing a timer came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerOutcome {
    /// The hook ran and returned.
    Fired,
    /// The live version has no timer hook (a component built against
    /// contract 0.1.0): the timer is dropped.
    NoHook(String),
    /// The hook ran and faulted (the fault is counted and in the app's
    /// log): the timer is not retried.
    Faulted(String),
    /// The hook could not run here now (nothing deployed, the version
    /// failed to load on this node, the app is faulted, a fault of ours):
    /// the timer is tried again after `retry_in`.
    Unavailable { why: String, retry_in: Duration },
}

impl TimerContext {
    pub fn new(app: Arc<App>, namespace: &str) -> Self {
        Self {
            app,
            namespace: namespace.into(),
        }
    }

    pub(crate) fn app_ref(&self) -> &Arc<App> {
        &self.app
    }

    /// What the hook reaches.
    pub(crate) fn scope(&self) -> Scope<'_> {
        Scope::of_namespace(&self.app, &self.namespace)
    }

    /// Disconnects a socket of the namespace. False when no such socket.
    pub fn disconnect(&self, socket_id: &str) -> bool {
        self.scope().disconnect_other(socket_id)
    }
}
