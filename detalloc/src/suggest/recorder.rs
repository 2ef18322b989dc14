//! [`Recorder`]: a `GlobalAlloc` wrapper that counts live blocks per request size.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::vec::Vec;

use super::{DEFAULT_MAX_SIZE, MAX_BLOCK_ALIGN, OutsideRecord, Recording, SizeRecord};

/// A [`GlobalAlloc`] that forwards every call to `inner` and records, per request size up to
/// `MAX_SIZE` bytes, the blocks live now, the peak of live blocks and the largest alignment
/// requested. Larger requests are counted as *oversize*, requests aligned to more than 4096 as
/// *overaligned* (see [`Recording`]).
///
/// ```
/// use std::alloc::System;
/// use detalloc::suggest::Recorder;
///
/// #[global_allocator]
/// static RECORDER: Recorder<System> = Recorder::new(System);
///
/// fn main() {
///     RECORDER.reset(); // forget start-up peaks; blocks still live stay counted
///     let words: Vec<String> = (0..100).map(|i| format!("word {i}")).collect();
///     drop(words);
///     println!("{}", RECORDER.snapshot().suggest(3, None).unwrap());
/// }
/// ```
///
/// All state is in fixed-size atomic tables inside the value: `new` is `const`, nothing is
/// allocated, and a `static` of it lands in `.bss`. With the default cap of 64 KiB the tables
/// take about 1.1 MiB (17 bytes per size on 64-bit targets): keep the recorder in a `static`,
/// not on a stack. A smaller `MAX_SIZE` (`Recorder<System, 4096>`) takes less.
///
/// Counting is conservative: an allocation is counted before it is forwarded and a free after,
/// so the counts never fall below what is really live, also under threads. A failed allocation
/// is taken back, but a peak it raised stays (at most one block too many). The counters are
/// relaxed atomics: a snapshot taken while other threads allocate is a mix of nearby instants.
/// Recording costs a few atomic operations per call (a free's decrement is a short
/// compare-exchange loop that stops at 0); nothing in it allocates or locks.
pub struct Recorder<A, const MAX_SIZE: usize = DEFAULT_MAX_SIZE> {
    inner: A,
    /// Blocks live now, per size (index `size - 1`).
    live: [AtomicUsize; MAX_SIZE],
    /// Peak of `live`, per size.
    peak: [AtomicUsize; MAX_SIZE],
    /// `log2(largest alignment) + 1` per size; 0 when none was requested.
    align: [AtomicU8; MAX_SIZE],
    oversize: Outside,
    overaligned: Outside,
    allocs: AtomicUsize,
    frees: AtomicUsize,
    paused: AtomicBool,
}

/// Where a request is counted.
enum Slot {
    /// In the per-size tables, at this index.
    Size(usize),
    Oversize,
    Overaligned,
}

impl<A, const MAX_SIZE: usize> Recorder<A, MAX_SIZE> {
    /// Requests above this many bytes are counted as oversize.
    pub const MAX_SIZE: usize = MAX_SIZE;

