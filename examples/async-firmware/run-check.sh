#!/usr/bin/env bash
# The async firmware example's check: runs src/main.rs (embassy-executor tasks waiting on an
# exhausted pool, SysTick freeing the blocks) under QEMU and compares its output with
# expected.txt. Installs nothing; needs `qemu-system-arm` (Debian: `apt-get install -y
# qemu-system-arm`) and the targets thumbv6m-none-eabi, thumbv7m-none-eabi,
# thumbv7em-none-eabihf of the pinned toolchain. A few seconds per run once built.
#
# - format and clippy (-D warnings) on thumbv7m;
# - `cargo run --release` (thumbv7m-none-eabi on QEMU's Cortex-M3 LM3S6965): exit status 0 and
#   stdout identical to expected.txt;
# - the same source for thumbv6m-none-eabi and thumbv7em-none-eabihf, on the same board with
#   QEMU's Cortex-M0 and Cortex-M4 cores, same checks;
# - each image again with one guest instruction per translation block, so that a tick can
#   land between any two instructions of a task (QEMU otherwise takes interrupts only between
#   blocks).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v qemu-system-arm >/dev/null; then
    echo "qemu-system-arm not found: apt-get install -y qemu-system-arm" >&2
    exit 1
fi
# One instruction per block: `-singlestep` until QEMU 8.0, `one-insn-per-tb` from 8.1.
qemu_version=$(qemu-system-arm --version | sed -n 's/^QEMU emulator version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r qemu_major qemu_minor <<<"$qemu_version"
if [ "$qemu_major" -gt 8 ] || { [ "$qemu_major" -eq 8 ] && [ "$qemu_minor" -ge 1 ]; }; then
    one_insn=(-accel tcg,one-insn-per-tb=on)
else
    one_insn=(-singlestep)
fi

step() { printf '\n--> async-firmware: %s\n' "$*"; }

# Runs a command (with a time limit: a firmware whose waiter is never woken still ticks, and
# panics after 20 000 ticks, about 2 s; the limit catches anything worse), then checks its exit
# status and compares its stdout with expected.txt. Prints the stderr line with the tick
# counts and the executor's poll order (host-speed dependent, not compared).
check_run() { # name, command...
    local name=$1; shift
    local out=target/check/$name.stdout err=target/check/$name.stderr status=0
    timeout 60 "$@" >"$out" 2>"$err" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$name: the firmware exited with status $status" >&2
        cat "$out" "$err" >&2
        exit 1
    fi
    if ! diff -u expected.txt "$out"; then
        echo "$name: the output differs from expected.txt (above)" >&2
        exit 1
    fi
    printf '%s: %s\n' "$name" "$(grep -h '^ticks: ' "$err" || echo 'no tick count on stderr')"
}

step "format, clippy"
cargo fmt --check
cargo clippy -q --release -- -D warnings

mkdir -p target/check
for target_cpu in thumbv7m-none-eabi:cortex-m3 thumbv6m-none-eabi:cortex-m0 \
    thumbv7em-none-eabihf:cortex-m4; do
    target=${target_cpu%%:*} cpu=${target_cpu##*:}
    cargo build -q --release --target "$target" # outside the time limit of the runs
    if [ "$target" = thumbv7m-none-eabi ]; then
        step "cargo run --release (QEMU $cpu)"
        check_run "$target" cargo run -q --release
    else
        step "cargo run --release --target $target (QEMU $cpu)"
        check_run "$target" cargo run -q --release --target "$target"
    fi
    check_run "$target-one-insn-per-block" qemu-system-arm -cpu "$cpu" -machine lm3s6965evb \
        -nographic -semihosting-config enable=on,target=native "${one_insn[@]}" \
        -kernel "target/$target/release/detalloc-async-firmware"
done

step "ok"
