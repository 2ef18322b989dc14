//! Property tests of the whole macro (`expand_declaration`) on `proc_macro2` tokens, outside
//! a compiler: whatever the input, the macro returns tokens and never panics or hangs, and on
//! plausible declarations its verdict (errors or code) agrees with an independent statement
//! of the rules. Deterministic (fixed seeds, a tiny xorshift generator, no dependencies).
//!
//! The spans of the errors are checked by the trybuild cases in `tests/ui/`; here only the
//! messages can be read (`proc_macro2` has no line/column information outside a compiler).

use std::fmt::Write as _;
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

use crate::model::{KEYS, Preset};
use crate::presets;

// ---------------------------------------------------------------------------------------------
// Harness

/// xorshift64*: enough randomness for input generation, fully reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The input being expanded, for the report when the macro hangs.
type Current = Arc<Mutex<String>>;

/// Runs `body` on its own thread and fails (naming the input in progress) if it takes longer
/// than `limit`: a loop that never advances in the parser would otherwise hang the test run.
fn with_watchdog(name: &str, limit: Duration, body: impl FnOnce(&Current) + Send + 'static) {
    let current: Current = Arc::default();
    let (done, finished) = mpsc::channel();
    let worker = {
        let current = Arc::clone(&current);
        thread::spawn(move || {
            body(&current);
            let _ = done.send(());
        })
    };
    match finished.recv_timeout(limit) {
        Ok(()) => worker.join().expect("the worker reported success"),
        Err(RecvTimeoutError::Timeout) => {
            // A thread cannot be stopped, and a parser loop that never advances usually piles
            // up errors as it spins: end the whole test process before it eats the machine.
            let input = current.lock().map(|s| s.clone()).unwrap_or_default();
            // Straight to stderr: the test harness's capture is lost on `exit`.
            let _ = writeln!(
                std::io::stderr(),
                "{name}: the macro did not return within {limit:?} on: {input}"
            );
            std::process::exit(101);
        }
        Err(RecvTimeoutError::Disconnected) => {
            if let Err(payload) = worker.join() {
                panic::resume_unwind(payload);
            }
        }
    }
}

/// The macro on `input`, which must neither panic nor return nothing.
fn expand(input: &TokenStream, current: &Current) -> TokenStream {
    let text = input.to_string();
    if let Ok(mut slot) = current.lock() {
        slot.clone_from(&text);
    }
    let result = panic::catch_unwind(AssertUnwindSafe(|| crate::expand_declaration(input.clone())));
    let output = match result {
        Ok(output) => output,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("the macro panicked ({message}) on: {text}");
        }
    };
    assert!(!output.is_empty(), "the macro returned no tokens for: {text}");
    output
}

/// The messages of the `::core::compile_error! { "..." }` invocations at the top level of an
/// expansion, in order. A successful expansion starts with the struct (its attributes, its
/// visibility or `struct`); the `compile_error!` a valid `sync: spin` heap carries for targets
/// without CAS sits behind a `#[cfg]`, after the struct.
fn errors(output: &TokenStream) -> Vec<String> {
    let tokens: Vec<TokenTree> = output.clone().into_iter().collect();
    let starts_with_error = matches!(tokens.get(2), Some(TokenTree::Ident(i)) if i == "core")
        && matches!(tokens.get(5), Some(TokenTree::Ident(i)) if i == "compile_error");
    if !starts_with_error {
        return Vec::new();
    }
    let mut messages = Vec::new();
    for window in tokens.windows(3) {
        if let [TokenTree::Ident(name), TokenTree::Punct(bang), TokenTree::Group(group)] = window
            && name == "compile_error"
            && bang.as_char() == '!'
        {
            messages.push(group.stream().to_string());
        }
    }
    messages
}

