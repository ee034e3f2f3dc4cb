"""wsfast's protocol layer against websockets, as ratios from one run.

    python3 benchmarks/bench_protocol.py [--rounds 7] [--conns 2000]

1. permessage-deflate: compress and decompress JSON messages of 256 B and
   16 KiB (200 distinct ones, from json_corpus.py, taken in turn, so
   context takeover cannot turn a repeat into a back-reference), wsfast
   Deflater/Inflater as a connection uses them (compression_idle default)
   vs websockets' PerMessageDeflate, both at window bits 12, memLevel 5,
   context takeover. Decompression replays a recorded context-takeover
   stream, restarting both sides' decoder at the end of the list.
2. Handshakes: parse an upgrade request and build the 101, wsfast
   ServerConnection vs websockets ServerProtocol (sans-I/O, no sockets).
3. Compression idle modes: CPU per message, "window" vs "keep" (and
   websockets), and the compression ratio on the 1,000-message JSON
   corpus vs websockets' defaults.
4. Memory per connection with compression negotiated, each stack with its
   defaults (websockets: enable_*_permessage_deflate, 12 bits/memLevel 5):
   process RSS growth over N server+client pairs, idle after the handshake
   and after one compressed message each way, and wsfast's zlib state per
   connection as counted by its allocator.
Medians of interleaved rounds, with min-max, in process CPU time.
"""

import argparse
import gc
import json
import os
import statistics
import time

import wsfast
from wsfast.client_protocol import ClientConnection
from wsfast.protocol import DEFAULT_COMPRESSION_IDLE
from wsfast.server_protocol import ServerConnection
from wsfast.server.timers import trim_heap

from json_corpus import corpus, sized_messages

try:
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory,
        PerMessageDeflate,
        ServerPerMessageDeflateFactory,
        enable_client_permessage_deflate,
        enable_server_permessage_deflate,
    )
    from websockets.frames import Frame, Opcode
    from websockets.server import ServerProtocol
    from websockets.uri import parse_uri
    HAVE_WEBSOCKETS = True
except ImportError:  # the suite (suite.py) still measures wsfast alone
    HAVE_WEBSOCKETS = False


def rate(fn, n):
    """Calls per second of this process's CPU time (process_time): on a
    shared machine, time spent preempted is not counted against either
    side."""
    t = time.process_time()
    for _ in range(n):
        fn()
    return n / (time.process_time() - t)


DISTINCT = 200  # messages per size, taken in turn


class _Cycle:
    """Calls fn on each item in turn; make() gives a fresh state at the
    end of the list (a recorded context-takeover stream must be replayed
    from its start)."""

    def __init__(self, items, make, fn):
        self.items, self.make, self.fn = items, make, fn
        self.k, self.state = 0, make()

    def __call__(self):
        if self.k == len(self.items):
            self.k, self.state = 0, self.make()
        item = self.items[self.k]
        self.k += 1
        return self.fn(self.state, item)


def _ext(no_context=False):
    return PerMessageDeflate(no_context, no_context, 12, 12, {"memLevel": 5})


def wsfast_ops(msgs, idle):
    """(compress, decompress) callables for wsfast, cycling over msgs."""
    d = wsfast.Deflater(12, 5, idle=idle)
    wires = [d.compress(m) for m in msgs]
    check = wsfast.Inflater(12, idle=idle)
    assert [check.decompress(w) for w in wires] == msgs
    comp = _Cycle(msgs, lambda: wsfast.Deflater(12, 5, idle=idle), lambda z, m: z.compress(m))
    decomp = _Cycle(wires, lambda: wsfast.Inflater(12, idle=idle), lambda z, w: z.decompress(w))
    return comp, decomp


def websockets_ops(msgs):
    e = _ext()
    frames = [e.encode(Frame(Opcode.TEXT, m)) for m in msgs]
    check = _ext()
    assert [check.decode(f).data for f in frames] == msgs
    comp = _Cycle(msgs, _ext, lambda z, m: z.encode(Frame(Opcode.TEXT, m)))
    decomp = _Cycle(frames, _ext, lambda z, f: z.decode(f))
    return comp, decomp


def deflate_cases(size):
    msgs = sized_messages(size, DISTINCT)
    n = 20000 if size < 1024 else 1500
    ours = wsfast_ops(msgs, DEFAULT_COMPRESSION_IDLE)
    theirs = websockets_ops(msgs) if HAVE_WEBSOCKETS else (None, None)
    return n, {"compress": (ours[0], theirs[0]), "decompress": (ours[1], theirs[1])}


