"""wsfast's protocol layer against websockets, as ratios from one run.

    python3 benchmarks/bench_protocol.py [--rounds 7] [--conns 2000]

1. permessage-deflate: compress and decompress one JSON message (256 B and
   16 KiB), wsfast Deflater/Inflater vs websockets' PerMessageDeflate, with
   the same settings (window bits 12, memLevel 5, context takeover).
2. Handshakes: parse an upgrade request and build the 101, wsfast
   ServerConnection vs websockets ServerProtocol (sans-I/O, no sockets).
3. Memory per connection with compression negotiated: process RSS growth
   over N server+client pairs, idle after the handshake and after one
   compressed message each way.
Medians of interleaved rounds, with min-max.
"""

import argparse
import gc
import json
import statistics
import time

import wsfast
from wsfast.client_protocol import ClientConnection
from wsfast.server_protocol import ServerConnection

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Frame, Opcode
from websockets.server import ServerProtocol
from websockets.uri import parse_uri


def json_message(size):
    item = {"id": 12345, "name": "sensor-7", "value": 21.375, "tags": ["a", "b"], "ok": True}
    out, i = [], 0
    while len(json.dumps(out)) < size:
        out.append(dict(item, id=i))
        i += 1
    return json.dumps(out).encode()[:size]


def rate(fn, n):
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - t)


def deflate_cases(size):
    msg = json_message(size)
    n = 20000 if size < 1024 else 1500
    wd = wsfast.Deflater(12, 5)
    assert wsfast.Inflater(12).decompress(wsfast.Deflater(12, 5).compress(msg)) == msg
    ext = PerMessageDeflate(False, False, 12, 12, {"memLevel": 5})
    ext_frame = PerMessageDeflate(False, False, 12, 12, {"memLevel": 5}).encode(Frame(Opcode.TEXT, msg))
    assert PerMessageDeflate(False, False, 12, 12, {"memLevel": 5}).decode(ext_frame).data == msg

    # Decompressing the same frame again needs a fresh context each time
    # for both, so the decode benchmarks use no-context-takeover streams.
    wi_nc = wsfast.Inflater(12, no_context_takeover=True)
    wire_nc = wsfast.Deflater(12, 5, no_context_takeover=True).compress(msg)
    ext_nc = PerMessageDeflate(True, True, 12, 12, {"memLevel": 5})
    ext_frame_nc = PerMessageDeflate(True, True, 12, 12, {"memLevel": 5}).encode(Frame(Opcode.TEXT, msg))
    assert wi_nc.decompress(wire_nc) == msg and ext_nc.decode(ext_frame_nc).data == msg
    return n, {
        "compress": (lambda: wd.compress(msg), lambda: ext.encode(Frame(Opcode.TEXT, msg))),
        "decompress": (lambda: wi_nc.decompress(wire_nc), lambda: ext_nc.decode(ext_frame_nc)),
    }


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
    """KiB per server+client pair: (after handshake, after one message each way)."""
    msg = json_message(2048).decode()

    def wsfast_pairs():
        pairs = []
        for _ in range(n):
            s, c = ServerConnection(), ClientConnection("localhost", 8000)
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

    def websockets_pairs():
        req = None
        pairs = []
        for _ in range(n):
            c = ClientProtocol(parse_uri("ws://localhost:8000/"),
                               extensions=[ClientPerMessageDeflateFactory()])
            c.send_request(c.connect())
            s = ServerProtocol(extensions=[ServerPerMessageDeflateFactory()])
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

    out = {}
    for name, make, traffic in (("wsfast", wsfast_pairs, wsfast_traffic),
                                ("websockets", websockets_pairs, websockets_traffic)):
        gc.collect()
        base = rss()
        pairs = make()
        gc.collect()
        idle = (rss() - base) / n / 1024
        traffic(pairs)
        gc.collect()
        busy = (rss() - base) / n / 1024
        zlib = None
        if name == "wsfast":
            s, c = pairs[0]
            zlib = (s._deflater.memory + s._inflater.memory) / 1024
        out[name] = (idle, busy, zlib)
        del pairs
        gc.collect()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--conns", type=int, default=2000)
    args = ap.parse_args()
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
    mem = memory_per_connection(args.conns)
    print("Memory per server+client pair with permessage-deflate (%d pairs, RSS growth):" % args.conns)
    print()
    print("| stack | after handshake KiB | after one message each way KiB | zlib state, server side KiB |")
    print("|---|---|---|---|")
    for name, (idle, busy, zlib) in mem.items():
        print("| %s | %.1f | %.1f | %s |" % (name, idle, busy, "%.1f" % zlib if zlib is not None else "-"))


if __name__ == "__main__":
    main()
