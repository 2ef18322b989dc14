# Shell helpers for the QEMU firmware checks (sourced, not run): `source scripts/qemu.sh`.
#
# - `one_insn`: the QEMU flags for one guest instruction per translation block (`-singlestep`
#   until QEMU 8.0, `-accel tcg,one-insn-per-tb=on` from 8.1): QEMU takes interrupts only
#   between blocks, so only there can an interrupt land between any two instructions.
# - `check_run LIMIT NAME COMMAND...`: runs COMMAND with a time limit of LIMIT seconds (a hung
#   firmware keeps QEMU running), fails unless it exits with status 0 and its stdout equals
#   `CHECK_RUN_EXPECTED` (default: expected.txt), and prints the stderr lines matching
#   `CHECK_RUN_STDERR` (a regex, default: none) next to NAME: the host-speed-dependent figures
#   that are not compared. The run's stdout and stderr stay in target/check/NAME.{stdout,stderr}.
# - `step TEXT`: a heading, `--> CHECK: TEXT` (CHECK: the example's name, set by the script).
# - `lint [CLIPPY ARGS...]`: the crate's format check and its clippy (release, `-D warnings`).

if ! command -v qemu-system-arm >/dev/null; then
    echo "qemu-system-arm not found: apt-get install -y qemu-system-arm" >&2
    exit 1
fi

qemu_version=$(qemu-system-arm --version | sed -n 's/^QEMU emulator version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
read -r qemu_major qemu_minor <<<"$qemu_version"
if [ "$qemu_major" -gt 8 ] || { [ "$qemu_major" -eq 8 ] && [ "$qemu_minor" -ge 1 ]; }; then
    one_insn=(-accel tcg,one-insn-per-tb=on)
else
    one_insn=(-singlestep)
fi

check_run() { # limit, name, command...
    local limit=$1 name=$2; shift 2
    mkdir -p target/check
    local out=target/check/$name.stdout err=target/check/$name.stderr status=0
    timeout "$limit" "$@" >"$out" 2>"$err" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "$name: the firmware exited with status $status" >&2
        cat "$out" "$err" >&2
        exit 1
    fi
    local expected=${CHECK_RUN_EXPECTED:-expected.txt}
    if ! diff -u "$expected" "$out"; then
        echo "$name: the output differs from $expected (above)" >&2
        exit 1
    fi
    local shown
    shown=$(grep -hE "${CHECK_RUN_STDERR:-^$^}" "$err" || true)
    if [ -n "$shown" ]; then sed "s/^/$name: /" <<<"$shown"; else echo "$name: ok"; fi
}

step() { printf '\n--> %s: %s\n' "${CHECK:?the script names itself in CHECK}" "$*"; }

lint() { # clippy args...
    step "format, clippy"
    cargo fmt --check
    cargo clippy -q --release "$@" -- -D warnings
}

# `check_cores LIMIT BINARY`: the crate's binary on QEMU's LM3S6965 with a Cortex-M3
# (thumbv7m, `cargo run`), a Cortex-M0 (thumbv6m) and a Cortex-M4 (thumbv7em), each run as it
# is and with one instruction per block, each checked by `check_run`.
check_cores() { # limit, binary
    local limit=$1 binary=$2 target cpu
    for target_cpu in thumbv7m-none-eabi:cortex-m3 thumbv6m-none-eabi:cortex-m0 \
        thumbv7em-none-eabihf:cortex-m4; do
        target=${target_cpu%%:*} cpu=${target_cpu##*:}
        cargo build -q --release --target "$target" # outside the time limit of the runs
        printf '\n--> %s on QEMU %s\n' "$target" "$cpu"
        check_run "$limit" "$target" cargo run -q --release --target "$target"
        check_run "$limit" "$target-one-insn-per-block" qemu-system-arm -cpu "$cpu" \
            -machine lm3s6965evb -nographic -semihosting-config enable=on,target=native \
            "${one_insn[@]}" -kernel "target/$target/release/$binary"
    done
}