fn tokens(source: &str) -> TokenStream {
    source.parse().unwrap_or_else(|e| panic!("bad test input {source:?}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Hand-picked cases

/// `(input, expected error messages)`: each expected message is a substring of one error, in
/// order, and there are exactly that many errors (an empty list: the input is valid).
const CASES: &[(&str, &[&str])] = &[
    ("pub struct H<pools: [16 x 64]>;", &[]),
    ("struct H<pools: [16x64, 0x40 x 8, 2_56 x 0b11,],>;", &[]),
    ("/// doc\n#[allow(dead_code)] pub(crate) struct H<preset: audio, sync: spin>;", &[]),
    ("struct H<pools: [16 x 64], budget: 1 KiB, align: 16, spill: true, validate: false>;", &[]),
    ("struct H<pools: [16 x 64], hooks: crate::MyHooks, stats: false>;", &[]),
    ("", &["expected `struct`"]),
    ("struct", &["expected the heap's type name"]),
    ("struct H;", &["missing key `pools`"]),
    ("struct H<>;", &["missing key `pools`"]),
    ("struct H<pools: [16 x 8]>", &["expected `;` after this"]),
    ("struct H<pools: [16 x 8];", &["unclosed `<`"]),
    (
        "pub struct Heap3<pools: [16 x 0, 8 x 4], sync: spinlock, colour: blue>;",
        &["unknown sync `spinlock`", "unknown key `colour`", "block count is zero", "8 is below"],
    ),
    ("struct H<pools: [16 x 8], sync: spin, sync: local>;", &["duplicate key `sync`"]),
    ("struct H<pools: [16 x 8], pools: [32 x 8]>;", &["duplicate key `pools`"]),
    ("struct H<pools: [16 x 8], preset: audio>;", &["exclusive"]),
    ("struct H<preset: gaming>;", &["unknown preset `gaming`"]),
    ("struct H<pools: []>;", &["the pool list is empty"]),
    ("struct H<pools: [16 x 8, 16 x 4]>;", &["16 duplicates the previous"]),
    ("struct H<pools: [2 x 8]>;", &["below 4 bytes"]),
    ("struct H<pools: [4294967296 x 4294967296]>;", &["overflows 64 bits"]),
    ("struct H<pools: [4096 x 1048576]>;", &["limited to 4294967295 B"]),
    ("struct H<preset: audio, budget: 1 KiB>;", &["over the budget of 1024 B"]),
    ("struct H<pools: [16 x 8], budget: 99999999999999 MiB>;", &["budget does not fit"]),
    ("struct H<pools: [16 x 8], budget: 8 GiB>;", &["expected bytes, `KiB` or `MiB`"]),
    ("struct H<pools: [24 x 8], align: 24>;", &["must be a power of two"]),
    ("struct H<pools: [32 x 8, 48 x 4], align: 32>;", &["48 is not a multiple of `align: 32`"]),
    ("struct H<pools: [16 x 8], align: 16u32>;", &["unexpected suffix `u32`"]),
    ("struct H<pools: [16 * 64]>;", &["expected `x`"]),
    ("struct H<pools: [16y64]>;", &["found the suffix `y64`"]),
    ("struct H<pools: [16.5 x 64]>;", &["expected a pool"]),
    ("struct H<pools: [99999999999999999999999 x 4]>;", &["block size does not fit"]),
    ("struct H<pools: [16 x 99999999999999999999999]>;", &["block count does not fit"]),
    ("struct H<pools: [16x99999999999999999999999]>;", &["block count does not fit"]),
    // These two looped forever before `skip_pool`: the pool list's recovery stopped at a `;`
    // or `>` inside the brackets without consuming it.
    ("struct H<pools: [64; 16]>;", &["expected `x`"]),
    ("struct H<pools: [16 x 8 > 4, 32 x 8]>;", &["expected `,` between pools"]),
    ("struct H<T, pools: [16 x 8]>;", &["generics are not supported"]),
    ("struct H<'a, pools: [16 x 8]>;", &["generics are not supported"]),
    ("struct H<const N: usize, pools: [16 x 8]>;", &["generics are not supported"]),
    ("struct H<pools: [16 x 8]> where u8: Copy;", &["where-clauses are not supported"]),
    ("struct H<pools: [16 x 8]>; struct J;", &["unexpected tokens after the heap declaration"]),
    ("struct H<pools: [16 x 8], sync: lock_free>;", &[]),
];

#[test]
fn hand_picked_cases() {
    with_watchdog("hand-picked", Duration::from_secs(10), |current| {
        for &(source, expected) in CASES {
            let output = expand(&tokens(source), current);
            let found = errors(&output);
            assert_eq!(
                found.len(),
                expected.len(),
                "{source}: expected {expected:?}, got {found:?}"
            );
            for (message, want) in found.iter().zip(expected) {
                assert!(message.contains(want), "{source}: expected {want:?}, got {message}");
            }
            if expected.is_empty() {
                assert!(output.to_string().contains("TOTAL_BYTES"), "{source}: no heap generated");
            } else if source.contains("struct H") {
                // The stub keeps uses of the heap from adding errors of their own.
                assert!(output.to_string().contains("fallback_heap"), "{source}: no stub");
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (a) Random token sequences

const IDENTS: &[&str] = &[
    "pools",
    "preset",
    "sync",
    "stats",
    "validate",
    "wcet",
    "hooks",
    "budget",
    "align",
    "spill",
    "x",
    "struct",
    "pub",
    "crate",
    "in",
    "where",
    "const",
    "self",
    "Self",
    "super",
    "spin",
    "local",
    "lock_free",
    "critical_section",
    "true",
    "false",
    "debug",
    "KiB",
    "MiB",
    "B",
    "GiB",
    "audio",
    "networking",
    "embedded",
    "H",
    "T",
    "colour",
    "_",
    "detalloc",
    "Tsc",
];

const PUNCTS: &[char] =
    &['<', '>', '<', '>', ',', ',', ':', ':', ';', '#', '!', '=', '*', '-', '&', '\'', '.', '|'];

const LITERALS: &[&str] = &[
    "0",
    "1",
    "3",
    "4",
    "16",
    "64",
    "4096",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "16x64",
    "16x0",
    "0x10",
    "0x10x8",
    "0xffffffffffffffffx2",
    "1_024",
    "0b101",
    "0o17",
    "16y64",
    "16x",
    "16x64u8",
    "4u8",
    "8KiB",
    "8MiB",
    "16x99999999999999999999999",
    "1.5",
    "1e3",
    "2.0f32",
    "\"str\"",
    "'c'",
    "b\"b\"",
    "-1",
];

/// A random token sequence; groups nest up to `depth` 3.
fn soup(rng: &mut Rng, depth: usize, len: usize) -> TokenStream {
    let mut out = TokenStream::new();
    for _ in 0..len {
        match rng.below(100) {
            0..=34 => {
                let name = *rng.pick(IDENTS);
                out.extend([TokenTree::Ident(Ident::new(name, Span::call_site()))]);
            }
            35..=64 => {
                let ch = *rng.pick(PUNCTS);
                let spacing = if rng.chance(30) { Spacing::Joint } else { Spacing::Alone };
                out.extend([TokenTree::Punct(Punct::new(ch, spacing))]);
                if ch == '\'' && spacing == Spacing::Joint {
                    out.extend([TokenTree::Ident(Ident::new("a", Span::call_site()))]);
                }
            }
            65..=84 => out.extend(tokens(rng.pick::<&str>(LITERALS))),
            _ if depth < 3 => {
                let delimiter = *rng.pick(&[
                    Delimiter::Bracket,
                    Delimiter::Bracket,
                    Delimiter::Parenthesis,
                    Delimiter::Brace,
                    Delimiter::None,
                ]);
                let inner_len = rng.below(7);
                let inner = soup(rng, depth + 1, inner_len);
                out.extend([TokenTree::Group(Group::new(delimiter, inner))]);
            }
            _ => out.extend(tokens("[]")),
        }
    }
    out
}

#[test]
fn random_tokens_never_panic_or_hang() {
    with_watchdog("random tokens", Duration::from_secs(30), |current| {
        let mut rng = Rng::new(0x5eed_0001);
        for _ in 0..20_000 {
            // Often a plausible start, so the random part reaches the keys and the pool list.
            let mut input = match rng.below(4) {
                0 => TokenStream::new(),
                1 => tokens("pub struct H"),
                2 => tokens("struct H <"),
                _ => tokens("struct H < pools :"),
            };
            let len = rng.below(16);
            input.extend(soup(&mut rng, 0, len));
            if rng.chance(30) {
                input.extend(tokens("> ;"));
            }
            expand(&input, current);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (b), (c) Plausible declarations against an independent statement of the rules

/// The verdict the rules give for a generated declaration: `Some(valid)`, or `None` where the
/// macro's answer is not for the rules here to settle.
struct Verdict {
    valid: Option<bool>,
}

impl Verdict {
    fn fail(&mut self) {
        if self.valid == Some(true) {
            self.valid = Some(false);
        }
    }
}

/// A written pool item and what it means: `None` when it cannot be read at all.
fn pool_item(rng: &mut Rng, size: u64, count: u64) -> (String, bool) {
    let size_text = match rng.below(4) {
        0 => format!("{size:#x}"),
        1 if size >= 1000 => {
            let digits = size.to_string();
            let (head, tail) = digits.split_at(digits.len() - 3);
            format!("{head}_{tail}")
        }
        _ => size.to_string(),
    };
    match rng.below(10) {
        0..=5 => (format!("{size_text} x {count}"), true),
        6 => (format!("{size_text} x {count:#x}"), true),
        7 | 8 => (format!("{size_text}x{count}"), true),
        _ => {
            let bad = rng
                .pick(&[
                    format!("{size_text} * {count}"),
                    format!("{size_text}y{count}"),
                    format!("{size_text}.5 x {count}"),
                    format!("{size_text} x {count}u32"),
                    format!("{size_text} x"),
                    format!("x {count}"),
                    format!("99999999999999999999999 x {count}"),
                    format!("{size_text}; {count}"),
                ])
                .clone();
            (bad, false)
        }
    }
}

const SIZES: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    8,
    12,
    16,
    24,
    32,
    48,
    64,
    100,
    128,
    256,
    1000,
    1024,
    4096,
    65_536,
    1 << 31,
    1 << 32,
    u64::MAX,
];
const COUNTS: &[u64] = &[0, 1, 2, 7, 32, 64, 1000, 1 << 20, 1 << 32, u64::MAX];

/// A random pool list, possibly wrong in every way the rules know; returns the text and the
/// `(size, count)` pairs when every item is readable.
fn random_pools(rng: &mut Rng) -> (String, Option<Vec<(u64, u64)>>) {
    let n = rng.below(5);
    let mut items = Vec::new();
    let mut pairs = Some(Vec::new());
    for _ in 0..n {
        let size = if rng.chance(70) { *rng.pick(SIZES) } else { rng.next() % 5000 };
        let count = if rng.chance(70) { *rng.pick(COUNTS) } else { rng.next() % 5000 };
        let (text, readable) = pool_item(rng, size, count);
        items.push(text);
        match (&mut pairs, readable) {
            (Some(pairs), true) => pairs.push((size, count)),
            _ => pairs = None,
        }
    }
    let trailing = if n > 0 && rng.chance(30) { "," } else { "" };
    (format!("[{}{trailing}]", items.join(", ")), pairs)
}

/// A valid pool list: ascending sizes >= 4, counts >= 1, at most 4 GiB - 1 per pool.
fn valid_pools(rng: &mut Rng) -> (String, Vec<(u64, u64)>) {
    let n = 1 + rng.below(6);
    let mut size = 0;
    let mut pairs = Vec::new();
    let mut items = Vec::new();
    for _ in 0..n {
        size = (size + 4 + rng.next() % 300).next_multiple_of(4);
        if rng.chance(30) {
            size = size.next_power_of_two();
        }
        let max_count = (u64::from(u32::MAX) / size).min(100_000);
        let count = 1 + rng.next() % max_count;
        let (text, _) = loop {
            let item = pool_item(rng, size, count);
            if item.1 {
                break item;
            }
        };
        items.push(text);
        pairs.push((size, count));
    }
    (format!("[{}]", items.join(", ")), pairs)
}

/// Whether `pools` (as `(size, count)` pairs) satisfy every per-pool rule.
fn pools_valid(pools: &[(u64, u64)]) -> bool {
    !pools.is_empty()
        && pools.iter().all(|&(s, n)| {
            s >= 4 && n >= 1 && s.checked_mul(n).is_some_and(|b| b <= u64::from(u32::MAX))
        })
        && pools.windows(2).all(|w| w[0].0 < w[1].0)
}

/// Builds a declaration from random keys and values; `all_valid` draws only valid values
/// (and exactly one of `pools`/`preset`), so the verdict is "valid" unless noted.
fn declaration(rng: &mut Rng, all_valid: bool) -> (String, Verdict, Option<u64>) {
    let mut verdict = Verdict { valid: Some(true) };
    let mut entries: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut pools: Option<Option<Vec<(u64, u64)>>> = None;
    let mut budget: Option<Option<u64>> = None;
    let mut align: Option<Option<u64>> = None;

    let mut keys: Vec<&str> = Vec::new();
    if all_valid {
        keys.push(if rng.chance(80) { "pools" } else { "preset" });
        for &key in &["sync", "stats", "validate", "hooks", "budget", "align", "spill"] {
            if rng.chance(35) {
                keys.push(key);
            }
        }
        // Any order.
        for i in (1..keys.len()).rev() {
            keys.swap(i, rng.below(i + 1));
        }
    } else {
        if rng.chance(70) {
            keys.push(if rng.chance(70) { "pools" } else { "preset" });
        }
        for _ in 0..rng.below(5) {
            keys.push(if rng.chance(5) { "colour" } else { *rng.pick(KEYS) });
        }
    }

    for key in keys {
        if key == "colour" || seen.contains(&key) {
            verdict.fail();
        }
        seen.push(key);
        let value = match key {
            "pools" => {
                let (text, pairs) = if all_valid || rng.chance(40) {
                    let (text, pairs) = valid_pools(rng);
                    (text, Some(pairs))
                } else {
                    random_pools(rng)
                };
                if pools.is_none() {
                    pools = Some(pairs);
                }
                text
            }
            "preset" => {
                let name =
                    if all_valid || rng.chance(80) { *rng.pick(Preset::NAMES) } else { "gaming" };
                let pairs = Preset::from_name(name).map(|p| presets::table(p).to_vec());
                if pools.is_none() {
                    pools = Some(pairs);
                }
                name.to_owned()
            }
            "sync" => {
                let names: &[&str] = if all_valid {
                    &["local", "spin", "critical_section", "lock_free"]
                } else {
                    &["local", "spin", "critical_section", "lock_free", "mutex", "true"]
                };
                let name = *rng.pick(names);
                if matches!(name, "mutex" | "true") {
                    verdict.fail();
                }
                name.to_owned()
            }
            "stats" | "spill" | "validate" => {
                let mut names = vec!["true", "false"];
                if key == "validate" {
                    names.push("debug");
                }
                if !all_valid {
                    names.extend(["yes", "1", "debug"]);
                }
                let name = *rng.pick(&names);
                let ok = matches!(name, "true" | "false") || (key == "validate" && name == "debug");
                if !ok {
                    verdict.fail();
                }
                name.to_owned()
            }
            "hooks" => {
                (*rng.pick(&["crate::MyHooks", "MyHooks", "::detalloc::NoHooks"])).to_owned()
            }
            "wcet" => (*rng.pick(&["detalloc::clock::Tsc", "Tsc"])).to_owned(),
            "budget" => {
                let n = if all_valid {
                    1 + rng.next() % (1 << 40)
                } else {
                    *rng.pick(&[0, 1, 8, 1024, 1 << 20, 1 << 45, u64::MAX])
                };
                let (units, factor): (&[&str], u64) = match rng.below(3) {
                    0 => (&[""], 1),
                    1 => (&[" B", "B"], 1),
                    _ if n < (1 << 30) && rng.chance(50) => (&[" MiB", "MiB"], 1 << 20),
                    _ => (&[" KiB", "KiB"], 1 << 10),
                };
                let unit = *rng.pick(units);
                let value = n.checked_mul(factor);
                if value.is_none() {
                    verdict.fail();
                }
                if budget.is_none() {
                    budget = Some(value);
                }
                format!("{n}{unit}")
            }
            "align" => {
                let values: &[u64] = if all_valid {
                    &[1, 2, 4]
                } else {
                    &[0, 1, 2, 3, 4, 8, 16, 24, 64, 4096, 8192, u64::MAX]
                };
                let value = *rng.pick(values);
                let ok = value.is_power_of_two() && value <= 4096;
                if !ok {
                    verdict.fail();
                }
                if align.is_none() {
                    align = Some(ok.then_some(value));
                }
                value.to_string()
            }
            _ => "blue".to_owned(),
        };
        entries.push(format!("{key}: {value}"));
    }

    // The rules on the declaration as a whole.
    let has_pools = seen.contains(&"pools");
    let has_preset = seen.contains(&"preset");
    if has_pools == has_preset {
        verdict.fail();
    }
    let mut total = None;
    match pools {
        Some(Some(pairs)) if pools_valid(&pairs) => {
            let sum: u64 = pairs.iter().map(|&(s, n)| s * n).sum();
            total = Some(sum);
            if let Some(Some(budget)) = budget
                && sum > budget
            {
                if all_valid {
                    // A valid draw may not know the total when it draws the budget: drop the
                    // key rather than the declaration.
                    entries.retain(|e| !e.starts_with("budget"));
                } else {
                    verdict.fail();
                }
            }
            if let Some(Some(align)) = align
                && pairs.iter().any(|&(s, _)| !s.is_multiple_of(align))
            {
                verdict.fail();
            }
        }
        _ => verdict.fail(),
    }

    let attrs = *rng.pick(&["", "/// Docs.\n", "#[allow(dead_code)]", "#[doc = \"x\"] #[repr(C)]"]);
    let vis = *rng.pick(&["", "pub", "pub(crate)", "pub(in crate::heaps)"]);
    let name = *rng.pick(&["H", "AudioHeap", "Heap2"]);
    let mut source = format!("{attrs} {vis} struct {name}");
    if !entries.is_empty() || rng.chance(50) {
        let trailing = if !entries.is_empty() && rng.chance(30) { "," } else { "" };
        let _ = write!(source, "<{}{trailing}>", entries.join(", "));
    }
    source.push(';');
    (source, verdict, total)
}

#[test]
fn plausible_declarations_match_the_rules() {
    with_watchdog("plausible declarations", Duration::from_secs(30), |current| {
        let mut rng = Rng::new(0x5eed_0002);
        let (mut valid, mut invalid) = (0, 0);
        for _ in 0..5_000 {
            let (source, verdict, _) = declaration(&mut rng, false);
            let output = expand(&tokens(&source), current);
            let found = errors(&output);
            match verdict.valid {
                Some(true) => {
                    assert!(found.is_empty(), "valid declaration refused: {source}\n{found:?}");
                    valid += 1;
                }
                Some(false) => {
                    assert!(!found.is_empty(), "invalid declaration accepted: {source}");
                    invalid += 1;
                }
                None => {}
            }
        }
        // The generator must exercise both sides.
        assert!(valid > 500 && invalid > 2_000, "valid {valid}, invalid {invalid}");
    });
}

#[test]
fn valid_declarations_expand() {
    with_watchdog("valid declarations", Duration::from_secs(30), |current| {
        let mut rng = Rng::new(0x5eed_0003);
        for _ in 0..1_000 {
            let (source, verdict, total) = declaration(&mut rng, true);
            assert_eq!(verdict.valid, Some(true), "generator: {source}");
            let output = expand(&tokens(&source), current);
            let found = errors(&output);
            assert!(found.is_empty(), "valid declaration refused: {source}\n{found:?}");
            let total = total.expect("a valid draw has a total");
            let text = output.to_string();
            assert!(
                text.contains(&format!("TOTAL_BYTES : usize = {total}usize")),
                "{source}: TOTAL_BYTES is not {total}"
            );
            assert!(!text.contains("fallback_heap"), "{source}: stub in a valid expansion");
        }
    });
}
