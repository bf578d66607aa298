#!/bin/sh
# Node agent benchmarks: a release `skiff server` (control plane + agent in one process, or
# with AGENT=1 a `--disable-agent` server plus a separate `skiff agent`), the bootcamp image
# pre-imported, then bench.py.   bench/kubelet/run.sh [path/to/skiff]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
SKIFF=${1:-$ROOT/target/release/skiff}
DIR=$(mktemp -d /tmp/skiff-bench-kubelet-XXXXXX)
BRIDGE=skbench0
SERVER=; AGENT_PID=
cleanup() {
    # By PID first (killall.sh matches only a binary named skiff), then containers and mounts.
    [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
    sleep 3
    "$ROOT/scripts/killall.sh" "$DIR" "$BRIDGE"
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM
ARCHIVE=$ROOT/target/e2e-images/kubernetes-bootcamp-v1.tar
[ -f "$ARCHIVE" ] || sh "$ROOT/examples/bootcamp/build-image.sh" "$ARCHIVE" v1
mkdir -p "$DIR/agent/images"
cp "$ARCHIVE" "$DIR/agent/images/"
# OCI_RUNTIME=youki|runc|crun picks the node's low-level runtime (default: skiff's, youki).
OCI_RUNTIME=${OCI_RUNTIME:-youki}
export OCI_RUNTIME SKIFF
COMMON="--oci-runtime $OCI_RUNTIME --kubelet-port 20250 --cni-bridge $BRIDGE --node-name bench --node-ip 127.0.0.1 --private-registry /nonexistent"
if [ "${AGENT:-0}" = 1 ]; then
    "$SKIFF" server --data-dir "$DIR/server-side" --https-listen-port 26443 --bind-address 127.0.0.1 \
        --write-kubeconfig "$DIR/kc.yaml" --cluster-cidr 10.199.0.0/16 --disable-agent \
        > "$DIR/server.log" 2>&1 &
    SERVER=$!
    sleep 3
    "$SKIFF" agent --server https://127.0.0.1:26443 --token "$(awk '/token:/ {print $2}' "$DIR/kc.yaml")" \
        --data-dir "$DIR" --cluster-cidr 10.199.0.0/16 $COMMON > "$DIR/agent.log" 2>&1 &
    AGENT_PID=$!
else
    "$SKIFF" server --data-dir "$DIR" --https-listen-port 26443 --bind-address 127.0.0.1 \
        --write-kubeconfig "$DIR/kc.yaml" --cluster-cidr 10.199.0.0/16 $COMMON > "$DIR/server.log" 2>&1 &
    SERVER=$!
    AGENT_PID=$SERVER
fi
for _ in $(seq 100); do
    KUBECONFIG=$DIR/kc.yaml kubectl get nodes 2>/dev/null | grep -q ' Ready ' && break
    sleep 0.3
done
/usr/bin/python3 "$HERE/bench.py" "$DIR/kc.yaml" bench "$SERVER" "$DIR/agent/runtime/oci" "$AGENT_PID"
