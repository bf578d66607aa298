#!/usr/bin/env bash
# Manual quickstart timing with an already-built binary: server start → node Ready →
# create deployment → bootcamp pod Running (what scripts/quickstart.sh does after its
# idempotent install/build steps).
set -u
BIN=${1:?usage: binary.sh SKIFF_BINARY IMAGE_DIR}
IMAGES=${2:?usage: binary.sh SKIFF_BINARY IMAGE_DIR (holding the bootcamp archives)}
for i in 1 2 3; do
  dir=$(mktemp -d /tmp/skiff-qsm-XXXXXX); mkdir -p $dir/agent/images
  cp "$IMAGES"/*.tar $dir/agent/images/
  port=$((20000 + RANDOM % 20000))
  start=$(date +%s.%N)
  $BIN server --data-dir $dir --https-listen-port $port --write-kubeconfig $dir/kc.yaml --cni-bridge skq0 --kubelet-port $((port+1)) >$dir/log 2>&1 &
  export KUBECONFIG=$dir/kc.yaml
  until kubectl get nodes 2>/dev/null | grep -q ' Ready'; do sleep 0.05; done
  ready=$(date +%s.%N)
  kubectl create deployment kubernetes-bootcamp --image=gcr.io/google-samples/kubernetes-bootcamp:v1 >/dev/null
  until kubectl get pods 2>/dev/null | grep -q '1/1 *Running'; do sleep 0.05; done
  end=$(date +%s.%N)
  echo "run $i: node Ready $(echo "$ready - $start" | bc)s, pod Running $(echo "$end - $start" | bc)s"
  kubectl delete deployment kubernetes-bootcamp >/dev/null; sleep 3
  bash "$(dirname "$0")/../../scripts/killall.sh" $dir skq0; rm -rf $dir
done
