"""Stock zlib against zlib-ng's native API in C, per message, as wsfast's
permessage-deflate calls them (``zlib_ng_bench.c`` has the method).

    python3 benchmarks/bench_zlib_ng_c.py --zlib-ng SRC [--rounds 5] [--callgrind]

SRC is an unpacked zlib-ng source tree, e.g. ``src/zlib_ng/zlib-ng`` of the
``zlib-ng`` Python package's sdist (``pip download --no-binary :all:
--no-deps zlib-ng``). It is built once with CMake (static, native API,
runtime CPU dispatch, as its own release builds are) into
``build/zlib-ng-bench``; the benchmark links it beside the system zlib
(``-lz``). Message shapes: 256 B, 1 KiB and 16 KiB JSON (``json_corpus.py``,
200 distinct messages of each size, cycled), at wsfast's 12 window bits and
memLevel 5, levels -1 (zlib's default, 6, what wsfast uses) and 1.

Prints, per shape and level: the interop check (each library's stream
inflated by both, byte for byte, at the negotiated window, also when the
sender primes a new stream per message as "window" mode does) with the
memory a stream holds; CPU ns per message (median of ``--rounds``
interleaved rounds, min - max); with ``--callgrind``, instructions per
message of compress, inflate, and compress with a stream primed per message.
Needs cmake, a C compiler, and valgrind for ``--callgrind``.
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from json_corpus import sized_message  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "build", "zlib-ng-bench")
SRC = os.path.join(HERE, "zlib_ng_bench.c")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, **kw)


def build(zng_src):
    lib = os.path.join(OUT, "zng", "libz-ng.a")
    if not os.path.exists(lib):
        os.makedirs(os.path.join(OUT, "zng"), exist_ok=True)
        run(["cmake", "-S", os.path.abspath(zng_src), "-B", os.path.join(OUT, "zng"),
             "-DCMAKE_BUILD_TYPE=Release", "-DZLIB_COMPAT=OFF", "-DBUILD_SHARED_LIBS=OFF",
             "-DZLIB_ENABLE_TESTS=OFF", "-DZLIBNG_ENABLE_TESTS=OFF", "-DWITH_GTEST=OFF"],
            stdout=subprocess.DEVNULL)
        run(["cmake", "--build", os.path.join(OUT, "zng"), "-j2"], stdout=subprocess.DEVNULL)
    cc = os.environ.get("CC", "cc")
    objs = []
    for name, flags in (("lz", ["-DBENCH_LIB=0"]),
                        ("ng", ["-DBENCH_LIB=1", "-I" + os.path.join(OUT, "zng")]),
                        ("main", [])):
        obj = os.path.join(OUT, name + ".o")
        run([cc, "-O2", "-std=c99", "-Wall", "-c", SRC, "-o", obj] + flags)
        objs.append(obj)
    exe = os.path.join(OUT, "zbench")
    run([cc, "-o", exe] + objs + [lib, "-lz"])
    return exe


def corpus(size):
    path = os.path.join(OUT, "corpus%d" % size)
    with open(path, "wb") as f:
        for i in range(200):
            m = sized_message(size, i)
            f.write(struct.pack("<I", len(m)) + m)
    return path


def instructions(exe, func, args, n):
    """Instructions per message inside ``func`` (callgrind --toggle-collect)."""
    res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          "--toggle-collect=" + func, exe] + args,
                         capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", res.stderr).group(1)) / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--zlib-ng", required=True, metavar="SRC", help="zlib-ng source tree")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--sizes", default="256,1024,16384")
    p.add_argument("--levels", default="-1,1")
    p.add_argument("--callgrind", action="store_true")
    args = p.parse_args(argv)
    if args.callgrind and not shutil.which("valgrind"):
        p.error("--callgrind needs valgrind")
    exe = build(args.zlib_ng)
    wbits, mem = 12, 5
    rows = []
    for size in map(int, args.sizes.split(",")):
        path = corpus(size)
        n = max(200, 2_560_000 // size)  # about 2.5 MB of input per sample
        for level in map(int, args.levels.split(",")):
            common = [str(level), str(wbits), str(mem)]
            print("## %d B, level %d" % (size, level))
            print(run([exe, path, "check"] + common, capture_output=True).stdout.strip())
            out = run([exe, path, "time"] + common + [str(n), str(args.rounds)],
                      capture_output=True).stdout
            for line in out.strip().splitlines():
                name, cm, cl, ch, dm, dl, dh, b = line.split("\t")
                row = [size, level, name, cm, cl, ch, dm, dl, dh, b]
                if args.callgrind:
                    lib, pre = ("zng", "ng_") if name.startswith("zlib-ng") else ("zlib", "lz_")
                    k = max(100, n // 5)
                    one = [path, "one", lib] + common + [str(k)]
                    primed = [path, "primed", lib] + common + [str(k)]
                    row += ["%.0f" % instructions(exe, pre + "compress", one, k),
                            "%.0f" % instructions(exe, pre + "inflate", one, k),
                            "%.0f" % instructions(exe, pre + "compress_primed", primed, k)]
                rows.append(row)
    print("\nCPU ns per message, median of %d rounds (min - max); bytes per message on "
          "the wire; 12 window bits, memLevel 5%s\n"
          % (args.rounds, "; instructions per message (callgrind)" if args.callgrind else ""))
    head = "| size | level | library | compress ns | inflate ns | bytes |"
    if args.callgrind:
        head += " compress Ir | inflate Ir | primed compress Ir |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        line = "| %d | %d | %s | %s (%s - %s) | %s (%s - %s) | %s |" % tuple(r[:10])
        if args.callgrind:
            line += " %s | %s | %s |" % tuple(r[10:])
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
