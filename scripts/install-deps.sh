#!/usr/bin/env bash
# Installs the Debian packages Skiff needs to build, run and test; idempotent.
# After installing, it checks that every file and command the build, the quickstart and the
# tests use is present, so a package that lacks a part (as protobuf-compiler without
# libprotobuf-dev lacks google/protobuf/*.proto) fails here, not minutes into a build.
set -euo pipefail
packages=(runc crun containernetworking-plugins iptables nftables iproute2 protobuf-compiler libprotobuf-dev
          libseccomp-dev docker-registry skopeo etcd-server busybox-static bash-static python3-kubernetes
          python3-grpcio curl jq tmux util-linux bsdutils procps psmisc coreutils gzip tar openssl)
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

# Fail now, not minutes into a build, if anything the build or the tests need is absent.
bash "$(dirname "$0")/check-deps.sh"