def idle_costs(rounds):
    """Microseconds per message: {size: {op: {mode: (median, min, max)}}}."""
    out = {}
    for size in (256, 16384):
        msgs = sized_messages(size, DISTINCT)
        n = 10000 if size < 1024 else 800
        contenders = {"window": wsfast_ops(msgs, "window"), "keep": wsfast_ops(msgs, "keep"),
                      "websockets": websockets_ops(msgs)}
        res = {"compress": {}, "decompress": {}}
        samples = {(op, mode): [] for op in res for mode in contenders}
        for _ in range(rounds):
            for mode, fns in contenders.items():
                for op, fn in zip(("compress", "decompress"), fns):
                    samples[op, mode].append(1e6 / rate(fn, n))
        for (op, mode), xs in samples.items():
            res[op][mode] = (statistics.median(xs), min(xs), max(xs))
        out[size] = res
    return out


def corpus_ratios():
    """Compressed/plain over the JSON corpus, context takeover, every
    message compressed: {name: ratio}."""
    msgs = corpus(1000)
    plain = sum(map(len, msgs))
    out = {}
    for name, idle in (("wsfast window (default)", "window"), ("wsfast keep", "keep")):
        d = wsfast.Deflater(12, 5, idle=idle)
        out[name] = sum(len(d.compress(m)) for m in msgs) / plain
    e = _ext()
    out["websockets default (12 bits, memLevel 5)"] = sum(
        len(e.encode(Frame(Opcode.TEXT, m)).data) for m in msgs) / plain
    return len(msgs), plain, out


def ws_request():
    c = ClientProtocol(parse_uri("ws://localhost:8000/chat"),
                       extensions=[ClientPerMessageDeflateFactory()])
    c.send_request(c.connect())
    return c.data_to_send()[0]


