"""Attacks on the asyncio adapter: a server whose handler never calls
recv, and the asyncio client against a hostile server."""

import base64
import hashlib
import os
import socket
import threading
import time

from flood import Flood
from hostile import (KIB, MIB, OP_BINARY, OP_PING, Measure, Proc, RawWS, ROLES, deflate_raw, frame,
                     read_head)


def test_asyncio_no_recv_deflate(start_server):
    """One connection to a handler that never calls recv sends compressed
    messages that each inflate to ~4 MiB (64 per write) for 4 s: what the
    connection holds must stay bounded (received messages wait up to
    max_queue_bytes, then reading pauses)."""
    server = start_server("asyncio")
    size = 4 * MIB - 1024
    burst = b"".join(frame(OP_BINARY, deflate_raw(bytes(size)), rsv1=True) for _ in range(64))
    with Measure("asyncio: no recv, 4 MiB deflate bombs", server, probe_path="/echo") as m:
        ws = RawWS(server.port, extensions="permessage-deflate; client_no_context_takeover")
        assert "permessage-deflate" in ws.extensions, ws.head
        flood = Flood([ws.sock], burst, duration=4, read=True).run()
        ws.close()
    sent = flood.sent[ws.sock]
    m.report(compressed_mib_sent=round(sent / MIB, 2), messages_sent=sent * 64 // len(burst),
             stalled=flood.stalled(ws.sock))
    # Descriptors are reported, not checked: while reading is paused the
    # server cannot see the client's FIN (keepalive ends such connections).
    m.check(rss_mib=24, p99_ms=250, fd_slack=None)


def test_asyncio_ping_flood_no_read(start_server):
    """A client sends 2M small pings (16-byte payload) and never reads
    (the handler never calls recv either): the pongs must not pile up in
    the server (it must stop reading once its writes back up)."""
    server = start_server("asyncio")
    ping = frame(OP_PING, os.urandom(16))
    block = ping * 4000
    total = 2000000 * len(ping)
    with Measure("asyncio: 2M pings, never reads", server, probe_path="/echo") as m:
        ws = RawWS(server.port)
        flood = Flood([ws.sock], block, duration=5, max_bytes=total,
                      stop=lambda f: f.sent[ws.sock] >= total).run()
        time.sleep(1)  # the server may still be answering what it read
        ws.close()
    sent = flood.sent[ws.sock]
    m.report(pings_sent=sent // len(ping), stalled=flood.stalled(ws.sock))
    m.check(rss_mib=8, p99_ms=250, fd_slack=0)


GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class PingFloodServer(threading.Thread):
    """A hostile server (raw sockets, one connection): completes the
    upgrade, then sends pings as fast as it can and never reads."""

    def __init__(self, duration):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(20)
        self.port = self.listener.getsockname()[1]
        self.duration = duration
        self.flooding = threading.Event()
        self.stop_event = threading.Event()
        self.sent = 0
        self.stalled = None
        self.error = None

    def run(self):
        try:
            conn, _ = self.listener.accept()
        except OSError as exc:
            self.error = exc
            return
        with conn:
            head, _ = read_head(conn)
            key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self.flooding.set()
            block = frame(OP_PING, os.urandom(125), mask=False) * 500
            flood = Flood([conn], block, self.duration, stop=lambda f: self.stop_event.is_set()).run()
            self.sent = flood.sent[conn]
            self.stalled = flood.stalled(conn)
            self.dropped = conn in flood.dead

    def close(self):
        self.stop_event.set()
        self.join(10)
        self.listener.close()


def test_asyncio_client_ping_flood(cleanup):
    """The wsfast asyncio client (which never calls recv here) against a
    server that floods pings and never reads: the client's memory must stay
    bounded (it must stop reading once its pongs back up)."""
    hostile = PingFloodServer(duration=4)
    hostile.start()
    cleanup.append(hostile.close)
    client = Proc([ROLES, "aclient", "ws://127.0.0.1:%d/" % hostile.port, "{}"])
    cleanup.append(client.stop)
    assert hostile.flooding.wait(10)
    with Measure("asyncio client vs ping-flooding server", client, probe=False) as m:
        hostile.join(10)
    m.report(pings_sent=hostile.sent // 127, mib_sent=round(hostile.sent / MIB, 1),
             server_writes_stalled=hostile.stalled)
    m.check(rss_mib=16, p99_ms=None, fd_slack=None)
