//! [`Recording`]: the logged events of one run (and each event's 64-bit code, as the recorder
//! logs it), their per-kind figures, and the file format.

use std::alloc::Layout;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// One allocation or free, as a [`Recorder`](crate::Recorder) logs it. A zero-size request
/// counts as 1 byte (a pool serves `max(size, 1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A block of this layout was allocated (for `realloc`: the new block).
    Alloc(Layout),
    /// A block of this layout was freed (for `realloc`: the old block).
    Free(Layout),
}

/// Bit 63: a free. Bits 57..=62: log2 of the alignment. Bits 0..=56: the size, at least 1
/// (so a written event is never 0), saturated at 2^57 - 1 (no request that large succeeds).
const FREE_BIT: u64 = 1 << 63;
const ALIGN_SHIFT: u32 = 57;
const SIZE_MASK: u64 = (1 << ALIGN_SHIFT) - 1;

/// The code of an event (never 0).
pub(crate) fn encode(event: Event) -> u64 {
    let (layout, free) = match event {
        Event::Alloc(layout) => (layout, 0),
        Event::Free(layout) => (layout, FREE_BIT),
    };
    let size = (layout.size().max(1) as u64).min(SIZE_MASK);
    free | (u64::from(layout.align().trailing_zeros()) << ALIGN_SHIFT) | size
}

/// The event of a written code; `None` for an unwritten place (0).
pub(crate) fn decode(code: u64) -> Option<(usize, usize, bool)> {
    let size = code & SIZE_MASK;
    if size == 0 {
        return None;
    }
    let shift = ((code >> ALIGN_SHIFT) & 0x3f) as u32;
    let align = 1usize.checked_shl(shift).unwrap_or(1 << (usize::BITS - 1));
    Some((usize::try_from(size).unwrap_or(usize::MAX), align, code & FREE_BIT != 0))
}

/// The figures of one request kind (a size and an alignment) in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SizeRecord {
    /// Requested bytes, at least 1.
    pub size: usize,
    /// Requested alignment (a power of two).
    pub align: usize,
    /// Allocations of this kind.
    pub allocs: u64,
    /// Most blocks of this kind live at once.
    pub peak: u64,
    /// Blocks of this kind still live at the end of the recording.
    pub live: u64,
}

/// What one run allocated and freed, in order: the input of [`suggest`](crate::suggest).
///
/// Made by [`Recorder::recording`](crate::Recorder::recording), read back from a file with
/// [`load`](Recording::load), or built from events with [`from_events`](Recording::from_events):
///
/// ```
/// use std::alloc::Layout;
/// use detalloc_suggest::{Event, Recording};
///
/// let small = Layout::from_size_align(24, 8).unwrap();
/// let large = Layout::from_size_align(200, 8).unwrap();
/// let run = Recording::from_events([
///     Event::Alloc(small),
///     Event::Alloc(small),
///     Event::Free(small),
///     Event::Alloc(large),
/// ]);
/// assert_eq!(run.events(), 4);
/// assert_eq!(run.peak_live_bytes(), 24 + 200); // one 24 and the 200 at the end
/// assert_eq!(run.sizes()[0].peak, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Distinct (size, align) pairs, ascending.
    kinds: Vec<SizeRecord>,
    /// `kind << 1 | free`, in logged order.
    events: Vec<u32>,
    threads: usize,
    dropped: u64,
    unmatched_frees: u64,
}

/// A free: the low bit of an event.
pub(crate) const FREE: u32 = 1;

impl Recording {
    /// The recording of `events` in this order, by one thread. A free of a kind with no live
    /// block is left out (and counted in [`unmatched_frees`](Recording::unmatched_frees)).
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Self {
        let codes: Vec<u64> = events.into_iter().map(encode).collect();
        Self::from_codes(&codes, 1, 0)
    }

