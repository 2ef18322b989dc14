//! The driver: measures (callgrind), audits (`detalloc-audit`), checks, and writes the tables,
//! the CSV files and the picture.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::callgrind::{self, HOST_SECTION};
use crate::plot;
use crate::workload::{CLASSES, FILL_PERCENT, Op};

/// One allocator in the picture.
pub struct Subject {
    /// Its key in records and wrapper names (`measured_alloc_KEY`; `audit_alloc_KEY` on the
    /// audit heap).
    pub key: &'static str,
    /// Its name in the picture and tables.
    pub label: &'static str,
    /// Whether it is a detalloc heap (audited, checked).
    pub detalloc: bool,
}

const fn subject(key: &'static str, label: &'static str, detalloc: bool) -> Subject {
    Subject { key, label, detalloc }
}

/// Every subject, in the picture's order. All run the same sequence, except heapless's pool,
/// which has one block size: it serves every request with a 64-byte block.
pub const SUBJECTS: [Subject; 11] = [
    subject("lean", "detalloc local lean", true),
    subject("checked", "detalloc local stats+validation", true),
    subject("spin", "detalloc spin", true),
    subject("lock_free", "detalloc lock_free", true),
    subject("critical_section", "detalloc critical_section *", true),
    subject("linked_list", "linked_list_allocator", false),
    subject("buddy", "buddy_system_allocator", false),
    subject("talc", "talc", false),
    subject("rlsf", "rlsf (TLSF)", false),
    subject("heapless", "heapless pool (64 B blocks)", false),
    subject("system", "std System (glibc)", false),
];

/// One measured call.
#[derive(Debug, Clone)]
pub struct Call {
    /// `picture` or `audit` (the heap configuration of the detalloc subjects).
    pub heap: String,
    /// The subject's key.
    pub key: String,
    /// Allocate or free.
    pub op: Op,
    /// Blocks live before the call.
    pub live: usize,
    /// The request's size.
    pub size: usize,
    /// The detalloc pool of that size.
    pub class: usize,
    /// The detalloc path (`reuse`, `bump`, `free`).
    pub path: String,
    /// Whether the allocation succeeded (or a handle was freed).
    pub ok: bool,
    /// Instructions of the call.
    pub total: u64,
    /// Of those, inside the host's critical-section implementation.
    pub host: u64,
}

impl Call {
    /// The count the static bound is about: without the host's critical section.
    pub fn own(&self) -> u64 {
        self.total - self.host
    }
}

fn parse_calls(stdout: &str, counts: &[callgrind::Counted]) -> Result<Vec<Call>, String> {
    let lines: Vec<&str> = stdout.lines().collect();
    if lines.len() != counts.len() {
        return Err(format!("{} calls but {} callgrind dumps", lines.len(), counts.len()));
    }
    lines
        .iter()
        .zip(counts)
        .map(|(line, count)| {
            let f: Vec<&str> = line.split(' ').collect();
            let number = |i: usize| f.get(i).and_then(|v| v.parse().ok()).ok_or(line.to_string());
            let op = if f.get(2) == Some(&"alloc") { Op::Alloc } else { Op::Free };
            Ok(Call {
                heap: f[0].to_owned(),
                key: f[1].to_owned(),
                op,
                live: number(3)?,
                size: number(4)?,
                class: number(5)?,
                path: f.get(6).ok_or(line.to_string())?.to_string(),
                ok: f.get(7) == Some(&"true"),
                total: count.total,
                host: count.host_section,
            })
        })
        .collect()
}

/// A static bound from `detalloc-audit --summary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// The longest path in instructions (without the loops' iterations when not bounded).
    pub insns: u64,
    /// Loop-free, nothing it cannot follow: `insns` is a bound.
    pub bounded: bool,
    /// The tool's words.
    pub text: String,
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text.replace(" loop iterations", " loops"))
    }
}

