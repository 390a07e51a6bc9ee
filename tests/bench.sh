#!/bin/bash
# bench.sh -- run the benchmark (tests/bench.c) against the built servers with
# its data in a scratch directory; every server it started dies with it.
# BENCH_KEEP=1 keeps the directory (server logs) for a look afterwards;
# BENCH_ONLY=hub|replication|content|report runs one group of figures.
cd "$(dirname "$0")/.."
BIN=${B:-build}
WORK=$(mktemp -d "$BIN/bench-run.XXXXXX") || exit 1
bench_pid=

cleanup () {
    [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null
    # bench keeps the ids of the servers it runs in WORK/pids
    if [ -f "$WORK/pids" ]; then
        while read -r pid; do
            kill -9 "$pid" 2>/dev/null
        done < "$WORK/pids"
    fi
    [ -n "$bench_pid" ] && wait "$bench_pid" 2>/dev/null
    if [ -n "$BENCH_KEEP" ]; then
        echo "data and server logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "== duotang bench ($(nproc) cores, data in $WORK; ratio = value / baseline)"
"$BIN/bench" "$BIN" "$WORK" ${BENCH_ONLY:-} &
bench_pid=$!
wait "$bench_pid"
status=$?
bench_pid=
exit $status
