#!/bin/sh
# Builds the bootcamp demo image as a reproducible OCI archive, without docker.
#   examples/bootcamp/build-image.sh OUT.tar v1|v2
# Layer 1: busybox-static (+ applet symlinks), bash-static as /bin/bash, /etc/passwd, /etc/group.
# Layer 2: the app at /app/bootcamp, its source at /app/server.rs, /usr/bin/curl -> the app.
# The archive's index.json names the image gcr.io/google-samples/kubernetes-bootcamp:<version>
# (io.containerd.image.name) and <version> (org.opencontainers.image.ref.name).
# Environment: BOOTCAMP_BIN=path skips the cargo build; IMAGE_NAME overrides the repository.
set -eu

usage() { echo "usage: $0 OUT.tar v1|v2" >&2; exit 2; }
[ $# -eq 2 ] || usage
OUT=$1
TAG=$2
case "$TAG" in v1|v2) ;; *) usage ;; esac
VERSION=${TAG#v}
HERE=$(cd "$(dirname "$0")" && pwd)
IMAGE_NAME=${IMAGE_NAME:-gcr.io/google-samples/kubernetes-bootcamp}
BUSYBOX=${BUSYBOX:-/bin/busybox}
BASH_STATIC=${BASH_STATIC:-/bin/bash-static}

if [ -z "${BOOTCAMP_BIN:-}" ]; then
    ( cd "$HERE" && BOOTCAMP_VERSION=$VERSION RUSTFLAGS='-C target-feature=+crt-static' \
        cargo build --quiet --release --target x86_64-unknown-linux-gnu --target-dir "$HERE/target/$TAG" )
    BOOTCAMP_BIN=$HERE/target/$TAG/x86_64-unknown-linux-gnu/release/bootcamp
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT INT TERM
L1=$WORK/layer1
L2=$WORK/layer2
OCI=$WORK/oci
mkdir -p "$L1/bin" "$L1/etc" "$L1/tmp" "$L1/root" "$L1/home" "$L1/usr/bin" "$L1/var" \
         "$L1/proc" "$L1/sys" "$L1/dev" "$L2/app" "$L2/usr/bin" "$OCI/blobs/sha256"
chmod 1777 "$L1/tmp"
chmod 700 "$L1/root"

# --- layer 1: the base system ---
install -m 0755 "$BUSYBOX" "$L1/bin/busybox"
install -m 0755 "$BASH_STATIC" "$L1/bin/bash"
for applet in $("$BUSYBOX" --list); do
    case "$applet" in busybox|bash|curl) continue ;; esac
    ln -s busybox "$L1/bin/$applet"
done
cat > "$L1/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$L1/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
G
chmod 0644 "$L1/etc/passwd" "$L1/etc/group"

# --- layer 2: the app ---
install -m 0755 "$BOOTCAMP_BIN" "$L2/app/bootcamp"
install -m 0644 "$HERE/src/server.rs" "$L2/app/server.rs"
ln -s /app/bootcamp "$L2/usr/bin/curl"

# Writes a blob from a file; prints its sha256 hex.
put_blob() {
    h=$(sha256sum "$1" | cut -d' ' -f1)
    mv "$1" "$OCI/blobs/sha256/$h"
    echo "$h"
}

# Packs a directory as a reproducible gzip layer; sets LAYER_DIGEST LAYER_SIZE LAYER_DIFFID.
pack_layer() {
    ( cd "$1" && tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 --format=gnu \
        -cf "$WORK/layer.tar" $(ls -A | sort) )
    LAYER_DIFFID=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
    gzip -n -6 < "$WORK/layer.tar" > "$WORK/layer.tgz"
    rm -f "$WORK/layer.tar"
    LAYER_SIZE=$(stat -c %s "$WORK/layer.tgz")
    LAYER_DIGEST=$(put_blob "$WORK/layer.tgz")
}

pack_layer "$L1"; D1=$LAYER_DIGEST; S1=$LAYER_SIZE; I1=$LAYER_DIFFID
pack_layer "$L2"; D2=$LAYER_DIGEST; S2=$LAYER_SIZE; I2=$LAYER_DIFFID

printf '%s' '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",'\
'"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],'\
'"Cmd":["/app/bootcamp"],"WorkingDir":"/app","ExposedPorts":{"8080/tcp":{}},'\
'"Labels":{"org.opencontainers.image.title":"kubernetes-bootcamp","org.opencontainers.image.version":"'"$TAG"'"}},'\
'"rootfs":{"type":"layers","diff_ids":["sha256:'"$I1"'","sha256:'"$I2"'"]},'\
'"history":[{"created":"1970-01-01T00:00:00Z","created_by":"busybox-static + bash-static base"},'\
'{"created":"1970-01-01T00:00:00Z","created_by":"bootcamp app '"$TAG"'"}]}' > "$WORK/config.json"
CS=$(stat -c %s "$WORK/config.json")
CD=$(put_blob "$WORK/config.json")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'\
'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'"$CD"'","size":'"$CS"'},'\
'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$D1"'","size":'"$S1"'},'\
'{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$D2"'","size":'"$S2"'}]}' > "$WORK/manifest.json"
MS=$(stat -c %s "$WORK/manifest.json")
MD=$(put_blob "$WORK/manifest.json")

printf '%s' '{"imageLayoutVersion":"1.0.0"}' > "$OCI/oci-layout"
printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['\
'{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:'"$MD"'","size":'"$MS"','\
'"platform":{"architecture":"amd64","os":"linux"},'\
'"annotations":{"io.containerd.image.name":"'"$IMAGE_NAME:$TAG"'","org.opencontainers.image.ref.name":"'"$TAG"'"}}]}' > "$OCI/index.json"

case "$OUT" in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
( cd "$OCI" && tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 --format=gnu \
    -cf "$OUT.tmp" oci-layout index.json blobs )
mv "$OUT.tmp" "$OUT"
echo "$OUT: $IMAGE_NAME:$TAG manifest sha256:$MD"
