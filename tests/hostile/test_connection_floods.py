"""Attacks before and around the handshake on the epoll server: slowloris,
half-open connections, header floods."""

import select
import socket
import time

from hostile import (MIB, Measure, RawWS, frame, OP_BINARY, upgrade_request, wait_closed_by_peer)

HANDSHAKE_TIMEOUT = 1.0
SWEEP = 0.5  # the server checks handshake deadlines this often


def _connect_many(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        socks.append(s)
    return socks


def test_slowloris(start_server):
    """300 connections each send their upgrade request one byte every
    0.1 s (the head would take ~20 s): each must be dropped about
    handshake_timeout after it connected, while a good client is served."""
    server = start_server(options=dict(handshake_timeout=HANDSHAKE_TIMEOUT))
    request = upgrade_request(extra_headers=["X-Pad: " + "p" * 40])
    n = 300
    with Measure("slowloris", server) as m:
        t0 = time.monotonic()
        socks = _connect_many(server.port, n)
        connected = time.monotonic() - t0
        sent = {s: 0 for s in socks}
        closed_at = {}
        poller = select.poll()
        for s in socks:
            poller.register(s.fileno(), select.POLLIN)
        by_fd = {s.fileno(): s for s in socks}
        deadline = t0 + HANDSHAKE_TIMEOUT + 4
        while len(closed_at) < n and time.monotonic() < deadline:
            for s in socks:
                if s in closed_at:
                    continue
                try:
                    s.send(request[sent[s]:sent[s] + 1])
                    sent[s] += 1
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[s] = time.monotonic() - t0
            for fd, _ in poller.poll(100):
                s = by_fd[fd]
                if s in closed_at:
                    continue
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed_at[s] = time.monotonic() - t0
                    poller.unregister(fd)
        for s in socks:
            s.close()
    slowest = max(closed_at.values()) if closed_at else None
    m.report(connections=n, dropped=len(closed_at), connect_s=round(connected, 2),
             slowest_drop_s=None if slowest is None else round(slowest, 2),
             most_bytes_sent=max(sent.values()))
    assert len(closed_at) == n, "%d of %d slow connections still open" % (n - len(closed_at), n)
    assert slowest < connected + HANDSHAKE_TIMEOUT + SWEEP + 1.5
    assert max(sent.values()) < len(request)
    m.check(rss_mib=16, p99_ms=250, fd_slack=0)


def test_half_open_silent(start_server):
    """500 connections that connect and send nothing: all dropped after
    handshake_timeout, descriptors given back."""
    server = start_server(options=dict(handshake_timeout=HANDSHAKE_TIMEOUT))
    n = 500
    with Measure("half-open: connect, send nothing", server) as m:
        t0 = time.monotonic()
        socks = _connect_many(server.port, n)
        connected = time.monotonic() - t0
        closed = wait_closed_by_peer(socks, HANDSHAKE_TIMEOUT + 4)
        for s in socks:
            s.close()
    slowest = max(closed.values()) if closed else None
    m.report(connections=n, dropped=len(closed), slowest_drop_s=None if slowest is None else round(slowest, 2))
    assert len(closed) == n, "%d of %d silent connections still open" % (n - len(closed), n)
    assert slowest < connected + HANDSHAKE_TIMEOUT + SWEEP + 1.5
    m.check(rss_mib=16, p99_ms=250, fd_slack=0)


def test_half_open_after_handshake(start_server):
    """After the upgrade, 100 connections send half a frame and 100 send
    nothing, and none answers pings: keepalive (ping_interval 1 s,
    ping_timeout 1 s) must drop them all."""
    server = start_server(options=dict(ping_interval=1.0, ping_timeout=1.0, close_timeout=1.0))
    n = 100
    with Measure("half-open after upgrade (half frame / silent)", server) as m:
        half = [RawWS(server.port) for _ in range(n)]
        silent = [RawWS(server.port) for _ in range(n)]
        partial = frame(OP_BINARY, b"x" * 1000)[:300]  # header and 294 of 1000 bytes
        for ws in half:
            ws.send(partial)
        socks = [ws.sock for ws in half + silent]
        for s in socks:
            s.setblocking(False)
        closed = wait_closed_by_peer(socks, 7)
        for s in socks:
            s.close()
    slowest = max(closed.values()) if closed else None
    m.report(connections=2 * n, dropped=len(closed), slowest_drop_s=None if slowest is None else round(slowest, 2))
    assert len(closed) == 2 * n, "%d of %d half-open connections still open" % (2 * n - len(closed), 2 * n)
    m.check(rss_mib=16, p99_ms=250, fd_slack=0)


def _flood_head(port, head_bytes, chunk=16384, timeout=5):
    """Sends an HTTP head, ``chunk`` bytes at a time, and stops once the
    server answers; returns (response, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setblocking(False)
    response = b""
    sent = 0
    deadline = time.monotonic() + timeout
    closed = False
    try:
        while time.monotonic() < deadline and not closed:
            if sent < len(head_bytes) and not response:
                try:
                    sent += s.send(head_bytes[sent:sent + chunk])
                except BlockingIOError:
                    pass
                except OSError:
                    pass  # the server closed: read what it said
            r, _, _ = select.select([s], [], [], 0.01)
            if r:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed = True
                response += data
    finally:
        s.close()
    return response, closed, sent


def test_header_floods(start_server):
    """A head of 1 MiB and a head with 300 headers: 431 and the
    connection closed, again and again for 2 s."""
    server = start_server()
    huge = b"GET / HTTP/1.1\r\nHost: x\r\nX-Junk: " + b"a" * MIB
    many = (b"GET / HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: v\r\n" % i for i in range(300)) + b"\r\n")
    n = 0
    statuses, unclosed, most_sent = {}, 0, 0
    with Measure("header floods (1 MiB head, 300 headers)", server) as m:
        end = time.monotonic() + 2
        while time.monotonic() < end and n < 5000:
            for head in (huge, many):
                n += 1
                response, closed, sent = _flood_head(server.port, head)
                status = response[:12].decode("latin-1") or "(nothing)"
                statuses[status] = statuses.get(status, 0) + 1
                unclosed += not closed
                if head is huge:
                    most_sent = max(most_sent, sent)
    m.report(attempts=n, statuses=statuses, left_open=unclosed, most_head_bytes_sent=most_sent)
    assert statuses == {"HTTP/1.1 431": n}
    assert unclosed == 0
    m.check(rss_mib=16, p99_ms=250, fd_slack=0)
