#!/usr/bin/env bash
# Checks that every file and command the build, the quickstart and the tests use is present
# (scripts/install-deps.sh installs them and then runs this). A package that lacks a part, as
# protobuf-compiler without libprotobuf-dev lacks google/protobuf/*.proto, fails here.
set -euo pipefail
# What the build and the tests call or read; each must exist after the installs above.
needed_files=(
  /usr/include/google/protobuf/descriptor.proto   # etcd-client's build (protoc's well-known types)
  /usr/include/seccomp.h                          # libseccomp-sys (youki)
  /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/loopback /usr/lib/cni/portmap
  /usr/bin/docker-registry /bin/busybox /bin/bash-static
)
# kubectl comes with the machine image (the real client the tests compare against).
needed_commands=(protoc runc crun iptables nft ip skopeo etcd python3 curl jq tmux script unshare
                 nsenter kill timeout gzip tar sha256sum openssl kubectl)
absent=()
for f in "${needed_files[@]}"; do [ -e "$f" ] || absent+=("$f"); done
for c in "${needed_commands[@]}"; do command -v "$c" >/dev/null || absent+=("command $c"); done
/usr/bin/python3 -c 'import kubernetes, grpc' 2>/dev/null || absent+=("/usr/bin/python3 modules kubernetes, grpc")
# protoc must find the well-known types on its default include path, as etcd-client's build does.
proto_dir=$(mktemp -d); trap 'rm -rf "$proto_dir"' EXIT
printf 'syntax = "proto3";\nimport "google/protobuf/descriptor.proto";\nmessage M { google.protobuf.FileDescriptorProto f = 1; }\n' >"$proto_dir/m.proto"
protoc --proto_path="$proto_dir" --descriptor_set_out=/dev/null "$proto_dir/m.proto" 2>/dev/null \
  || absent+=("protoc cannot compile an import of google/protobuf/descriptor.proto")
if ((${#absent[@]})); then
  echo "install-deps: still missing after installing packages: ${absent[*]}" >&2
  exit 1
fi
