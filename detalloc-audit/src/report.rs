//! Markdown tables a reviewer can paste into a safety case.

use std::fmt::Write;

use crate::timing;
use crate::verdict::{CallKind, Cost, FnAudit};

/// Formats a bound (instructions, or with `cycles` the cycle figure): the number when it is
/// a bound; otherwise that it is unbounded, with the known part. A function with loops has no
/// bound: the figure is the longest path taking no back edge, and each iteration adds to it.
fn figure(f: &FnAudit, cycles: bool) -> String {
    let value = |c: Cost| if cycles { c.cycles } else { Some(c.insns) };
    match f.bound.map(value) {
        None if f.bound.is_none() => "no path returns".into(),
        None => "—".into(),
        Some(None) => "—".into(),
        Some(Some(n)) if !f.loops.is_empty() => format!("unbounded: {n} + loop iterations"),
        Some(Some(n)) if !f.unbounded.is_empty() => format!("unbounded: ≥ {n}"),
        Some(Some(n)) => n.to_string(),
    }
}

/// The one-line verdict.
pub fn verdict(f: &FnAudit) -> String {
    let mut parts = Vec::new();
    if f.loops.is_empty() && f.unbounded.is_empty() {
        parts.push("loop-free".to_string());
    } else if f.loops.is_empty() {
        parts.push("loops not excluded".to_string());
    } else {
        parts.push(format!("{} loop(s)", f.loops.len()));
    }
    if !f.unbounded.is_empty() || !f.loops.is_empty() {
        parts.push("UNBOUNDED".into());
    } else if f.bound.is_none() {
        parts.push("never returns".into());
    } else {
        parts.push("bounded".into());
    }
    if !f.masking.is_empty() {
        parts.push("masks interrupts".into());
    }
    parts.join(", ")
}