    /// From encoded events (see `encode`; codes that do not decode are skipped).
    pub(crate) fn from_codes(codes: &[u64], threads: usize, dropped: u64) -> Self {
        let mut index: HashMap<(usize, usize), u32> = HashMap::new();
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        let mut raw: Vec<u32> = Vec::with_capacity(codes.len());
        let mut dropped = dropped;
        for &code in codes {
            let Some((size, align, free)) = decode(code) else { continue };
            let next = u32::try_from(pairs.len()).ok().filter(|&n| n < 1 << 31);
            let kind = match (index.get(&(size, align)), next) {
                (Some(&kind), _) => kind,
                (None, Some(next)) => {
                    index.insert((size, align), next);
                    pairs.push((size, align));
                    next
                }
                (None, None) => {
                    dropped += 1; // 2^31 distinct kinds: not reachable by a real program
                    continue;
                }
            };
            raw.push(kind << 1 | u32::from(free));
        }
        // Renumber the kinds in ascending order.
        let mut order: Vec<u32> = (0..pairs.len() as u32).collect();
        order.sort_unstable_by_key(|&k| pairs[k as usize]);
        let mut rank = vec![0u32; pairs.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        let kinds: Vec<(usize, usize)> = order.iter().map(|&k| pairs[k as usize]).collect();
        let events = raw.into_iter().map(|e| rank[(e >> 1) as usize] << 1 | (e & FREE));
        let mut recording = Self::replay(&kinds, events);
        recording.threads = threads;
        recording.dropped = dropped;
        recording
    }

    /// Counts `events` over `kinds` (ascending), leaving out unmatched frees.
    fn replay(kinds: &[(usize, usize)], events: impl Iterator<Item = u32>) -> Self {
        let mut records: Vec<SizeRecord> = kinds
            .iter()
            .map(|&(size, align)| SizeRecord { size, align, allocs: 0, peak: 0, live: 0 })
            .collect();
        let mut kept = Vec::with_capacity(events.size_hint().0);
        let mut unmatched_frees = 0;
        for event in events {
            let record = &mut records[(event >> 1) as usize];
            if event & FREE == 0 {
                record.allocs += 1;
                record.live += 1;
                record.peak = record.peak.max(record.live);
            } else if record.live == 0 {
                unmatched_frees += 1;
                continue;
            } else {
                record.live -= 1;
            }
            kept.push(event);
        }
        Self { kinds: records, events: kept, threads: 1, dropped: 0, unmatched_frees }
    }

    /// One record per distinct (size, alignment), ascending.
    pub fn sizes(&self) -> &[SizeRecord] {
        &self.kinds
    }

    /// The events in logged order.
    pub fn iter(&self) -> impl Iterator<Item = Event> + '_ {
        self.events.iter().map(|&e| {
            let kind = &self.kinds[(e >> 1) as usize];
            // Kinds come from `Layout`s, or from a file whose layouts `load` checked.
            let layout =
                Layout::from_size_align(kind.size, kind.align).unwrap_or(Layout::new::<u8>());
            if e & FREE == 0 { Event::Alloc(layout) } else { Event::Free(layout) }
        })
    }

    /// The events as `kind index << 1 | free`, kind indexes into [`sizes`](Self::sizes).
    pub(crate) fn raw_events(&self) -> &[u32] {
        &self.events
    }

    /// How many events the recording holds.
    pub fn events(&self) -> usize {
        self.events.len()
    }

    /// Allocations recorded.
    pub fn allocs(&self) -> u64 {
        self.kinds.iter().map(|k| k.allocs).sum()
    }

    /// Threads seen allocating (1 for a recording built from events).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Sets the thread count (for a recording built by hand).
    pub fn set_threads(&mut self, threads: usize) -> &mut Self {
        self.threads = threads;
        self
    }

    /// Events the recorder could not log (its log was full, or a thread was still writing
    /// when the recording was taken). [`suggest`](crate::suggest) refuses a recording with
    /// dropped events.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Frees of a kind that had no live block, left out. Zero for a recorder that was the
    /// global allocator from the start; not zero when blocks allocated elsewhere were freed
    /// through it.
    pub fn unmatched_frees(&self) -> u64 {
        self.unmatched_frees
    }

    /// The most requested bytes live at once, in logged order: the memory the run really
    /// needed (an upper bound under threads, see [`Recorder`](crate::Recorder)).
    pub fn peak_live_bytes(&self) -> u128 {
        let (mut live, mut peak) = (0u128, 0u128);
        for &e in &self.events {
            let size = self.kinds[(e >> 1) as usize].size as u128;
            if e & FREE == 0 {
                live += size;
                peak = peak.max(live);
            } else {
                live -= size;
            }
        }
        peak
    }

