#!/usr/bin/env bash
# Installs the Debian packages Skiff builds with and tests against. Idempotent.
# With --vm-kernel it also unpacks Debian's kernel for the VM test tier.
set -euo pipefail

packages=(
  build-essential pkg-config protobuf-compiler   # toolchain pieces (containerd-client needs protoc)
  iproute2 nftables libnftables1                 # netlink tools for tests; libnftables for the bridge plugin
  containernetworking-plugins                    # reference bridge/host-local for interop and benchmarks
  iptables                                       # the reference bridge's ipMasq uses it
  procps curl                                    # sysctl, to read kernel state in tests; health checks
  qemu-system-x86 busybox-static kmod binutils   # VM tier: TCG guest, its init, module order, strip
  containerd runc docker-registry                # containerd tier: private daemon, OCI runtime, loopback registry
  ipvsadm conntrack                              # proxy: the IPVS anchor in the VM tier, conntrack inspection
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

[ "${1:-}" = "--vm-kernel" ] || exit 0

# The VM tier boots Debian's kernel (with the bridge VLAN filtering and IPVS the host may lack)
# under qemu. Unpack the current linux-image package into a cache instead of installing a kernel
# on this machine, so tests themselves do no network I/O.
vm_cache=/var/cache/skiff-vm
kernel_pkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
pkg=$(kernel_pkg)
if [ -z "$pkg" ]; then
  apt-get update -qq
  pkg=$(kernel_pkg)
fi
[ -n "$pkg" ] || { echo "cannot resolve the package behind linux-image-amd64" >&2; exit 1; }
kver=${pkg#linux-image-}
if [ ! -f "$vm_cache/$kver/lib/modules/$kver/modules.dep" ]; then
  echo "== unpacking $pkg for the VM tier into $vm_cache"
  tmp=$(mktemp -d)
  download() { (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg"); }
  download || { apt-get update -qq && download; }
  rm -rf "${vm_cache:?}/$kver"
  mkdir -p "$vm_cache/$kver"
  dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"
  mv "$tmp/root/boot" "$tmp/root/lib" "$vm_cache/$kver/"
  rm -rf "$tmp"
  depmod -b "$vm_cache/$kver" "$kver"
fi
ln -sfn "$kver" "$vm_cache/current"
for old in "$vm_cache"/*; do
  [ -L "$old" ] || [ "$(basename "$old")" = "$kver" ] || rm -rf "$old"
done
