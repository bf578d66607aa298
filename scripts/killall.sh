#!/usr/bin/env bash
# Stops a Skiff node completely (like k3s-killall.sh): the server/agent, every container,
# monitor and pod sandbox under DATA_DIR, their mounts and the pod bridge.
#   scripts/killall.sh [DATA_DIR] [BRIDGE]      (defaults: /var/lib/skiff skiff0)
set -u
dir=${1:-/var/lib/skiff}
bridge=${2:-skiff0}
dir=$(cd "$dir" 2>/dev/null && pwd) || exit 0
oci="$dir/agent/runtime/oci"
# The server first, so nothing restarts what we stop.
pkill -TERM -f "skiff (server|agent) .*--data-dir $dir( |$)" 2>/dev/null
sleep 0.5
pkill -KILL -f "skiff (server|agent) .*--data-dir $dir( |$)" 2>/dev/null
if [ -d "$oci" ]; then
  for id in $(runc --root "$oci" list -q 2>/dev/null); do
    runc --root "$oci" kill "$id" KILL >/dev/null 2>&1
    runc --root "$oci" delete -f "$id" >/dev/null 2>&1
  done
fi
# youki (in-process libcontainer) leaves OCI state files ({"id", "pid", ...}) that runc cannot
# list: kill those containers by the recorded pid, if it still is that container.
for st in "$oci"/*/state.json; do
  [ -f "$st" ] || continue
  id=$(jq -r '.id // empty' "$st" 2>/dev/null)
  pid=$(jq -r '.pid // empty' "$st" 2>/dev/null)
  [ -n "$id" ] && [ -n "$pid" ] && grep -q "$id" "/proc/$pid/cgroup" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
done
# Monitors and infra processes carry paths under the data dir in their arguments, except
# the infra process of a host-network pod: find that one through the sandbox records.
pkill -KILL -f "runtime-helper .*$dir/" 2>/dev/null
for pid in $(cat "$dir"/agent/runtime/sandboxes/*/*.json 2>/dev/null | grep -o '"infra_pid": *[0-9]*' | grep -o '[0-9]*$'); do
  grep -qa "runtime-helper" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
done
sleep 0.2
# Unmount deepest first: overlays, netns bind mounts, volumes.
grep " $dir/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null
done
# Container and pod cgroups (empty now): container cgroups sit under their pod's parent.
for parent in $(cat "$dir"/agent/runtime/sandboxes/*/*.json 2>/dev/null | grep -o '"cgroup_parent": *"[^"]*"' | cut -d'"' -f4); do
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h${parent#/}" ] || continue
    find "$h${parent#/}" -depth -mindepth 1 -type d -exec rmdir {} \; 2>/dev/null
    rmdir "$h${parent#/}" 2>/dev/null
  done
done
# CNI's iptables rules of this node's sandboxes (no CNI DEL ran for them).
# shellcheck disable=SC2046
bash "$(dirname "$0")/cni-rules-cleanup.sh" $(ls "$dir/agent/runtime/sandboxes" 2>/dev/null)
# The pod network's masquerade rules of this node (tagged with its bridge name) and the
# host-gw routes to other nodes' pod CIDRs (route protocol 77; one node per network namespace).
iptables -w -t nat -S POSTROUTING 2>/dev/null | grep -F -- "--comment \"skiff pod network $bridge\"" |
  while IFS= read -r rule; do eval "iptables -w -t nat -D ${rule#-A }" 2>/dev/null; done
ip route flush proto 77 2>/dev/null
ip link del "$bridge" 2>/dev/null
exit 0
