//! [`Recorder`]: a `GlobalAlloc` wrapper that logs every allocation and free, in order.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::io;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use crate::recording::{Event, Recording, decode, encode};

/// Events per chunk of the log: 2^16 events, 512 KiB.
const CHUNK_EVENTS: usize = 1 << 16;
/// Chunks the log can hold: 2^14, so 2^30 events (8 GiB of log) in all.
const MAX_CHUNKS: usize = 1 << 14;

/// A [`GlobalAlloc`] that forwards every call to `inner` and logs it: each allocation and
/// each free, with its size and alignment, in one order shared by all threads. Every request
/// is logged, whatever its size. The log is what [`suggest`](crate::suggest) needs to compute
/// how many blocks each candidate pool has live *at the same time*.
///
/// ```no_run
/// use std::alloc::System;
/// use detalloc_suggest::Recorder;
///
/// #[global_allocator]
/// static RECORDER: Recorder<System> = Recorder::new(System);
///
/// fn main() -> std::io::Result<()> {
///     let words: Vec<String> = (0..100).map(|i| format!("word {i}")).collect();
///     drop(words);
///     // The last thing the program does: everything before is in the file.
///     RECORDER.save("run-1.rec")
/// }
/// ```
///
/// # Cost and memory
/// Recording costs two atomic increments and one store per call, and nothing else: no lock,
/// and no allocation through the global allocator (so no recursion). The log lives in chunks
/// of 512 KiB taken from `inner` directly, as they fill: 8 bytes per event, about 16 bytes per
/// allocation and free pair. The value itself holds the chunk table (128 KiB on 64-bit
/// targets): keep it in a `static`. The log is never freed: a recorder is meant to live in a
/// `static` for the whole run (an owned one that is dropped leaks its log to `inner`).
///
/// # Limits, loudly
/// The log holds 2^30 events (8 GiB). Events past that, or events that arrive when `inner`
/// cannot give a new chunk, are not logged but counted in [`Recording::dropped`], and
/// [`suggest`](crate::suggest) refuses a recording with dropped events
/// ([`SuggestError::Incomplete`](crate::SuggestError::Incomplete)): a partial log could
/// undercount a pool.
///
/// # Order under threads
/// An allocation takes its place in the order *before* it is forwarded, a free *after*. So a
/// block's logged lifetime contains its real one, and any blocks that are live together at
/// some instant are live together at some point of the log: the counts computed from the
/// log are never below what the program really had live. Take the
/// [`recording`](Recorder::recording) when the other threads are done (joined); an event
/// whose place was taken but not yet written is left out and counted in
/// [`Recording::dropped`].
pub struct Recorder<A> {
    inner: A,
    /// Places handed out in the log.
    next: AtomicUsize,
    /// Events past the log's capacity (a place `inner` refused a chunk for stays unwritten,
    /// and is counted when the recording is taken).
    dropped: AtomicUsize,
    /// Threads seen allocating.
    threads: AtomicUsize,
    /// The log: chunks of `CHUNK_EVENTS` encoded events, allocated from `inner` on demand.
    chunks: [AtomicPtr<AtomicU64>; MAX_CHUNKS],
}

thread_local! {
    /// The address of the last recorder that counted this thread (no destructor, constant
    /// initialiser: usable inside an allocator, at any point of a thread's life).
    static COUNTED_BY: Cell<usize> = const { Cell::new(0) };
}

impl<A> Recorder<A> {
    /// The most events one recorder logs (2^30); past that, events are counted as dropped.
    pub const CAPACITY: usize = CHUNK_EVENTS * MAX_CHUNKS;

    /// A recorder in front of `inner`, logging from the first call.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            next: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            threads: AtomicUsize::new(0),
            chunks: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CHUNKS],
        }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// Events logged so far (allocations and frees, including dropped ones).
    pub fn events(&self) -> usize {
        self.next.load(Ordering::Relaxed)
    }

    /// Threads that have allocated or freed through this recorder (a thread that alternates
    /// between two recorders may be counted more than once).
    pub fn threads(&self) -> usize {
        self.threads.load(Ordering::Relaxed)
    }
}

