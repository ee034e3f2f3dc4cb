"""What a server connection keeps once it is open and idle, and the
vectored write of a read's replies (the server loop, both builds)."""

import os
import socket

import pytest

pytest.importorskip("websockets.sync.client")

from frames import frame  # noqa: E402
from serverloop import UPGRADE, Recorder, on_loop, raw_connect, read_until, running  # noqa: E402
from wsfast.constants import OP_BINARY, OP_TEXT  # noqa: E402
from wsfast.protocol import ServerConnection  # noqa: E402
from wsfast.server import websocket as websocket_module  # noqa: E402


def _state(ws):
    conn = ws.conn
    return conn.request, conn._parser, conn._key, conn._hook_accept, conn.extra_headers


def test_an_idle_connection_holds_no_request_head_and_no_parser(impl):
    rec = Recorder()
    seen = []

    def on_open(ws):
        seen.append(ws.request.path)  # still there for on_open
        rec.on_open(ws)

    handlers = dict(rec.handlers(), on_open=on_open)
    with running(backend=impl, compression=False, **handlers) as server:
        sock, head = raw_connect(server, "/room?x=1")
        with sock:
            assert b" 101 " in head
            _, sws = rec.next("open")
            assert seen == ["/room"]
            request, parser, key, hook, extra = on_loop(server, _state, sws)
            assert request is None and sws.request is None
            assert parser is None  # made by the first frame
            assert key is None and hook is None and extra == ()
            # The first frame creates the parser and is echoed.
            sock.sendall(frame(OP_TEXT, b"hi", mask=b"abcd"))
            assert rec.next("message")[1] == "hi"
            assert read_until(sock, b"hi").endswith(b"hi")
            assert on_loop(server, _state, sws)[1] is not None


def test_keep_request_keeps_the_head(impl):
    rec = Recorder()
    with running(backend=impl, compression=False, keep_request=True, **rec.handlers()) as server:
        sock, _ = raw_connect(server, "/room?x=1")
        with sock:
            _, sws = rec.next("open")
            assert on_loop(server, lambda: sws.request.query_string) == b"x=1"


def test_server_connections_share_one_encoder(impl):
    a, b = ServerConnection(backend=impl), ServerConnection(backend=impl)
    assert a._encoder is b._encoder  # a server never masks: no per-connection state


def _recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(1 << 20)
        assert chunk, "server closed after %d of %d bytes" % (len(data), n)
        data += chunk
    return data


def _driver_modules():
    """The websocket module of each build the server may be using."""
    import importlib

    names = ["wsfast.server.websocket", "wsfast.server.websocket_c"]
    mods = []
    for name in names:
        try:
            mods.append(importlib.import_module(name))
        except ImportError:
            pass
    return mods


@pytest.mark.parametrize("count", [3, 300])  # one sendmsg, and more chunks than one takes
def test_a_reads_replies_go_out_in_one_vectored_write(impl, monkeypatch, count):
    if websocket_module._send_many is None:
        pytest.skip("no send_many on this platform")
    calls = []
    real = websocket_module._send_many

    def spy(fd, chunks):
        calls.append(len(chunks))
        return real(fd, chunks)

    for mod in _driver_modules():
        monkeypatch.setattr(mod, "_send_many", spy)
    rec = Recorder()
    with running(backend=impl, compression=False, max_step_frames=1000, **rec.handlers()) as server:
        sock, _ = raw_connect(server)
        with sock:
            payloads = [os.urandom(1 + i % 700) for i in range(count)]
            sock.sendall(b"".join(frame(OP_BINARY, p, mask=b"wxyz") for p in payloads))
            expected = b"".join(frame(OP_BINARY, p, mask=None) for p in payloads)
            assert _recv_exactly(sock, len(expected)) == expected
    # The replies to what one read brought went out as their frames, in
    # calls of at most 256 chunks, not one write per message.
    assert calls and max(calls) <= 256
    assert len(calls) < count


def test_a_partial_vectored_write_queues_the_rest_in_order(impl):
    """A client that reads late: the kernel takes part of a read's
    replies, the rest is queued from the byte where it stopped and
    arrives in order once the client reads."""
    rec = Recorder()
    # Water marks above the replies: the server keeps reading.
    with running(backend=impl, compression=False, max_step_frames=1000, write_high_water=4 << 20,
                 write_low_water=1 << 20, max_buffered=8 << 20, **rec.handlers()) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with sock:
            sock.sendall(UPGRADE.format(path="/", extra="").encode())
            read_until(sock, b"\r\n\r\n")
            _, sws = rec.next("open")
            on_loop(server, sws.sock.setsockopt, socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            # 160 KB of replies, ten times what the two 4 KiB buffers hold;
            # more only makes the read crawl (TCP with a 4 KiB window).
            payloads = [os.urandom(4000 + i) for i in range(40)]
            sock.sendall(b"".join(frame(OP_BINARY, p, mask=b"wxyz") for p in payloads))
            for _ in payloads:
                rec.next("message")
            assert on_loop(server, lambda: sws.buffered_amount) > 0  # the kernel took part
            expected = b"".join(frame(OP_BINARY, p, mask=None) for p in payloads)
            assert _recv_exactly(sock, len(expected)) == expected
