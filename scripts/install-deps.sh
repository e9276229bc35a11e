#!/usr/bin/env bash
# Installs the Debian packages Skiff builds with and tests against. Idempotent.
set -euo pipefail

packages=(
  build-essential pkg-config protobuf-compiler   # toolchain pieces (containerd-client needs protoc)
  iproute2 nftables libnftables1                 # netlink tools for tests; libnftables for the bridge plugin
  containernetworking-plugins                    # reference bridge/host-local for interop and benchmarks
  iptables                                       # the reference bridge's ipMasq uses it
  procps                                         # sysctl, to read kernel state in tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
