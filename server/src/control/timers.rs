//! The node's timer scheduler: claims due timers from the registry (each
//! timer goes to one node of the cluster, under a lease), runs each one's
//! `on-timer` hook on the app's live version, and reports it fired.
//!
//! It sleeps until the earliest timer no node holds falls due, and at most
//! [`LOOK_EVERY`] when other nodes may share the registry, so timers whose
//! node died are taken over; a handler that sets a sooner timer on this node wakes it at
//! once (`tenant/timers.rs`).
//! A timer's hook runs once: a fault (or a hook still running after
//! [`FIRE_TIMEOUT`]) is logged and the timer deleted, not retried. A timer
//! whose hook could not run at all (no version deployed, the version
//! failed to load here, the app faulted) is given back and tried again
//! later, for up to an hour. A node that dies mid-fire makes a hook run
//! again, on another node once its lease ends. Each app gets a share of
//! the node's hooks (at once and per second), so one app's timers cannot
//! hold back another's or keep the registry busy.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_host::types::Level;
use eddy_store::{DueTimer, Store, now_ms};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::dispatch::{TimerContext, TimerOutcome};
use crate::tenant::timers::TimerWake;
use crate::tenant::{RateLimiter, Tenants};

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
/// count is left out of claims (and what a claim brought beyond its share
/// is given back), so one app's burst of due timers takes at most this
/// share of the node and other apps' timers stay on time.
const FIRING_PER_APP: usize = 8;
/// Timer hooks one app may start per second on this node (bursts of twice
/// that): each costs the shared registry a few writes, and a hook that
/// re-arms its timer with no delay would otherwise loop as fast as the
/// registry allows. Past it, the app's timers wait their turn.
const FIRINGS_PER_SECOND: u64 = 200;
/// How long one firing may take, waits included, before it is given up
/// (and the timer dropped). Below [`LEASE`].
const FIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// A timer that could not run (no version deployed, a faulted app) is
/// tried again until it is this late, then dropped.
const GIVE_UP_AFTER: Duration = Duration::from_secs(3600);

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

/// Each app's share of this node's timer hooks.
#[derive(Default)]
struct Shares(Mutex<HashMap<i64, Share>>);

#[derive(Default)]
struct Share {
    running: usize,
    budget: RateLimiter,
}

impl Shares {
    fn total(&self) -> usize {
        self.0.lock().values().map(|s| s.running).sum()
    }

    /// Apps that may start no hook now: left out of the next claim.
    fn blocked(&self, now: Instant) -> Vec<i64> {
        let mut shares = self.0.lock();
        shares
            .iter_mut()
            .filter_map(|(&id, s)| {
                let full = s.running >= FIRING_PER_APP;
                (full || !s.budget.available(FIRINGS_PER_SECOND, now)).then_some(id)
            })
            .collect()
    }

    /// Takes a turn for one of `app_id`'s hooks, if its share allows.
    fn admit(&self, app_id: i64, now: Instant) -> bool {
        let mut shares = self.0.lock();
        let share = shares.entry(app_id).or_default();
        if share.running < FIRING_PER_APP && share.budget.allow(FIRINGS_PER_SECOND, now) {
            share.running += 1;
            true
        } else {
            false
        }
    }

    fn finish(&self, app_id: i64) {
        if let Some(share) = self.0.lock().get_mut(&app_id) {
            share.running = share.running.saturating_sub(1);
        }
    }
}

/// Gives an app's turn back when its hook ends, however it ends (a
/// panicking hook task included), and wakes the scheduler: there is room.
struct Turn {
    shares: Arc<Shares>,
    wake: Arc<TimerWake>,
    app_id: i64,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.shares.finish(self.app_id);
        self.wake.room_freed();
    }
}

