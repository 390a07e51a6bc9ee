#!/bin/sh
# install-deps.sh -- install the Debian packages duotang builds and tests with, if missing.
set -e
PKGS="build-essential pkg-config libzmq3-dev liblmdb-dev libmsgpack-dev libsodium-dev
      libczmq-dev lmdb-utils clang libclang-rt-dev python3 python3-zmq python3-msgpack
      valgrind tzdata man-db groff-base"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
