#!/usr/bin/env bash
# Benchmark of skiff-proxy's nftables dataplane (1k and 10k services x 10 endpoints) against
# kube-proxy-shaped rulesets loaded with `nft -f` in the same run, each in a fresh network
# namespace. Sizes: SKIFF_BENCH_SIZES=1000,10000; anchor bound: SKIFF_BENCH_ANCHOR_TIMEOUT=900.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --locked -p skiff-tests --bin proxy-nft-bench
exec "$target/release/proxy-nft-bench"
