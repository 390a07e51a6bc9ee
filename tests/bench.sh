#!/bin/bash
# bench.sh -- run the benchmark (tests/bench.c) against the built servers with
# its data in a scratch directory; every server it started dies with it.
# BENCH_KEEP=1 keeps the directory (server logs) for a look afterwards;
# BENCH_ONLY=hub|tail|replication|content|report runs one group of figures.
cd "$(dirname "$0")/.."
BIN=${B:-build}
WORK=$(mktemp -d "$BIN/bench-run.XXXXXX") || exit 1
bench_pid=

pg_started=
pg_dir=

cleanup () {
    [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null
    [ -n "$pg_started" ] && pg_run "$pg_started stop -m immediate" > /dev/null 2>&1
    [ -n "$pg_dir" ] && rm -rf "$pg_dir"
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

# PostgreSQL (when installed): the hub's join figure done by PostgreSQL, the
# same 96 000 joins from the same 16 clients, synchronous commit, the hall row
# locked and the cap and the customer lock checked in one function.
pg_run () {
    if [ "$(id -u)" = 0 ]; then
        su postgres -c "$*"
    else
        sh -c "$*"
    fi
}

pg_figure () {
    local ctl bin hub pg dir port=$((20000 + RANDOM % 20000))
    ctl=$(command -v pg_ctl) || { echo "  PostgreSQL not compared: pg_ctl is not installed"; return; }
    bin=$(dirname "$(readlink -f "$ctl")")
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        echo "  PostgreSQL not compared: running as root without a postgres user"
        return
    fi
    # Its own directory: the postgres user cannot enter WORK, which is root's
    dir=$(mktemp -d /tmp/duotang-bench-pg.XXXXXX) || return
    pg_dir=$dir
    cp tests/bench_pg.sql "$dir/" && echo "SELECT join_next ();" > "$dir/join.sql"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
    pg_run "$bin/initdb -D $dir/data -A trust -U postgres" > "$dir/init.log" 2>&1 &&
    pg_run "$bin/pg_ctl -D $dir/data -o '-k $dir -p $port -c listen_addresses=' -l $dir/log -w start" > /dev/null &&
    pg_started="$bin/pg_ctl -D $dir/data" &&
    pg_run "psql -q -h $dir -p $port -U postgres -c 'CREATE DATABASE bench'" &&
    pg_run "psql -q -h $dir -p $port -U postgres -d bench -f $dir/bench_pg.sql" > /dev/null &&
    pg=$(pg_run "pgbench -n -h $dir -p $port -U postgres -c 16 -j 2 -t 6000 -f $dir/join.sql bench" 2>&1 |
         sed -n 's/^tps = \([0-9.]*\) (without.*/\1/p')
    pg_run "$pg_started stop -m fast" > /dev/null 2>&1
    pg_started=
    hub=$(sed -n 's/^hub member.join ([^)]*) *\([0-9.]*\) joins\/s.*/\1/p' "$WORK/figures" | head -n 1)
    if [ -z "$pg" ] || [ -z "$hub" ]; then
        echo "  PostgreSQL not compared: it did not run ($(tail -n 1 "$dir/log" 2>/dev/null))"
        return
    fi
    printf '%-40s %9.1f %-10s %-44s %9.1f %-10s %8.2f\n' "hub member.join (16 clients x 8)" \
        "$hub" "joins/s" "PostgreSQL join, 16 clients, sync commit" "$pg" "joins/s" \
        "$(echo "$hub / $pg" | bc -l)"
}

echo "== duotang bench ($(nproc) cores, data in $WORK; ratio = value / baseline)"
"$BIN/bench" "$BIN" "$WORK" ${BENCH_ONLY:-} > >(tee "$WORK/figures") &
bench_pid=$!
wait "$bench_pid"
status=$?
bench_pid=
if [ $status = 0 ] && { [ -z "$BENCH_ONLY" ] || [ "$BENCH_ONLY" = hub ]; }; then
    pg_figure
fi
exit $status
