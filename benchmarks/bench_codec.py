#!/usr/bin/env python3
"""Codec benchmarks: wsfast against picows, aiohttp, websockets and wsproto.

    python3 benchmarks/bench_codec.py [--rounds N] [--quick] [--json out.json]

Four sections, each printed as markdown tables:

* mask   - XOR masking throughput (GB/s) at 125 B, 4 KiB, 64 KiB, 1 MiB,
           as a ratio to a plain copy of the same bytes;
* parse  - 100,000 masked client TEXT frames (16 B and 125 B payloads) fed
           in 64 KiB chunks to each library's server-side parser (frames/s,
           ratio to picows);
* encode - 100,000 unmasked server TEXT frames built by each library
           (frames/s, ratio to picows);
* utf8   - wsfast.validate_utf8 against bytes.decode("utf-8") on 1 MiB of
           ASCII, 2-byte-heavy and 4-byte-heavy text (GB/s).

The machine this runs on may be shared and noisy, so every figure is taken
as a ratio to a reference measured in the same round, the contenders of a
section are interleaved (their order rotates from round to round), and the
tables show the median over all rounds with the min and max beside it.
A warm-up round runs first and is not recorded. Samples are timed with the
thread's CPU clock, short loops take the best of three back-to-back runs,
the cyclic garbage collector is off while a sample is timed, and glibc's
malloc thresholds are fixed so that large allocations do not alternate
between reused and freshly faulted-in memory. benchmarks/README.md explains
each choice and what every row does.

Every contender's output is checked before timing (payloads or bytes on
the wire compared with what the benchmark built independently), and every
timed run asserts its frame or byte count, so a contender that silently
did nothing would stop the benchmark instead of winning it.

Libraries that are not installed are skipped, and so are the targets that
depend on them.
"""

import argparse
import asyncio
import gc
import importlib
import itertools
import json
import logging
import os
import platform
import random
import shlex
import socket
import statistics
import sys
import time

import wsfast
from common import environment, human
from wsfast.codec import _core as wsfast_core

try:
    from wsfast.codec import _python as wsfast_py
except ImportError:  # pragma: no cover
    wsfast_py = None

# Samples are timed with the thread's CPU clock by default: on a shared
# machine, time spent descheduled while other processes run is then not
# charged to whichever contender happened to be running (--wall to change).
clock = time.thread_time

OP_TEXT = 1
MASK_SIZES = (125, 4 * 1024, 64 * 1024, 1024 * 1024)
PARSE_SIZES = (16, 125)
CHUNK = 64 * 1024
ENCODE_BATCH = 100
UTF8_SIZE = 1024 * 1024
MEMCPY = "memcpy: bytearray[:]"
# Mask and UTF-8 samples are short loops; each sample is the best of this
# many back-to-back runs, which filters out one-off interruptions.
SHORT_BEST_OF = 3

# ---------------------------------------------------------------------------
# Optional peers


