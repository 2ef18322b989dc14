#!/usr/bin/env bash
# The RTIC example's check: runs src/main.rs (an RTIC 2 app whose tasks allocate from a detalloc
# global allocator) under QEMU and compares its stdout with the expected file of its sync mode:
# expected.txt (`sync: lock_free`, the default) or expected-critical-section.txt (`--features
# critical-section-heap`). Installs nothing; needs `qemu-system-arm` (Debian: `apt-get install
# -y qemu-system-arm`) and the targets thumbv6m-none-eabi and thumbv7m-none-eabi of the pinned
# toolchain. About half a minute once built.
#
# - format and clippy (-D warnings), both sync modes, on thumbv7m;
# - both sync modes on thumbv7m-none-eabi (QEMU's Cortex-M3 LM3S6965, via `cargo run`), at the
#   release profile's opt-level and at opt-level "s" (the M4's thumbv7em has the same exclusive
#   accesses and is left to the other firmware checks, for CI time); `sync: critical_section`
#   only on thumbv6m-none-eabi (Cortex-M0: no LDREX/STREX, so no `lock_free`);
# - each image again with one guest instruction per translation block: QEMU takes interrupts
#   only between blocks, so only there can a tick start the producer inside one of the
#   consumer's pool updates (a heap with no synchronisation at all passes the default runs and
#   fails these: a damaged stamp or a wrong count).
set -euo pipefail
cd "$(dirname "$0")"

# `one_insn`: QEMU's flag for one instruction per translation block (and the qemu check).
source ../../scripts/qemu.sh

step() { printf '\n--> rtic: %s\n' "$*"; }

# check NAME TARGET CPU EXPECTED [CARGO ARGS...]: builds, then runs the image under QEMU as it
# is (`cargo run`) and with one instruction per block. Each run must exit with status 0 within
# 60 s and print EXPECTED on stdout; its stderr figures (tick count, preemptions) are shown.
check() {
    local name=$1 target=$2 cpu=$3 expected=$4
    shift 4
    cargo build -q --release --target "$target" "$@" # outside the time limit of the runs
    local run status out err
    for run in "$name" "$name, one insn per block"; do
        out=target/check/${run//[ ,]/_}.stdout err=target/check/${run//[ ,]/_}.stderr status=0
        mkdir -p target/check
        if [ "$run" = "$name" ]; then
            timeout 60 cargo run -q --release --target "$target" "$@" >"$out" 2>"$err" || status=$?
        else
            timeout 60 qemu-system-arm -cpu "$cpu" -machine lm3s6965evb -nographic \
                -semihosting-config enable=on,target=native "${one_insn[@]}" \
                -kernel "target/$target/release/detalloc-rtic" >"$out" 2>"$err" || status=$?
        fi
        if [ "$status" -ne 0 ]; then
            echo "$run: the firmware exited with status $status" >&2
            cat "$out" "$err" >&2
            exit 1
        fi
        if ! diff -u "$expected" "$out"; then
            echo "$run: the output differs from $expected (above)" >&2
            exit 1
        fi
        printf '%-52s %s\n' "$run:" "$(grep -h '^ticks: ' "$err")"
    done
}

step "format, clippy"
cargo fmt --check
cargo clippy -q --release -- -D warnings
cargo clippy -q --release --features critical-section-heap -- -D warnings

cs=(--features critical-section-heap)
step "QEMU: stdout against expected*.txt; stderr: host-speed dependent figures"
check "thumbv7m lock_free" thumbv7m-none-eabi cortex-m3 expected.txt
check "thumbv7m critical_section" thumbv7m-none-eabi cortex-m3 expected-critical-section.txt "${cs[@]}"
export CARGO_PROFILE_RELEASE_OPT_LEVEL=s
check "thumbv7m lock_free opt-s" thumbv7m-none-eabi cortex-m3 expected.txt
check "thumbv7m critical_section opt-s" thumbv7m-none-eabi cortex-m3 expected-critical-section.txt "${cs[@]}"
unset CARGO_PROFILE_RELEASE_OPT_LEVEL
check "thumbv6m critical_section" thumbv6m-none-eabi cortex-m0 expected-critical-section.txt "${cs[@]}"

step "ok"
