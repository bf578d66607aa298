#!/usr/bin/env bash
# Starts a single-node Skiff cluster (embedded SQLite store) with the tutorial's image ready,
# writes the kubeconfig and prints the next steps. Idempotent: re-running restarts the server.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${SKIFF_DATA_DIR:-/var/lib/skiff}
KUBECONFIG_OUT=${SKIFF_KUBECONFIG:-/etc/skiff/skiff.yaml}
PORT=${SKIFF_PORT:-6443}

step() { echo "==> $*"; }
step "installing Debian packages (scripts/install-deps.sh)"
bash scripts/install-deps.sh
# A fresh release build takes about 5 minutes on 2 cores: show cargo's progress.
step "building skiff (cargo build --release -p skiff)"
cargo build --release -p skiff
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/skiff
install -m 0755 "$BIN" /usr/local/bin/skiff

# The tutorial's image, pre-imported (air-gap folder is imported at start): no registry needed.
mkdir -p "$DATA_DIR/agent/images"
for v in v1 v2; do
  out="$DATA_DIR/agent/images/kubernetes-bootcamp-$v.tar"
  [ -s "$out" ] && continue
  step "building the tutorial's image kubernetes-bootcamp:$v"
  bash examples/bootcamp/build-image.sh "$out" "$v"
done

if [ -f "$DATA_DIR/skiff.pid" ] && kill -0 "$(cat "$DATA_DIR/skiff.pid")" 2>/dev/null; then
  kill "$(cat "$DATA_DIR/skiff.pid")"; sleep 2
fi
mkdir -p "$(dirname "$KUBECONFIG_OUT")"
step "starting skiff server (log: $DATA_DIR/skiff.log)"
nohup "$BIN" server --data-dir "$DATA_DIR" --https-listen-port "$PORT" \
  --write-kubeconfig "$KUBECONFIG_OUT" >"$DATA_DIR/skiff.log" 2>&1 &
echo $! >"$DATA_DIR/skiff.pid"

export KUBECONFIG=$KUBECONFIG_OUT
for _ in $(seq 1 100); do
  kubectl get nodes 2>/dev/null | grep -q ' Ready' && break
  sleep 0.2
done
if ! kubectl get nodes 2>/dev/null | grep -q ' Ready'; then
  echo "skiff did not become ready; see $DATA_DIR/skiff.log" >&2
  tail -20 "$DATA_DIR/skiff.log" >&2
  exit 1
fi
mkdir -p "$HOME/.kube"
[ -e "$HOME/.kube/config" ] || cp "$KUBECONFIG_OUT" "$HOME/.kube/config"
kubectl get nodes
cat <<MSG

Skiff is running (pid $(cat "$DATA_DIR/skiff.pid"), log $DATA_DIR/skiff.log).
  export KUBECONFIG=$KUBECONFIG_OUT
  kubectl create deployment kubernetes-bootcamp --image=gcr.io/google-samples/kubernetes-bootcamp:v1
  kubectl get pods
Stop it (and its containers) with: bash scripts/killall.sh $DATA_DIR
MSG
