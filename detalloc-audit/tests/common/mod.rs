//! Fixture builders shared by the integration tests.

#![allow(dead_code)] // each test file uses a part

pub mod ratio;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

/// Fixtures built by this test binary (its tests run in parallel threads): built once each.
static BUILT: Mutex<Option<HashMap<String, Vec<u8>>>> = Mutex::new(None);

/// The bytes `build` produces for `key`, built once per test binary.
pub fn once(key: &str, build: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(bytes) = built.get(key) {
        return bytes.clone();
    }
    let bytes = build();
    built.insert(key.to_string(), bytes.clone());
    bytes
}

/// A directory of this test run's build products.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// A fixture file under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn rustc() -> Command {
    Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
}

/// Builds `tests/fixtures/known.rs` for `target` (a static executable with no runtime) and
/// returns the binary's bytes.
pub fn known(target: &str) -> Vec<u8> {
    once(&format!("known-{target}"), || build_known(target))
}

fn build_known(target: &str) -> Vec<u8> {
    let out = scratch("known").join(format!("known-{target}"));
    let mut rustc = rustc();
    rustc.args(["--edition", "2024", "--crate-type", "bin", "-C", "panic=abort"]);
    rustc.args(["-C", "opt-level=1", "--target", target, "-o"]).arg(&out);
    rustc.arg(fixture("known.rs"));
    if target.starts_with("x86_64") {
        // No C runtime: the fixture brings its own `_start`.
        for arg in ["-nostartfiles", "-nostdlib", "-static"] {
            rustc.arg("-C").arg(format!("link-arg={arg}"));
        }
        rustc.args(["-C", "relocation-model=static"]);
    }
    run(&mut rustc, &out)
}

/// Builds `tests/fixtures/pie.rs`, an ordinary x86_64 Linux program (PIE, full RELRO), and
/// returns its path.
pub fn pie() -> PathBuf {
    let out = scratch("pie").join("pie");
    once("pie", || {
        let mut rustc = rustc();
        rustc.args(["--edition", "2024", "-C", "opt-level=1", "-o"]);
        rustc.arg(&out).arg(fixture("pie.rs"));
        run(&mut rustc, &out)
    });
    out
}

fn run(command: &mut Command, out: &Path) -> Vec<u8> {
    let status = command.status().expect("the compiler runs");
    assert!(status.success(), "building {} failed", out.display());
    std::fs::read(out).expect("the fixture binary")
}

/// Builds the fixture crate `manifest` (under `tests/fixtures`) in release mode, for `target`
/// when given, into the scratch directory `dir`, and returns that directory. `cwd`: where to
/// run cargo (its `.cargo/config.toml` applies), by default here.
pub fn cargo_build(manifest: &str, dir: &str, target: Option<&str>) -> PathBuf {
    let target: Vec<&str> = target.map(|t| vec!["--target", t]).unwrap_or_default();
    cargo_build_in(&fixture(manifest), dir, &target, None)
}

/// As [`cargo_build`], for any manifest, with more arguments, run from `cwd`.
pub fn cargo_build_in(manifest: &Path, dir: &str, args: &[&str], cwd: Option<&Path>) -> PathBuf {
    cargo_build_env(manifest, dir, args, cwd, &[])
}

/// As [`cargo_build_in`], with environment variables set for cargo (e.g.
/// `CARGO_PROFILE_RELEASE_OPT_LEVEL`).
pub fn cargo_build_env(
    manifest: &Path,
    dir: &str,
    args: &[&str],
    cwd: Option<&Path>,
    envs: &[(&str, &str)],
) -> PathBuf {
    let out = scratch(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--release", "--manifest-path"]).arg(manifest);
    cmd.arg("--target-dir").arg(&out).args(args);
    if let Some(cwd) = cwd {
        cmd.current_dir(cwd);
    }
    cmd.envs(envs.iter().copied());
    let run = cmd
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("cargo runs");
    assert!(
        run.status.success(),
        "building {} failed:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    out
}