    /// Writes the recording to the file at `path` (see [`write_to`](Self::write_to)).
    ///
    /// # Errors
    /// Any error creating or writing the file.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let mut out = BufWriter::new(File::create(path)?);
        self.write_to(&mut out)?;
        out.flush()
    }

    /// Reads a recording written by [`save`](Self::save).
    ///
    /// # Errors
    /// Any error opening or reading the file; `InvalidData` when it is not a recording.
    pub fn load(path: impl AsRef<Path>) -> io::Result<Self> {
        Self::read_from(BufReader::new(File::open(path)?))
    }

    /// Writes the recording: a text header (the format's name and version, the thread,
    /// dropped and unmatched counts, the kinds as `size align` lines), then the events as
    /// little-endian `u32`s (`kind << 1 | free`), 4 bytes per event.
    ///
    /// # Errors
    /// Any error of `out`.
    pub fn write_to(&self, mut out: impl Write) -> io::Result<()> {
        writeln!(out, "{MAGIC}")?;
        writeln!(out, "threads {}", self.threads)?;
        writeln!(out, "dropped {}", self.dropped)?;
        writeln!(out, "unmatched {}", self.unmatched_frees)?;
        writeln!(out, "kinds {}", self.kinds.len())?;
        for kind in &self.kinds {
            writeln!(out, "{} {}", kind.size, kind.align)?;
        }
        writeln!(out, "events {}", self.events.len())?;
        for chunk in self.events.chunks(4096) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|e| e.to_le_bytes()).collect();
            out.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Reads what [`write_to`](Self::write_to) wrote.
    ///
    /// # Errors
    /// Any error of `input`; `InvalidData` when it is not a recording (wrong header, a kind
    /// that is not a valid layout, kinds out of order, an event naming no kind, a free with
    /// no live block).
    pub fn read_from(mut input: impl BufRead) -> io::Result<Self> {
        if line(&mut input)? != MAGIC {
            return Err(invalid("not a detalloc-suggest recording (or another version)"));
        }
        let threads = field(&mut input, "threads")?;
        let dropped = field(&mut input, "dropped")? as u64;
        let unmatched = field(&mut input, "unmatched")? as u64;
        let count = field(&mut input, "kinds")?;
        let mut kinds: Vec<(usize, usize)> = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            let text = line(&mut input)?;
            let mut words = text.split(' ').map(str::parse::<usize>);
            let (Some(Ok(size)), Some(Ok(align)), None) =
                (words.next(), words.next(), words.next())
            else {
                return Err(invalid("a kind is not `size align`"));
            };
            if size == 0 || Layout::from_size_align(size, align).is_err() {
                return Err(invalid("a kind is not a valid layout"));
            }
            if kinds.last().is_some_and(|&last| last >= (size, align)) {
                return Err(invalid("kinds are not strictly ascending"));
            }
            kinds.push((size, align));
        }
        let events = field(&mut input, "events")?;
        let mut bytes = Vec::new();
        input.take(events as u64 * 4).read_to_end(&mut bytes)?;
        if bytes.len() != events * 4 {
            return Err(invalid("the file ends before its last event"));
        }
        let raw: Vec<u32> =
            bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        if raw.iter().any(|&e| (e >> 1) as usize >= kinds.len()) {
            return Err(invalid("an event names no kind"));
        }
        let mut recording = Self::replay(&kinds, raw.into_iter());
        if recording.unmatched_frees != 0 {
            return Err(invalid("a free with no live block"));
        }
        recording.threads = threads;
        recording.dropped = dropped;
        recording.unmatched_frees = unmatched;
        Ok(recording)
    }
}

const MAGIC: &str = "detalloc-suggest recording 1";

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

fn line(input: &mut impl BufRead) -> io::Result<String> {
    let mut text = String::new();
    input.read_line(&mut text)?;
    match text.strip_suffix('\n') {
        Some(text) => Ok(text.to_owned()),
        None => Err(invalid("the file ends inside its header")),
    }
}

/// A `name value` header line.
fn field(input: &mut impl BufRead, name: &str) -> io::Result<usize> {
    let text = line(input)?;
    text.strip_prefix(name)
        .and_then(|rest| rest.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| invalid(&format!("expected `{name} <number>`, found `{text}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (size, align) in [(1, 1), (0, 1), (24, 8), (4096, 4096), (3 << 40, 1 << 20)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            assert_eq!(decode(encode(Event::Alloc(layout))), Some((size.max(1), align, false)));
            assert_eq!(decode(encode(Event::Free(layout))), Some((size.max(1), align, true)));
        }
        assert_eq!(decode(0), None);
    }
}
