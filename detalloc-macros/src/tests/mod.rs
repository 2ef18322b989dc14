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

mod declarations;
mod random_tokens;
