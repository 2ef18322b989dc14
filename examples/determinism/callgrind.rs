//! Runs this binary under callgrind with one dump after every measured call, and reads the
//! count of each call back.
//!
//! Collection is on only inside the `measured_*` and `audit_*` wrappers (`--toggle-collect`),
//! from a wrapper's first instruction to its return, as in `detalloc/benches/instructions.rs`
//! and the static audit's ratio test. The dump is triggered after `probe`, the one function every
//! measured call goes through (`--dump-after` takes one exact name, and a dump after a
//! wrapper that ends in a tail jump would be missed): the n-th dump is the n-th call.
//! `--combine-dumps` appends them all to one file.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Command;

/// The host's `critical-section` implementation (a std mutex): its inclusive cost is kept
/// apart, as the static audit assumes it at 0 (`--assume`) and its ratio test subtracts it.
pub const HOST_SECTION: [&str; 2] =
    ["_critical_section_1_0_acquire", "_critical_section_1_0_release"];

/// One measured call.
#[derive(Debug, Clone, Copy)]
pub struct Counted {
    /// Every instruction executed inside the wrapper, including the call's return.
    pub total: u64,
    /// Of those, the ones inside the host critical-section implementation.
    pub host_section: u64,
}

/// Runs `exe --measure` under callgrind in `dir`; returns its standard output and one count per
/// dump, in order.
pub fn run(exe: &Path, dir: &Path) -> Result<(String, Vec<Counted>), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = dir.join("callgrind.out");
    let _ = std::fs::remove_file(&out);
    let run = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-atstart=no", "--toggle-collect=measured_*"])
        .arg("--toggle-collect=audit_*")
        .args(["--dump-after=probe", "--combine-dumps=yes"])
        .args(["--compress-strings=no", "--compress-pos=no"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(exe)
        .arg("--measure")
        .output()
        .map_err(|e| format!("cannot run valgrind (apt-get install valgrind): {e}"))?;
    if !run.status.success() {
        return Err(format!("callgrind run failed: {}", String::from_utf8_lossy(&run.stderr)));
    }
    let counts = read_dumps(&out)?;
    let _ = std::fs::remove_file(&out);
    Ok((String::from_utf8_lossy(&run.stdout).into_owned(), counts))
}

/// Reads every part of a combined callgrind file that `--dump-after=probe` triggered.
fn read_dumps(path: &Path) -> Result<Vec<Counted>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = BufReader::new(file).lines().map_while(Result::ok);
    let mut counts = Vec::new();
    let (mut after_probe, mut host_section) = (false, 0u64);
    while let Some(line) = lines.next() {
        if line.starts_with("part:") {
            (after_probe, host_section) = (false, 0);
        } else if let Some(trigger) = line.strip_prefix("desc: Trigger: ") {
            after_probe = trigger.trim() == "--dump-after=probe";
        } else if let Some(callee) = line.strip_prefix("cfn=") {
            if HOST_SECTION.contains(&callee.trim()) {
                // `calls=N POS`, then `POS INCLUSIVE-COST`.
                let _calls = lines.next();
                let cost =
                    lines.next().and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
                host_section += cost.ok_or("a call's inclusive cost")?;
            }
        } else if let Some(total) = line.strip_prefix("totals: ") {
            let total: u64 = total
                .split_whitespace()
                .next()
                .and_then(|t| t.parse().ok())
                .ok_or(format!("a total: {line}"))?;
            if after_probe {
                counts.push(Counted { total, host_section });
            } else if total != 0 {
                return Err(format!("{total} instructions counted outside a measured call"));
            }
        }
    }
    Ok(counts)
}
