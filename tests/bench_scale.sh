#!/bin/sh
# bench_scale.sh -- make bench-scale: the 10-million-member organisation of
# SPEC "Scale" built through the CLI on the release build, in a temporary
# directory (removed after), measured beside a small one (tests/bench_scale.py).
#   SCALE=100000 make bench-scale   a smaller large store (about a minute)
#   SCALE_SMALL=10000               the small store it is held against
#   BENCH_TMP=/tmp                  where the stores go (10 M members: ~7 GB)
set -e
B=${B:-build}
SCALE=${SCALE:-10000000}
SCALE_SMALL=${SCALE_SMALL:-10000}
work=$(mktemp -d "${BENCH_TMP:-/tmp}/duotang-bench-scale.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
/usr/bin/python3 "$(dirname "$0")/bench_scale.py" "$B" "$work" "$SCALE" "$SCALE_SMALL"