def _try_import(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


picows = _try_import("picows")
aiohttp_reader = _try_import("aiohttp._websocket.reader")
aiohttp_writer = _try_import("aiohttp._websocket.writer")
aiohttp_helpers = _try_import("aiohttp._websocket.helpers")
ws_speedups = _try_import("websockets.speedups")
ws_server = _try_import("websockets.server")
ws_frames = _try_import("websockets.frames")
wsproto = _try_import("wsproto")

# ---------------------------------------------------------------------------
# Measurement


class Contender:
    """One row of a table.

    ``prepare()`` runs untimed and returns ``run``; ``run()`` does one
    sample's work and returns a value that ``check(value)`` asserts on.
    ``work`` is the amount of work in one sample (bytes or frames).
    """

    def __init__(self, label, prepare, work, check, note="", best_of=1):
        self.label = label
        self.prepare = prepare
        self.work = work
        self.check = check
        self.note = note
        self.best_of = best_of


def time_once(c):
    """One sample: the fastest of c.best_of back-to-back timed runs."""
    best = None
    for _ in range(c.best_of):
        run = c.prepare()
        gc.collect()
        gc.disable()
        try:
            t0 = clock()
            result = run()
            elapsed = clock() - t0
        finally:
            gc.enable()
        c.check(result)
        best = elapsed if best is None else min(best, elapsed)
    return best


ONLY = None  # compiled --only pattern


def run_rounds(contenders, rounds, ref):
    """Interleaved rounds; returns {label: [throughput per round]}."""
    if ONLY is not None:
        contenders = [c for c in contenders
                      if c.label == ref or ONLY.search(c.label)]
    samples = {c.label: [] for c in contenders}
    n = len(contenders)
    for r in range(rounds + 1):  # round 0 is a warm-up
        shift = r % n
        order = contenders[shift:] + contenders[:shift]
        for c in order:
            t = time_once(c)
            if r:
                samples[c.label].append(c.work / t)
    return samples


def summarize(samples, ref):
    """Median/min/max of throughput and of the per-round ratio to ref."""
    out = {}
    base = samples.get(ref)
    for label, xs in samples.items():
        row = {"median": statistics.median(xs), "min": min(xs), "max": max(xs),
               "samples": xs}
        if base:
            ratios = [x / b for x, b in zip(xs, base)]
            row.update(ratio_median=statistics.median(ratios),
                       ratio_min=min(ratios), ratio_max=max(ratios),
                       ratios=ratios)
        out[label] = row
    return out


def calibrate(fn_for_iters, min_time):
    """Smallest power-of-two iteration count whose run takes min_time."""
    iters = 1
    while True:
        run = fn_for_iters(iters)
        t0 = clock()
        run()
        t = clock() - t0
        if t >= min_time or iters >= 1 << 24:
            return iters
        if t < min_time / 16:
            iters *= 8
        else:
            iters *= 2


def fmt_rate(x, unit):
    if unit == "GB/s":
        return "%.2f" % (x / 1e9)
    if x >= 1e6:
        return "%.2fM" % (x / 1e6)
    return "%.0fk" % (x / 1e3)


def table(title, summary, unit, ref, notes):
    lines = ["", "#### " + title, ""]
    lines.append("| contender | %s median | min – max | × %s median | min – max | notes |"
                 % (unit, ref))
    lines.append("|---|---:|---:|---:|---:|---|")
    for label, row in summary.items():
        lines.append("| %s | %s | %s – %s | %.2f× | %.2f – %.2f | %s |" % (
            label, fmt_rate(row["median"], unit), fmt_rate(row["min"], unit),
            fmt_rate(row["max"], unit), row["ratio_median"], row["ratio_min"],
            row["ratio_max"], notes.get(label, "")))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Frame building, independent of wsfast (so the benchmark checks it too)


def xor_mask(data, key):
    n = len(data)
    if not n:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^
            int.from_bytes(stream, "little")).to_bytes(n, "little")


def header(opcode, n, key=None):
    mbit = 0x80 if key is not None else 0
    if n < 126:
        h = bytes((0x80 | opcode, mbit | n))
    elif n < 65536:
        h = bytes((0x80 | opcode, mbit | 126)) + n.to_bytes(2, "big")
    else:
        h = bytes((0x80 | opcode, mbit | 127)) + n.to_bytes(8, "big")
    return h + key if key is not None else h


TEXT_SOURCE = (b"The quick brown fox jumps over the lazy dog; "
               b"Pack my box with five dozen liquor jugs. 0123456789 ") * 4


def ascii_payloads(size, variants=64):
    """Distinct ASCII payloads of one size (rotations of a sentence)."""
    return [TEXT_SOURCE[i:i + size] for i in range(variants)]


def client_stream(nframes, size, seed=1):
    """nframes masked TEXT frames (random keys); returns (stream, payloads)."""
    rnd = random.Random(seed)
    variants = ascii_payloads(size)
    payloads = [variants[i % len(variants)] for i in range(nframes)]
    parts = []
    for p in payloads:
        key = rnd.getrandbits(32).to_bytes(4, "little")
        parts.append(header(OP_TEXT, size, key))
        parts.append(xor_mask(p, key))
    return b"".join(parts), payloads


def chunked(data, n=CHUNK):
    return [data[i:i + n] for i in range(0, len(data), n)]


