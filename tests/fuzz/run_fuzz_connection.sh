#!/usr/bin/env bash
# Builds the instrumented extension (build_instrumented.sh) and runs the
# differential connection fuzzer (fuzz_connection.py) for FUZZ_SECONDS,
# then prints the edges covered after the seeds and at the end.
#   FUZZ_SECONDS=60 tests/fuzz/run_fuzz_connection.sh [extra libFuzzer options]
# Environment: PYTHON (default python3, with atheris, Cython and
# setuptools), FUZZ_OUT (default tests/c/build/fuzz-connection),
# FUZZ_ASAN=0 to build and run without AddressSanitizer.
# Exit status: 0, or libFuzzer's on a crash or a mismatch (the input is
# saved in FUZZ_OUT as crash-*; rerun it by passing that file).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=${PYTHON:-python3}
OUT=${FUZZ_OUT:-$ROOT/tests/c/build/fuzz-connection}
SECONDS_TO_RUN=${FUZZ_SECONDS:-60}
ASAN=${FUZZ_ASAN:-1}

"$PY" -c 'import atheris' 2>/dev/null || {
    echo "run_fuzz_connection.sh: $PY has no atheris (pip install atheris)" >&2
    exit 1
}
FUZZ_ASAN=$ASAN PYTHON="$PY" "$HERE/build_instrumented.sh" "$OUT"
mkdir -p "$OUT/corpus"

PRELOAD=""
if [ "$ASAN" = 1 ]; then
    # atheris ships libFuzzer linked with the ASan runtime; the interpreter
    # is not built with ASan, so the runtime must be loaded first.
    PRELOAD="$("$PY" -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so"
    [ -f "$PRELOAD" ] || { echo "no $PRELOAD in this atheris" >&2; exit 1; }
fi
LOG="$OUT/fuzz.log"
rc=0
# PYTHONMALLOC=malloc: every allocation goes through ASan, not pymalloc's
# arenas. Leak checking is off: the interpreter keeps memory at exit.
env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} PYTHONMALLOC=malloc \
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$PY" "$HERE/fuzz_connection.py" "$OUT/lib" \
    -max_total_time="$SECONDS_TO_RUN" -max_len=4096 -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$OUT/" "$@" \
    "$OUT/corpus" "$HERE/connection_seeds" 2>&1 | grep --line-buffered -v '^INFO: Instrumenting' | tee "$LOG" \
    || rc=$?

echo "--- connection fuzzer summary (compiled wsfast + C core vs pure-Python oracle)"
grep -m1 -E '^#[0-9]+[[:space:]]+INITED' "$LOG" | sed 's/^/after the seeds:  /' || true
grep -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|RELOAD)' "$LOG" | tail -n1 \
    | sed 's/^/at the end:       /' || true
grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$LOG" || true
echo "corpus: $(ls "$OUT/corpus" | wc -l) inputs in $OUT/corpus"
exit "$rc"
