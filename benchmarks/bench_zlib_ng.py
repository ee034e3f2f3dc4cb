"""Stock zlib against zlib-ng, at the API level, for permessage-deflate's
small messages.

    pip install zlib-ng
    python3 benchmarks/bench_zlib_ng.py [--rounds 5] [--size 256]

Compresses and decompresses JSON messages (``json_corpus.py``, 200
distinct ones cycled) the way a connection with context takeover does:
one raw-deflate stream per direction, a sync flush per message, at
wsfast's settings (12 window bits, memLevel 5) and at zlib's largest
(15/8), levels 6 (zlib's default) and 1. Process CPU per message, median
of ``--rounds`` interleaved rounds with min - max, and the mean compressed
size: zlib-ng's bytes differ from zlib's, but any inflater reads them (each
run is checked through stock zlib's inflate). Python's ``zlib`` module and
``zlib_ng.zlib_ng`` wrap the two C libraries the same way, so the
difference is the libraries'.
"""

import argparse
import statistics
import sys
import time
import zlib

from json_corpus import sized_message


def run(mod, level, wbits, mem, msgs, n):
    co = mod.compressobj(level, mod.DEFLATED, -wbits, mem)
    out = []
    t = time.process_time()
    for k in range(n):
        out.append(co.compress(msgs[k % len(msgs)]) + co.flush(mod.Z_SYNC_FLUSH))
    t_c = (time.process_time() - t) / n
    do = mod.decompressobj(-wbits)
    t = time.process_time()
    for p in out:
        do.decompress(p)
    t_d = (time.process_time() - t) / n
    check = zlib.decompressobj(-15)
    for k, p in enumerate(out[:400]):
        assert check.decompress(p) == msgs[k % len(msgs)]
    return t_c * 1e6, t_d * 1e6, sum(len(p) - 4 for p in out) / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("-n", type=int, default=20000, help="messages per sample")
    args = p.parse_args(argv)
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        print("zlib-ng is not installed (pip install zlib-ng)", file=sys.stderr)
        return 2
    msgs = [sized_message(args.size, i) for i in range(200)]
    rows = [(name, mod, level, wbits, mem) for wbits, mem in ((12, 5), (15, 8)) for level in (6, 1)
            for name, mod in (("zlib %s" % zlib.ZLIB_RUNTIME_VERSION, zlib),
                              ("zlib-ng %s" % getattr(zlib_ng, "ZLIBNG_VERSION", "?"), zlib_ng))]
    samples = {i: [] for i in range(len(rows))}
    for r in range(args.rounds + 1):  # the first round warms up
        order = list(range(len(rows)))
        order = order[r % len(order):] + order[:r % len(order)]
        for i in order:
            name, mod, level, wbits, mem = rows[i]
            res = run(mod, level, wbits, mem, msgs, args.n)
            if r:
                samples[i].append(res)
    print("%d B JSON messages, context takeover, sync flush per message; us of process CPU per "
          "message, median of %d rounds (min - max)\n" % (args.size, args.rounds))
    print("| library | level | bits/memLevel | compress | decompress | bytes/msg |")
    print("|---|---:|---|---:|---:|---:|")
    for i, (name, mod, level, wbits, mem) in enumerate(rows):
        c = [s[0] for s in samples[i]]
        d = [s[1] for s in samples[i]]
        print("| %s | %d | %d/%d | %.2f (%.2f - %.2f) | %.2f (%.2f - %.2f) | %.1f |" % (
            name, level, wbits, mem, statistics.median(c), min(c), max(c),
            statistics.median(d), min(d), max(d), samples[i][0][2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
