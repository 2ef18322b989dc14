//! Static bound against measured instruction counts, per wrapper: the table and the checks
//! shared by the host (callgrind) and thumbv7m (QEMU) measurements of `tests/ratio.rs`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use detalloc_audit::Audit;

/// The largest static bound allowed, as a multiple of the largest measured count.
pub const LIMIT: f64 = 1.25;

/// One wrapper: its static audit and its measured calls.
#[derive(Debug)]
pub struct Row {
    /// The wrapper's name.
    pub wrapper: String,
    /// The static bound in instructions (`None`: no path returns).
    pub bound: Option<u64>,
    /// Whether the audit proves a bound (no loop, nothing unbounded).
    pub bounded: bool,
    /// The largest measured count and the case that took it.
    pub max: Option<(u64, String)>,
    /// The smallest measured count.
    pub min: Option<u64>,
    /// Number of measured calls.
    pub calls: usize,
}

impl Row {
    /// Static bound / largest measured count.
    pub fn ratio(&self) -> Option<f64> {
        let (max, _) = self.max.as_ref()?;
        Some(self.bound? as f64 / *max as f64)
    }
}

/// The rows of `audit` with the measured `(wrapper, case, count)` calls.
pub fn rows(audit: &Audit, calls: &[(String, String, u64)]) -> Vec<Row> {
    let mut measured: BTreeMap<&str, (u64, String, usize, u64)> = BTreeMap::new();
    for (wrapper, case, count) in calls {
        let entry = measured.entry(wrapper).or_insert((0, String::new(), 0, u64::MAX));
        entry.2 += 1;
        entry.3 = entry.3.min(*count);
        if *count > entry.0 {
            (entry.0, entry.1) = (*count, case.clone());
        }
    }
    audit
        .functions
        .iter()
        .map(|f| {
            let m = measured.get(f.name.as_str());
            Row {
                wrapper: f.name.clone(),
                bound: f.bound.map(|b| b.insns),
                bounded: f.is_bounded(),
                max: m.map(|(n, case, _, _)| (*n, case.clone())),
                min: m.map(|m| m.3),
                calls: m.map_or(0, |m| m.2),
            }
        })
        .collect()
}

/// The Markdown table.
pub fn table(title: &str, rows: &[Row]) -> String {
    let mut out = format!(
        "{title}\n\n| wrapper | static bound | measured max (case) | min | calls | ratio |\n"
    );
    out.push_str("|---|---:|---|---:|---:|---:|\n");
    for r in rows {
        let bound = match (r.bound, r.bounded) {
            (Some(b), true) => b.to_string(),
            (Some(b), false) => format!("unbounded ({b} without loops)"),
            (None, _) => "no path returns".into(),
        };
        let max = r.max.as_ref().map_or("not measured".into(), |(n, c)| format!("{n} ({c})"));
        let ratio = match (r.bounded, r.ratio()) {
            (true, Some(x)) => format!("{x:.2}"),
            _ => "—".into(),
        };
        let min = r.min.map_or("—".into(), |n| n.to_string());
        let _ =
            writeln!(out, "| `{}` | {bound} | {max} | {min} | {} | {ratio} |", r.wrapper, r.calls);
    }
    out
}

/// What fails: a bounded wrapper measured above its bound (the analysis is wrong), or with a
/// bound above `LIMIT` times its largest measured count; a bounded wrapper never measured.
pub fn failures(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| r.bounded) {
        let (Some(bound), Some((max, case))) = (r.bound, r.max.as_ref()) else {
            out.push(format!(
                "{}: bounded but never called by the measured program: call it from its \
                 driver (tests/fixtures/host-heaps or examples/firmware/examples/measure.rs)",
                r.wrapper
            ));
            continue;
        };
        if *max > bound {
            out.push(format!(
                "{}: measured {max} ({case}) above the static bound {bound}",
                r.wrapper
            ));
        }
        if bound as f64 > LIMIT * *max as f64 {
            out.push(format!(
                "{}: static bound {bound} is {:.2}x the largest measured count {max} ({case}), above {LIMIT}x",
                r.wrapper,
                bound as f64 / *max as f64
            ));
        }
    }
    out
}

fn required() -> bool {
    std::env::var("DETALLOC_AUDIT_MEASURE").is_ok_and(|v| v == "require")
}

/// Whether `tool --version` runs; when not, skips (or fails when `DETALLOC_AUDIT_MEASURE` is
/// `require`).
pub fn available(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !required(),
            "{tool} is needed for the measurement (DETALLOC_AUDIT_MEASURE=require)"
        );
        eprintln!("SKIPPED: {tool} not found; measured counts are not checked");
    }
    ok
}

/// Runs `exe` under callgrind with collection on inside the functions `toggle` (a callgrind
/// pattern, `audit_*`) matches and a dump after each call of `names` (every function the
/// pattern matches, so no other's count spills into a dump); returns, per call in order, the
/// function and its instruction count less the inclusive cost of calls to `excluded`, and the
/// program's stdout. `dir` names the scratch directory of the dumps.
pub fn callgrind(
    exe: &Path,
    toggle: &str,
    names: &[String],
    excluded: &[&str],
    dir: &str,
) -> (Vec<(String, u64)>, String) {
    let out = super::scratch(dir);
    for old in std::fs::read_dir(&out).expect("the dump directory").flatten() {
        let _ = std::fs::remove_file(old.path());
    }
    let prefix = out.join("cg.out");
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--collect-atstart=no"]);
    cmd.args(["--compress-strings=no", "--compress-pos=no"]);
    cmd.arg(format!("--toggle-collect={toggle}"));
    cmd.args(names.iter().map(|n| format!("--dump-after={n}")));
    let run = cmd
        .arg(format!("--callgrind-out-file={}", prefix.display()))
        .arg(exe)
        .output()
        .expect("valgrind runs");
    assert!(run.status.success(), "callgrind: {}", String::from_utf8_lossy(&run.stderr));
    let mut calls = Vec::new();
    for n in 1.. {
        let Ok(text) = std::fs::read_to_string(format!("{}.{n}", prefix.display())) else { break };
        let trigger = text
            .lines()
            .find_map(|l| l.strip_prefix("desc: Trigger: --dump-after="))
            .expect("a dump after a call");
        let count = dump_count(&text, excluded).expect("a total");
        calls.push((trigger.trim().to_string(), count));
    }
    (calls, String::from_utf8_lossy(&run.stdout).into_owned())
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
