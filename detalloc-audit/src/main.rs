//! `detalloc-audit <elf> [--symbol NAME[=BUDGET] ...] [--budget N] [--deny-loops]
//! [--deny-table-reads] [--assume NAME=N ...] [--summary]`
//!
//! Prints the audit tables (Markdown). Exit status: 0 when every check passes (or none was
//! asked for, or `--help`), 1 when a check fails, 2 on a usage or input error.

use std::io::Write;
use std::process::ExitCode;

use detalloc_audit::{Checks, audit_assuming, check, default_symbols, elf::Image, report};

const USAGE: &str = "usage: detalloc-audit <elf> [--symbol NAME[=BUDGET] ...] [--budget N] \
[--deny-loops] [--deny-table-reads] [--assume NAME=N ...] [--summary]

  --symbol NAME[=BUDGET]  audit NAME (mangled, or demangled when that names one function);
                          BUDGET: its own instruction budget
                          (default: every audit_alloc_*/audit_free_*/fw_alloc*/fw_free*)
  --budget N              fail when a longest path exceeds N instructions or is not bounded
  --deny-loops            fail when a function or any function it calls has a loop, or
                          anything that may hide one (a call through a pointer, recursion, a jump
                          table, a call out of the binary, a system call)
  --deny-table-reads      fail when a function or any function it calls reads .rodata* or
                          .data.rel.ro* (a configuration table, a jump table, a constant)
  --assume NAME=N         do not analyse NAME (every function of that name): count each call of
                          it as N instructions, no loop, no cycle figure (for code outside the
                          audit, e.g. a host mutex)
  --summary               print the summary table only
  -h, --help              print this help";

enum Parsed {
    Run(Args),
    Help,
}

struct Args {
    elf: String,
    symbols: Vec<(String, Option<u64>)>,
    assumed: Vec<(String, u64)>,
    checks: Checks,
    summary_only: bool,
}

fn parse_args() -> Result<Parsed, String> {
    let mut args = std::env::args().skip(1);
    let mut elf = None;
    let mut symbols = Vec::new();
    let mut assumed = Vec::new();
    let mut checks = Checks::default();
    let mut summary_only = false;
    let number = |s: Option<String>, what: &str| -> Result<u64, String> {
        let s = s.ok_or_else(|| format!("{what} needs a number"))?;
        s.parse().map_err(|_| format!("{what}: `{s}` is not a number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--symbol" => {
                let spec = args.next().ok_or("--symbol needs a name")?;
                match spec.rsplit_once('=') {
                    Some((name, budget)) => symbols
                        .push((name.to_string(), Some(number(Some(budget.into()), "--symbol")?))),
                    None => symbols.push((spec, None)),
                }
            }
            "--assume" => {
                let spec = args.next().ok_or("--assume needs NAME=N")?;
                let (name, n) = spec.rsplit_once('=').ok_or("--assume needs NAME=N")?;
                assumed.push((name.to_string(), number(Some(n.into()), "--assume")?));
            }
            "--budget" => checks.budget = Some(number(args.next(), "--budget")?),
            "--deny-loops" => checks.deny_loops = true,
            "--deny-table-reads" => checks.deny_table_reads = true,
            "--summary" => summary_only = true,
            "-h" | "--help" => return Ok(Parsed::Help),
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other if elf.is_none() => elf = Some(other.to_string()),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let elf = elf.ok_or("missing the ELF file")?;
    Ok(Parsed::Run(Args { elf, symbols, assumed, checks, summary_only }))
}

fn run() -> Result<bool, String> {
    let args = match parse_args()? {
        Parsed::Run(args) => args,
        Parsed::Help => {
            let _ = writeln!(std::io::stdout().lock(), "{USAGE}");
            return Ok(true);
        }
    };
    let bytes = std::fs::read(&args.elf).map_err(|e| format!("{}: {e}", args.elf))?;
    let symbols = if args.symbols.is_empty() {
        let image = Image::parse(&bytes)?;
        let names = default_symbols(&image);
        if names.is_empty() {
            return Err(format!(
                "{}: none of the default entry points (`audit_alloc_*`, `audit_free_*`, \
                 `fw_alloc*`, `fw_free*`) is in it; a linker drops exported functions nothing \
                 calls: `detalloc::audit_wrappers!` keeps its pair",
                args.elf
            ));
        }
        names.into_iter().map(|n| (n, None)).collect()
    } else {
        args.symbols
    };
    let names: Vec<String> = symbols.iter().map(|(n, _)| n.clone()).collect();
    let result = audit_assuming(&bytes, &names, &args.assumed)?;

    let mut text = format!("## Static audit of `{}` ({})\n\n", args.elf, result.arch);
    text.push_str(&report::summary(&result.functions, result.with_cycles));
    if result.with_cycles {
        text.push_str(&format!("\n{}\n", report::assumptions()));
    }
    if !args.summary_only {
        for f in &result.functions {
            text.push_str(&format!("\n{}\n", report::detail(f, result.with_cycles)));
        }
    }
    // A closed pipe (`| head`) is not an error of the audit.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());

    let mut failures = Vec::new();
    for (f, (_, own_budget)) in result.functions.iter().zip(&symbols) {
        let checks = Checks { budget: own_budget.or(args.checks.budget), ..args.checks.clone() };
        failures.extend(check(f, &checks));
    }
    let asked = args.checks.budget.is_some()
        || args.checks.deny_loops
        || args.checks.deny_table_reads
        || symbols.iter().any(|(_, b)| b.is_some());
    if asked {
        if failures.is_empty() {
            eprintln!("audit: {} functions checked, all pass", result.functions.len());
        } else {
            for failure in &failures {
                eprintln!("audit FAILED: {failure}");
            }
        }
    }
    Ok(failures.is_empty())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("detalloc-audit: {e}");
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
