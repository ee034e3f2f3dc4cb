#!/usr/bin/env bash
# Builds wsfast with its C extension instrumented for libFuzzer (clang
# -fsanitize=fuzzer-no-link, plus AddressSanitizer unless FUZZ_ASAN=0) into
# a directory of its own, so that neither the source tree's in-place .so
# files nor its build/ are touched:
#   tests/fuzz/build_instrumented.sh OUTDIR
# leaves OUTDIR/lib/wsfast/, a complete package (the .py sources and the
# instrumented _core and compiled twins beside them). Put OUTDIR/lib first
# on sys.path to use it. Needs clang, and Cython and setuptools in the
# running Python (PYTHON, default python3). Rebuilds only when a source is
# newer than the last build.
set -euo pipefail
OUT=${1:?usage: build_instrumented.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}
ASAN=${FUZZ_ASAN:-1}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAMP="$OUT/stamp-asan$ASAN"

if [ -f "$STAMP" ] && [ -f "$OUT/lib/wsfast/__init__.py" ] && [ -z "$(find \
        "$ROOT/csrc" "$ROOT/src/wsfast" "$ROOT/setup.py" "$0" -newer "$STAMP" \
        \( -name '*.c' -o -name '*.h' -o -name '*.py' -o -name '*.pyx' \
           -o -name '*.pxd' -o -name '*.pxi' -o -name '*.sh' \) \
        ! -path '*/__pycache__/*' -print -quit)" ]; then
    echo "instrumented build in $OUT/lib is up to date"
    exit 0
fi

"$PY" -c 'import Cython, setuptools' 2>/dev/null || {
    echo "build_instrumented.sh: $PY needs Cython and setuptools (pip install 'Cython>=3.0.10,<3.4' 'setuptools>=77')" >&2
    exit 1
}
command -v clang >/dev/null || { echo "build_instrumented.sh: clang is missing" >&2; exit 1; }

# A private copy of the sources: Cython writes its generated C next to
# them, and nothing compiled in the tree (in-place .so, build/) comes along.
rm -rf "$OUT/src" "$OUT/lib" "$OUT/tmp" "$OUT"/stamp-*
mkdir -p "$OUT/src"
(cd "$ROOT" && tar -c --exclude='*.so' --exclude='*.c' --exclude='__pycache__' \
    --exclude='*.html' setup.py pyproject.toml README.md LICENSE src) | tar -x -C "$OUT/src"
cp -R "$ROOT/csrc" "$OUT/src/csrc"

SAN=-fsanitize=fuzzer-no-link
[ "$ASAN" = 1 ] && SAN="$SAN,address"
# -O1 keeps the code close to the release build yet readable in reports;
# setup.py's own -O3 for csrc/ comes later on the command line and wins.
export CC=clang LDSHARED="clang -shared"
export CFLAGS="$SAN -g -O1 -fno-omit-frame-pointer"
export LDFLAGS="$SAN"
export WSFAST_EXTENSION=required
(cd "$OUT/src" && "$PY" setup.py -q build_ext --parallel 2 -b "$OUT/lib" -t "$OUT/tmp")
# The package's Python half beside the compiled modules.
(cd "$OUT/src/src" && find wsfast -name '*.py' -o -name '*.html' | tar -c -T - | tar -x -C "$OUT/lib")
touch "$STAMP"
echo "instrumented build in $OUT/lib (fuzzer-no-link$([ "$ASAN" = 1 ] && echo ', address'))"
