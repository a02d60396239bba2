//! The counting global allocator the benchmarks share: how many allocations and how many bytes
//! were allocated (growths included), and the live and peak heap. Its bookkeeping is always on;
//! timing the decoder with and without it showed no difference.
#![allow(dead_code)] // each benchmark reads the counters it needs

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Counts, then hands every call to the system allocator.
pub struct Counting;

/// Allocations made, growths included.
pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated, growths included (a growth counts its new size).
pub static ALLOCATED_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Bytes live now.
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most bytes live at once since it was last reset.
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    ALLOCATIONS.fetch_add(1, Relaxed);
    ALLOCATED_BYTES.fetch_add(bytes, Relaxed);
    PEAK.fetch_max(LIVE.fetch_add(bytes, Relaxed) + bytes, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size); // old and new may coexist while the data moves
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        LIVE.fetch_sub(layout.size(), Relaxed);
        moved
    }
}