/// Names of the functions called (followed or not) on the longest path, deduplicated.
fn path_calls(f: &FnAudit) -> String {
    let mut names: Vec<String> = Vec::new();
    for c in f.calls.iter().filter(|c| c.on_path && c.caller == f.name) {
        let name = match c.kind {
            CallKind::TailCall => format!("`{}` (tail)", c.callee),
            _ => format!("`{}`", c.callee),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

fn loops_cell(f: &FnAudit) -> String {
    if f.loops.is_empty() {
        return "none (no back edge)".into();
    }
    // Grouped by kind: "4 spin wait (21 insns/iter), 4 CAS retry (5–7 insns/iter)".
    let mut kinds: Vec<(&str, usize, u64, u64)> = Vec::new();
    for l in &f.loops {
        let n = l.iteration.insns;
        match kinds.iter_mut().find(|k| k.0 == l.kind) {
            Some(k) => *k = (k.0, k.1 + 1, k.2.min(n), k.3.max(n)),
            None => kinds.push((l.kind, 1, n, n)),
        }
    }
    kinds
        .iter()
        .map(|&(kind, count, lo, hi)| {
            let range = if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") };
            format!("{count} {kind} ({range} insns/iter)")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts a table after a blank line: the heading `head` (`a | b`) and the alignment row
/// `align` (`---|---:`), each with a last, right-aligned `cycles` column when `cycles`.
fn table(out: &mut String, head: &str, align: &str, cycles: bool) {
    let (column, column_align) = if cycles { (" cycles |", "---:|") } else { ("", "") };
    let _ = write!(out, "\n| {head} |{column}\n|{align}|{column_align}\n");
}

/// Ends a row: its `cycles` cell when the table has the column (`—` for no figure).
fn end_row(out: &mut String, cycles: bool, value: Option<u64>) {
    if cycles {
        let _ = write!(out, " {} |", value.map_or("—".into(), |c| c.to_string()));
    }
    out.push('\n');
}

/// The summary table: one row per audited function.
pub fn summary(functions: &[std::rc::Rc<FnAudit>], with_cycles: bool) -> String {
    let mut out = String::new();
    if with_cycles {
        out.push_str("| function | bound (insns) | cycle bound (Cortex-M3) | loops | calls on the path | verdict |\n");
        out.push_str("|---|---:|---:|---|---|---|\n");
    } else {
        out.push_str("| function | bound (insns) | loops | calls on the path | verdict |\n");
        out.push_str("|---|---:|---|---|---|\n");
    }
    for f in functions {
        let _ = write!(out, "| `{}` | {} ", f.name, figure(f, false));
        if with_cycles {
            let _ = write!(out, "| {} ", figure(f, true));
        }
        let _ = writeln!(out, "| {} | {} | {} |", loops_cell(f), path_calls(f), verdict(f));
    }
    out
}

/// The detail section of one function.
pub fn detail(f: &FnAudit, with_cycles: bool) -> String {
    let mut out = String::new();
    let open = !f.unbounded.is_empty();
    let _ = writeln!(out, "### `{}` at {:#x}\n", f.name, f.addr);
    out.push_str("| item | value |\n|---|---|\n");
    let _ = writeln!(
        out,
        "| CFG | {} blocks, {} edges, {} instructions reachable |",
        f.blocks, f.edges, f.insns
    );
    if let Some(b) = f.bound {
        let _ = writeln!(
            out,
            "| longest feasible path | {} instructions (this function {}, callees {}) |",
            figure(f, false),
            f.own_on_path,
            b.insns.saturating_sub(f.own_on_path)
        );
    } else {
        out.push_str("| longest path | no path reaches a return |\n");
    }
    if with_cycles {
        let _ = writeln!(out, "| cycle bound | {} |", figure(f, true));
    }
    let insensitive = f.insensitive.map_or("—".into(), |c| match c.cycles {
        Some(cy) if with_cycles => format!("{} instructions, {cy} cycles", c.insns),
        _ => format!("{} instructions", c.insns),
    });
    let correlation = if f.correlated {
        format!(
            "{} branch outcome(s) excluded in some path state (callees included), {} edge(s) of \
             this function on no feasible path",
            f.pruned, f.infeasible_edges
        )
    } else {
        "not correlated (too many path states)".into()
    };
    let _ = writeln!(out, "| every edge taken (path-insensitive) | {insensitive}; {correlation} |");
    let path: Vec<String> = f.path.iter().map(|a| format!("{a:#x}")).collect();
    let _ = writeln!(out, "| path (blocks) | {} |", path.join(" → "));
    let loops = if f.loops.is_empty() {
        "none: no back edge in this function's CFG nor in any callee's".to_string()
    } else {
        format!("{} (table below)", f.loops.len())
    };
    let _ = writeln!(out, "| loops | {loops} |");
    let _ = writeln!(out, "| verdict | {} |", verdict(f));
    if f.exits.len() > 1 {
        let head = "exit (return at) | in | longest path to it (insns)";
        table(&mut out, head, "---|---|---:", with_cycles);
        for e in &f.exits {
            let _ = write!(out, "| {:#x} | `{}` | {} |", e.at, e.function, e.cost.insns);
            end_row(&mut out, with_cycles, e.cost.cycles);
        }
    }
    if !f.loops.is_empty() {
        let head =
            "loop in | kind | header | latch (back edge) | address range | one iteration (insns)";
        table(&mut out, head, "---|---|---|---|---|---:", with_cycles);
        for l in &f.loops {
            let _ = write!(
                out,
                "| `{}` | {} | {:#x} | {:#x} | {:#x}–{:#x} | {} |",
                l.function, l.kind, l.header, l.latch, l.range.0, l.range.1, l.iteration.insns
            );
            end_row(&mut out, with_cycles, l.iteration.cycles);
        }
    }
    if !f.calls.is_empty() {
        let head = "caller | at | kind | callee | callee bound (insns) | on the longest path";
        table(&mut out, head, "---|---|---|---|---:|---", false);
        for c in &f.calls {
            let kind = match c.kind {
                CallKind::Call => "call",
                CallKind::TailCall => "tail call",
                CallKind::Diverging => "never returns (panic)",
                CallKind::Indirect => "indirect: unbounded",
                CallKind::External => "external: unbounded",
                CallKind::Recursive => "recursive: unbounded",
                CallKind::Assumed => "assumed (--assume), not analysed",
            };
            let bound = c.bound.map_or("—".into(), |b| b.insns.to_string());
            let on = if c.on_path { "yes" } else { "no" };
            let _ = writeln!(
                out,
                "| `{}` | {:#x} | {kind} | `{}` | {bound} | {on} |",
                c.caller, c.at, c.callee
            );
        }
    }
    if !f.data_reads.is_empty() {
        let head = "reads read-only data | at | address | section | how";
        table(&mut out, head, "---|---|---|---|---", false);
        for r in &f.data_reads {
            let addr = r.addr.map_or("(through a register)".into(), |a| format!("{a:#x}"));
            let section = r.section.clone().unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                "| `{}` | {:#x} | {addr} | {section} | {} |",
                r.function, r.at, r.what
            );
        }
    }
    if !f.masking.is_empty() {
        let head = "masks or unmasks interrupts | at | instruction";
        table(&mut out, head, "---|---|---", false);
        for m in &f.masking {
            let _ = writeln!(out, "| `{}` | {:#x} | `{}` |", m.function, m.at, m.text);
        }
    }
    if open {
        out.push_str("\nUnbounded because:\n");
        for reason in &f.unbounded {
            let _ = writeln!(out, "- {reason}");
        }
    }
    out
}

/// The timing assumptions, as a list.
pub fn assumptions() -> String {
    let mut out = String::from("Cycle bounds assume:\n");
    for a in timing::ASSUMPTIONS {
        let _ = writeln!(out, "- {a}");
    }
    out
}
