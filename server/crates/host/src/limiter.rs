//! Memory caps, enforced as the guest grows its memory: the app's cap per
//! instance, and the [`MemoryBudget`] its tenant's instances share on this
//! node.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::ResourceLimiter;

/// Linear memory that every instance of one tenant's apps on this node
/// draws from. An app's own cap bounds one instance; an app may run many
/// instances at once (calls in flight, warm ones between calls), so only
/// a shared budget bounds what a tenant holds in all.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: AtomicUsize,
    used: AtomicUsize,
}

impl MemoryBudget {
    pub fn new(limit_bytes: usize) -> Arc<Self> {
        Arc::new(Self {
            limit: AtomicUsize::new(limit_bytes),
            used: AtomicUsize::new(0),
        })
    }

    /// A new quota applies to growth from now on; instances already over it
    /// keep their memory until they end.
    pub fn set_limit(&self, limit_bytes: usize) {
        self.limit.store(limit_bytes, Ordering::Relaxed);
    }

    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }

    /// Bytes the live instances hold now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Whether more than half is in use: then instances are not kept warm
    /// between calls, so idle ones of one app cannot starve another's calls.
    pub(crate) fn crowded(&self) -> bool {
        self.used() > self.limit() / 2
    }

    /// Charges what a deploy's trial instance needs whatever the limit:
    /// a deploy, a rollback or a limit change is not refused because the
    /// tenant's calls hold its memory (the pool drops the instance at once
    /// when the budget is crowded).
    fn force_charge(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    fn try_charge(&self, bytes: usize) -> bool {
        let limit = self.limit();
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// One budget is equal only to itself: limits that share it are equal.
impl PartialEq for MemoryBudget {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for MemoryBudget {}

/// Why a growth was refused: the trap that follows is then reported as a
/// memory fault of this kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// The app's cap for one instance.
    Instance,
    /// The tenant's budget on this node.
    Tenant,
}

pub(crate) struct MemoryLimiter {
    limit: usize,
    budget: Option<Arc<MemoryBudget>>,
    /// Charge the budget without checking it (a deploy's trial start-up).
    pub overdraw: bool,
    pub exceeded: Option<Exceeded>,
    /// The guest's linear memory now, all of its memories together
    /// (wasmtime reports each memory's initial size as a growth from zero,
    /// so this is exact), and what is charged to the budget.
    pub bytes: usize,
    /// The last growth allowed, taken back if wasmtime then fails it.
    last_growth: usize,
}

/// Table elements a handler may have (function tables stay small in practice).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl MemoryLimiter {
    pub(crate) fn new(limit: usize, budget: Option<Arc<MemoryBudget>>) -> Self {
        Self {
            limit,
            budget,
            overdraw: false,
            exceeded: None,
            bytes: 0,
            last_growth: 0,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    /// Called once per memory as it grows (a component may have several):
    /// the cap and the budget hold for all of them together.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grow = desired.saturating_sub(current);
        let total = self.bytes.saturating_add(grow);
        if total > self.limit {
            self.exceeded = Some(Exceeded::Instance);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded (wanted {total})",
                self.limit
            )));
        }
        if let Some(budget) = &self.budget
            && grow > 0
        {
            if self.overdraw {
                budget.force_charge(grow);
            } else if !budget.try_charge(grow) {
                self.exceeded = Some(Exceeded::Tenant);
                return Err(wasmtime::Error::msg(format!(
                    "the tenant's handler memory on this node ({} of {} bytes) has no room for {grow} more",
                    budget.used(),
                    budget.limit()
                )));
            }
        }
        self.bytes = total;
        self.last_growth = grow;
        Ok(true)
    }

    /// The growth allowed above did not happen after all (the engine's own
    /// bound): its charge goes back.
    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        let grow = std::mem::take(&mut self.last_growth);
        self.bytes -= grow;
        if let Some(budget) = &self.budget {
            budget.release(grow);
        }
        Ok(())
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

impl Drop for MemoryLimiter {
    /// The instance's memory goes with its store.
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.release(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_share_their_tenants_budget_and_give_it_back_when_dropped() {
        let budget = MemoryBudget::new(10 << 20);
        let mut a = MemoryLimiter::new(8 << 20, Some(budget.clone()));
        let mut b = MemoryLimiter::new(8 << 20, Some(budget.clone()));
        assert!(a.memory_growing(0, 6 << 20, None).unwrap());
        assert_eq!(budget.used(), 6 << 20);
        // Within b's own cap, past what the tenant has left.
        assert!(b.memory_growing(0, 5 << 20, None).is_err());
        assert_eq!(b.exceeded, Some(Exceeded::Tenant));
        assert!(b.memory_growing(0, 4 << 20, None).unwrap());
        assert_eq!(budget.used(), 10 << 20);
        // Past a's own cap: the instance limit speaks first.
        assert!(a.memory_growing(6 << 20, 9 << 20, None).is_err());
        assert_eq!(a.exceeded, Some(Exceeded::Instance));
        drop(a);
        assert_eq!(budget.used(), 4 << 20);
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn several_memories_of_one_instance_count_together() {
        let budget = MemoryBudget::new(100 << 20);
        let mut a = MemoryLimiter::new(8 << 20, Some(budget.clone()));
        // Two memories of 5 MiB: each under the cap, together over it.
        assert!(a.memory_growing(0, 5 << 20, None).unwrap());
        assert!(a.memory_growing(0, 5 << 20, None).is_err());
        assert_eq!(a.exceeded, Some(Exceeded::Instance));
        assert!(a.memory_growing(0, 3 << 20, None).unwrap());
        assert_eq!((a.bytes, budget.used()), (8 << 20, 8 << 20));
        // A growth the engine then fails is given back.
        a.memory_grow_failed(wasmtime::Error::msg("no")).unwrap();
        assert_eq!((a.bytes, budget.used()), (5 << 20, 5 << 20));
    }

    #[test]
    fn a_trial_start_up_overdraws_and_is_charged_all_the_same() {
        let budget = MemoryBudget::new(4 << 20);
        let mut trial = MemoryLimiter::new(8 << 20, Some(budget.clone()));
        trial.overdraw = true;
        assert!(trial.memory_growing(0, 6 << 20, None).unwrap());
        assert_eq!(budget.used(), 6 << 20);
        assert!(budget.crowded());
        trial.overdraw = false;
        assert!(trial.memory_growing(6 << 20, 7 << 20, None).is_err());
        drop(trial);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn a_lower_limit_stops_growth_but_takes_nothing_back() {
        let budget = MemoryBudget::new(10 << 20);
        let mut a = MemoryLimiter::new(8 << 20, Some(budget.clone()));
        assert!(a.memory_growing(0, 6 << 20, None).unwrap());
        budget.set_limit(4 << 20);
        assert!(budget.crowded());
        assert!(a.memory_growing(6 << 20, 7 << 20, None).is_err());
        assert_eq!(budget.used(), 6 << 20);
        budget.set_limit(16 << 20);
        assert!(!budget.crowded());
        assert!(a.memory_growing(6 << 20, 7 << 20, None).unwrap());
        assert_eq!(budget.used(), 7 << 20);
    }
}
