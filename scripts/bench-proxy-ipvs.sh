#!/usr/bin/env bash
# Benchmark of skiff-proxy's IPVS dataplane (1k and 10k services x 10 real servers) against
# `ipvsadm -R` of the same rules, in the same VM (Debian's kernel under qemu), each in a fresh
# network namespace. Sizes: SKIFF_BENCH_SIZES=1000,10000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --vm-kernel
cargo build --release --locked -p skiff-tests --bin proxy-ipvs-bench
exec "${CARGO_TARGET_DIR:-target}/release/proxy-ipvs-bench"
