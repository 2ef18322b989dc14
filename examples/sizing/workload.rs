//! The workload the sizing examples record and then run on the suggested heap: third-party
//! code nobody here wrote, allocating as it likes. One run:
//!
//! - JSON (main thread): builds 3 000 customer records, writes them as a 1.2 MB document,
//!   parses it back (typed, compared with the original, and once as a `serde_json::Value`).
//! - Regexes: 20 patterns and a `RegexSet` of them, compiled first, then matched by two
//!   threads over 440 KB of generated log lines (captures collected into per-thread maps),
//!   while the main thread does the JSON work and then
//! - 60 000 map and queue operations (`HashMap`, `BTreeMap`, `VecDeque`).
//!
//! Every input comes from a seeded generator, so every run does the same work; only the
//! interleaving of the threads differs. [`run`] returns a checksum of the results. Its
//! [`Schedule`] drives the two extreme interleavings for the recording (the scanners done
//! before the main thread starts, or after it ends); the program itself runs
//! `Schedule::Concurrent`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[path = "../shared/xorshift.rs"]
mod xorshift;

// Seeded, so every run generates the same inputs.
use xorshift::XorShift64Star as Rng;

/// A word of `words`, drawn by `rng`.
fn pick<'a>(rng: &mut Rng, words: &[&'a str]) -> &'a str {
    words[rng.below(words.len())]
}

const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "zürich", "münchen", "café",
];
const CITIES: &[&str] = &["Lisbon", "Oslo", "Kraków", "Nairobi", "Osaka", "Quito", "Perth"];
const KINDS: &[&str] = &["order", "refund", "login", "logout", "transfer", "upgrade"];

fn sentence(rng: &mut Rng, shortest: usize, longest: usize) -> String {
    let words = shortest + rng.below(longest - shortest + 1);
    (0..words).map(|_| pick(rng, WORDS)).collect::<Vec<_>>().join(" ")
}

/// One customer record: about 370 bytes of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Customer {
    id: u64,
    name: String,
    email: String,
    active: bool,
    score: u32,
    tags: Vec<String>,
    address: Address,
    history: Vec<Entry>,
    note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    street: String,
    city: String,
    zip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    ts: u64,
    kind: String,
    amount_cents: u64,
}

fn customer(rng: &mut Rng, id: u64) -> Customer {
    let history = (0..rng.below(5) as u64)
        .map(|i| Entry {
            ts: 1_700_000_000 + id * 97 + i * 13,
            kind: pick(rng, KINDS).to_owned(),
            amount_cents: rng.below(1_000_000) as u64,
        })
        .collect();
    Customer {
        id,
        name: format!("{} {}", pick(rng, WORDS), pick(rng, WORDS)),
        email: format!("{}.{id}@example.com", pick(rng, WORDS)),
        active: rng.below(3) != 0,
        score: rng.below(10_000) as u32,
        tags: (0..3 + rng.below(4)).map(|_| pick(rng, WORDS).to_owned()).collect(),
        address: Address {
            street: format!("{} {} street", 1 + rng.below(200), pick(rng, WORDS)),
            city: pick(rng, CITIES).to_owned(),
            zip: format!("{:05}", rng.below(100_000)),
        },
        history,
        note: sentence(rng, 4, 11),
    }
}

/// Writes the document, parses it back (as typed records, and once as a `Value` to count
/// its fields), and compares. Everything is freed before it returns a checksum.
fn json_phase(rng: &mut Rng) -> u64 {
    let document: Vec<Customer> = (0..3000).map(|id| customer(rng, id)).collect();
    let text = serde_json::to_string(&document).expect("records always serialise");
    let parsed: Vec<Customer> = serde_json::from_str(&text).expect("our own output parses");
    assert_eq!(parsed, document, "the round trip changes nothing");
    drop(parsed);
    let value: Value = serde_json::from_str(&text).expect("our own output parses");
    let fields: usize =
        value.as_array().into_iter().flatten().filter_map(Value::as_object).map(|o| o.len()).sum();
    let ids: u64 = document.iter().map(|c| c.id).sum();
    text.len() as u64 ^ ids << 20 ^ (fields as u64) << 40
}

const PATTERNS: [&str; 20] = [
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z",
    r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b",
    r"([a-z]+)\.(\d+)@example\.com",
    r"(GET|POST|PUT|DELETE) (/[\w/]+)",
    r"status=(\d{3})",
    r"took=(\d+)ms",
    r"\[worker-(\d+)\]",
    r"(?i)\b(error|warn|fail\w*)\b",
    r"user=(\w+)",
    r"\b(\w+)=(\w+)\b",
    r"/api/v(\d)/(\w+)/(\d+)",
    r"\bpage=(\d+)",
    r"[\p{L}]+ü[\p{L}]*",
    r"\b[A-Z]{3,}\b",
    r"(\w+)\s+\w+\s+(\w+)\s*$",
    r"\d+(\.\d+)?(ms|s|us)\b",
    r"session=([0-9a-f]{8})",
    r"(?m)^(\S+)\s+(INFO|WARN|ERROR)",
    r"(?i)\b(\w+)(?:ing|ed|er)\b",
    r"[^\x00-\x7F]+",
];

