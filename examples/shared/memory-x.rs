//! The build script of every firmware crate (`package.build` in its Cargo.toml points here):
//! puts the crate's own `memory.x` on the linker search path (cortex-m-rt's `link.x` includes
//! it). Cargo runs it in the crate's directory, and again when this file or `memory.x` changes.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
}
