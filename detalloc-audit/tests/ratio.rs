//! The static bound of each detalloc wrapper against the largest instruction count measured
//! on it (issue 12: at most 1.25x, and never below a measured count).
//!
//! - **Host (x86_64)**: `tests/fixtures/host-heaps`, which is `examples/audit_targets.rs` (its
//!   wrappers, by path) driven through every path (see its docs), run under
//!   `valgrind --tool=callgrind` with collection on inside `audit_*` only and a dump after
//!   every wrapper call. The host `critical-section` implementation (a std mutex) is assumed
//!   at 0 instructions statically, as in CI, and its calls' inclusive cost is subtracted from
//!   each measured count.
//!
//! Run: `cargo test -p detalloc-audit --test ratio -- --nocapture` prints the tables. Without
//! valgrind (or QEMU) the measurement is skipped with a message, unless
//! `DETALLOC_AUDIT_MEASURE=require` (as `.ci/run` sets it), which makes that a failure.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::ratio;
use detalloc_audit::{audit_assuming, default_symbols, elf::Image};

/// Excluded from both sides: the host's `critical-section` implementation.
const ASSUMED: [&str; 2] = ["_critical_section_1_0_acquire", "_critical_section_1_0_release"];

fn required() -> bool {
    std::env::var("DETALLOC_AUDIT_MEASURE").is_ok_and(|v| v == "require")
}

/// Whether `tool --version` runs; when not, skips (or fails when measurement is required).
fn available(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !required(),
            "{tool} is needed for the measurement (DETALLOC_AUDIT_MEASURE=require)"
        );
        eprintln!("SKIPPED: {tool} not found; the static/measured ratio is not checked");
    }
    ok
}

fn cargo_build(manifest: &str, target_dir: &str, target: Option<&str>) -> PathBuf {
    let manifest = common::fixture(manifest);
    let dir = common::scratch(target_dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--release", "--manifest-path"]).arg(&manifest);
    cmd.arg("--target-dir").arg(&dir);
    if let Some(t) = target {
        cmd.args(["--target", t]);
    }
    let status = cmd
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {} failed", manifest.display());
    dir
}

/// One callgrind dump: its total, less the inclusive cost of calls to `excluded`.
fn dump_count(text: &str, excluded: &[&str]) -> Option<u64> {
    let total: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("totals: "))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let mut lines = text.lines();
    let mut less = 0;
    while let Some(line) = lines.next() {
        let Some(callee) = line.strip_prefix("cfn=") else { continue };
        if !excluded.contains(&callee.trim()) {
            continue;
        }
        // `calls=N POS`, then `POS INCLUSIVE-COST`.
        let calls = lines.next()?;
        debug_assert!(calls.starts_with("calls="));
        less += lines.next()?.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    }
    Some(total - less)
}

#[test]
fn host_wrappers() {
    let dir = cargo_build("host-heaps/Cargo.toml", "host-heaps", None);
    let exe = dir.join("release/host-heaps");
    let bytes = std::fs::read(&exe).expect("the harness binary");
    let image = Image::parse(&bytes).expect("an ELF file");
    let names = default_symbols(&image);
    let assumed: Vec<(String, u64)> = ASSUMED.iter().map(|n| (n.to_string(), 0)).collect();
    let audit = audit_assuming(&bytes, &names, &assumed).expect("audits");
    if !available("valgrind") {
        return;
    }

    let out = common::scratch("callgrind");
    for old in std::fs::read_dir(&out).expect("the dump directory").flatten() {
        let _ = std::fs::remove_file(old.path());
    }
    let prefix = out.join("cg.out");
    let run = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-atstart=no", "--toggle-collect=audit_*"])
        .args(["--compress-strings=no", "--compress-pos=no"])
        .args(names.iter().map(|n| format!("--dump-after={n}")))
        .arg(format!("--callgrind-out-file={}", prefix.display()))
        .arg(&exe)
        .output()
        .expect("valgrind runs");
    assert!(run.status.success(), "callgrind: {}", String::from_utf8_lossy(&run.stderr));
    let labels = String::from_utf8_lossy(&run.stdout).into_owned();
    let mut calls = Vec::new();
    for (n, label) in labels.lines().enumerate() {
        let path = format!("{}.{}", prefix.display(), n + 1);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let (wrapper, case) = label.split_once(' ').expect("`wrapper case`");
        let trigger = format!("desc: Trigger: --dump-after={wrapper}");
        assert!(text.contains(&trigger), "dump {} is not {wrapper}'s", n + 1);
        let count = dump_count(&text, &ASSUMED).expect("a total");
        calls.push((wrapper.to_string(), case.to_string(), count));
    }
    let rows = ratio::rows(&audit, &calls);
    let table = ratio::table("x86_64 (callgrind), `examples/audit_targets.rs`", &rows);
    println!("{table}");
    let _ = std::fs::write(common::scratch("ratio").join("host.md"), &table);
    let failures = ratio::failures(&rows);
    assert!(failures.is_empty(), "{table}\n{}", failures.join("\n"));
}
