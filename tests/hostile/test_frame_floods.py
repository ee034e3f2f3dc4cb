"""Attacks on the epoll server after the upgrade: fragment floods, ping
floods, deflate bombs, slow readers."""

import os
import select
import time

from flood import Flood, close_code, server_frames
from hostile import (KIB, MIB, OP_BINARY, OP_CONT, OP_PING, Measure, RawWS, deflate_raw, frame)

READ_SIZE = 256 * KIB  # the epoll server reads at most this much at once
HIGH_WATER = 64 * KIB


def test_fragment_flood_endless(start_server):
    """4 connections start a message and send 16 KiB continuation frames
    without end: each is closed with 1009 once past max_message_size
    (4 MiB), and memory stays bounded."""
    server = start_server(options=dict(close_timeout=1.0))
    n = 4
    with Measure("fragment flood: endless continuation", server) as m:
        conns = [RawWS(server.port) for _ in range(n)]
        for ws in conns:
            ws.send(frame(OP_BINARY, b"start", fin=False))
        flood = Flood([ws.sock for ws in conns], frame(OP_CONT, os.urandom(16 * KIB), fin=False),
                      duration=6, read=True, max_bytes=64 * MIB,
                      stop=lambda f: len(f.eof) == n).run()
        codes = [close_code(server_frames(ws.buf + flood.received[ws.sock])) for ws in conns]
        for ws in conns:
            ws.close()
    m.report(connections=n, close_codes=codes, closed=len(flood.eof),
             mib_sent_max=round(max(flood.sent.values()) / MIB, 1))
    assert codes == [1009] * n
    assert len(flood.eof) == n, "connections left open after 1009"
    m.check(rss_mib=32, p99_ms=250, fd_slack=0)


def test_fragment_flood_tiny(start_server):
    """2 connections send 1-byte continuation frames as fast as they can
    for 3 s (millions of fragments): memory must not grow per fragment."""
    server = start_server(options=dict(close_timeout=1.0))
    n = 2
    with Measure("fragment flood: 1-byte fragments", server) as m:
        conns = [RawWS(server.port) for _ in range(n)]
        for ws in conns:
            ws.send(frame(OP_BINARY, b"s", fin=False))
        block = b"".join(frame(OP_CONT, b"x", fin=False) for _ in range(10000))
        flood = Flood([ws.sock for ws in conns], block, duration=3, read=True,
                      stop=lambda f: len(f.eof) == n).run()
        codes = [close_code(server_frames(ws.buf + flood.received[ws.sock])) for ws in conns]
        for ws in conns:
            ws.close()
    fragments = sum(flood.sent.values()) // 7
    m.report(connections=n, fragments_sent=fragments, close_codes=codes)
    m.check(rss_mib=32, p99_ms=250, fd_slack=0)


def _ping_block(count=500):
    return b"".join(frame(OP_PING, os.urandom(125)) for _ in range(count))


def test_ping_flood_never_reads(start_server):
    """One client sends 125-byte pings as fast as it can and never reads:
    once its pongs back up the server must stop reading from it (the
    client's writes stall) and hold about write_high_water plus one read."""
    server = start_server()
    with Measure("ping flood: 1 connection, never reads", server) as m:
        ws = RawWS(server.port)
        flood = Flood([ws.sock], _ping_block(), duration=4).run()
        stalled = flood.stalled(ws.sock)
        ws.close()
    sent = flood.sent[ws.sock]
    m.report(pings_sent=sent // 131, mib_sent=round(sent / MIB, 1), writes_stalled=stalled,
             last_progress_s=round(flood.last[ws.sock], 2))
    assert stalled, "the server kept reading pings whose pongs it could not send"
    m.check(rss_mib=4, p99_ms=250, fd_slack=0)


