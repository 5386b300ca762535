//! The node's timer scheduler: claims due timers from the registry (each
//! timer goes to one node of the cluster, under a lease), runs each one's
//! `on-timer` hook on the app's live version, and reports it fired.
//!
//! It sleeps until the earliest timer no node holds falls due, and at most
//! [`LOOK_EVERY`] when other nodes may share the registry, so timers whose
//! node died are taken over; a handler that sets a sooner timer on this node wakes it at
//! once (`tenant/timers.rs`).
//! A timer fires once: its hook's fault is logged and the timer deleted,
//! not retried. Only a node that dies mid-fire makes it run again, on
//! another node once its lease ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use eddy_host::types::Level;
use eddy_store::{DueTimer, Store, now_ms};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::dispatch::{TimerContext, TimerOutcome};
use crate::tenant::Tenants;
use crate::tenant::timers::TimerWake;

/// The longest the scheduler sleeps between looks at a registry other
/// nodes may share (one of them may set a timer and die before it fires).
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// The same on a registry only this node uses (SQLite, no broker): every
/// timer is set here and wakes it, so looking is only a safety net, and an
/// idle server does not wake for nothing.
const LOOK_EVERY_ALONE: Duration = Duration::from_secs(60);
/// How long a claim holds a timer: well above the longest handler deadline
/// (10 s) plus a wait for an instance, so a live node never loses one.
const LEASE: Duration = Duration::from_secs(60);
/// Timer hooks running at once on this node, across apps: also the most
/// it claims at once, so a claimed timer starts at once.
const FIRING_AT_ONCE: usize = 64;
/// Timer hooks of one app running at once on this node. An app at this
/// count is left out of claims, so one app's burst of due timers takes at
/// most this share of the node and other apps' timers stay on time.
const FIRING_PER_APP: usize = 8;
/// How long one firing may take, waits included, before it is given up
/// (and its lease left to run out). Below [`LEASE`].
const FIRE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Scheduler {
    pub store: Store,
    pub node: String,
    pub tenants: Arc<Tenants>,
    pub wake: Arc<TimerWake>,
    /// Other nodes may use the registry: a broker is configured, or the
    /// registry is PostgreSQL. (Peers come and go; a sleep planned while
    /// alone would miss one that set a timer and died.)
    pub shared: bool,
}

/// Timer hooks running on this node, per app id.
#[derive(Default)]
struct Running(Mutex<HashMap<i64, usize>>);

impl Running {
    fn total(&self) -> usize {
        self.0.lock().values().sum()
    }

    /// Apps at [`FIRING_PER_APP`]: left out of the next claim.
    fn saturated(&self) -> Vec<i64> {
        let running = self.0.lock();
        running
            .iter()
            .filter(|&(_, &n)| n >= FIRING_PER_APP)
            .map(|(&id, _)| id)
            .collect()
    }

    fn start(&self, app_id: i64) {
        *self.0.lock().entry(app_id).or_default() += 1;
    }

    fn finish(&self, app_id: i64) {
        let mut running = self.0.lock();
        if let Some(n) = running.get_mut(&app_id) {
            *n -= 1;
            if *n == 0 {
                running.remove(&app_id);
            }
        }
    }
}

impl Scheduler {
    /// Runs until `stop` turns true.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let running = Arc::new(Running::default());
        loop {
            if *stop.borrow() {
                return;
            }
            let room = FIRING_AT_ONCE.saturating_sub(running.total());
            let skip = running.saturated();
            let mut claimed = Vec::new();
            if room > 0 {
                let lease = (now_ms(), LEASE.as_millis() as u64);
                match this
                    .store
                    .claim_due_timers_skipping(&this.node, lease, room as i64, &skip)
                    .await
                {
                    Ok(due) => claimed = due,
                    Err(error) => tracing::warn!(%error, "cannot claim due timers"),
                }
            }
            let full = room > 0 && claimed.len() == room;
            this.fire_all(claimed, &running);
            if full {
                continue;
            }
            // With no room, only a finished hook (it wakes us) makes any.
            let next = if room == 0 {
                None
            } else {
                match this
                    .store
                    .next_timer_due_skipping(now_ms(), &running.saturated())
                    .await
                {
                    Ok(next) => next,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the next timer");
                        None
                    }
                }
            };
            let now = now_ms();
            let every = if this.shared {
                LOOK_EVERY
            } else {
                LOOK_EVERY_ALONE
            };
            let latest = now + every.as_millis() as i64;
            let at = next.map_or(latest, |due| due.clamp(now, latest));
            this.wake.plan(at);
            let sleep = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = this.wake.woken() => {}
                _ = stop.changed() => {}
            }
            // Awake: any timer set from now on may be missed by the look
            // under way, so each one wakes the next sleep at once.
            this.wake.plan(i64::MAX);
        }
    }

    /// Starts every claimed timer's hook; each counts in `running` until
    /// it is done, and then wakes the loop (there is room again).
    fn fire_all(self: &Arc<Self>, claimed: Vec<DueTimer>, running: &Arc<Running>) {
        if claimed.is_empty() {
            return;
        }
        let apps: HashMap<i64, _> = self
            .tenants
            .all()
            .into_iter()
            .filter(|a| a.id != 0)
            .map(|a| (a.id, a))
            .collect();
        for timer in claimed {
            let Some(app) = apps.get(&timer.app_id).cloned() else {
                // Not live here yet (created a moment ago on another node):
                // its lease runs out and a node that has it fires it.
                tracing::debug!(app_id = timer.app_id, key = %timer.key, "timer of an app not live here");
                continue;
            };
            running.start(timer.app_id);
            let (this, running) = (self.clone(), running.clone());
            tokio::spawn(async move {
                this.fire(&app, &timer).await;
                running.finish(timer.app_id);
                this.wake.room_freed();
            });
        }
    }

    /// Runs one timer's hook and reports it fired.
    async fn fire(&self, app: &Arc<crate::tenant::App>, timer: &DueTimer) {
        let cx = Arc::new(TimerContext::new(app.clone(), &timer.namespace));
        let handler = app.handler();
        let outcome = match tokio::time::timeout(FIRE_TIMEOUT, handler.on_timer(&cx, timer)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(app = %app.slug, key = %timer.key, "timer hook did not finish in time");
                return;
            }
        };
        match &outcome {
            TimerOutcome::Fired => app.metrics.timers_fired.inc(),
            TimerOutcome::NoHook(why) => app.log.write(
                Level::Warn,
                &format!("timer {:?} dropped: {why}", timer.key),
            ),
            TimerOutcome::Faulted(why) => app.log.write(
                Level::Error,
                &format!("timer {:?} faulted and is not retried: {why}", timer.key),
            ),
        }
        if let Err(error) = self
            .store
            .timer_fired(timer.app_id, &timer.key, timer.due_at)
            .await
        {
            tracing::warn!(app = %app.slug, key = %timer.key, %error, "cannot report a fired timer");
        }
    }
}
