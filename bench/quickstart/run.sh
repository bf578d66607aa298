#!/usr/bin/env bash
# Quickstart figure: seconds from the README's first command (binary already built, image
# archives cached) to the tutorial's bootcamp pod Running. Uses a private data dir and port.
#   bash bench/quickstart/run.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
port=$((20000 + RANDOM % 20000))
export SKIFF_PORT=$port
cargo build --release -q -p skiff   # not timed: "already built"
cache=target/quickstart-images      # the image archives too, like a second run of the quickstart
mkdir -p "$cache"
for v in v1 v2; do
  [ -s "$cache/kubernetes-bootcamp-$v.tar" ] || bash examples/bootcamp/build-image.sh "$cache/kubernetes-bootcamp-$v.tar" "$v" >/dev/null
done
times=()
for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d /tmp/skiff-qs-XXXXXX)
  export SKIFF_DATA_DIR=$dir SKIFF_KUBECONFIG=$dir/kubeconfig.yaml
  mkdir -p "$dir/agent/images"
  cp "$cache"/*.tar "$dir/agent/images/"
  start=$(date +%s.%N)
  bash scripts/quickstart.sh >/dev/null
  KUBECONFIG=$dir/kubeconfig.yaml kubectl create deployment kubernetes-bootcamp \
    --image=gcr.io/google-samples/kubernetes-bootcamp:v1 >/dev/null
  until KUBECONFIG=$dir/kubeconfig.yaml kubectl get pods 2>/dev/null | grep -q '1/1 *Running'; do
    sleep 0.05
  done
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  times+=("$t")
  echo "run $i: ${t}s to bootcamp pod Running"
  KUBECONFIG=$dir/kubeconfig.yaml kubectl delete deployment kubernetes-bootcamp --wait=true >/dev/null
  until ! KUBECONFIG=$dir/kubeconfig.yaml kubectl get pods 2>/dev/null | grep -q bootcamp; do sleep 0.2; done
  bash scripts/killall.sh "$dir" skiff0
  rm -rf "$dir"
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print "quickstart to Running: median " a[int((NR+1)/2)] "s over " NR " runs (target <= 5 s)"}'
