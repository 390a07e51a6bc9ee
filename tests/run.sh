#!/bin/bash
# run.sh -- the whole suite under ASan/UBSan: module self-tests, a short fuzz
# run, then the system tests with real processes. Ends with "N passed, N failed".
cd "$(dirname "$0")/.."
BIN=build/asan
PY=/usr/bin/python3             # Debian's python3 has the zmq and msgpack modules
export ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
passed=0
failed=0
failures=""

record () {     # record NAME STATUS
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures="$failures $1"
    fi
}

echo "== module self-tests"
for module in $($BIN/selftest --list); do
    if out=$($BIN/selftest --test "$module" 2>&1); then
        echo "PASS $module"
        record "$module" 0
    else
        echo "FAIL $module"
        echo "$out" | tail -20
        record "$module" 1
    fi
done

echo "== fuzzing the decoder and dispatch (${FUZZ_SECONDS:-15}s)"
mkdir -p build/fuzz-corpus
if build/fuzz_proto -max_total_time="${FUZZ_SECONDS:-15}" -max_len=65536 \
        build/fuzz-corpus tests/fuzz/corpus > build/fuzz.log 2>&1; then
    echo "PASS fuzz_proto ($(grep -o 'Done [0-9]* runs' build/fuzz.log))"
    record fuzz_proto 0
else
    echo "FAIL fuzz_proto"
    tail -30 build/fuzz.log
    record fuzz_proto 1
fi

for suite in tests/system/test_*.py; do
    echo "== $(basename "$suite")"
    DUOTANG_BIN=$BIN $PY "$suite" > build/suite.log 2>&1
    grep -v ' passed, .* failed$' build/suite.log
    p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' build/suite.log | tail -1)
    f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' build/suite.log | tail -1)
    if [ -z "$p" ]; then          # the suite itself crashed
        p=0
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -gt 0 ] && failures="$failures $(basename "$suite")"
done

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
