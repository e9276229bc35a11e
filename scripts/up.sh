#!/usr/bin/env bash
# Brings Skiff up on this machine (Debian 12, root) as far as it goes today: builds and
# installs the CNI plugins, writes the node's network configuration with k3s's defaults, and
# runs the plugins' main job: two pods (network namespaces made here) are attached to the pod
# network, talk to each other, and are detached again.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "scripts/up.sh must run as root" >&2; exit 1; }
scripts/install-deps.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

echo "== building (release)"
cargo build --release --locked -p skiff-cni --bins

echo "== installing skiff-bridge, skiff-host-local, skiff-cni"
install -d /opt/cni/bin /etc/cni/net.d
install -m 0755 target/release/skiff-bridge target/release/skiff-host-local /opt/cni/bin/
install -m 0755 target/release/skiff-cni /usr/local/bin/
conf=/etc/cni/net.d/10-skiff.conflist
if [ ! -e "$conf" ]; then
  cat > "$conf" <<'JSON'
{
  "cniVersion": "1.0.0",
  "cniVersions": ["1.0.0", "1.1.0"],
  "name": "skiff",
  "plugins": [{
    "type": "skiff-bridge",
    "bridge": "cni0",
    "isDefaultGateway": true,
    "ipMasq": true,
    "hairpinMode": true,
    "ipam": { "type": "skiff-host-local", "ranges": [[{ "subnet": "10.42.0.0/24" }]] }
  }]
}
JSON
  echo "wrote $conf"
else
  echo "keeping the existing $conf"
fi

echo "== attaching two demo pods"
pods=(skiff-demo-a skiff-demo-b)
cleanup() {
  for p in "${pods[@]}"; do
    skiff-cni del "/run/netns/$p" --id "$p" >/dev/null 2>&1 || true
    ip netns delete "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
declare -A ip
for p in "${pods[@]}"; do
  ip netns add "$p"
  ip -n "$p" link set lo up
  result=$(skiff-cni add "/run/netns/$p" --id "$p")
  ip[$p]=$(printf '%s' "$result" | sed -n 's/.*"address":"\([0-9.]*\)\/.*/\1/p')
  echo "$p: ${ip[$p]}"
done

echo "== ${pods[0]} -> ${pods[1]} over the bridge"
ip netns exec "${pods[1]}" busybox nc -l -p 8080 -e echo "hello from ${pods[1]}" &
listener=$!
sleep 0.5
reply=$(ip netns exec "${pods[0]}" busybox nc -w 3 "${ip[${pods[1]}]}" 8080 </dev/null)
wait "$listener" || true
echo "${pods[0]} got: $reply"
[ "$reply" = "hello from ${pods[1]}" ] || { echo "pod-to-pod traffic failed" >&2; exit 1; }

echo "== detaching"
cleanup
trap - EXIT
echo
echo "Skiff's CNI plugins are installed in /opt/cni/bin and configured in $conf;"
echo "containerd's CRI plugin (or any CNI runtime) can use them now."
echo "The kubelet, service proxy and control plane are not implemented yet."