impl Scheduler {
    /// Runs until `stop` turns true (or its sender is gone).
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let shares = Arc::new(Shares::default());
        loop {
            if *stop.borrow() {
                return;
            }
            let room = FIRING_AT_ONCE.saturating_sub(shares.total());
            let mut claimed = Vec::new();
            if room > 0 {
                let lease = (now_ms(), LEASE.as_millis() as u64);
                let blocked = shares.blocked(Instant::now());
                match this
                    .store
                    .claim_due_timers_skipping(&this.node, lease, room as i64, &blocked)
                    .await
                {
                    Ok(due) => claimed = due,
                    Err(error) => tracing::warn!(%error, "cannot claim due timers"),
                }
            }
            let full = room > 0 && claimed.len() == room;
            this.fire_all(claimed, &shares).await;
            if full {
                continue;
            }
            // With no room, only a finished hook (it wakes us) makes any.
            let blocked = shares.blocked(Instant::now());
            let next = if room == 0 {
                None
            } else {
                match this.store.next_timer_due_skipping(&blocked).await {
                    Ok(next) => next,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the next timer");
                        None
                    }
                }
            };
            let now = now_ms();
            let every = if !blocked.is_empty() {
                // An app waits for its budget: look again when it has
                // refilled a share's worth (not at every token: each look
                // is two registry queries). Other apps' timers wake us on
                // time regardless (`next` leaves the blocked apps out).
                Duration::from_millis(FIRING_PER_APP as u64 * 1_000 / FIRINGS_PER_SECOND)
            } else if this.shared {
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
                changed = stop.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
            }
            // Awake: any timer set from now on may be missed by the look
            // under way, so each one wakes the next sleep at once.
            this.wake.plan(i64::MAX);
        }
    }

    /// Starts each claimed timer's hook its app's share allows, and gives
    /// the rest back to the registry (the app is left out of claims until
    /// it has room again).
    async fn fire_all(self: &Arc<Self>, claimed: Vec<DueTimer>, shares: &Arc<Shares>) {
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
                // another node that has it may take it.
                tracing::debug!(app_id = timer.app_id, key = %timer.key, "timer of an app not live here");
                self.release(&timer, None).await;
                continue;
            };
            if !shares.admit(timer.app_id, Instant::now()) {
                self.release(&timer, None).await;
                continue;
            }
            let turn = Turn {
                shares: shares.clone(),
                wake: self.wake.clone(),
                app_id: timer.app_id,
            };
            let this = self.clone();
            tokio::spawn(async move {
                let _turn = turn;
                this.fire(&app, &timer).await;
            });
        }
    }

    /// Gives a claimed timer back (claimable again from `retry_at`, or now).
    async fn release(&self, timer: &DueTimer, retry_at: Option<i64>) {
        let key = (timer.key.as_str(), timer.due_at);
        if let Err(error) = self.store.timer_release(timer.app_id, key, retry_at).await {
            tracing::warn!(key = %timer.key, %error, "cannot give a timer back; its lease will run out");
        }
    }

    /// Runs one timer's hook, then deletes the timer, or gives it back for
    /// later when the hook could not run.
    async fn fire(&self, app: &Arc<crate::tenant::App>, timer: &DueTimer) {
        let cx = Arc::new(TimerContext::new(app.clone(), &timer.namespace));
        let handler = app.handler();
        let outcome = tokio::time::timeout(FIRE_TIMEOUT, handler.on_timer(&cx, timer))
            .await
            .unwrap_or_else(|_| {
                TimerOutcome::Faulted(format!(
                    "its hook did not finish within {} s",
                    FIRE_TIMEOUT.as_secs()
                ))
            });
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
            TimerOutcome::Unavailable { why, retry_in } => {
                let late = now_ms().saturating_sub(timer.due_at);
                if late < GIVE_UP_AFTER.as_millis() as i64 {
                    let retry_at = now_ms().saturating_add(retry_in.as_millis() as i64);
                    self.release(timer, Some(retry_at)).await;
                    return;
                }
                app.log.write(
                    Level::Error,
                    &format!(
                        "timer {:?} dropped: it could not run for an hour ({why})",
                        timer.key
                    ),
                );
            }
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
