//! (b), (c) Plausible declarations against an independent statement of the rules.

use super::*;

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
    let mut sync_name: Option<&str> = None;
    let mut waiters: Option<u64> = None;

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
            // A heap's keys (the arena's own are drawn in `tests/arena.rs` and `tests/ui`).
            let heap_keys = &KEYS[..KEYS.len() - 2];
            keys.push(if rng.chance(5) { "colour" } else { *rng.pick(heap_keys) });
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
                if sync_name.is_none() {
                    sync_name = Some(name);
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
            "waiters" => {
                let value = *rng.pick(&[0u64, 1, 4, 32, 33, 1000]);
                if value > 32 {
                    verdict.fail();
                }
                if waiters.is_none() {
                    waiters = Some(value);
                }
                value.to_string()
            }
            _ => "blue".to_owned(),
        };
        entries.push(format!("{key}: {value}"));
    }

    // The rules on the declaration as a whole.
    if waiters.is_some_and(|w| w > 0) && sync_name == Some("lock_free") {
        verdict.fail();
    }
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
            // A heap too big for 16- or 32-bit targets is generated for the widths it fits and
            // is a stub (next to its one error) on the others: never an unconditional stub.
            if total <= i16::MAX as u64 {
                assert!(!text.contains("fallback_heap"), "{source}: stub in a valid expansion");
            } else if text.contains("fallback_heap") {
                let gated = text.matches("# [cfg (not (any (target_pointer_width").count();
                assert_eq!((text.matches("fallback_heap").count(), gated), (1, 1), "{source}");
            }
        }
    });
}