def handshake_cases():
    req = ws_request()

    def ours():
        s = ServerConnection()
        s.receive_data(req)
        return s.data_to_send()

    def theirs():
        s = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()])
        s.receive_data(req)
        s.send_response(s.accept(s.events_received()[0]))
        return s.data_to_send()

    assert b"101" in ours() and b"101" in theirs()[0]
    return 3000, {"handshake": (ours, theirs)}


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def memory_per_connection(n):
    """Per server+client pair: {stack: (KiB after handshake, KiB after one
    message each way, zlib state KiB of one connection (server side)
    after it, KiB after parking or None, zlib state KiB then or None)}.
    "adaptive" pairs are parked as a keepalive tick with no message would."""
    msg = sized_messages(2048, 1)[0].decode()
    idle_mode = "window"

    def wsfast_pairs(n=n):
        pairs = []
        for _ in range(n):
            s = ServerConnection(compression_idle=idle_mode)
            c = ClientConnection("localhost", 8000, compression_idle=idle_mode)
            c.connect()
            s.receive_data(c.data_to_send())
            c.receive_data(s.data_to_send())
            pairs.append((s, c))
        return pairs

    def wsfast_traffic(pairs):
        for s, c in pairs:
            c.send(msg)
            s.receive_data(c.data_to_send())
            s.send(msg)
            c.receive_data(s.data_to_send())

    def websockets_pairs(n=n):
        pairs = []
        for _ in range(n):
            c = ClientProtocol(parse_uri("ws://localhost:8000/"),
                               extensions=enable_client_permessage_deflate(None))
            c.send_request(c.connect())
            s = ServerProtocol(extensions=enable_server_permessage_deflate(None))
            for data in c.data_to_send():
                s.receive_data(data)
            s.send_response(s.accept(s.events_received()[0]))
            for data in s.data_to_send():
                c.receive_data(data)
            c.events_received()
            pairs.append((s, c))
        return pairs

    def websockets_traffic(pairs):
        for s, c in pairs:
            c.send_text(msg.encode())
            for data in c.data_to_send():
                s.receive_data(data)
            s.events_received()
            s.send_text(msg.encode())
            for data in s.data_to_send():
                c.receive_data(data)
            c.events_received()

    def measure(name, make, traffic):
        # First-use allocations (caches, interned names) out of the figures;
        # kept alive so that the measured pairs cannot reuse their memory.
        warm = make(50)
        traffic(warm)
        gc.collect()
        base = rss()
        pairs = make()
        gc.collect()
        idle = (rss() - base) / n / 1024
        traffic(pairs)
        gc.collect()
        busy = (rss() - base) / n / 1024
        zlib = parked = parked_zlib = trimmed = trim_ms = None
        if name.startswith("wsfast"):
            s, c = pairs[0]
            assert s._inflater.memory > 0
            zlib = (s._deflater.memory + s._inflater.memory) / 1024
        if "adaptive" in name:
            for s, c in pairs:
                assert s.park_compression() and c.park_compression()
            gc.collect()
            parked = (rss() - base) / n / 1024
            s, c = pairs[0]
            parked_zlib = (s._deflater.memory + s._inflater.memory) / 1024
            # What the server's park sweep does after parking many: one
            # malloc_trim(0) (glibc), timed.
            t0 = time.perf_counter()
            if trim_heap():
                trim_ms = (time.perf_counter() - t0) * 1000
                trimmed = (rss() - base) / n / 1024
        return idle, busy, zlib, parked, parked_zlib, trimmed, trim_ms

    out = {}
    for name, make, traffic in (("wsfast, compression_idle=window (default)", wsfast_pairs, wsfast_traffic),
                                ("wsfast, compression_idle=keep", wsfast_pairs, wsfast_traffic),
                                ("wsfast, compression_idle=adaptive", wsfast_pairs, wsfast_traffic),
                                ("websockets (defaults)", websockets_pairs, websockets_traffic)):
        idle_mode = name.split("compression_idle=")[-1].split(" ")[0] if "wsfast" in name else "window"
        # Each stack in a forked child, so that none starts on a heap that
        # another's freed memory has left behind.
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(rd)
            try:
                os.write(wr, json.dumps(measure(name, make, traffic)).encode())
            finally:
                os._exit(0)
        os.close(wr)
        with os.fdopen(rd, "rb") as f:
            data = f.read()
        os.waitpid(pid, 0)
        out[name] = tuple(json.loads(data))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--memory-only", action="store_true", help="only the memory-per-connection table")
    args = ap.parse_args()
    if not HAVE_WEBSOCKETS:
        ap.error("this benchmark compares with websockets, which is not installed")
    if args.memory_only:
        print_memory(args.conns)
        return
    print("wsfast %s (%s backend) vs websockets %s" % (wsfast.__version__, wsfast.backend,
                                                       __import__("websockets").__version__))
    print()
    print("| scenario | wsfast msg/s | websockets msg/s | ratio (min-max) | target |")
    print("|---|---|---|---|---|")
    groups = [("deflate 256 B JSON", *deflate_cases(256)),
              ("deflate 16 KiB JSON", *deflate_cases(16384)),
              ("", *handshake_cases())]
    for label, n, cases in groups:
        for op, (ours, theirs) in cases.items():
            a, b, r = [], [], []
            for _ in range(args.rounds):
                x, y = rate(ours, n), rate(theirs, n)
                a.append(x), b.append(y), r.append(x / y)
            target = ">= 3x" if "deflate" in label else "-"
            print("| %s %s | %.0f | %.0f | %.2fx (%.2f-%.2f) | %s |" % (
                label, op, statistics.median(a), statistics.median(b),
                statistics.median(r), min(r), max(r), target))
    print()
    print("CPU per message, compression_idle modes (us, median of %d rounds, min-max;" % args.rounds)
    print("%d distinct JSON messages in turn, context takeover, 12 bits, memLevel 5):" % DISTINCT)
    print()
    print("| message | op | wsfast window | wsfast keep | websockets | window - keep |")
    print("|---|---|---|---|---|---|")
    for size, res in idle_costs(args.rounds).items():
        for op, modes in res.items():
            cells = ["%.2f (%.2f-%.2f)" % modes[m] for m in ("window", "keep", "websockets")]
            print("| %s B | %s | %s | %+.2f |" % (size, op, " | ".join(cells),
                                                 modes["window"][0] - modes["keep"][0]))
    print()
    count, plain, ratios = corpus_ratios()
    base = ratios["websockets default (12 bits, memLevel 5)"]
    print("Compression ratio on the JSON corpus (json_corpus.corpus(%d), %d bytes, every" % (count, plain))
    print("message compressed, context takeover; compressed/plain, lower is better):")
    print()
    print("| compressor | ratio | vs websockets |")
    print("|---|---|---|")
    for name, r in ratios.items():
        print("| %s | %.4f | %+.2f%% |" % (name, r, (r / base - 1) * 100))
    print()
    print_memory(args.conns)


def print_memory(conns):
    mem = memory_per_connection(conns)
    print("Memory with permessage-deflate (%d server+client pairs, RSS growth per pair;" % conns)
    print("zlib state of one connection, server side, by wsfast's allocator count):")
    print()
    print("| stack | after handshake KiB/pair | after one message each way KiB/pair | zlib state per connection KiB "
          "| parked (adaptive) KiB/pair | zlib state parked KiB | parked + malloc_trim KiB/pair (trim ms) |")
    print("|---|---|---|---|---|---|---|")
    for name, (idle, busy, zlib, parked, parked_zlib, trimmed, trim_ms) in mem.items():
        print("| %s | %.1f | %.1f | %s | %s | %s | %s |" % (
            name, idle, busy, "0 -> %.1f" % zlib if zlib is not None else "-",
            "%.1f" % parked if parked is not None else "-",
            "%.1f" % parked_zlib if parked_zlib is not None else "-",
            "%.1f (%.2f)" % (trimmed, trim_ms) if trimmed is not None else "-"))


if __name__ == "__main__":
    main()
