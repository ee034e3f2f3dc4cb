#!/usr/bin/env bash
# PyPy: the cffi backend built and tested under Debian's pypy3 (PyPy 7.3,
# Python 3.9), then the codec benchmark on it (cffi, pure Python, websockets).
#
# Built from a clean export of HEAD, in place (setup.py build_ext): a pip
# install would refuse the package's requires-python (>= 3.10). Only the
# codec layer is made to import on Python 3.9, so the codec tests run here
# (mask, UTF-8, frame parser and encoder, deflate: each compared with the
# pure-Python oracle); the drivers use 3.10 syntax at import time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

pypy_ready() {  # the interpreter, its venv module and its C headers (for cffi)
    command -v pypy3 >/dev/null 2>&1 && pypy3 - <<'PY'
import ensurepip, os, sys, sysconfig, venv
sys.exit(not os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
PY
}
if ! pypy_ready; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends pypy3 pypy3-dev pypy3-venv >/dev/null
fi
pypy3 --version

VENV="$ROOT/.venv-pypy"
pypy3 -m venv "$VENV"
# cffi is part of PyPy; the rest is for the build, the tests (httptools: the
# deflate tests that run a connection) and the benchmark.
"$VENV/bin/python" -m pip install -q "setuptools>=77" "pytest>=7" "hypothesis>=6" "websockets>=13" \
    "httptools>=0.6"

SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
git archive HEAD | tar -x -C "$SRC"
cd "$SRC"
WSFAST_EXTENSION=required "$VENV/bin/python" setup.py -q build_ext --inplace
export PYTHONPATH="$SRC/src"
"$VENV/bin/python" -m wsfast info --selftest
"$VENV/bin/python" - <<'PY'
import sys, wsfast
sys.exit(0 if wsfast.backend == "cffi" else "PyPy did not pick the cffi backend: %s" % wsfast.backend)
PY
# The C backend (Cython) is not built on PyPy: its tests skip; cffi's are required.
env -u WSFAST_REQUIRE_C WSFAST_REQUIRE_CFFI=1 "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    tests/python/test_mask.py tests/python/test_utf8.py tests/python/test_frame_parse.py \
    tests/python/test_frame_rules.py tests/python/test_deflate.py
"$VENV/bin/python" benchmarks/bench_cffi_pypy.py --rounds 3 --frames 20000
