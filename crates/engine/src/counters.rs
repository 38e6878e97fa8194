//! Counts of what a request costs — heap allocations, thread hand-offs, SQL statements run — for the
//! budget test and `sluice bench bulk`. Off unless a process turns them on (then each is one relaxed
//! atomic add); when off, each costs one relaxed load.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static HANDOFFS: AtomicU64 = AtomicU64::new(0);
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// Turns counting on for the rest of the process (a store opened afterwards counts statements).
pub fn enable() {
    ENABLED.store(true, Ordering::SeqCst);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn add(counter: &AtomicU64) {
    if enabled() {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Work handed to another thread (a queue, a channel, a blocking task), or its answer handed back.
pub fn handoff() {
    add(&HANDOFFS);
}

/// One SQL statement started by the store.
pub fn statement() {
    add(&STATEMENTS);
}

/// The counts so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub allocations: u64,
    pub handoffs: u64,
    pub statements: u64,
}

impl Counts {
    pub fn now() -> Counts {
        Counts {
            allocations: ALLOCATIONS.load(Ordering::SeqCst),
            handoffs: HANDOFFS.load(Ordering::SeqCst),
            statements: STATEMENTS.load(Ordering::SeqCst),
        }
    }

    /// What happened since `before`.
    pub fn since(before: Counts) -> Counts {
        let now = Counts::now();
        Counts {
            allocations: now.allocations - before.allocations,
            handoffs: now.handoffs - before.handoffs,
            statements: now.statements - before.statements,
        }
    }

    /// The smaller of each count (of several runs, the one least disturbed by other work).
    pub fn min(self, other: Counts) -> Counts {
        Counts {
            allocations: self.allocations.min(other.allocations),
            handoffs: self.handoffs.min(other.handoffs),
            statements: self.statements.min(other.statements),
        }
    }
}

/// A global allocator that counts allocations (and reallocations) while counting is on, then
/// defers to `A`.
pub struct CountingAlloc<A>(pub A);

// SAFETY: every call is passed to the inner allocator unchanged; counting touches only atomics.
#[allow(unsafe_code)]
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(&ALLOCATIONS);
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(&ALLOCATIONS);
        // SAFETY: as above.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(&ALLOCATIONS);
        // SAFETY: as above.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}