def test_ping_flood_many(start_server):
    """150 connections flood pings and never read, for 4 s, while a good
    client's echo must keep being answered; memory at most about
    (write_high_water + one read) per connection."""
    server = start_server()
    n = 150
    with Measure("ping flood: 150 connections, never read", server) as m:
        conns = [RawWS(server.port) for _ in range(n)]
        flood = Flood([ws.sock for ws in conns], _ping_block(), duration=4).run()
        stalled = sum(flood.stalled(ws.sock, 0.5) for ws in conns)
        for ws in conns:
            ws.close()
    total = sum(flood.sent.values())
    bound = n * (HIGH_WATER + READ_SIZE) / MIB + 16
    m.report(connections=n, mib_sent=round(total / MIB, 1), connections_stalled=stalled,
             rss_bound_mib=round(bound, 1))
    m.check(rss_mib=bound, p99_ms=250, fd_slack=0)


def test_deflate_bomb(start_server):
    """permessage-deflate amplification: one write of 64 compressed
    messages (~4 KiB each, each inflating to just under max_message_size,
    4 MiB), repeated (~180 KiB/s) for ~4 s. The server must not hold all
    of one read's messages inflated at once, nor stall other clients."""
    server = start_server()
    size = 4 * MIB - 1024
    payload = deflate_raw(bytes(size))
    burst = b"".join(frame(OP_BINARY, payload, rsv1=True) for _ in range(64))
    bursts, period = 3, len(burst) / (180.0 * KIB)
    with Measure("deflate bomb: 64 x 4 MiB per 256 KiB write", server) as m:
        ws = RawWS(server.port, extensions="permessage-deflate; client_no_context_takeover")
        assert "permessage-deflate" in ws.extensions, ws.head
        received, sent_bursts, closed = 0, 0, False
        t0 = time.monotonic()
        for i in range(bursts):
            ws.sock.settimeout(10)
            try:
                ws.send(burst)  # one write (the kernel may split it)
                sent_bursts += 1
            except OSError:
                closed = True
                break
            next_at = t0 + (i + 1) * period
            while time.monotonic() < next_at and not closed:  # read and drop the echoes
                r, _, _ = select.select([ws.sock], [], [], max(0.0, next_at - time.monotonic()))
                if r:
                    data = ws.sock.recv(1 << 20)
                    closed = not data
                    received += len(data)
        ws.close()
    m.report(compressed_kib=round(len(payload) / KIB, 1), burst_kib=len(burst) // KIB,
             bursts=sent_bursts, inflated_mib=round(sent_bursts * 64 * size / MIB),
             echo_kib_back=received // KIB, dropped=closed)
    # The target is 100 ms at p99 (measured 36 ms on a quiet machine); the
    # bound leaves room for a neighbour on a shared 2-core machine (114 ms
    # measured while another build's conformance suite ran beside it).
    m.check(rss_mib=64, p99_ms=250, fd_slack=0)


def test_slow_reader(start_server):
    """A client sends 1.5 MiB messages and never reads the echoes. The
    server must stop taking its bytes: it is dropped once its unsent output
    passes max_buffered (256 KiB here), or its reading stays paused with
    the output below max_buffered (when the last echo fitted). Either way
    memory stays bounded and other clients are served."""
    server = start_server(options=dict(compression=False, max_message_size=2 * MIB,
                                       max_frame_size=2 * MIB, max_buffered=256 * KIB))
    with Measure("slow reader: 1.5 MiB echoes, never reads", server) as m:
        ws = RawWS(server.port)
        flood = Flood([ws.sock], frame(OP_BINARY, os.urandom(3 * MIB // 2)), duration=5,
                      stop=lambda f: f.elapsed_now() > 2 and f.stalled_now(ws.sock, 1.5)).run()
        dropped = flood.dead.get(ws.sock)
        stalled = flood.stalled(ws.sock)
        ws.close()
    m.report(mib_sent=round(flood.sent[ws.sock] / MIB, 1),
             outcome="dropped after %.2f s" % dropped if dropped is not None else
             ("reading paused" if stalled else "still reading"))
    assert dropped is not None or stalled, "the server kept reading from a client that never reads"
    assert flood.sent[ws.sock] < 64 * MIB
    m.check(rss_mib=24, p99_ms=250, fd_slack=0)
