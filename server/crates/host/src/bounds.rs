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

use std::future::Future;
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

/// Arms the store for a piece of guest work that may take `limit`.
pub(crate) fn arm(store: &mut Store<HostState>, limit: Duration) {
    store.data_mut().deadline = Some(Instant::now() + limit);
    store.set_epoch_deadline(1);
}

/// Runs `work` (a call or an instantiation on an [`arm`]ed store) for at
/// most `limit` of wall-clock time, blocked time included.
pub(crate) async fn bounded<T>(
    limit: Duration,
    work: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(outcome) => outcome,
        Err(_elapsed) => Err(wasmtime::Error::new(Trap::Interrupt)
            .context("the guest was still waiting on a host call at its deadline")),
    }
}
