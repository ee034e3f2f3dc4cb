#!/usr/bin/env bash
# The wsproto consumers' own test suites against wsfast.wsproto (the
# drop-in), from their pinned sdists fetched now, never copied here:
# wsproto's API and behaviour tests, hypercorn's, trio-websocket's,
# httpx-ws's, simple-websocket's and flask-sock's. A pytest plugin
# (tests/wsproto_consumers/wsfast_wsproto_alias.py) makes `import wsproto` give the
# drop-in; each run must say so. Then the end-to-end tests in
# tests/python/test_wsproto_e2e.py (hypercorn and Flask-Sock serving real
# clients). Run from the repository root inside the test venv, wsfast
# installed.
set -euo pipefail
ROOT=$(pwd)
# The wsproto-test extra's packages, without reinstalling (rebuilding) wsfast.
mapfile -t EXTRA < <(python .ci/extra_requirements.py wsproto-test)
python -m pip install -q "${EXTRA[@]}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
for pin in wsproto==1.3.2 hypercorn==0.18.0 trio-websocket==0.12.2 httpx-ws==0.9.0 \
           simple-websocket==1.1.0 flask-sock==0.7.0; do
    python -m pip download -q --no-binary :all: --no-deps "$pin" -d sdists
done
for f in sdists/*.tar.gz; do tar -xzf "$f"; done

export PYTHONPATH="$ROOT/tests/wsproto_consumers"
PLUGIN=(-p no:cacheprovider -p wsfast_wsproto_alias -o addopts= -W ignore::DeprecationWarning)
FAILED=0
suite() {  # suite NAME DIR PYTEST-ARGS...
    local name=$1 dir=$2 out
    shift 2
    out=$(cd "$dir" && python -m pytest -q "${PLUGIN[@]}" "$@" 2>&1) || FAILED=1
    grep -q "^wsproto under test: wsfast.wsproto$" <<<"$out" \
        || { echo "$out" | tail -20; echo "$name: did not run on the drop-in"; FAILED=1; }
    grep -E "^(FAILED|ERROR) " <<<"$out" || true
    printf '%-18s %s\n' "$name" "$(grep -E '[0-9]+ (passed|failed)' <<<"$out" | tail -1)"
}

# wsproto: tests of its private internals are left out (listed in the
# README): test_frame_protocol.py tests the classes of its own frame
# parser (Buffer, FrameDecoder, MessageDecoder, FrameProtocol, the XOR
# maskers), replaced here by wsfast's codec; in test_permessage_deflate.py
# the tests that drive PerMessageDeflate's per-frame hooks through a
# FrameProtocol (names with inbound, outbound, compress), also replaced
# by the codec. Negotiation tests run.
suite wsproto wsproto-1.3.2 tests --ignore=tests/test_frame_protocol.py \
    -k "not (TestPerMessageDeflate and (inbound or outbound or compress))"
suite hypercorn hypercorn-0.18.0 tests
suite trio-websocket trio_websocket-0.12.2 -p no:asyncio -o trio_mode=true tests
suite httpx-ws httpx_ws-0.9.0 tests
suite simple-websocket simple_websocket-1.1.0 -p wsfast_offline_dns tests
suite flask-sock flask-sock-0.7.0 tests

cd "$ROOT"
out=$(WSFAST_WSPROTO_E2E=required python -m pytest -q -p no:cacheprovider tests/python/test_wsproto_e2e.py 2>&1) || FAILED=1
grep -E "^(FAILED|ERROR) " <<<"$out" || true
printf '%-18s %s\n' "end to end" "$(grep -E '[0-9]+ (passed|failed|skipped)' <<<"$out" | tail -1)"
exit $FAILED
