#!/usr/bin/env bash
# Regenerates the determinism picture of the README: docs/determinism.svg, the bands it plots
# (docs/determinism.csv) and the worst-call table (docs/determinism-worst.csv), all measured:
# every alloc and free counted by callgrind (valgrind must be installed), the static bounds
# read by detalloc-audit from examples/audit_targets.rs. A few minutes on 2 cores.
#
#   scripts/determinism.sh [OUT_DIR]    (default: docs)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build -q --release -p detalloc-audit
cargo build -q --release -p detalloc-examples --example audit_targets --example determinism
"$target/release/examples/determinism" \
    --audit-tool "$target/release/detalloc-audit" \
    --audit-targets "$target/release/examples/audit_targets" \
    --out "${1:-docs}"
