//! `detalloc-suggest [--pools N] [--budget BYTES] [--margin M] [--spill] [--leave-one-out]
//! [--sync MODE] [--name NAME] [--no-global] RECORDING...`: the suggestion for recordings saved by `Recorder::save`.

use std::process::ExitCode;

use detalloc_suggest::{HeldOut, Options, Recording, leave_one_out, suggest};

const USAGE: &str = "\
usage: detalloc-suggest [OPTIONS] RECORDING...

Prints the detalloc heap declaration that serves every recorded run in the fewest bytes.

options:
  --pools N        at most N pools (default 8)
  --budget BYTES   fail when the best heap needs more bytes of blocks
  --margin M       blocks on top of each pool's largest recorded peak: 10%, +2, 10%+2, none
                   (with --spill, +B is B spare blocks in one pool, not one per pool)
  --spill          size a `spill: true` heap: sizes by the lower bound, counts by replay
  --leave-one-out  also size on all runs but one and replay the one left out, for each run
  --sync MODE      auto (default), local, spin, critical_section, lock_free
  --name NAME      the heap type's name (default SizedHeap)
  --global NAME    the #[global_allocator] static's name (default HEAP)
  --no-global      declare the type only";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("detalloc-suggest: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<String, String> {
    let mut options = Options::new(8);
    let mut files = Vec::new();
    let mut held_out = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--pools" => options.pools = parse(&value("--pools")?)?,
            "--budget" => options.budget = Some(parse(&value("--budget")?)?),
            "--margin" => options.margin = value("--margin")?.parse()?,
            "--sync" => options.sync = value("--sync")?.parse()?,
            "--name" => options.name = value("--name")?,
            "--global" => options.global = Some(value("--global")?),
            "--no-global" => options.global = None,
            "--spill" => options.spill = true,
            "--leave-one-out" => held_out = true,
            "-h" | "--help" => return Ok(format!("{USAGE}\n")),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n{USAGE}"));
            }
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        return Err(format!("no recording given\n{USAGE}"));
    }
    let runs = files
        .iter()
        .map(|file| Recording::load(file).map_err(|e| format!("{file}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut text = suggest(&runs, &options).map_err(|e| e.to_string())?.to_string();
    if held_out {
        let results = leave_one_out(&runs, &options).map_err(|e| e.to_string())?;
        text.push_str(&held_out_table(&results, &files));
    }
    Ok(text)
}

/// The leave-one-run-out results as comments: per run, the heap sized on the others and
/// whether the run passes on it under each free policy.
fn held_out_table(results: &[HeldOut], files: &[String]) -> String {
    let passed = results.iter().filter(|h| h.passed()).count();
    let mut text = format!(
        "// Leave one run out: {passed} of {} held-out runs pass under every free policy.\n",
        results.len()
    );
    for held in results {
        let verdicts: Vec<String> = held
            .replays
            .iter()
            .map(|(policy, replay)| match replay.failure {
                None => format!("{} ok", policy.name()),
                Some(f) => format!(
                    "{} FAILS at event {} ({} B, pool {})",
                    policy.name(),
                    f.event,
                    f.layout.size(),
                    f.pool.map_or("none".to_owned(), |p| p.to_string())
                ),
            })
            .collect();
        text.push_str(&format!(
            "//   {} left out: heap of {} B from the others; {}\n",
            files[held.run],
            held.bytes(),
            verdicts.join(", ")
        ));
    }
    text
}

fn parse<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("`{text}` is not a number"))
}
