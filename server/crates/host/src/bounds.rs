//! Wall-clock bounds on guest work: instantiation (start-up code) and every
//! hook call. Two mechanisms, because neither covers both ways a guest can
//! hold on:
//!
//! - *Running* guest code is stopped by epochs: the store's epoch callback
//!   runs every tick while wasm executes, traps past the deadline, and
//!   otherwise yields to the async runtime, so a busy guest shares its
//!   thread.
//! - A guest *waiting* in a host call (a WASI sleep's `pollable.block`, a
//!   key-value read) runs no wasm, so no epoch check happens there. An async
//!   timeout around the whole call drops its future at the deadline.
//!   Dropping a wasmtime async call cancels it (its fiber is unwound); the
//!   store is then in no state to be used again, and callers discard it.
//!
//! Both end as [`Trap::Interrupt`], so a timeout is classified the same
//! way whichever mechanism saw it first.
//!
//! Time the host spends queueing a call's emits is not the guest's: a
//! broadcast to a room of 20,000 local members takes tens of milliseconds
//! of host work on a busy machine, and billing it to a 100 ms deadline
//! made an ordinary `to-room` time out. Both mechanisms move the deadline
//! out by that time ([`HostState::excuse`]), up to [`MAX_EXCUSED`] per call,
//! so a call still ends within its deadline plus that.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap, UpdateDeadline};

use crate::state::HostState;

/// Installs the epoch callback on a new store: past `HostState::deadline`,
/// trap; otherwise let other tasks run and check again next tick.
pub(crate) fn watch_epochs(store: &mut Store<HostState>) {
    store.epoch_deadline_callback(|ctx| match ctx.data().deadline {
        Some(deadline) if Instant::now() >= deadline => Ok(UpdateDeadline::Interrupt),
        _ => Ok(UpdateDeadline::Yield(1)),
    });
    store.set_epoch_deadline(1);
}

/// The most host fan-out time one call is excused (beyond it, the time
/// counts against the deadline again).
pub(crate) const MAX_EXCUSED: Duration = Duration::from_secs(1);

/// Arms the store for a piece of guest work that may take `limit`.
pub(crate) fn arm(store: &mut Store<HostState>, limit: Duration) {
    let state = store.data_mut();
    state.deadline = Some(Instant::now() + limit);
    state.excused.store(0, Ordering::Relaxed);
    store.set_epoch_deadline(1);
}

/// Runs `work` (a call or an instantiation on an [`arm`]ed store) for at
/// most `limit` of wall-clock time, blocked time included, plus what the
/// call was `excused` (its store's [`HostState::excused`]).
pub(crate) async fn bounded<T>(
    limit: Duration,
    excused: &AtomicU64,
    work: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let started = tokio::time::Instant::now();
    let until = || started + limit + Duration::from_nanos(excused.load(Ordering::Relaxed));
    let mut work = std::pin::pin!(work);
    loop {
        let deadline = until();
        match tokio::time::timeout_at(deadline, &mut work).await {
            Ok(outcome) => return outcome,
            // Excused host work moved the end while this waited.
            Err(_elapsed) if until() > deadline => {}
            Err(_elapsed) => {
                return Err(wasmtime::Error::new(Trap::Interrupt)
                    .context("the guest was still waiting on a host call at its deadline"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn excused_host_time_moves_the_wall_clock_bound_and_nothing_else_does() {
        // 50 ms allowed; the work takes 110 ms, 100 of them excused.
        let excused = AtomicU64::new(0);
        let work = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            excused.fetch_add(100_000_000, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(())
        };
        bounded(Duration::from_millis(50), &excused, work)
            .await
            .expect("within 50 ms + 100 ms excused");

        // The same work without the excuse is stopped at 50 ms.
        let none = AtomicU64::new(0);
        let started = std::time::Instant::now();
        let work = async {
            tokio::time::sleep(Duration::from_millis(110)).await;
            Ok(())
        };
        let err = bounded(Duration::from_millis(50), &none, work)
            .await
            .unwrap_err();
        assert!(
            err.downcast_ref::<Trap>() == Some(&Trap::Interrupt),
            "{err:#}"
        );
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn a_call_is_excused_at_most_max_excused_and_arming_forgets_it() {
        let engine = wasmtime::Engine::default();
        let mut store = Store::new(&engine, HostState::new(1 << 20, None));
        arm(&mut store, Duration::from_millis(100));
        let armed = store.data().deadline.unwrap();
        let state = store.data_mut();
        state.excuse(Duration::from_millis(700));
        state.excuse(Duration::from_millis(700));
        let excused = Duration::from_nanos(state.excused.load(Ordering::Relaxed));
        assert_eq!(excused, MAX_EXCUSED, "capped");
        assert_eq!(
            state.deadline.unwrap() - armed,
            MAX_EXCUSED,
            "the epoch deadline moved as much"
        );
        // The next call (a pooled instance re-armed) starts with nothing excused.
        arm(&mut store, Duration::from_millis(100));
        assert_eq!(store.data().excused.load(Ordering::Relaxed), 0);
    }
}
