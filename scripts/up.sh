#!/usr/bin/env bash
# Brings Skiff up on this machine (Debian 12, root) as far as it goes today: builds and
# installs the CNI plugins, the control plane and the service proxy, writes the node's network
# configuration with k3s's defaults, starts `skiff-control-plane` on its embedded store and
# `skiff-proxy` against it (systemd units when systemd runs the machine, background processes
# otherwise) and drives them with kubectl, then runs the main job: two pods (network namespaces
# made here) are attached to the pod network, talk to each other directly and through a Service
# the proxy programs, and are detached again.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "scripts/up.sh must run as root" >&2; exit 1; }
scripts/install-deps.sh
[ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"

echo "== building (release)"
cargo build --release --locked -p skiff-cni -p skiff-control-plane -p skiff-proxy --bins

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

echo "== starting the control plane (embedded store, /var/lib/skiff/server, :6443)"
install -m 0755 target/release/skiff-control-plane /usr/local/bin/
data=/var/lib/skiff/server
install -d -m 0700 "$data"
cat > /etc/systemd/system/skiff-control-plane.service 2>/dev/null <<'UNIT' || true
[Unit]
Description=Skiff control plane (Kubernetes API server)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/skiff-control-plane --data-dir /var/lib/skiff/server
Restart=always
RestartSec=2
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
UNIT
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable skiff-control-plane >/dev/null 2>&1
  systemctl restart skiff-control-plane
else
  # No systemd here: run it in the background, replacing one this script started before.
  if [ -s /run/skiff-control-plane.pid ]; then
    kill "$(cat /run/skiff-control-plane.pid)" 2>/dev/null || true
    sleep 1
  fi
  nohup /usr/local/bin/skiff-control-plane --data-dir "$data" >>/var/log/skiff-control-plane.log 2>&1 &
  echo $! > /run/skiff-control-plane.pid
  echo "(no systemd: started in the background, pid $(cat /run/skiff-control-plane.pid), log /var/log/skiff-control-plane.log)"
fi
export KUBECONFIG="$data/admin.kubeconfig"
kubectl=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
[ -x "$kubectl" ] || kubectl=$(command -v kubectl || true)
[ -n "$kubectl" ] || { echo "kubectl is not installed; the control plane runs, use any kubectl 1.27-1.33 with $KUBECONFIG" >&2; exit 1; }
for _ in $(seq 1 100); do
  [ -s "$KUBECONFIG" ] && [ "$("$kubectl" get --raw /readyz 2>/dev/null)" = ok ] && break
  sleep 0.2
done
[ "$("$kubectl" get --raw /readyz 2>/dev/null)" = ok ] || { echo "the control plane did not become ready" >&2; exit 1; }
"$kubectl" get namespaces
"$kubectl" apply -f - <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: skiff-demo, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: skiff-demo}}
  template:
    metadata: {labels: {app: skiff-demo}}
    spec:
      containers: [{name: web, image: busybox:1.36, command: [httpd, -f, -p, "8080"]}]
YAML
"$kubectl" get deployments,services -o wide

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

echo "== starting the service proxy (nftables here, IPVS where the kernel has it)"
install -m 0755 target/release/skiff-proxy /usr/local/bin/
node=$(hostname)
proxy_args="--kubeconfig $KUBECONFIG --hostname-override $node --cluster-cidr 10.42.0.0/16"
cat > /etc/systemd/system/skiff-proxy.service 2>/dev/null <<UNIT || true
[Unit]
Description=Skiff service proxy
After=skiff-control-plane.service network-online.target

[Service]
ExecStart=/usr/local/bin/skiff-proxy $proxy_args
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable skiff-proxy >/dev/null 2>&1
  systemctl restart skiff-proxy
else
  if [ -s /run/skiff-proxy.pid ]; then
    kill "$(cat /run/skiff-proxy.pid)" 2>/dev/null || true
    sleep 1
  fi
  # shellcheck disable=SC2086 # the arguments are words
  nohup /usr/local/bin/skiff-proxy $proxy_args >>/var/log/skiff-proxy.log 2>&1 &
  echo $! > /run/skiff-proxy.pid
  echo "(no systemd: started in the background, pid $(cat /run/skiff-proxy.pid), log /var/log/skiff-proxy.log)"
fi
for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:10256/healthz >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs http://127.0.0.1:10256/healthz || { echo "the service proxy did not become healthy" >&2; exit 1; }
echo

echo "== a Service for ${pods[1]}, reached through the proxy"
"$kubectl" delete service skiff-demo-echo --ignore-not-found >/dev/null
"$kubectl" delete endpointslice skiff-demo-echo --ignore-not-found >/dev/null
"$kubectl" apply -f - <<YAML
apiVersion: v1
kind: Service
metadata: {name: skiff-demo-echo, namespace: default}
spec:
  ports: [{name: echo, port: 80, targetPort: 8080, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: skiff-demo-echo
  namespace: default
  labels: {kubernetes.io/service-name: skiff-demo-echo}
addressType: IPv4
ports: [{name: echo, port: 8080, protocol: TCP}]
endpoints: [{addresses: ["${ip[${pods[1]}]}"], conditions: {ready: true}}]
YAML
cluster_ip=$("$kubectl" get service skiff-demo-echo -o jsonpath='{.spec.clusterIP}')
via=""
for _ in $(seq 1 50); do
  ip netns exec "${pods[1]}" busybox nc -l -p 8080 -e echo "hello through the proxy" &
  listener=$!
  sleep 0.2
  via=$(busybox nc -w 2 "$cluster_ip" 80 </dev/null 2>/dev/null || true)
  kill "$listener" 2>/dev/null || true
  wait "$listener" 2>/dev/null || true
  [ "$via" = "hello through the proxy" ] && break
  sleep 0.2
done
echo "this host -> $cluster_ip:80 (skiff-demo-echo) got: $via"
[ "$via" = "hello through the proxy" ] || { echo "traffic through the service proxy failed" >&2; exit 1; }
"$kubectl" delete service skiff-demo-echo >/dev/null
"$kubectl" delete endpointslice skiff-demo-echo >/dev/null

echo "== detaching"
cleanup
trap - EXIT
echo
echo "Skiff's CNI plugins are installed in /opt/cni/bin and configured in $conf;"
echo "containerd's CRI plugin (or any CNI runtime) can use them now."
echo "The control plane serves the Kubernetes API on :6443; use it with:"
echo "  export KUBECONFIG=$KUBECONFIG"
echo "skiff-proxy programs every Service and EndpointSlice into nftables (or IPVS); health on"
echo ":10256/healthz, metrics on 127.0.0.1:10249/metrics."
echo "The kubelet, scheduler and controllers are not implemented yet, so pods are stored but not run."
