//! The heap in use, counted by a global allocator ([`Counting`], a thin
//! wrapper of the system allocator), so a long session's memory can be
//! measured where the browser shows nothing useful: WebAssembly's linear
//! memory only ever grows, so the bytes allocated and not yet freed are what
//! tell whether runs leak. The page's worker installs it (and exports
//! [`stats`] for the soak test, `tests/e2e/soak.test.mjs`); so does the
//! native soak test (`tests/soak.rs`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes it hands out and takes back.
pub struct Counting;

fn grew(bytes: usize) {
    let now = LIVE.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call goes to `System` with the caller's own arguments; the
// counters are plain atomics and never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

/// The process's (or worker's) memory now.
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub struct MemoryStats {
    /// Bytes allocated and not freed (0 unless [`Counting`] is installed).
    pub live_bytes: usize,
    /// The most `live_bytes` has been.
    pub peak_bytes: usize,
    /// WebAssembly only: the linear memory's size (it never shrinks).
    pub linear_bytes: Option<usize>,
}

pub fn stats() -> MemoryStats {
    #[cfg(target_arch = "wasm32")]
    let linear_bytes = Some(core::arch::wasm32::memory_size(0) * 65536);
    #[cfg(not(target_arch = "wasm32"))]
    let linear_bytes = None;
    MemoryStats { live_bytes: LIVE.load(Relaxed), peak_bytes: PEAK.load(Relaxed), linear_bytes }
}
