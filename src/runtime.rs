//! How the native process runs CPU work (the command line and the tests;
//! wasm has one thread and an allocator that never gives memory back).
//!
//! Two costs that are not computation, and removing them changes no number
//! (BENCHMARKS.md, issue 31's second session, has what they cost):
//! - **Hand-offs.** candle-nn's `rms_norm`, `rope` and `softmax` split their
//!   rows over rayon's pool; called from a thread outside that pool, each
//!   call wakes a pool thread and sleeps until it is done, even when the
//!   pool has one thread (50 RLHF steps on a built-in model: about 82,000
//!   `futex` and 100,000 `sched_yield` calls). [`inline`] runs the work on
//!   a one-thread pool of its own, where those ops run on the calling thread.
//! - **Memory given back and faulted in again.** glibc returns freed blocks
//!   above its mmap threshold, and free space at the top of a heap, to the
//!   kernel; candle allocates every op's output, so the same pages are
//!   unmapped and zero-filled again at every step (`shipped_models_reproduce_their_cards`:
//!   74 s, 19 s of it in the kernel). [`keep_freed_memory`] keeps them.

/// Runs `f` on a fresh one-thread rayon pool, so that candle's row-parallel
/// ops run inline on that thread. For single-threaded work only: a thread
/// `f` spawns that itself uses rayon would wait on this pool's one thread.
pub fn inline<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "sharpen-inline".into())
        .build()
    {
        Ok(pool) => pool.install(f),
        // No thread to be had: the same work, with the hand-offs.
        Err(_) => f(),
    }
}

/// Runs `f` as the command line runs a command: freed memory kept in the
/// process, and with one thread asked for, on a one-thread pool of its own
/// ([`inline`]).
pub fn run<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    keep_freed_memory();
    if one_thread() {
        inline(f)
    } else {
        f()
    }
}

/// Whether one thread was asked for (`RAYON_NUM_THREADS=1`, which the
/// `sharpen` command line sets unless told otherwise).
pub fn one_thread() -> bool {
    std::env::var("RAYON_NUM_THREADS").as_deref() == Ok("1")
}

/// Keeps freed memory in the process (glibc): blocks up to 32 MiB come from
/// the heap instead of their own mappings (glibc's default moves between
/// 128 KiB and 32 MiB as blocks are freed), and free space is never trimmed
/// back to the kernel. The process's peak memory is unchanged; what it
/// holds between peaks is the peak. Does nothing on other C libraries.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; both values are in
    // range (glibc refuses an mmap threshold above 32 MiB on 64-bit hosts).
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
    }
}
