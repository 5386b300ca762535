//! The node's timer scheduler: claims due timers from the registry (each
//! timer goes to one node of the cluster, under a lease), runs each one's
//! `on-timer` hook on the app's live version, and reports it fired.
//!
//! It sleeps until the earliest timer no node holds falls due, and at most
//! [`LOOK_EVERY`], so timers whose node died are taken over; a handler that
//! sets a sooner timer on this node wakes it at once (`tenant/timers.rs`).
//! A timer fires once: its hook's fault is logged and the timer deleted,
//! not retried. Only a node that dies mid-fire makes it run again, on
//! another node once its lease ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use eddy_host::types::Level;
use eddy_store::{DueTimer, Store, now_ms};
use tokio::sync::{Semaphore, watch};

use crate::dispatch::{TimerContext, TimerOutcome};
use crate::tenant::Tenants;
use crate::tenant::timers::TimerWake;

/// The longest the scheduler sleeps between looks at the registry.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long a claim holds a timer: well above the longest handler deadline
/// (10 s) plus a wait for an instance, so a live node never loses one.
const LEASE: Duration = Duration::from_secs(60);
/// Timers claimed at once.
const CLAIM_BATCH: i64 = 64;
/// Timer hooks running at once on this node, across apps (each app is
/// bounded further by its own concurrent-call limit).
const FIRING_AT_ONCE: usize = 64;
/// How long one firing may take, waits included, before it is given up
/// (and its lease left to run out).
const FIRE_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Scheduler {
    pub store: Store,
    pub node: String,
    pub tenants: Arc<Tenants>,
    pub wake: Arc<TimerWake>,
}

impl Scheduler {
    /// Runs until `stop` turns true.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let firing = Arc::new(Semaphore::new(FIRING_AT_ONCE));
        loop {
            if *stop.borrow() {
                return;
            }
            let now = now_ms();
            let claimed = match self
                .store
                .claim_due_timers(&self.node, now, LEASE.as_millis() as u64, CLAIM_BATCH)
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "cannot claim due timers");
                    Vec::new()
                }
            };
            let full = claimed.len() as i64 == CLAIM_BATCH;
            self.fire_all(claimed, &firing).await;
            if full {
                continue;
            }
            let next = match self.store.next_timer_due(now_ms()).await {
                Ok(next) => next,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the next timer");
                    None
                }
            };
            let now = now_ms();
            let latest = now + LOOK_EVERY.as_millis() as i64;
            let at = next.map_or(latest, |due| due.clamp(now, latest));
            self.wake.plan(at);
            let sleep = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.woken() => {}
                _ = stop.changed() => {}
            }
            self.wake.plan(i64::MIN);
        }
    }

    /// Starts every claimed timer's hook (bounded by `firing`); returns
    /// once each has a turn, not when each is done.
    async fn fire_all(&self, claimed: Vec<DueTimer>, firing: &Arc<Semaphore>) {
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
            let Ok(turn) = firing.clone().acquire_owned().await else {
                return;
            };
            let store = self.store.clone();
            tokio::spawn(async move {
                let _turn = turn;
                let cx = Arc::new(TimerContext::new(app.clone(), &timer.namespace));
                let handler = app.handler();
                let outcome = match tokio::time::timeout(
                    FIRE_TIMEOUT,
                    handler.on_timer(&cx, &timer),
                )
                .await
                {
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
                if let Err(error) = store
                    .timer_fired(timer.app_id, &timer.key, timer.due_at)
                    .await
                {
                    tracing::warn!(app = %app.slug, key = %timer.key, %error, "cannot report a fired timer");
                }
            });
        }
    }
}
