//! An app's durable timers (contract 0.2): kept in the registry, so they
//! survive restarts and redeploys, and fired by the node's scheduler
//! (`control/timers.rs`), which one [`TimerWake`] per node wakes when a
//! timer is set sooner than it planned to look.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use eddy_host::types::TimerError;
use tokio::sync::{Notify, Semaphore};

/// Registry timer calls one app may have in flight on this node (as for
/// key-value calls: one app's timer storm cannot hold the registry).
const TIMER_CALLS_PER_APP: usize = 2;
/// How long a call waits for a turn before the handler hears `busy`.
const TIMER_TURN_WAIT: Duration = Duration::from_millis(20);

/// Shared by the node's apps and its scheduler: when the scheduler will
/// next look at the registry, and how to make it look sooner.
#[derive(Debug)]
pub struct TimerWake {
    notify: Notify,
    /// Milliseconds since the epoch; `i64::MAX` while it is awake (then
    /// every set wakes its next sleep, as the look under way may miss it).
    next_look_ms: AtomicI64,
}

impl Default for TimerWake {
    fn default() -> Self {
        Self {
            notify: Notify::new(),
            // Awake until the scheduler first plans a sleep.
            next_look_ms: AtomicI64::new(i64::MAX),
        }
    }
}

impl TimerWake {
    /// A timer is now due at `due_ms`: wake the scheduler if it would look later.
    pub(crate) fn due_at(&self, due_ms: i64) {
        if due_ms < self.next_look_ms.load(Ordering::Acquire) {
            self.notify.notify_one();
        }
    }

    /// A timer hook finished: there is room for another.
    pub(crate) fn room_freed(&self) {
        self.notify.notify_one();
    }

    /// The scheduler plans to look again at `at_ms`.
    pub(crate) fn plan(&self, at_ms: i64) {
        self.next_look_ms.store(at_ms, Ordering::Release);
    }

    /// Resolves when a sooner timer was set since the last wake.
    pub(crate) async fn woken(&self) {
        self.notify.notified().await;
    }
}

/// Where an app's timers live: the registry, or nowhere (built-in apps).
pub struct AppTimers {
    registry: Option<Registry>,
}

struct Registry {
    store: eddy_store::Store,
    app_id: i64,
    wake: std::sync::Arc<TimerWake>,
    turns: Semaphore,
}

fn unavailable(e: impl std::fmt::Display) -> TimerError {
    tracing::warn!(error = %e, "timer store error");
    TimerError::Unavailable("the timer store is unavailable".into())
}

impl AppTimers {
    pub fn registry(
        store: eddy_store::Store,
        app_id: i64,
        wake: std::sync::Arc<TimerWake>,
    ) -> Self {
        Self {
            registry: Some(Registry {
                store,
                app_id,
                wake,
                turns: Semaphore::new(TIMER_CALLS_PER_APP),
            }),
        }
    }

    /// Built-in apps have no registry row to hang timers on.
    pub fn none() -> Self {
        Self { registry: None }
    }

    fn registry_for_call(&self) -> Result<&Registry, TimerError> {
        self.registry.as_ref().ok_or_else(|| {
            TimerError::Unavailable(
                "this app is built in; timers need an app of the registry".into(),
            )
        })
    }

    /// Sets timer `key` to fire after `delay_ms` in `namespace`.
    pub async fn set(
        &self,
        (namespace, key): (&str, &str),
        delay_ms: u64,
        payload: &str,
        max_timers: u64,
    ) -> Result<(), TimerError> {
        let r = self.registry_for_call()?;
        let due = eddy_store::now_ms().saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
        let _turn = turn(&r.turns).await?;
        match r
            .store
            .timer_set(
                r.app_id,
                (namespace, key),
                due,
                payload.as_bytes(),
                max_timers,
            )
            .await
        {
            Ok(()) => {
                r.wake.due_at(due);
                Ok(())
            }
            Err(eddy_store::TimerError::TooMany { max }) => {
                Err(TimerError::TooMany(u32::try_from(max).unwrap_or(u32::MAX)))
            }
            Err(eddy_store::TimerError::Store(e)) => Err(unavailable(e)),
        }
    }

    pub async fn cancel(&self, key: &str) -> Result<bool, TimerError> {
        let r = self.registry_for_call()?;
        let _turn = turn(&r.turns).await?;
        r.store
            .timer_cancel(r.app_id, key)
            .await
            .map_err(unavailable)
    }

    /// Timers pending (for the dashboard); `None` for a built-in app.
    pub async fn pending(&self) -> Option<i64> {
        let r = self.registry.as_ref()?;
        r.store.timers_pending(r.app_id).await.ok()
    }
}

/// A turn for a timer call, or `busy` after [`TIMER_TURN_WAIT`].
async fn turn(turns: &Semaphore) -> Result<tokio::sync::SemaphorePermit<'_>, TimerError> {
    super::kv::registry_turn(turns, TIMER_TURN_WAIT).await.ok_or_else(|| {
        TimerError::Unavailable(format!(
            "busy: this app already has {TIMER_CALLS_PER_APP} timer calls in flight; retry later"
        ))
    })
}