impl<A: GlobalAlloc> Recorder<A> {
    /// What was logged so far, as a [`Recording`].
    ///
    /// Allocates (through the global allocator, which may be this recorder: those requests
    /// come after the copied events and are not in the result) about 12 bytes per event.
    pub fn recording(&self) -> Recording {
        let logged = self.next.load(Ordering::Acquire).min(Self::CAPACITY);
        let mut codes = Vec::with_capacity(logged);
        let mut unwritten = 0usize;
        for chunk_index in 0..logged.div_ceil(CHUNK_EVENTS) {
            let chunk = self.chunks[chunk_index].load(Ordering::Acquire);
            let in_chunk = (logged - chunk_index * CHUNK_EVENTS).min(CHUNK_EVENTS);
            if chunk.is_null() {
                unwritten += in_chunk;
                continue;
            }
            for slot in 0..in_chunk {
                // SAFETY: `chunk` points to `CHUNK_EVENTS` initialised `AtomicU64`s that are
                // never freed while `self` exists, and `slot < CHUNK_EVENTS`.
                let code = unsafe { &*chunk.add(slot) }.load(Ordering::Acquire);
                if decode(code).is_some() {
                    codes.push(code);
                } else {
                    unwritten += 1;
                }
            }
        }
        let dropped = self.dropped.load(Ordering::Relaxed) + unwritten;
        Recording::from_codes(&codes, self.threads(), dropped as u64)
    }

    /// Writes [`recording`](Recorder::recording) to the file at `path` (see
    /// [`Recording::save`]).
    ///
    /// # Errors
    /// Any error creating or writing the file.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.recording().save(path)
    }

    fn note_thread(&self) {
        let me = ptr::from_ref(self).addr();
        let _ = COUNTED_BY.try_with(|counted| {
            if counted.get() != me {
                counted.set(me);
                self.threads.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    /// Logs one event at the next place.
    fn log(&self, code: u64) {
        self.note_thread();
        let place = self.next.fetch_add(1, Ordering::Relaxed);
        let (chunk_index, slot) = (place / CHUNK_EVENTS, place % CHUNK_EVENTS);
        let Some(entry) = self.chunks.get(chunk_index) else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut chunk = entry.load(Ordering::Acquire);
        if chunk.is_null() {
            chunk = self.new_chunk(entry);
            if chunk.is_null() {
                return; // the place stays unwritten: `recording` counts it as dropped
            }
        }
        // SAFETY: `chunk` points to `CHUNK_EVENTS` initialised `AtomicU64`s that live as long
        // as `self`, and `slot < CHUNK_EVENTS`.
        unsafe { &*chunk.add(slot) }.store(code, Ordering::Release);
    }

    /// Installs a zeroed chunk in `entry` (or finds the one another thread installed first).
    /// Null when `inner` has no memory for it.
    #[cold]
    fn new_chunk(&self, entry: &AtomicPtr<AtomicU64>) -> *mut AtomicU64 {
        let layout = chunk_layout();
        // SAFETY: the layout has a non-zero size.
        let fresh = unsafe { self.inner.alloc_zeroed(layout) }.cast::<AtomicU64>();
        if fresh.is_null() {
            return fresh;
        }
        match entry.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => fresh,
            Err(installed) => {
                // SAFETY: `fresh` came from `inner.alloc_zeroed(layout)` and was never shared.
                unsafe { self.inner.dealloc(fresh.cast(), layout) };
                installed
            }
        }
    }
}

fn chunk_layout() -> Layout {
    Layout::new::<[AtomicU64; CHUNK_EVENTS]>()
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged, so the
// blocks returned are `inner`'s, with `inner`'s guarantees, and every pointer handed back to
// `inner` came from `inner`. The logging only touches atomics inside `self` and chunks it
// takes from `inner` directly: it never calls the global allocator, never unwinds, never
// blocks.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Recorder<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.log(encode(Event::Alloc(layout)));
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        let block = unsafe { self.inner.alloc(layout) };
        if block.is_null() {
            self.log(encode(Event::Free(layout))); // the block never existed
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.log(encode(Event::Alloc(layout)));
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract for `layout`.
        let block = unsafe { self.inner.alloc_zeroed(layout) };
        if block.is_null() {
            self.log(encode(Event::Free(layout)));
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `block` was allocated by this allocator, that is by
        // `inner`, with `layout`, and is not used afterwards.
        unsafe { self.inner.dealloc(block, layout) };
        self.log(encode(Event::Free(layout)));
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The caller guarantees that `new_size` with `layout.align()` is a valid layout; if it
        // were not, the call is still forwarded, just not logged.
        let new_layout = Layout::from_size_align(new_size, layout.align()).ok();
        // Logged as a pool heap performs a move to another pool: the new block is taken while
        // the old one is still live, then the old one is freed (a heap that keeps the block
        // in place, same pool or a shrink into a full pool, holds one block less than this
        // says). Same size: nothing changes.
        let logged = new_layout.filter(|new| new.size().max(1) != layout.size().max(1));
        if let Some(new) = logged {
            self.log(encode(Event::Alloc(new)));
        }
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract: `block` came from
        // this allocator (so from `inner`) with `layout`, and `new_size` is valid for it.
        let moved = unsafe { self.inner.realloc(block, layout, new_size) };
        if let Some(new) = logged {
            let gone = if moved.is_null() { new } else { layout };
            self.log(encode(Event::Free(gone)));
        }
        moved
    }
}
