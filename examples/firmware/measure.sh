#!/usr/bin/env bash
# Code size and instruction counts of the firmware heap on thumbv7m-none-eabi (Cortex-M3), at
# opt-level 3 (this crate's release profile: fat LTO, one codegen unit), "s" and "z".
# Not part of run-check.sh: it prints figures, it checks nothing.
#
# Needs qemu-system-arm (Debian: qemu-system-arm), llvm-nm / llvm-objdump / llvm-size
# (Debian: llvm; override with NM=, OBJDUMP=, SIZE=) and python3.
#
# - examples/measure.rs: `#[inline(never)]` wrappers fw_alloc / fw_free (the heap of
#   src/main.rs) and fw_alloc_lean / fw_free_lean (same pools, stats and validation off), each
#   called once per case. Code size: the functions the wrappers reach (measure.py). Instruction
#   counts: the image runs under QEMU with one guest instruction per translation block and every
#   executed block logged (`-d exec,nochain`); per call, the instructions from the wrapper's
#   first instruction through its return (the caller's `bl` is not counted), and the longest
#   run with interrupts masked (`cpsid i` through the `msr primask` that restores them).
# - examples/size.rs: a minimal program with the heap as global allocator, against the same
#   program with a bump allocator (`--features baseline`): the difference in .text.
set -euo pipefail
cd "$(dirname "$0")"

TARGET=thumbv7m-none-eabi
OUT=target/measure
mkdir -p "$OUT"

source ../../scripts/qemu.sh # one_insn: the flag for one instruction per block

for level in 3 s z; do
    # opt-level 3 is the release profile itself; the others build in their own target dirs.
    dir=target
    [ "$level" != 3 ] && dir=target/opt-$level
    export CARGO_TARGET_DIR=$dir CARGO_PROFILE_RELEASE_OPT_LEVEL=$level
    for config in baseline checked lean; do
        features=()
        [ "$config" != checked ] && features=(--features "$config")
        cargo build -q --release --example size "${features[@]}"
        cp "$dir/$TARGET/release/examples/size" "$OUT/size-$config-$level"
    done
    cargo build -q --release --example measure
    cp "$dir/$TARGET/release/examples/measure" "$OUT/measure-$level"
    unset CARGO_TARGET_DIR CARGO_PROFILE_RELEASE_OPT_LEVEL

    qemu-system-arm -cpu cortex-m3 -machine lm3s6965evb -nographic \
        -semihosting-config enable=on,target=native "${one_insn[@]}" -d exec,nochain \
        -D "$OUT/trace-$level.log" -kernel "$OUT/measure-$level" >"$OUT/measure-$level.out" 2>/dev/null

    python3 measure.py codesize "$OUT" "$level"
    python3 measure.py icount "$OUT" "$level"
    echo
done
grep '^dwt:' "$OUT/measure-3.out"
