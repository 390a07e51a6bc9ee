#!/bin/sh
# install-deps.sh -- install the Debian packages duotang builds and tests with, if
# missing, and generate the zh_CN.UTF-8 locale the CLI's translation is tested in.
set -e
PKGS="build-essential pkg-config libzmq3-dev liblmdb-dev libmsgpack-dev libsodium-dev
      libczmq-dev lmdb-utils clang libclang-rt-dev python3 python3-zmq python3-msgpack
      valgrind tzdata man-db groff-base gettext locales"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
if [ -n "$missing" ]; then
    echo "installing:$missing"
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
# Debian generates no locale but C by default; localedef is idempotent, but
# slow, so only when `locale -a` lacks it (it spells the codeset "utf8")
if ! locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$'; then
    echo "generating the zh_CN.UTF-8 locale"
    $SUDO localedef -i zh_CN -f UTF-8 zh_CN.UTF-8
fi
