//! The guest's global allocator: a bump allocator over linear memory, on by default
//! (feature `bump-allocator`).
//!
//! Why: the host runs every hook call in a fresh instance and throws it away afterwards, so
//! nothing allocated needs to live beyond the call and freeing buys nothing. Rust's default
//! wasm allocator (dlmalloc) ignores the free room the module's initial memory already has
//! and calls `memory.grow` on the first allocation of every call; each grow makes the host
//! change page protections (an `mprotect` and, on a multi-threaded server, a TLB shootdown on
//! every core), and the next instance in that slot must hide the grown pages again. Measured
//! through the HTTP API that was a fifth of the server's CPU with a plugin bound. This
//! allocator serves calls from the initial memory (plugins link with
//! `--initial-memory=65536`, see `plugins/.cargo/config.toml`) and grows only when a call
//! needs more, in steps of at least 256 KiB.
//!
//! It reclaims only the most recent allocation (temporaries freed in order) and grows the
//! most recent one in place; everything else is reclaimed when the instance goes away. Wasm
//! plugins run on one thread, so the relaxed atomics below are plain loads and stores.

// An allocator is unsafe code by definition; every block says why it holds.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

const PAGE: usize = 65_536;
/// Grow by at least this many pages at a time: fewer grows, each a host round trip.
const MIN_GROW_PAGES: usize = 4;

unsafe extern "C" {
    /// Set by the linker: the first byte after the stack and static data.
    static __heap_base: u8;
}

/// A bump allocator for one-shot wasm instances; see the module documentation.
pub struct BumpAllocator {
    /// Next free byte; 0 until the first allocation.
    next: AtomicUsize,
}

impl BumpAllocator {
    pub const fn new() -> BumpAllocator {
        BumpAllocator {
            next: AtomicUsize::new(0),
        }
    }

    fn next(&self) -> usize {
        match self.next.load(Ordering::Relaxed) {
            // Only the address of the linker-defined symbol is taken, never its value.
            0 => core::ptr::addr_of!(__heap_base) as usize,
            next => next,
        }
    }

    /// Makes sure linear memory reaches `end`; false when the host refuses to grow it.
    fn reach(end: usize) -> bool {
        let have = wasm32::memory_size(0) * PAGE;
        if end <= have {
            return true;
        }
        let pages = (end - have).div_ceil(PAGE).max(MIN_GROW_PAGES);
        wasm32::memory_grow(0, pages) != usize::MAX
            || wasm32::memory_grow(0, (end - have).div_ceil(PAGE)) != usize::MAX
    }
}

impl Default for BumpAllocator {
    fn default() -> Self {
        BumpAllocator::new()
    }
}

// SAFETY: returns unique, suitably aligned blocks inside linear memory that stay valid until
// the instance is dropped; a block is handed out again only after it was freed.
unsafe impl GlobalAlloc for BumpAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let start = match self.next().checked_next_multiple_of(layout.align()) {
            Some(start) => start,
            None => return null_mut(),
        };
        let Some(end) = start.checked_add(layout.size()) else {
            return null_mut();
        };
        if !Self::reach(end) {
            return null_mut();
        }
        self.next.store(end, Ordering::Relaxed);
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // The most recent block goes back; the rest goes with the instance.
        if ptr as usize + layout.size() == self.next() {
            self.next.store(ptr as usize, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let start = ptr as usize;
        if start + layout.size() == self.next() {
            // The most recent block grows or shrinks in place.
            let Some(end) = start.checked_add(new_size) else {
                return null_mut();
            };
            if !Self::reach(end) {
                return null_mut();
            }
            self.next.store(end, Ordering::Relaxed);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the new layout keeps the old alignment, which `layout` proved valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `GlobalAlloc::alloc` with a non-zero size (new_size > layout.size() ≥ 0).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for `layout.size()` bytes and do not overlap (the
            // new one starts at or after the old one's end, which was not the heap's end).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

#[global_allocator]
static GLOBAL: BumpAllocator = BumpAllocator::new();
