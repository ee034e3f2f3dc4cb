#!/usr/bin/env python3
"""The codec backends side by side, on whatever interpreter runs this:
wsfast's C core through Cython ("c") and through cffi ("cffi"), its
pure-Python fallback ("python"), and websockets' frame layer.

    pypy3 benchmarks/bench_cffi_pypy.py [--rounds N] [--frames N] [--json out.json]
    python3 benchmarks/bench_cffi_pypy.py ...     # CPython: cffi beside Cython

* parse  - N masked client TEXT frames (16 B and 125 B payloads) fed in
           64 KiB chunks to a server-side parser (frames/s). wsfast's parser
           unmasks and checks UTF-8; websockets' ``Frame.parse`` unmasks
           (its UTF-8 check comes later, when a message is decoded);
* encode - N unmasked server TEXT frames, one call each (frames/s);
* mask   - XOR masking of 125 B, 4 KiB, 64 KiB and 1 MiB (MB/s);
           websockets' is the one its frames use (its C speedup if built).

A JIT needs warming up: each round runs every contender once untimed, then
once timed, and the table shows the median of the timed rounds (min-max
beside it). Samples use the thread's CPU clock. Every contender's output
is checked against bytes built independently before anything is timed.
Backends that are not built, and websockets when missing, are left out.
"""

import argparse
import importlib
import json
import os
import platform
import statistics
import sys
import time

from common import human  # imports nothing of wsfast: runs on PyPy 3.9 too

CHUNK = 64 * 1024
PARSE_SIZES = (16, 125)
MASK_SIZES = (125, 4 * 1024, 64 * 1024, 1024 * 1024)
KEY = b"\x37\xfa\x21\x3d"
clock = time.thread_time


def masked_frame(payload):
    """A client TEXT frame, built here without any contender's code."""
    n = len(payload)
    head = bytes((0x81, 0x80 | n)) if n < 126 else bytes((0x81, 0xFE)) + n.to_bytes(2, "big")
    body = bytes(b ^ KEY[i & 3] for i, b in enumerate(payload))
    return head + KEY + body


def wsfast_backends():
    found = {}
    for name, module in (("c", "wsfast.codec._core"), ("cffi", "wsfast.codec._cffi"),
                         ("python", "wsfast.codec._python")):
        try:
            found[name] = importlib.import_module(module)
        except ImportError:
            pass
    return found


def websockets_frames():
    try:
        from websockets import frames, streams, utils
    except ImportError:
        return None
    return frames, streams, utils


# --- contenders: each returns a function that does the work once --------

def wsfast_parse(impl, chunks):
    def run():
        p = impl.FrameParser(True)
        got = 0
        for chunk in chunks:
            got += len(p.feed(chunk))
        return got
    return run


def websockets_parse(ws, chunks):
    frames, streams, _ = ws

    def run():
        reader = streams.StreamReader()
        parser = frames.Frame.parse(reader.read_exact, mask=True)
        got = 0
        for chunk in chunks:
            reader.feed_data(chunk)
            while True:  # run the parser until it waits for more bytes
                try:
                    next(parser)
                except StopIteration:
                    got += 1
                    parser = frames.Frame.parse(reader.read_exact, mask=True)
                else:
                    break
        return got
    return run


# Every output is stored in a list made beforehand: a JIT would otherwise
# see that nothing reads it and skip building it.

def wsfast_encode(impl, payload, count):
    outs = [None] * count

    def run():
        encode = impl.FrameEncoder(False).encode
        for i in range(count):
            outs[i] = encode(1, payload)
        return outs[-1]
    return run


def websockets_encode(ws, payload, count):
    frames = ws[0]
    outs = [None] * count

    def run():
        for i in range(count):
            outs[i] = frames.Frame(frames.Opcode.TEXT, payload).serialize(mask=False)
        return outs[-1]
    return run


def mask_run(apply_mask, data, count):
    outs = [None] * count

    def run():
        for i in range(count):
            outs[i] = apply_mask(data, KEY)
        return outs[-1]
    return run


