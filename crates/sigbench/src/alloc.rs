//! A counting global allocator: `System` plus two relaxed atomic counters.
//!
//! One of the three modules with `unsafe` (with [`crate::raw`] and
//! [`crate::epoll`]): `GlobalAlloc` is an unsafe trait, and every method only
//! forwards to `System`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE_BYTES: AtomicI64 = AtomicI64::new(0);

/// The system allocator, counting allocations (and live heap bytes) with
/// relaxed atomics, so the `alloc` variant can check that routing an event
/// allocates nothing.
///
/// Declare it in a binary that runs benchmarks; relaxed counters cost a few
/// nanoseconds per allocation and nothing on the measured path if that path
/// does not allocate.
///
/// ```
/// #[global_allocator]
/// static ALLOC: sigbench::CountingAlloc = sigbench::CountingAlloc;
/// # fn main() {}
/// ```
pub struct CountingAlloc;

/// Allocations made so far (`alloc`, `alloc_zeroed` and `realloc` calls), or 0
/// when [`CountingAlloc`] is not the global allocator.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Heap bytes currently allocated through [`CountingAlloc`].
pub(crate) fn live_bytes() -> i64 {
    LIVE_BYTES.load(Ordering::Relaxed)
}

/// Whether [`CountingAlloc`] is this binary's global allocator.
pub(crate) fn is_counting() -> bool {
    let before = allocations();
    let probe = std::hint::black_box(Box::new(0u64));
    drop(probe);
    allocations() != before
}

fn counted(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    LIVE_BYTES.fetch_add(bytes as i64, Ordering::Relaxed);
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds the `GlobalAlloc` contract; the counters never touch the memory.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(layout.size());
        // SAFETY: the caller guarantees `layout` has a non-zero size, as
        // `System.alloc` requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller guarantees `ptr` came from this allocator (hence from
        // `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        counted(new_size);
        LIVE_BYTES.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller guarantees `ptr`/`layout` describe a live block of
        // this allocator and that `new_size` is valid for `layout.align()`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