/// Runs `detalloc-audit --summary` on `binary` (the host critical section assumed at 0, as
/// in CI) and reads the bound of each function.
fn audit(
    tool: &Path,
    binary: &Path,
    symbols: &[String],
) -> Result<BTreeMap<String, Bound>, String> {
    let mut cmd = Command::new(tool);
    cmd.arg(binary).arg("--summary");
    for name in HOST_SECTION {
        cmd.args(["--assume", &format!("{name}=0")]);
    }
    for symbol in symbols {
        cmd.args(["--symbol", symbol]);
    }
    let run = cmd.output().map_err(|e| format!("{}: {e}", tool.display()))?;
    let text = String::from_utf8_lossy(&run.stdout);
    let mut bounds = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (name, cell) = (cells[1].trim_matches('`').to_owned(), cells[2]);
        let insns = cell.split(|c: char| !c.is_ascii_digit()).find_map(|t| t.parse().ok());
        let insns = insns.ok_or(format!("a bound in {line}"))?;
        let bounded = !cell.starts_with("unbounded");
        bounds.insert(name, Bound { insns, bounded, text: cell.to_owned() });
    }
    if bounds.is_empty() {
        return Err(format!("no audit of {}: {text}", binary.display()));
    }
    Ok(bounds)
}

/// min, median and max of some counts (zeros when empty).
pub fn spread(mut v: Vec<u64>) -> (u64, u64, u64) {
    if v.is_empty() {
        return (0, 0, 0);
    }
    v.sort_unstable();
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

/// Formats `a–b`, or `a` when equal.
pub fn range(lo: u64, hi: u64) -> String {
    if lo == hi { format!("{lo}") } else { format!("{lo}–{hi}") }
}

/// The wrapper a call went through: on the audit heap `examples/audit_targets.rs`'s (this
/// binary declares them too), else this binary's own.
pub fn wrapper(heap: &str, op: Op, key: &str) -> String {
    let prefix = if heap == "audit" { "audit" } else { "measured" };
    format!("{prefix}_{}_{key}", op.name())
}

const OPS: [Op; 2] = [Op::Alloc, Op::Free];

/// The whole run; `Ok(false)` when a check failed (after writing everything).
pub fn drive(tool: &Path, targets: &Path, out: &Path) -> Result<bool, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let scratch = std::env::temp_dir().join(format!("detalloc-determinism-{}", std::process::id()));
    let (stdout, counts) = callgrind::run(&exe, &scratch)?;
    let _ = std::fs::remove_dir_all(&scratch);
    let calls = parse_calls(&stdout, &counts)?;
    let detalloc: Vec<&Subject> = SUBJECTS.iter().filter(|s| s.detalloc).collect();
    let mut wrappers: Vec<String> =
        SUBJECTS.iter().flat_map(|s| OPS.map(|op| wrapper("picture", op, s.key))).collect();
    wrappers.extend(detalloc.iter().flat_map(|s| OPS.map(|op| wrapper("audit", op, s.key))));
    let mine = audit(tool, &exe, &wrappers)?;
    let theirs = audit(tool, targets, &[])?;
    let bound_of = |heap: &str, op: Op, key: &str| mine.get(&wrapper(heap, op, key));
    let mut failures = Vec::new();
    let mut text = String::new();

    // Every call, next to the build (not checked in).
    let target_dir = exe.ancestors().nth(3).unwrap_or(Path::new("target"));
    let raw_path = target_dir.join("determinism-calls.csv");
    std::fs::write(&raw_path, raw_csv(&calls))
        .map_err(|e| format!("{}: {e}", raw_path.display()))?;

    // No call above its wrapper's static bound.
    for c in &calls {
        if let Some(b) = bound_of(&c.heap, c.op, &c.key).filter(|b| b.bounded && c.own() > b.insns)
        {
            failures.push(format!(
                "{} {} {}: {} > bound {}",
                c.heap,
                c.key,
                c.op.name(),
                c.own(),
                b
            ));
        }
    }
    // Every allocator serves every request (the peers have 8 MiB, detalloc's pools 5 % spare).
    if let Some(c) = calls.iter().find(|c| !c.ok) {
        failures.push(format!("{} {}: {} B refused at {} live", c.heap, c.key, c.size, c.live));
    }
    // The audit-heap wrappers here are bounded as `audit_targets`'s.
    for s in &detalloc {
        for op in OPS {
            let (here, there) = (
                bound_of("audit", op, s.key),
                theirs.get(&format!("audit_{}_{}", op.name(), s.key)),
            );
            if here != there {
                failures.push(format!(
                    "{} {}: bound {here:?} here, {there:?} in audit_targets",
                    s.key,
                    op.name()
                ));
            }
        }
    }

    let _ = writeln!(
        text,
        "detalloc, instructions per call by pool and path (host mutex not counted); a range \
         would mean the count changed with the fill.\nbench heap [16 x 1024, 64 x 1024, \
         256 x 1024] (the picture) | audit heap [16 x 64, 64 x 32, 256 x 16]:"
    );
    for s in &detalloc {
        for (op, path) in [(Op::Alloc, "reuse"), (Op::Alloc, "bump"), (Op::Free, "free")] {
            let mut cells = Vec::new();
            for heap in ["picture", "audit"] {
                for class in 0..CLASSES.len() {
                    let v = calls
                        .iter()
                        .filter(|c| c.heap == heap && c.key == s.key && c.op == op)
                        .filter(|c| c.class == class && c.path == path);
                    let (lo, _, hi) = spread(v.map(Call::own).collect());
                    if lo != hi {
                        failures.push(format!(
                            "{heap} {} {} pool {class} {path}: {lo}–{hi}",
                            s.key,
                            op.name()
                        ));
                    }
                    cells.push(format!("{:>6}", range(lo, hi)));
                }
            }
            let (key, op) = (s.key, op.name());
            let _ = writeln!(
                text,
                "  {key:<17} {op:<5} {path:<5} | {} | {}",
                cells[..3].join(" "),
                cells[3..].join(" ")
            );
        }
    }
    let host = spread(calls.iter().filter(|c| c.host > 0).map(|c| c.host).collect());
    let _ = writeln!(
        text,
        "* critical_section: the host's implementation (a std mutex) adds {} instructions per \
         call, not counted here, in the picture or against the bound (the audit assumes it at \
         0; on a Cortex-M it is the PRIMASK save and restore).",
        range(host.0, host.2)
    );

    let picture: Vec<&Call> = calls.iter().filter(|c| c.heap == "picture").collect();
    let most = picture.iter().map(|c| c.live).max().unwrap_or(0) + 1;
    let (table, csv) = worst_tables(&calls, &mine, &theirs);
    let _ = writeln!(
        text,
        "\n{} calls measured ({} on the picture heap: filled to {FILL_PERCENT} % of its pools, \
         {} blocks at most, and back); failed allocations: {}\n\n{table}\n{}",
        calls.len(),
        picture.len(),
        most - 1,
        calls.iter().filter(|c| !c.ok).count(),
        lines_table(&picture, most)
    );
    print!("{text}");

    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let write = |name: &str, body: &str| {
        let path = out.join(name);
        std::fs::write(&path, body).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("determinism-worst.csv", &csv)?;
    let bands = plot::bands(&picture, most);
    write("determinism.csv", &plot::bands_csv(&bands))?;
    let svg = out.join("determinism.svg");
    let bound = |op: Op, key: &str| bound_of("picture", op, key).cloned();
    plot::draw(&svg, &bands, &picture, &bound, most).map_err(|e| format!("plot: {e}"))?;
    println!(
        "wrote {} and, beside it, determinism.csv and determinism-worst.csv; every call: {}",
        svg.display(),
        raw_path.display()
    );
    for f in &failures {
        println!("FAILED: {f}");
    }
    Ok(failures.is_empty())
}

/// Every call as CSV.
fn raw_csv(calls: &[Call]) -> String {
    let mut raw =
        String::from("heap,allocator,op,live,size,pool,path,ok,instructions,host_mutex\n");
    for c in calls {
        let (op, ok, own) = (c.op.name(), c.ok, c.own());
        let (heap, key, live, size, class, path, host) =
            (&c.heap, &c.key, c.live, c.size, c.class, &c.path, c.host);
        let _ = writeln!(raw, "{heap},{key},{op},{live},{size},{class},{path},{ok},{own},{host}");
    }
    raw
}

/// The worst-call tables (Markdown) and their CSV: every allocator on the picture heap beside
/// the static bound of the wrapper measured, then detalloc on the audit heap beside the bound
/// of `audit_targets`'s wrapper (the README's static-audit table) and the ratio of the two.
fn worst_tables(
    calls: &[Call],
    mine: &BTreeMap<String, Bound>,
    theirs: &BTreeMap<String, Bound>,
) -> (String, String) {
    let mut table = String::from(
        "| `[16 x 1024, 64 x 1024, 256 x 1024]`, every call | alloc min–max | free min–max | \
         static bound alloc / free |\n|---|---:|---:|---|\n",
    );
    let mut audit = String::from(
        "| `[16 x 64, 64 x 32, 256 x 16]` (`audit_targets`) | alloc min–max | free min–max | \
         static bound alloc / free | bound / worst |\n|---|---:|---:|---|---:|\n",
    );
    let mut csv = String::from(
        "heap,allocator,alloc_min,alloc_max,free_min,free_max,static_alloc,static_free\n",
    );
    for heap in ["picture", "audit"] {
        for s in SUBJECTS.iter().filter(|s| heap == "picture" || s.detalloc) {
            let of = |op: Op| {
                let v = calls.iter().filter(|c| c.heap == heap && c.key == s.key && c.op == op);
                spread(v.map(Call::own).collect())
            };
            let (a, f) = (of(Op::Alloc), of(Op::Free));
            let bound = |op: Op| match heap {
                "audit" => theirs.get(&format!("audit_{}_{}", op.name(), s.key)),
                _ => mine.get(&wrapper(heap, op, s.key)),
            };
            let text = |op: Op| bound(op).map_or("?".to_owned(), Bound::to_string);
            let (ba, bf) = (text(Op::Alloc), text(Op::Free));
            let (ra, rf) = (range(a.0, a.2), range(f.0, f.2));
            let _ = writeln!(csv, "{heap},{},{},{},{},{},{ba},{bf}", s.key, a.0, a.2, f.0, f.2);
            if heap == "picture" {
                let _ = writeln!(table, "| {} | {ra} | {rf} | {ba} / {bf} |", s.label);
                continue;
            }
            let ratio = |op: Op, worst: u64| {
                bound(op)
                    .filter(|b| b.bounded)
                    .map_or("—".to_owned(), |b| format!("{:.2}", b.insns as f64 / worst as f64))
            };
            let (qa, qf) = (ratio(Op::Alloc, a.2), ratio(Op::Free, f.2));
            let _ = writeln!(audit, "| {} | {ra} | {rf} | {ba} / {bf} | {qa} / {qf} |", s.label);
        }
    }
    (format!("{table}\n{audit}"), csv)
}

/// What each line shows: the spread, the median near empty against near full, and how many
/// different counts one request size met (the state's part: a detalloc size meets one per
/// path).
fn lines_table(picture: &[&Call], most: usize) -> String {
    let mut lines = String::from(
        "| allocator | alloc min–max | median < 10 % / ≥ 90 % full | counts per size | \
         free min–max | median < 10 % / ≥ 90 % full | counts per size |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &SUBJECTS {
        let _ = write!(lines, "| {} |", s.label);
        for op in OPS {
            let mine: Vec<&&Call> =
                picture.iter().filter(|c| c.key == s.key && c.op == op).collect();
            let (lo, _, hi) = spread(mine.iter().map(|c| c.own()).collect());
            let near = |full: bool| {
                let v = mine.iter().filter(|c| (c.live * 10 >= most * 9) == full);
                let v = v.filter(|c| full || c.live * 10 < most);
                spread(v.map(|c| c.own()).collect()).1
            };
            let mut per_size: BTreeMap<usize, BTreeSet<u64>> = BTreeMap::new();
            for c in &mine {
                per_size.entry(c.size).or_default().insert(c.own());
            }
            let most_counts = per_size.values().map(BTreeSet::len).max().unwrap_or(0);
            let (low, high) = (near(false), near(true));
            let _ = write!(lines, " {} | {low} / {high} | {most_counts} |", range(lo, hi));
        }
        lines.push('\n');
    }
    lines
}