HANDSHAKE_REQUEST = (
    b"GET /bench HTTP/1.1\r\n"
    b"Host: localhost\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)

# ---------------------------------------------------------------------------
# picows: its server-side protocol object, driven with a fake transport


class FakeTransport:
    """Just enough of an asyncio transport for picows and aiohttp.

    ``write`` appends to a bytearray, as asyncio's own transports buffer.
    get_write_buffer_size() reports a non-empty buffer so that picows takes
    its buffered path (frame copied into a bytes object handed to write)
    rather than calling send() on the socket itself.
    """

    def __init__(self):
        self.sink = bytearray()
        self.write = self.sink.extend
        self.get_write_buffer_size = (1).bit_length  # C callable returning 1
        self.is_closing = bool                       # C callable returning False
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    def writelines(self, bufs):
        for b in bufs:
            self.write(b)

    def get_extra_info(self, name, default=None):
        return {"socket": self._sock, "peername": ("127.0.0.1", 1),
                "sockname": ("127.0.0.1", 2)}.get(name, default)

    def close(self):
        self._sock.close()

    def abort(self):
        self._sock.close()

    def pause_reading(self):
        pass

    def resume_reading(self):
        pass


_loop = None


def event_loop():
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    return _loop


if picows is not None:
    from picows.picows import WSProtocol as _PicowsProtocol

    # The listeners keep their state in closure cells: reading and writing
    # an attribute of a WSListener subclass instance (self.n += 1) costs
    # about 100 ns here, nearly as much as picows spends on a whole frame,
    # and would be charged to picows.

    def picows_counter():
        """A listener counting frames; returns (listener, count())."""
        n = 0

        class Counter(picows.WSListener):
            def on_ws_frame(self, transport, frame):
                nonlocal n
                n += 1

        return Counter(), lambda: n

    def picows_copier():
        """A listener copying each payload out; returns (listener, count())."""
        payloads = []
        append = payloads.append

        class Copier(picows.WSListener):
            def on_ws_frame(self, transport, frame):
                append(frame.get_payload_as_bytes())

        lst = Copier()
        lst.payloads = payloads
        return lst, payloads.__len__


def picows_server(listener):
    """A server-side picows protocol past its handshake; returns
    (protocol, fake transport)."""
    logger = logging.getLogger("bench.picows")
    logger.setLevel(logging.WARNING)

    async def make():
        return _PicowsProtocol(
            None, None, False,          # host_port, ws_path, is_client_side
            lambda request: listener,   # listener factory
            logger,
            True,                       # disconnect_on_exception
            None,                       # handshake timeout
            False, 20, 20,              # auto ping off
            picows.WSAutoPingStrategy.PING_WHEN_IDLE,
            True,                       # auto pong (its default)
            10 * 1024 * 1024,           # max_frame_size (its default)
            None,                       # extra headers
            16 * 1024)                  # read_buffer_init_size (its default)

    proto = event_loop().run_until_complete(make())
    tr = FakeTransport()
    proto.connection_made(tr)
    picows_feed(proto, [HANDSHAKE_REQUEST])
    assert tr.sink.startswith(b"HTTP/1.1 101"), bytes(tr.sink[:40])
    del tr.sink[:]
    return proto, tr


def picows_feed(proto, chunks):
    """Hands chunks over as asyncio does for a BufferedProtocol."""
    get_buffer = proto.get_buffer
    buffer_updated = proto.buffer_updated
    for c in chunks:
        n = len(c)
        buf = get_buffer(-1)
        if len(buf) >= n:
            buf[:n] = c
            buffer_updated(n)
            continue
        mv = memoryview(c)
        pos = 0
        while pos < n:
            buf = get_buffer(-1)
            k = min(len(buf), n - pos)
            buf[:k] = mv[pos:pos + k]
            buffer_updated(k)
            pos += k


# ---------------------------------------------------------------------------
# Section: mask


def mask_contenders(size, min_time):
    key = bytes((0x37, 0xFA, 0x21, 0x3D))
    data = bytes(random.Random(size).getrandbits(8) for _ in range(size))
    src_ba = bytearray(data)
    expected = xor_mask(data, key)
    rep = itertools.repeat
    out = []

    def add(label, make_loop, check_one, note):
        # make_loop(iters) -> callable doing iters operations, returning the
        # last result; check_one(result) verifies it.
        iters = calibrate(make_loop, min_time)
        out.append(Contender(label, lambda: make_loop(iters), iters * size,
                             check_one, note, best_of=SHORT_BEST_OF))

    def loop_slice(iters):
        def run():
            r = None
            for _ in rep(None, iters):
                r = src_ba[:]
            return r
        return run

    def loop_bytes(iters):
        def run():
            r = None
            for _ in rep(None, iters):
                r = bytes(src_ba)
            return r
        return run

    def check_copy(r):
        assert r == data and r is not src_ba

    add(MEMCPY, loop_slice, check_copy,
        "allocate + copy: the cheapest real copy Python offers (the reference)")
    add("copy: bytes(bytearray)", loop_bytes, check_copy,
        "allocate + copy, through bytes()' generic buffer path")

    def check_masked(r):
        assert r == expected, "wrong mask output"

    def loop_call(fn):
        def make(iters):
            def run():
                r = None
                for _ in rep(None, iters):
                    r = fn(data, key)
                return r
            return run
        return make

    add("wsfast.apply_mask (%s)" % wsfast.mask_kernel(),
        loop_call(wsfast.apply_mask), check_masked,
        "allocate bytes + masked copy, one pass")

    for k in wsfast.mask_kernels():
        def make(iters, k=k):
            f = wsfast_core.apply_mask_with

            def run():
                r = None
                for _ in rep(None, iters):
                    r = f(k, data, key, 0)
                return r
            return run
        add("wsfast kernel %s" % k, make, check_masked,
            "same, kernel forced")

    if aiohttp_helpers is not None:
        amask = aiohttp_helpers.websocket_mask

        def loop_aio_copy(iters):
            def run():
                b = None
                for _ in rep(None, iters):
                    b = bytearray(data)
                    amask(key, b)
                return b
            return run

        add("aiohttp websocket_mask: copy + in place", loop_aio_copy,
            check_masked, "bytearray(data) then XOR in place: two passes")

        def loop_aio_inplace(iters):
            b = bytearray(data)

            def run():
                for _ in rep(None, iters):
                    amask(key, b)
                return iters, b
            return run

        def check_inplace(r):
            # An even number of XORs leaves the buffer as it started.
            iters, b = r
            assert b == (data if iters % 2 == 0 else expected)

        add("aiohttp websocket_mask: in place only", loop_aio_inplace,
            check_inplace, "XOR in place, no allocation, no copy: "
            "less work than the rows above")

    if ws_speedups is not None:
        add("websockets.speedups.apply_mask", loop_call(
            lambda d, k, f=ws_speedups.apply_mask: f(d, k)),
            check_masked, "allocate bytes + masked copy")

    if wsfast_py is not None:
        add("wsfast.codec._python.apply_mask", loop_call(wsfast_py.apply_mask),
            check_masked, "pure-Python backend: big-int XOR")
    return out


# ---------------------------------------------------------------------------
# Section: parse


def parse_contenders(nframes, size):
    stream, payloads = client_stream(nframes, size)
    chunks = chunked(stream)
    out = []

    def count_check(n):
        assert n == nframes, "parsed %d frames, expected %d" % (n, nframes)

    # -- wsfast
    def verify_wsfast(mod):
        p = mod.FrameParser(True)
        got = []
        for c in chunks:
            got.extend(p.feed(c))
        assert [f[1] for f in got] == payloads
        assert all(f[0] == OP_TEXT and f[2] for f in got)

    def wsfast_prepare(mod):
        def prepare():
            feed = mod.FrameParser(True).feed

            def run():
                n = 0
                for c in chunks:
                    n += len(feed(c))
                return n
            return run
        return prepare

    verify_wsfast(wsfast)
    out.append(Contender("wsfast FrameParser.feed", wsfast_prepare(wsfast),
                         nframes, count_check,
                         "server role, UTF-8 validated, list of "
                         "(opcode, bytes, fin, rsv1)"))

    def wsfast_loop_prepare():
        feed = wsfast.FrameParser(True).feed

        def run():
            n = 0
            for c in chunks:
                for op, payload, fin, rsv1 in feed(c):
                    n += 1
            return n
        return run

    out.append(Contender("wsfast feed + Python loop over frames",
                         wsfast_loop_prepare, nframes, count_check,
                         "as above, plus a Python for-loop unpacking each "
                         "frame"))

    # -- picows
    if picows is not None:
        lst, _ = picows_copier()
        proto, tr = picows_server(lst)
        picows_feed(proto, chunks)
        assert lst.payloads == payloads, "picows payload mismatch"

        def picows_prepare(make_listener):
            def prepare():
                lst, count = make_listener()
                proto, tr = picows_server(lst)

                def run():
                    picows_feed(proto, chunks)
                    return count()
                return run
            return prepare

        out.append(Contender("picows", picows_prepare(picows_counter), nframes,
                             count_check,
                             "listener counts frames; no UTF-8 check, "
                             "payload left in picows' buffer (zero-copy)"))
        out.append(Contender("picows + get_payload_as_bytes",
                             picows_prepare(picows_copier), nframes,
                             count_check,
                             "listener copies each payload to bytes"))

    # -- aiohttp
    if aiohttp_reader is not None:
        class _Proto:
            _reading_paused = False

            def pause_reading(self):
                self._reading_paused = True

            def resume_reading(self):
                self._reading_paused = False

        def aio_new():
            q = aiohttp_reader.WebSocketDataQueue(_Proto(), 2 ** 31 - 1,
                                                  loop=event_loop())
            r = aiohttp_reader.WebSocketReader(q, 4 * 1024 * 1024,
                                               compress=False,
                                               decode_text=True)
            return q, r

        q, r = aio_new()
        for c in chunks:
            assert r.feed_data(c)[0] is False
        msgs = [m for m, _ in q._buffer]
        assert [m.data.encode() for m in msgs] == payloads, "aiohttp mismatch"

        def aio_prepare():
            q, r = aio_new()
            feed = r.feed_data

            def run():
                for c in chunks:
                    feed(c)
                return len(q._buffer)
            return run

        out.append(Contender("aiohttp WebSocketReader", aio_prepare, nframes,
                             count_check,
                             "decode_text=True (its default): text decoded to "
                             "str, which validates UTF-8; queued as WSMessage"))

    # -- websockets
    if ws_server is not None:
        def websockets_new():
            p = ws_server.ServerProtocol(max_size=None)
            p.receive_data(HANDSHAKE_REQUEST)
            req = p.events_received()[0]
            p.send_response(p.accept(req))
            p.data_to_send()
            assert p.state.name == "OPEN"
            return p

        p = websockets_new()
        got = []
        for c in chunks:
            p.receive_data(c)
            got.extend(p.events_received())
        assert [f.data for f in got] == payloads, "websockets mismatch"

        def websockets_prepare():
            p = websockets_new()
            receive = p.receive_data
            events = p.events_received

            def run():
                n = 0
                for c in chunks:
                    receive(c)
                    n += len(events())
                return n
            return run

        out.append(Contender("websockets ServerProtocol", websockets_prepare,
                             nframes, count_check,
                             "sans-I/O; yields Frame objects, no UTF-8 check "
                             "at this layer"))

    # -- wsproto
    if wsproto is not None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Request, TextMessage

        def wsproto_new():
            ws = WSConnection(ConnectionType.SERVER)
            ws.receive_data(HANDSHAKE_REQUEST)
            evs = list(ws.events())
            assert isinstance(evs[0], Request)
            ws.send(AcceptConnection())
            return ws

        # wsproto hands out the part of a message that has arrived so far,
        # so a frame split across two chunks comes out as two events; only
        # the one with message_finished counts as a frame.
        ws = wsproto_new()
        got, part = [], []
        for c in chunks:
            ws.receive_data(c)
            for e in ws.events():
                assert isinstance(e, TextMessage)
                part.append(e.data)
                if e.message_finished:
                    got.append("".join(part).encode())
                    part = []
        assert got == payloads, "wsproto mismatch"

        def wsproto_prepare():
            ws = wsproto_new()
            receive = ws.receive_data
            events = ws.events

            def run():
                n = 0
                for c in chunks:
                    receive(c)
                    for e in events():
                        n += e.message_finished
                return n
            return run

        out.append(Contender("wsproto WSConnection", wsproto_prepare, nframes,
                             count_check,
                             "TextMessage with str (UTF-8 decoded)"))

    if wsfast_py is not None:
        verify_wsfast(wsfast_py)
        out.append(Contender("wsfast.codec._python FrameParser.feed",
                             wsfast_prepare(wsfast_py), nframes, count_check,
                             "pure-Python backend"))
    return out


# ---------------------------------------------------------------------------
# Section: encode


def encode_contenders(nframes, size):
    variants = ascii_payloads(size)
    payloads = [variants[i % len(variants)] for i in range(nframes)]
    expected = b"".join(header(OP_TEXT, size) + p for p in payloads)
    total = len(expected)
    out = []

    def make_check(sink):
        def check(n):
            assert n == nframes, (n, nframes)
            assert len(sink) == total, (len(sink), total)
        return check

    def add(label, factory, note):
        """factory() -> (run, sink); run() returns the frames it sent."""
        run, sink = factory()
        run()
        assert sink == expected, "%s: wrong bytes on the wire" % label
        holder = {}

        def prepare():
            run, sink = factory()
            holder["sink"] = sink
            return run

        def check(n):
            make_check(holder["sink"])(n)

        out.append(Contender(label, prepare, nframes, check, note))

    # -- picows
    if picows is not None:
        def picows_factory():
            proto, tr = picows_server(picows_counter()[0])
            send = proto.transport.send
            text = picows.WSMsgType.TEXT

            def run():
                for p in payloads:
                    send(text, p)
                return nframes
            return run, tr.sink

        add("picows WSTransport.send", picows_factory,
            "header + payload copied into its buffer, then write(bytes)")

    def wsfast_factory(mod):
        def factory():
            sink = bytearray()
            write = sink.extend
            enc = mod.FrameEncoder(False).encode

            def run():
                for p in payloads:
                    write(enc(OP_TEXT, p))
                return nframes
            return run, sink
        return factory

    add("wsfast FrameEncoder.encode", wsfast_factory(wsfast),
        "one bytes per frame, then write")

    def wsfast_many_factory():
        sink = bytearray()
        write = sink.extend
        many = wsfast.FrameEncoder(False).encode_many
        batches = [[(OP_TEXT, p) for p in payloads[i:i + ENCODE_BATCH]]
                   for i in range(0, nframes, ENCODE_BATCH)]

        def run():
            for b in batches:
                write(many(b))
            return nframes
        return run, sink

    add("wsfast FrameEncoder.encode_many (%d/batch)" % ENCODE_BATCH,
        wsfast_many_factory, "one bytes per batch, then write")

    if aiohttp_writer is not None:
        class _Proto:
            _paused = False

        def aio_factory():
            tr = FakeTransport()
            w = aiohttp_writer.WebSocketWriter(_Proto(), tr, use_mask=False)
            f = w._write_websocket_frame

            def run():
                for p in payloads:
                    f(p, OP_TEXT, 0)
                return nframes
            return run, tr.sink

        add("aiohttp WebSocketWriter", aio_factory,
            "_write_websocket_frame, the synchronous core of send_frame")

    if ws_frames is not None:
        Frame = ws_frames.Frame
        text = ws_frames.Opcode.TEXT

        def websockets_factory():
            sink = bytearray()
            write = sink.extend

            def run():
                for p in payloads:
                    write(Frame(text, p).serialize(mask=False))
                return nframes
            return run, sink

        add("websockets Frame.serialize", websockets_factory,
            "Frame(...).serialize(mask=False)")

    if wsproto is not None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Message
        str_payloads = [p.decode() for p in payloads]

        def wsproto_factory():
            ws = WSConnection(ConnectionType.SERVER)
            ws.receive_data(HANDSHAKE_REQUEST)
            list(ws.events())
            ws.send(AcceptConnection())
            sink = bytearray()
            write = sink.extend
            send = ws.send

            def run():
                for s in str_payloads:
                    write(send(Message(data=s)))
                return nframes
            return run, sink

        add("wsproto send(Message)", wsproto_factory,
            "str payload, encoded to UTF-8 by wsproto")

    if wsfast_py is not None:
        add("wsfast.codec._python FrameEncoder.encode", wsfast_factory(wsfast_py),
            "pure-Python backend")
    return out


# ---------------------------------------------------------------------------
# Section: UTF-8


def utf8_texts():
    ascii_t = (TEXT_SOURCE.decode() * (UTF8_SIZE // len(TEXT_SOURCE) + 1))
    two = "Съешь же ещё этих мягких французских булок, да выпей чаю. " \
          "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. "
    four = "😀🚀🌍🎉🐍💡🔥✨ " + "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 "
    texts = {}
    for name, t in (("ASCII", ascii_t), ("2-byte heavy (Cyrillic/Greek)", two),
                    ("4-byte heavy (emoji)", four)):
        b = t.encode()
        b = (b * (UTF8_SIZE // len(b) + 2))
        # Cut at a character boundary at or below UTF8_SIZE.
        cut = UTF8_SIZE
        while cut and (b[cut] & 0xC0) == 0x80:
            cut -= 1
        texts[name] = b[:cut]
    return texts


def utf8_contenders(data, min_time):
    rep = itertools.repeat
    out = []
    size = len(data)

    def add(label, fn, expect, note):
        def make(iters):
            def run():
                r = None
                for _ in rep(None, iters):
                    r = fn(data)
                return r
            return run
        iters = calibrate(make, min_time)

        def check(r):
            assert r == expect, (label, r)

        out.append(Contender(label, lambda: make(iters), iters * size, check,
                             note, best_of=SHORT_BEST_OF))

    add("bytes.decode('utf-8')", lambda d: d.decode("utf-8"), data.decode(),
        "builds a str as well (the reference)")
    add("wsfast.validate_utf8", wsfast.validate_utf8, True, "validates only")
    if wsfast_py is not None:
        add("wsfast.codec._python.validate_utf8", wsfast_py.validate_utf8, True,
            "pure-Python backend")
    return out


# ---------------------------------------------------------------------------
# Environment


def steady_malloc():
    """Pins glibc's malloc thresholds; returns a description.

    By default glibc serves a large block (128 KiB at first) with a fresh
    mmap, whose pages the kernel then faults in and zeroes on first touch,
    and it moves that threshold up and down as blocks come and go. A 1 MiB
    bytes object then costs either a plain copy or a copy plus ~256 page
    faults, depending on what was freed before, so the 1 MiB figures of
    every contender swing by 3-4x from sample to sample. With the
    thresholds fixed, every contender reuses heap memory that is already
    mapped, and the figures measure the copy or mask rather than the
    kernel's page-fault path.
    """
    if platform.libc_ver()[0] != "glibc":
        return "default allocator (not glibc)"
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        ok = (libc.mallopt(M_MMAP_THRESHOLD, 16 * 1024 * 1024) == 1 and
              libc.mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024) == 1)
    except (OSError, AttributeError):
        ok = False
    if not ok:
        return "glibc defaults (mallopt failed)"
    return "glibc, mmap threshold 16 MiB, trim threshold 256 MiB"


# ---------------------------------------------------------------------------
# Main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=None,
                    help="recorded rounds per table (default 7, quick 3)")
    ap.add_argument("--quick", action="store_true",
                    help="fewer rounds, fewer frames, shorter samples")
    ap.add_argument("--frames", type=int, default=None,
                    help="frames per parse/encode sample (default 100000)")
    ap.add_argument("--json", metavar="FILE", help="write all samples here")
    ap.add_argument("--wall", action="store_true",
                    help="time with the wall clock instead of the thread's "
                         "CPU clock")
    ap.add_argument("--default-malloc", action="store_true",
                    help="leave glibc's malloc thresholds alone (1 MiB "
                         "figures then include page faults and swing widely)")
    ap.add_argument("--sections", default="mask,parse,encode,utf8",
                    help="comma-separated subset of mask,parse,encode,utf8")
    ap.add_argument("--only", metavar="REGEX",
                    help="run only the rows whose label matches (plus each "
                         "table's reference)")
    args = ap.parse_args(argv)

    rounds = args.rounds or (3 if args.quick else 7)
    nframes = args.frames or (20000 if args.quick else 100000)
    min_time = 0.004 if args.quick else 0.012
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]

    if wsfast.backend != "c":
        print("warning: wsfast is running its pure-Python backend", file=sys.stderr)

    global clock, ONLY
    if args.only:
        import re
        ONLY = re.compile(args.only)
    if args.wall:
        clock = time.perf_counter
    env = environment()
    env["clock"] = ("wall clock (perf_counter)" if args.wall else
                    "thread CPU time (CLOCK_THREAD_CPUTIME_ID)")
    env["malloc"] = ("glibc defaults (--default-malloc)" if args.default_malloc
                     else steady_malloc())
    results = {"env": env, "rounds": rounds, "frames": nframes,
               "chunk": CHUNK, "sections": {}}
    t_start = time.perf_counter()

    print("## wsfast codec benchmarks\n")
    print("Command: `%s`\n" % shlex.join(
        ["python3", "benchmarks/bench_codec.py"] +
        list(argv if argv is not None else sys.argv[1:])))
    print("| | |\n|---|---|")
    for k, v in env.items():
        print("| %s | %s |" % (k, v))
    print("\n%d recorded rounds per figure (after one warm-up round); "
          "contenders interleaved, order rotated each round. Cells: median "
          "and min – max over the rounds; ratios are taken per round against "
          "the reference measured in that same round." % rounds)
    sys.stdout.flush()

    targets = []

    def target(name, row, goal, vs=None):
        """Records a target on row's ratio to the table's reference, or to
        row vs when given (ratios taken per round)."""
        if row is None or (vs is None and "ratios" not in row):
            return
        if vs is None:
            r = row["ratios"]
        else:
            r = [a / b for a, b in zip(row["samples"], vs["samples"])]
        targets.append((name, statistics.median(r), min(r), goal))

    def record(section, key, summary, notes):
        results["sections"].setdefault(section, {})[key] = {
            label: dict(row, note=notes.get(label, ""))
            for label, row in summary.items()}

    # -- mask
    if "mask" in sections:
        print("\n### Mask (XOR unmasking, GB/s; ref = memcpy)")
        ref = MEMCPY
        for size in MASK_SIZES:
            cs = mask_contenders(size, min_time)
            s = summarize(run_rounds(cs, rounds, ref), ref)
            notes = {c.label: c.note for c in cs}
            print(table("%s" % human(size), s, "GB/s", "memcpy", notes))
            sys.stdout.flush()
            record("mask", human(size), s, notes)
            w = s.get("wsfast.apply_mask (%s)" % wsfast.mask_kernel())
            if size >= 64 * 1024:
                target("mask %s ≥ 0.9× memcpy" % human(size), w, 0.9)
            target("mask %s ≥ aiohttp (copy + mask)" % human(size), w, 1.0,
                   s.get("aiohttp websocket_mask: copy + in place"))

    # -- parse
    if "parse" in sections:
        print("\n### Parse (%d masked client TEXT frames in %d KiB chunks, "
              "frames/s; ref = picows)" % (nframes, CHUNK // 1024))
        for size in PARSE_SIZES:
            cs = parse_contenders(nframes, size)
            ref = "picows" if picows else cs[0].label
            s = summarize(run_rounds(cs, rounds, ref), ref)
            notes = {c.label: c.note for c in cs}
            print(table("%d-byte payloads" % size, s, "frames/s", ref, notes))
            sys.stdout.flush()
            record("parse", "%dB" % size, s, notes)
            if picows:
                target("parse %d B ≥ 2× picows" % size,
                       s.get("wsfast FrameParser.feed"), 2.0)

    # -- encode
    if "encode" in sections:
        print("\n### Encode (%d unmasked server TEXT frames, frames/s; "
              "ref = picows)" % nframes)
        for size in PARSE_SIZES:
            cs = encode_contenders(nframes, size)
            ref = cs[0].label
            s = summarize(run_rounds(cs, rounds, ref), ref)
            notes = {c.label: c.note for c in cs}
            print(table("%d-byte payloads" % size, s, "frames/s",
                        "picows" if picows else ref, notes))
            sys.stdout.flush()
            record("encode", "%dB" % size, s, notes)
            if picows:
                target("encode %d B ≥ 1.5× picows (encode)" % size,
                       s.get("wsfast FrameEncoder.encode"), 1.5)
                target("encode %d B ≥ 1.5× picows (encode_many)" % size,
                       s.get("wsfast FrameEncoder.encode_many (%d/batch)"
                             % ENCODE_BATCH), 1.5)

    # -- utf8
    if "utf8" in sections:
        print("\n### UTF-8 validation (1 MiB, GB/s; ref = bytes.decode)")
        for name, data in utf8_texts().items():
            cs = utf8_contenders(data, min_time)
            s = summarize(run_rounds(cs, rounds, cs[0].label), cs[0].label)
            notes = {c.label: c.note for c in cs}
            print(table(name, s, "GB/s", "decode", notes))
            sys.stdout.flush()
            record("utf8", name, s, notes)
            if name == "ASCII":
                target("UTF-8 ASCII ≥ bytes.decode",
                       s.get("wsfast.validate_utf8"), 1.0)

    if targets:
        print("\n### Targets\n")
        print("| target | median | worst round | met (median) | met in every round |")
        print("|---|---:|---:|:---:|:---:|")
        for name, med, lo, goal in targets:
            print("| %s | %.3f× | %.3f× | %s | %s |" % (
                name, med, lo, "yes" if med >= goal else "**no**",
                "yes" if lo >= goal else "no"))
        results["targets"] = [
            {"target": n, "median": m, "min": lo, "goal": g, "met": m >= g}
            for n, m, lo, g in targets]

    elapsed = time.perf_counter() - t_start
    results["elapsed_s"] = elapsed
    print("\nTotal time: %.0f s" % elapsed)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
