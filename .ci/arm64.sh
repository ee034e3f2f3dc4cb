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