    /// A recorder in front of `inner`, recording from the first call.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            live: [const { AtomicUsize::new(0) }; MAX_SIZE],
            peak: [const { AtomicUsize::new(0) }; MAX_SIZE],
            align: [const { AtomicU8::new(0) }; MAX_SIZE],
            oversize: Outside::new(),
            overaligned: Outside::new(),
            allocs: AtomicUsize::new(0),
            frees: AtomicUsize::new(0),
            paused: AtomicBool::new(false),
        }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// Blocks of `size` bytes (0 counts as 1) live now; 0 above `MAX_SIZE`.
    pub fn live(&self, size: usize) -> usize {
        self.live.get(size.max(1) - 1).map_or(0, |c| c.load(Relaxed))
    }

    /// Most blocks of `size` bytes (0 counts as 1) live at once, at least the live count; 0
    /// above `MAX_SIZE`.
    pub fn peak(&self, size: usize) -> usize {
        self.peak.get(size.max(1) - 1).map_or(0, |c| c.load(Relaxed).max(self.live(size)))
    }

    /// The largest alignment requested at `size` bytes (0 counts as 1); 0 if none was, or
    /// above `MAX_SIZE`.
    pub fn max_align(&self, size: usize) -> usize {
        self.align.get(size.max(1) - 1).map_or(0, |c| decode_align(c.load(Relaxed)))
    }

    /// Stops raising peaks (live counts still follow every block, so that they stay right).
    /// Use it to leave a phase out of the recording, e.g. start-up work whose memory you
    /// provide otherwise.
    pub fn pause(&self) {
        self.paused.store(true, Relaxed);
    }

    /// Raises peaks again after [`pause`](Recorder::pause). A block allocated while paused
    /// and still live counts towards the next peak.
    pub fn resume(&self) {
        self.paused.store(false, Relaxed);
    }

    /// Whether peaks are being raised (not [`pause`](Recorder::pause)d).
    pub fn is_recording(&self) -> bool {
        !self.paused.load(Relaxed)
    }

    /// Starts a new recording: every peak becomes the current live count (live blocks still
    /// need a block), alignments of sizes with no live block are forgotten, and the request
    /// counters restart at 0. Exact when no other thread allocates meanwhile.
    pub fn reset(&self) {
        for ((live, peak), align) in self.live.iter().zip(&self.peak).zip(&self.align) {
            let now = live.load(Relaxed);
            peak.store(now, Relaxed);
            if now == 0 {
                align.store(0, Relaxed);
            }
        }
        self.oversize.reset();
        self.overaligned.reset();
        self.allocs.store(0, Relaxed);
        self.frees.store(0, Relaxed);
    }

    /// What was recorded so far: one [`SizeRecord`] per size with a peak, ascending, and the
    /// oversize and overaligned counts.
    ///
    /// The returned vector is allocated larger than `MAX_SIZE` bytes (64 KiB and a few bytes
    /// by default), through the global allocator. If that is this recorder, the buffer is
    /// counted as one oversize block: never in the per-size figures, and not in the oversize
    /// figures of this snapshot, which are read before it is allocated. A later snapshot's
    /// oversize figures may include it (or its peak).
    pub fn snapshot(&self) -> Recording {
        let oversize = self.oversize.get();
        let overaligned = self.overaligned.get();
        let (allocs, frees) = (self.allocs.load(Relaxed), self.frees.load(Relaxed));
        let used = self.peak.iter().zip(&self.live).filter(|(p, l)| peak_of(p, l) > 0).count();
        let above_cap = MAX_SIZE / size_of::<SizeRecord>() + 1;
        let mut sizes = Vec::with_capacity(used.max(above_cap));
        for (index, ((live, peak), align)) in
            self.live.iter().zip(&self.peak).zip(&self.align).enumerate()
        {
            let peak = peak_of(peak, live);
            if peak > 0 {
                sizes.push(SizeRecord {
                    size: index + 1,
                    max_align: decode_align(align.load(Relaxed)).max(1),
                    peak,
                    live: live.load(Relaxed),
                });
            }
        }
        Recording { sizes, oversize, overaligned, max_size: MAX_SIZE, allocs, frees }
    }

    fn slot(layout: Layout) -> (Slot, usize) {
        let size = layout.size().max(1);
        let slot = if size > MAX_SIZE {
            Slot::Oversize
        } else if layout.align() > MAX_BLOCK_ALIGN {
            Slot::Overaligned
        } else {
            Slot::Size(size - 1)
        };
        (slot, size)
    }

    /// Counts an allocation about to be forwarded.
    fn count_alloc(&self, layout: Layout) {
        let recording = self.is_recording();
        self.allocs.fetch_add(1, Relaxed);
        match Self::slot(layout) {
            (Slot::Size(index), _) => {
                if let Some(live) = self.live.get(index) {
                    let now = live.fetch_add(1, Relaxed).wrapping_add(1);
                    if let (true, Some(peak)) = (recording, self.peak.get(index)) {
                        peak.fetch_max(now, Relaxed);
                    }
                }
                if let Some(align) = self.align.get(index) {
                    align.fetch_max(encode_align(layout.align()), Relaxed);
                }
            }
            (Slot::Oversize, size) => self.oversize.alloc(size, layout.align(), recording),
            (Slot::Overaligned, size) => self.overaligned.alloc(size, layout.align(), recording),
        }
    }

    /// Takes back [`count_alloc`](Self::count_alloc) after the forwarded call failed. Peaks
    /// stay.
    fn uncount_alloc(&self, layout: Layout) {
        decrement(&self.allocs, 1);
        self.release(layout);
        match Self::slot(layout) {
            (Slot::Size(_), _) => {}
            (Slot::Oversize, _) => decrement(&self.oversize.requests, 1),
            (Slot::Overaligned, _) => decrement(&self.overaligned.requests, 1),
        }
    }

    /// Counts a free that was forwarded.
    fn count_free(&self, layout: Layout) {
        self.frees.fetch_add(1, Relaxed);
        self.release(layout);
    }

    fn release(&self, layout: Layout) {
        match Self::slot(layout) {
            (Slot::Size(index), _) => {
                if let Some(live) = self.live.get(index) {
                    decrement(live, 1);
                }
            }
            (Slot::Oversize, size) => self.oversize.release(size),
            (Slot::Overaligned, size) => self.overaligned.release(size),
        }
    }
}

