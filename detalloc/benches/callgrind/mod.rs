//! Running a bench under callgrind: the bench re-runs itself with `--measure`, collecting
//! only inside `measured_*` functions and dumping the counters after each measured call.

use std::fmt::Display;
use std::process::{Command, ExitCode};

/// A callgrind bench's `main`: with `--measure` (the run under callgrind) prints the labels
/// `measure` returns, one per measured call; with `--list` or `--test` (`cargo test --benches`
/// runs benches in test mode) does nothing; otherwise `drive`s the measurement, reporting its
/// error as `name: error`.
pub fn main<L: Display>(
    name: &str,
    measure: impl FnOnce() -> Vec<L>,
    drive: impl FnOnce() -> Result<ExitCode, String>,
) -> ExitCode {
    if std::env::args().any(|a| a == "--measure") {
        for label in measure() {
            println!("{label}");
        }
        return ExitCode::SUCCESS;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return ExitCode::SUCCESS;
    }
    drive().unwrap_or_else(|e| {
        eprintln!("{name}: {e}");
        ExitCode::FAILURE
    })
}

/// Runs this executable as `<exe> --measure` under callgrind, dumping after each function in
/// `dump_after` (exact names: `--dump-after` takes no wildcard). Returns the labels the run
/// printed, one per line, with the instruction total of each dump, in order.
pub fn measure_self(dump_after: &[String]) -> Result<Vec<(String, u64)>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("detalloc-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = dir.join("cg.out");
    let run = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-atstart=no", "--toggle-collect=measured_*"])
        .args(dump_after.iter().map(|f| format!("--dump-after={f}")))
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .arg("--measure")
        .output()
        .map_err(|e| format!("cannot run valgrind (install it: apt-get install valgrind): {e}"))?;
    if !run.status.success() {
        return Err(format!("callgrind run failed: {}", String::from_utf8_lossy(&run.stderr)));
    }
    let mut counts = Vec::new();
    for (n, label) in String::from_utf8_lossy(&run.stdout).lines().enumerate() {
        let dump = std::fs::read_to_string(format!("{}.{}", out.display(), n + 1))
            .map_err(|e| format!("dump {}: {e}", n + 1))?;
        let total = dump
            .lines()
            .find_map(|l| l.strip_prefix("summary: ").or_else(|| l.strip_prefix("totals: ")))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .ok_or(format!("dump {} has no total", n + 1))?;
        counts.push((label.to_owned(), total));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(counts)
}