fn log_line(rng: &mut Rng, n: usize) -> String {
    let level = ["INFO", "INFO", "INFO", "WARN", "ERROR"][rng.below(5)];
    format!(
        "2024-{:02}-{:02}T{:02}:{:02}:{:02}Z {level} [worker-{}] user={} ip=10.{}.{}.{} \
         {} /api/v{}/{}/{}?page={} status={} took={}ms session={:08x} note={}\n",
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
        rng.below(8),
        pick(rng, WORDS),
        rng.below(256),
        rng.below(256),
        rng.below(256),
        ["GET", "POST", "PUT", "DELETE"][rng.below(4)],
        1 + rng.below(3),
        pick(rng, WORDS),
        n,
        rng.below(20),
        [200, 200, 201, 404, 500][rng.below(5)],
        rng.below(2000),
        rng.next_u64() as u32,
        sentence(rng, 1, 6),
    )
}

/// Matches every line against the set, then runs the matching patterns' captures.
fn scan(lines: &[&str], regexes: &[Regex], set: &RegexSet) -> (u64, HashMap<String, usize>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut matches = 0u64;
    for line in lines {
        for index in set.matches(line).iter() {
            for captures in regexes[index].captures_iter(line) {
                matches += 1;
                if let Some(group) = captures.get(1) {
                    *seen.entry(group.as_str().to_owned()).or_default() += 1;
                }
            }
        }
    }
    (matches, seen)
}

/// 60 000 operations on maps and a queue.
fn collections_phase(rng: &mut Rng) -> u64 {
    let mut by_id: HashMap<u64, String> = HashMap::new();
    let mut ordered: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut queue: VecDeque<Box<[u8]>> = VecDeque::new();
    let mut sum = 0u64;
    for op in 0..60_000u64 {
        match rng.below(6) {
            0 | 1 => {
                let key = rng.below(4000) as u64;
                by_id.insert(key, format!("item {key} {}", pick(rng, WORDS)));
            }
            2 => sum += by_id.remove(&(rng.below(4000) as u64)).map_or(0, |s| s.len() as u64),
            3 => {
                let len = 8 + rng.below(120);
                ordered.insert(rng.below(3000) as u32, vec![op as u8; len]);
            }
            4 => {
                queue.push_back(vec![op as u8; 16 + rng.below(240)].into_boxed_slice());
                if queue.len() > 900 {
                    sum += queue.pop_front().map_or(0, |b| b.len() as u64);
                }
            }
            _ => {
                let key = rng.below(3000) as u32;
                sum += ordered.remove(&key).map_or(0, |v| v.len() as u64);
            }
        }
    }
    sum + by_id.len() as u64 + ordered.len() as u64 + queue.len() as u64
}

/// How the main thread's work and the two scanning threads overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// As the program runs: all three at once, however the OS interleaves them.
    Concurrent,
    /// The scanners finish before the main thread starts (their results stay live).
    ScanFirst,
    /// The main thread finishes before the scanners start.
    MainFirst,
}

impl Schedule {
    /// From its name: `concurrent`, `scan-first`, `main-first`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "concurrent" => Some(Schedule::Concurrent),
            "scan-first" => Some(Schedule::ScanFirst),
            "main-first" => Some(Schedule::MainFirst),
            _ => None,
        }
    }
}

/// Waits (without allocating) until `flag` is set.
fn wait_for(flag: &AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
}

/// One run of the workload; the checksum is the same on every run and every schedule: the
/// schedules do the same allocations, in other orders.
pub fn run(schedule: Schedule) -> u64 {
    let mut rng = Rng(0x5EED_CAFE_F00D_0017);
    let text: String = (0..2700).map(|n| log_line(&mut rng, n)).collect();
    let lines: Vec<&str> = text.lines().collect();
    let regexes: Vec<Regex> =
        PATTERNS.iter().map(|p| Regex::new(p).expect("the patterns are valid")).collect();
    let set = RegexSet::new(PATTERNS).expect("the patterns are valid");
    let (left, right) = lines.split_at(lines.len() / 2);
    let main_done = AtomicBool::new(schedule != Schedule::MainFirst);
    let scans_done = [AtomicBool::new(false), AtomicBool::new(false)];

    // Two threads scan the log while the main thread does the JSON and collections work.
    let (scanned, json_sum, collections_sum) = std::thread::scope(|scope| {
        let workers = [(left, &scans_done[0]), (right, &scans_done[1])].map(|(half, done)| {
            let main_done = &main_done;
            let (regexes, set) = (&regexes, &set);
            scope.spawn(move || {
                wait_for(main_done);
                let result = scan(half, regexes, set);
                done.store(true, Ordering::Release);
                result
            })
        });
        if schedule == Schedule::ScanFirst {
            scans_done.iter().for_each(wait_for);
        }
        let json_sum = json_phase(&mut rng);
        let collections_sum = collections_phase(&mut rng);
        main_done.store(true, Ordering::Release);
        let scanned = workers.map(|w| w.join().expect("a scanning thread panicked"));
        (scanned, json_sum, collections_sum)
    });
    let mut merged: HashMap<String, usize> = HashMap::new();
    let mut matches = 0;
    for (count, seen) in scanned {
        matches += count;
        for (group, n) in seen {
            *merged.entry(group).or_default() += n;
        }
    }
    let distinct = merged.len() as u64;
    json_sum ^ matches << 8 ^ distinct << 32 ^ collections_sum << 40 ^ text.len() as u64
}
