#!/usr/bin/env bash
# Installs the Debian packages Skiff needs to build, run and test; idempotent.
set -euo pipefail
packages=(runc crun containernetworking-plugins iptables iproute2 protobuf-compiler libseccomp-dev
          docker-registry skopeo etcd-server busybox-static bash-static python3-kubernetes python3-grpcio
          curl jq tmux util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the registry and etcd as services; tests run their own on private ports.
for svc in docker-registry etcd; do
  systemctl disable --now "$svc" >/dev/null 2>&1 || true
done
command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
