#!/usr/bin/env bash
# Regenerates the determinism picture (README and docs/measurements.md): docs/determinism.svg, the bands it plots
# (docs/determinism.csv) and the worst-call table (docs/determinism-worst.csv), all measured:
# every alloc and free counted by callgrind (valgrind must be installed), the static bounds
# read by detalloc-audit from the measured wrappers and from examples/audit_targets.rs. Fails if a
# detalloc count changes with the fill or any call exceeds its wrapper's static bound. About 40 s
# on 2 cores once built.
#
#   scripts/determinism.sh [OUT_DIR]    (default: docs; CI passes a scratch directory)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build -q -p detalloc-audit  # the debug build CI already has (`cargo run -p detalloc-audit`)
cargo build -q --release -p detalloc-examples --example audit_targets --example determinism
"$target/release/examples/determinism" \
    --audit-tool "$target/debug/detalloc-audit" \
    --audit-targets "$target/release/examples/audit_targets" \
    --out "${1:-docs}"