// SAFETY: every method forwards to `inner` with the caller's arguments unchanged, so the
// blocks returned are `inner`'s, with `inner`'s guarantees, and every pointer handed back to
// `inner` came from `inner` (every allocation of this recorder is `inner`'s). The recording
// only touches atomics inside `self`: it never allocates, never unwinds, never blocks.
unsafe impl<A: GlobalAlloc, const MAX_SIZE: usize> GlobalAlloc for Recorder<A, MAX_SIZE> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count_alloc(layout);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        let ptr = unsafe { self.inner.alloc(layout) };
        if ptr.is_null() {
            self.uncount_alloc(layout);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count_alloc(layout);
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract for `layout`.
        let ptr = unsafe { self.inner.alloc_zeroed(layout) };
        if ptr.is_null() {
            self.uncount_alloc(layout);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` was allocated by this allocator, that is by
        // `inner`, with `layout`, and is not used afterwards.
        unsafe { self.inner.dealloc(ptr, layout) };
        self.count_free(layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The caller guarantees `new_size` with `layout.align()` is a valid layout; if it were
        // not, the call is still forwarded, just not recorded.
        let new_layout = Layout::from_size_align(new_size, layout.align()).ok();
        // Same recorded size: the block count does not change, nothing to record.
        let counted = new_layout.filter(|new| new.size().max(1) != layout.size().max(1));
        if let Some(new) = counted {
            self.count_alloc(new);
        }
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract: `ptr` came from this
        // allocator (so from `inner`) with `layout`, and `new_size` is valid for it.
        let moved = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if let Some(new) = counted {
            if moved.is_null() {
                self.uncount_alloc(new);
            } else {
                self.count_free(layout);
            }
        }
        moved
    }
}

/// The counts of requests no pool can serve.
struct Outside {
    requests: AtomicUsize,
    live: AtomicUsize,
    peak: AtomicUsize,
    live_bytes: AtomicUsize,
    peak_bytes: AtomicUsize,
    largest_size: AtomicUsize,
    largest_align: AtomicUsize,
}

impl Outside {
    const fn new() -> Self {
        Self {
            requests: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            live_bytes: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
            largest_size: AtomicUsize::new(0),
            largest_align: AtomicUsize::new(0),
        }
    }

    fn alloc(&self, size: usize, align: usize, recording: bool) {
        self.requests.fetch_add(1, Relaxed);
        let live = self.live.fetch_add(1, Relaxed).wrapping_add(1);
        let bytes = self.live_bytes.fetch_add(size, Relaxed).wrapping_add(size);
        if recording {
            self.peak.fetch_max(live, Relaxed);
            self.peak_bytes.fetch_max(bytes, Relaxed);
        }
        self.largest_size.fetch_max(size, Relaxed);
        self.largest_align.fetch_max(align, Relaxed);
    }

    fn release(&self, size: usize) {
        decrement(&self.live, 1);
        decrement(&self.live_bytes, size);
    }

    fn reset(&self) {
        self.requests.store(0, Relaxed);
        self.peak.store(self.live.load(Relaxed), Relaxed);
        self.peak_bytes.store(self.live_bytes.load(Relaxed), Relaxed);
        self.largest_size.store(0, Relaxed);
        self.largest_align.store(0, Relaxed);
    }

    fn get(&self) -> OutsideRecord {
        let live = self.live.load(Relaxed);
        let live_bytes = self.live_bytes.load(Relaxed);
        OutsideRecord {
            requests: self.requests.load(Relaxed),
            live,
            peak: self.peak.load(Relaxed).max(live),
            live_bytes,
            peak_bytes: self.peak_bytes.load(Relaxed).max(live_bytes),
            largest_size: self.largest_size.load(Relaxed),
            largest_align: self.largest_align.load(Relaxed),
        }
    }
}

/// Subtracts `n`, stopping at 0 (a free of a block allocated before a counter existed must
/// not wrap it around).
fn decrement(counter: &AtomicUsize, n: usize) {
    // `fetch_update` only fails when the closure returns `None`, i.e. at 0 already.
    let _ = counter.fetch_update(Relaxed, Relaxed, |v| Some(v.saturating_sub(n)));
}

fn peak_of(peak: &AtomicUsize, live: &AtomicUsize) -> usize {
    peak.load(Relaxed).max(live.load(Relaxed))
}

/// `log2(align) + 1`; `align` is a power of two (a `Layout`'s), at most 2^63.
fn encode_align(align: usize) -> u8 {
    // trailing_zeros of a usize is at most 64, so the sum fits a u8.
    (align.trailing_zeros() + 1) as u8
}

fn decode_align(code: u8) -> usize {
    match code {
        0 => 0,
        // Codes come from `encode_align` of a usize power of two: at most `usize::BITS`.
        c => 1usize.checked_shl(u32::from(c) - 1).unwrap_or(0),
    }
}