# --- measurement ------------------------------------------------------------

def contenders(args):
    """[(section, case, unit, per_sample_units, {name: run}, check)]"""
    backends = wsfast_backends()
    ws = websockets_frames()
    table = []
    for size in PARSE_SIZES:
        payload = (b"wsfast-%d " % size * size)[:size]
        frame = masked_frame(payload)
        stream = frame * args.frames
        chunks = [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]
        runs = {name: wsfast_parse(impl, chunks) for name, impl in backends.items()}
        if ws:
            runs["websockets"] = websockets_parse(ws, chunks)
        table.append(("parse", "%d B" % size, "frames/s", args.frames, runs,
                      lambda got, n=args.frames: got == n))
    for size in PARSE_SIZES:
        payload = (b"wsfast-%d " % size * size)[:size]
        expect = bytes((0x81, size)) + payload
        runs = {name: wsfast_encode(impl, payload, args.frames) for name, impl in backends.items()}
        if ws:
            runs["websockets"] = websockets_encode(ws, payload, args.frames)
        table.append(("encode", "%d B" % size, "frames/s", args.frames, runs,
                      lambda out, e=expect: out == e))
    for size in MASK_SIZES:
        data = os.urandom(size)
        expect = bytes(b ^ KEY[i & 3] for i, b in enumerate(data))
        count = max(1, (64 << 20) // size // 16)  # about 4 MiB a sample
        runs = {name: mask_run(impl.apply_mask, data, count) for name, impl in backends.items()}
        if ws:
            # What websockets itself masks with: its C speedup when built
            # (through the C-API emulation on PyPy), else pure Python.
            runs["websockets"] = mask_run(getattr(ws[0], "apply_mask", ws[2].apply_mask),
                                          data, count)
        table.append(("mask", human(size), "MB/s", count * size / 1e6, runs,
                      lambda out, e=expect: out == e))
    return table


def measure(args):
    table = contenders(args)
    for section, case, _, _, runs, check in table:  # correctness first
        for name, run in runs.items():
            if not check(run()):
                sys.exit("%s %s: %s gave a wrong result" % (section, case, name))
    results = []
    for section, case, unit, units, runs, _ in table:
        samples = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                run()  # warm-up (the JIT's, and the caches')
                t = clock()
                run()
                samples[name].append(units / max(clock() - t, 1e-9))
        results.append({"section": section, "case": case, "unit": unit,
                        "results": {n: {"median": statistics.median(s), "min": min(s),
                                        "max": max(s)} for n, s in samples.items()}})
    return results


def fmt(x):
    return "%.3g" % x if x < 1000 else "{:,.0f}".format(x)


def websockets_mask_kind():
    ws = websockets_frames()
    if ws is None:
        return "not installed"
    fn = getattr(ws[0], "apply_mask", ws[2].apply_mask)
    return "C speedup" if "speedups" in (getattr(fn, "__module__", "") or "") else "pure Python"


def report(results, args):
    names = []
    for row in results:
        names += [n for n in row["results"] if n not in names]
    impl = platform.python_implementation()
    print("%s %s, %d rounds, %d frames per parse/encode sample; websockets' mask: %s; "
          "median (min-max)\n" % (impl, platform.python_version(), args.rounds, args.frames,
                                  websockets_mask_kind()))
    print("| | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for row in results:
        cells = []
        for n in names:
            r = row["results"].get(n)
            cells.append("%s (%s-%s)" % (fmt(r["median"]), fmt(r["min"]), fmt(r["max"]))
                         if r else "-")
        print("| %s %s, %s | %s |" % (row["section"], row["case"], row["unit"], " | ".join(cells)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--json", help="write the results here too")
    args = ap.parse_args()
    results = measure(args)
    report(results, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"interpreter": "%s %s" % (platform.python_implementation(),
                                                 platform.python_version()),
                       "args": vars(args), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
