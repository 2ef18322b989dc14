//! Static bound against measured instruction counts, per wrapper: the table and the checks
//! shared by the host (callgrind) and thumbv7m (QEMU) measurements of `tests/ratio.rs`.

use std::collections::BTreeMap;
use std::fmt::Write;

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
    let mut measured: BTreeMap<&str, (u64, String, usize)> = BTreeMap::new();
    for (wrapper, case, count) in calls {
        let entry = measured.entry(wrapper).or_insert((0, String::new(), 0));
        entry.2 += 1;
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
                max: m.map(|(n, case, _)| (*n, case.clone())),
                calls: m.map_or(0, |m| m.2),
            }
        })
        .collect()
}

/// The Markdown table.
pub fn table(title: &str, rows: &[Row]) -> String {
    let mut out =
        format!("{title}\n\n| wrapper | static bound | measured max (case) | calls | ratio |\n");
    out.push_str("|---|---:|---|---:|---:|\n");
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
        let _ = writeln!(out, "| `{}` | {bound} | {max} | {} | {ratio} |", r.wrapper, r.calls);
    }
    out
}

/// What fails: a bounded wrapper measured above its bound (the analysis is wrong), or with a
/// bound above `LIMIT` times its largest measured count; a bounded wrapper never measured.
pub fn failures(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| r.bounded) {
        let (Some(bound), Some((max, case))) = (r.bound, r.max.as_ref()) else {
            out.push(format!("{}: bounded but not measured", r.wrapper));
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
