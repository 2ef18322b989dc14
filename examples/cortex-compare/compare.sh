#!/usr/bin/env bash
# The Cortex-M comparison tables of docs/measurements.md ("On a Cortex-M3"): detalloc's sync modes
# against heapless's pool, rlsf, talc, linked_list_allocator and embedded-alloc's two heaps, on
# QEMU's LM3S6965 (Cortex-M3, thumbv7m), one command:
#
#     examples/cortex-compare/compare.sh          # prints the Markdown tables
#     examples/cortex-compare/compare.sh --check docs/measurements.md
#                                                 # and fails unless every line of them is in
#                                                 # that file (the pasted tables are current)
#
# For each configuration (thumbv7m at opt-level 3 and "s", thumbv7em at opt-level 3; fat LTO,
# one codegen unit): builds src/main.rs, runs it under QEMU with one guest instruction per
# translation block and every executed block logged (`-d exec,nochain`, streamed through a
# FIFO into `compare.py scan`, so no trace file is written), audits the 28 wrappers with
# detalloc-audit (built for the host from the main workspace), then `compare.py report` prints
# the tables (also written to target/compare/table.md). Fails when the image fails, a label
# does not pair with its call, a call exceeds its wrapper's static bound, or a detalloc count
# depends on more than the pool and the path (compare.py's docstring).
#
# Needs qemu-system-arm (Debian: qemu-system-arm), llvm-nm / llvm-objdump (Debian: llvm;
# override with NM=, OBJDUMP=), python3, and the targets thumbv7m-none-eabi and
# thumbv7em-none-eabihf of the pinned toolchain. About 25 s once built; under two minutes with
# this crate's target directory empty (three firmware builds), plus the audit tool's build if
# the main workspace has none.
set -euo pipefail
check=
if [ "${1:-}" = --check ]; then
    check=$(realpath "${2:?--check needs a file}")
elif [ $# -gt 0 ]; then
    echo "usage: $0 [--check FILE]" >&2
    exit 2
fi
cd "$(dirname "$0")"
HERE=$PWD
ROOT=$(cd ../.. && pwd)
OUT=target/compare
mkdir -p "$OUT"

for tool in qemu-system-arm "${NM:-llvm-nm}" "${OBJDUMP:-llvm-objdump}" python3; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool not found" >&2; exit 1; }
done
source "$ROOT/scripts/qemu.sh" # one_insn: the flag for one instruction per block

# The audit tool runs on the host: run from the main workspace's directory, whose
# configuration does not cross-compile (this crate's .cargo/config.toml would).
audit() { (cd "$ROOT" && cargo run -q --release -p detalloc-audit -- "$@"); }
symbols=()
for name in $(python3 -c 'import compare; print(" ".join(compare.wrappers()))'); do
    symbols+=(--symbol "$name")
done

# key, target, QEMU core, opt-level
configs=(
    "v7m-3 thumbv7m-none-eabi cortex-m3 3"
    "v7m-s thumbv7m-none-eabi cortex-m3 s"
    "v7em-3 thumbv7em-none-eabihf cortex-m4 3"
)
keys=()
for config in "${configs[@]}"; do
    read -r key target cpu level <<<"$config"
    keys+=("$key")
    # opt-level 3 on thumbv7m is the release profile itself (target/, as `cargo build
    # --release`); the others build in their own target directories.
    dir=target
    [ "$key" != v7m-3 ] && dir=target/opt-$level
    CARGO_TARGET_DIR=$dir CARGO_PROFILE_RELEASE_OPT_LEVEL=$level \
        cargo build -q --release --target "$target"
    cp "$dir/$target/release/detalloc-cortex-compare" "$OUT/image-$key"

    fifo=$OUT/trace-$key.fifo
    rm -f "$fifo"
    mkfifo "$fifo"
    python3 compare.py scan "$OUT/image-$key" "$fifo" "$OUT/calls-$key.tsv" &
    scan=$!
    status=0
    timeout 300 qemu-system-arm -cpu "$cpu" -machine lm3s6965evb -nographic \
        -semihosting-config enable=on,target=native "${one_insn[@]}" -d exec,nochain \
        -D "$fifo" -kernel "$OUT/image-$key" >"$OUT/run-$key.txt" 2>"$OUT/qemu-$key.err" || status=$?
    if [ "$status" -ne 0 ] || [ "$(tail -n 1 "$OUT/run-$key.txt")" != done ]; then
        # (A QEMU that never opened the FIFO leaves the scan waiting for a writer.)
        kill "$scan" 2>/dev/null || true
        echo "compare.sh: $key: the image failed (QEMU status $status):" >&2
        tail -n 5 "$OUT/run-$key.txt" "$OUT/qemu-$key.err" >&2
        exit 1
    fi
    wait "$scan" || { echo "compare.sh: $key: the trace scan failed" >&2; exit 1; }
    rm -f "$fifo"
    audit "$HERE/$OUT/image-$key" --summary "${symbols[@]}" >"$OUT/audit-$key.md"
done

python3 compare.py report "$OUT" "${keys[@]}" | tee "$OUT/table.md"

if [ -n "$check" ]; then
    stale=0
    while IFS= read -r line; do
        [ -z "$line" ] && continue
        if ! grep -qxF -- "$line" "$check"; then
            [ "$stale" -eq 0 ] && echo "compare.sh: not in $check (paste $OUT/table.md):" >&2
            echo "    $line" >&2
            stale=1
        fi
    done <"$OUT/table.md"
    [ "$stale" -eq 0 ] || exit 1
    echo "compare.sh: every line of the table is in $check"
fi
