#!/usr/bin/env bash
# Benchmark of the CNI plugins against the reference bridge + host-local (same run, same machine).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked -p skiff-cni -p skiff-tests --bins
exec target/release/cni-bench
