#!/usr/bin/env bash
# Runs Skiff's whole test suite on a Debian 12 machine as root: installs what the tests need,
# builds, checks formatting and lints, and runs every tier (unit, then the privileged ones).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test.sh must run as root: the privileged tiers create network namespaces, bridges and nftables rules" >&2
  exit 1
fi

scripts/install-deps.sh --vm-kernel
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || { echo "no Rust toolchain on PATH (install one with rustup)" >&2; exit 1; }

export CARGO_TERM_COLOR=never
echo "== build"
cargo build --workspace --all-targets --locked
echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== all tiers (unit, netns, interop)"
# --include-ignored runs the privileged tests too; each fails loudly when a precondition is missing.
cargo test --workspace --locked -- --include-ignored
