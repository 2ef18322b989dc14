//! `detalloc-c`: a C static library and its headers from a heap declaration, for a C team that
//! writes no Rust. See the README for the options, the link line and the pitfalls.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use detalloc_c::{HeapDecl, Library, header};

const USAGE: &str = "\
usage: detalloc-c [OPTIONS] --out DIR
       detalloc-c --header FILE

Builds lib<NAME>.a (the heaps and the det_* C API), detalloc.h and <NAME>_heaps.h into DIR.

options:
  --pools POOLS         one heap named det_heap, e.g. \"[16 x 64, 64 x 32]\"
  --heap NAME=POOLS     a heap named NAME (repeatable; C: DET_HEAP(NAME);)
  --sync MODE           critical_section (default), spin, lock_free
  --keys KEYS           more detalloc! keys for every heap, e.g. \"validate: true, spill: true\"
  --malloc NAME         route malloc, free, calloc, realloc, aligned_alloc (and newlib's _r
                        entry points) to heap NAME
  --freertos NAME       FreeRTOS's heap port (pvPortMalloc, vPortFree, ...) on heap NAME
  --target TRIPLE       the target (default: the host), e.g. thumbv7m-none-eabi
  --name NAME           the library's name: lib<NAME>.a (default detalloc_c)
  --opt-level LEVEL     the release opt-level (default s)
  --out DIR             where the archive and headers go
  --header FILE         only write detalloc.h to FILE";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("detalloc-c: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut library = Library {
        heaps: Vec::new(),
        sync: "critical_section".into(),
        keys: String::new(),
        malloc: None,
        freertos: None,
        target: None,
        name: "detalloc_c".into(),
        opt_level: "s".into(),
    };
    let mut out = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value\n\n{USAGE}"));
        match arg.as_str() {
            "--pools" => library.heaps.push(HeapDecl { name: "det_heap".into(), pools: value()? }),
            "--heap" => {
                let spec = value()?;
                let (name, pools) = spec
                    .split_once('=')
                    .ok_or_else(|| format!("--heap {spec}: expected NAME=POOLS"))?;
                library
                    .heaps
                    .push(HeapDecl { name: name.trim().into(), pools: pools.trim().into() });
            }
            "--sync" => library.sync = value()?,
            "--keys" => library.keys = value()?,
            "--malloc" => library.malloc = Some(value()?),
            "--freertos" => library.freertos = Some(value()?),
            "--target" => library.target = Some(value()?),
            "--name" => library.name = value()?,
            "--opt-level" => library.opt_level = value()?,
            "--out" => out = Some(PathBuf::from(value()?)),
            "--header" => {
                let file = value()?;
                return std::fs::write(&file, header()).map_err(|e| format!("{file}: {e}"));
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    let out = out.ok_or_else(|| format!("--out DIR is required\n\n{USAGE}"))?;
    build(&library, &out)
}

/// detalloc for the generated crate: this workspace's, when the tool runs from it, else the
/// published version.
fn detalloc_dependency() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../detalloc");
    match path.canonicalize() {
        Ok(path) if path.join("Cargo.toml").is_file() => {
            format!("path = {:?}", path.display().to_string())
        }
        _ => format!("version = \"={}\"", env!("CARGO_PKG_VERSION")),
    }
}

fn build(library: &Library, out: &Path) -> Result<(), String> {
    let (toml, lib) = library.crate_files(&detalloc_dependency())?;
    let dir = out.join("crate");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Absolute: cargo runs in `dir`, and the target directory is named from there too.
    let dir = dir.canonicalize().map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        // Unchanged files keep their times, so cargo does not rebuild for nothing.
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text) {
            return Ok(());
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("Cargo.toml", &toml)?;
    write("lib.rs", &lib)?;

    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(&dir).args(["rustc", "--quiet", "--release", "--lib"]);
    if let Some(target) = &library.target {
        cargo.args(["--target", target]);
    }
    cargo.env("CARGO_TARGET_DIR", dir.join("target"));
    // The caller's RUSTFLAGS are for its own build, not this library's.
    cargo.env_remove("RUSTFLAGS").env_remove("CARGO_ENCODED_RUSTFLAGS");
    cargo.args(["--", "--print", "native-static-libs"]);
    let output = cargo.output().map_err(|e| format!("cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("building the library failed:\n{stderr}"));
    }
    let native = stderr
        .lines()
        .find_map(|line| line.split_once("native-static-libs:").map(|(_, libs)| libs.trim()))
        .unwrap_or("")
        .to_string();

    let profile_dir = match &library.target {
        Some(target) => dir.join("target").join(target).join("release"),
        None => dir.join("target").join("release"),
    };
    let archive = format!("lib{}.a", library.name);
    std::fs::copy(profile_dir.join(&archive), out.join(&archive))
        .map_err(|e| format!("{archive}: {e}"))?;
    std::fs::write(out.join("detalloc.h"), header()).map_err(|e| format!("detalloc.h: {e}"))?;
    let heaps_h = format!("{}_heaps.h", library.name);
    std::fs::write(out.join(&heaps_h), library.heaps_header())
        .map_err(|e| format!("{heaps_h}: {e}"))?;

    println!("{}/{archive}", out.display());
    println!("{}/detalloc.h", out.display());
    println!("{}/{heaps_h}", out.display());
    println!("link: cc ... -I{dir} {dir}/{archive} {native}", dir = out.display());
    Ok(())
}
