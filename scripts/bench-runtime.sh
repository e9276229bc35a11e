#!/usr/bin/env bash
# Benchmark of the containerd runtime layer against `ctr run` on one private containerd, in the
# same run (needs root; builds the busybox image locally, talks to no registry).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked -p skiff-runtime -p skiff-tests --bins
exec target/release/runtime-bench
