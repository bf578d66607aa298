#!/usr/bin/env bash
# A Skiff cluster of N hosts on this machine, for trying multi-node behaviour: each host is a
# network namespace with a veth into the bridge skmn$X (172.30.$X.0/24, no default route, so
# nothing leaves the machine), its own data dir, CNI bridge, cgroup root and pod CIDR
# (cluster 10.$((20+X)).0.0/16), running `skiff server` (host 0) or `skiff agent` under
# `nsenter --net` (`ip netns exec` would hide the cgroup hierarchies).
#   scripts/dev-cluster.sh up N      # then: export KUBECONFIG=$DIR/kubeconfig.yaml
#   scripts/dev-cluster.sh down
# Environment: SKIFF (binary, default target/debug/skiff), X (0-19, default 19),
#   DIR (state, default /tmp/skiff-dev-cluster), BACKEND (host-gw|none, default host-gw).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
SKIFF=${SKIFF:-$here/../target/debug/skiff}
X=${X:-19}
DIR=${DIR:-/tmp/skiff-dev-cluster}
BACKEND=${BACKEND:-host-gw}
TOKEN=${TOKEN:-dev-cluster-token}
br=skmn$X

host_up() {  # i
  local i=$1 ns=skmn${X}h$1 ip=172.30.$X.$((10 + $1))
  ip netns add "$ns"
  ip link add "skmn${X}v$i" type veth peer name eth0 netns "$ns"
  ip link set "skmn${X}v$i" master "$br" up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  mkdir -p "$DIR/host$i"
}

node_flags() {  # i
  local i=$1
  echo --data-dir "$DIR/host$i" --node-ip "172.30.$X.$((10 + i))" --cni-bridge "skmn${X}b$i" \
    --cgroup-root "/skiff-mn$X-$i" --cluster-cidr "10.$((20 + X)).0.0/16" \
    --flannel-backend "$BACKEND" --token "$TOKEN"
}

up() {
  local n=${1:-3} server_ip=172.30.$X.10
  [ -x "$SKIFF" ] || { echo "no skiff binary at $SKIFF (cargo build, or set SKIFF)" >&2; exit 1; }
  ip link add "$br" type bridge || { echo "$br exists: run '$0 down' or pick another X" >&2; exit 1; }
  ip addr add "172.30.$X.1/24" dev "$br"
  ip link set "$br" up
  mkdir -p "$DIR"
  for i in $(seq 0 $((n - 1))); do host_up "$i"; done
  # shellcheck disable=SC2046
  nsenter --net=/run/netns/skmn${X}h0 -- "$SKIFF" server $(node_flags 0) --node-name "server-$X" \
    --bind-address 0.0.0.0 --tls-san "$server_ip" --service-cidr "10.$((60 + X)).0.0/16" \
    --write-kubeconfig "$DIR/host0/kubeconfig.yaml" >"$DIR/host0.log" 2>&1 &
  echo $! >"$DIR/host0.pid"
  for _ in $(seq 1 100); do [ -s "$DIR/host0/kubeconfig.yaml" ] && break; sleep 0.3; done
  sed "s#https://127.0.0.1:#https://$server_ip:#" "$DIR/host0/kubeconfig.yaml" >"$DIR/kubeconfig.yaml"
  for i in $(seq 1 $((n - 1))); do
    # shellcheck disable=SC2046
    nsenter --net=/run/netns/skmn${X}h$i -- "$SKIFF" agent --server "https://$server_ip:6443" \
      $(node_flags "$i") --node-name "agent$i-$X" >"$DIR/host$i.log" 2>&1 &
    echo $! >"$DIR/host$i.pid"
  done
  echo "export KUBECONFIG=$DIR/kubeconfig.yaml   # logs: $DIR/host*.log"
}

down() {
  for pidfile in "$DIR"/host*.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  for d in "$DIR"/host*/; do
    [ -d "$d" ] || continue
    i=${d%/}; i=${i##*host}
    if [ -e "/run/netns/skmn${X}h$i" ]; then
      nsenter --net=/run/netns/skmn${X}h$i -- bash "$here/killall.sh" "$d" "skmn${X}b$i" || true
    fi
    for h in /sys/fs/cgroup/*/skiff-mn$X-$i; do
      [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    ip link del "skmn${X}v$i" 2>/dev/null || true
    ip netns del "skmn${X}h$i" 2>/dev/null || true
    rm -f "$DIR/host$i.pid"
  done
  ip link del "$br" 2>/dev/null || true
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  *) echo "usage: $0 up N | down" >&2; exit 2 ;;
esac
