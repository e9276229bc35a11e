#!/usr/bin/env bash
# Benchmark of the API server on its embedded store, with the raw store's durable write rate
# measured in the same run as the limit. Talks only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo build --release --locked -p skiff-control-plane -p skiff-tests --bins
exec target/release/apiserver-bench
