"""Error messages a new user reads: each says what happened, with the real
figures (timeout, HTTP status, the close code we sent, the limit)."""

import asyncio
import queue
import socket
import threading

import pytest

import wsfast.asyncio as wsa
from wsfast import client as sync_client
from wsfast.closed import ConnectionClosedError
from wsfast.errors import InvalidResponse, MessageTooBig
from wsfast.handshake import Reject
from wsfast.uri import InvalidURI

from serverloop import running


def _run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class SilentServer:
    """Accepts TCP connections, then answers each with ``answer`` (or
    nothing at all)."""

    def __init__(self, answer=None):
        self.answer = answer
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.settimeout(0.05)  # so that close() is noticed at once
        self.stopped = False
        self.conns = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            self.conns.append(conn)
            if self.answer is not None:
                conn.recv(65536)
                conn.sendall(self.answer)

    def close(self):
        self.stopped = True
        self.thread.join(5)
        self.sock.close()
        for c in self.conns:
            c.close()


def test_asyncio_open_timeout_says_what_timed_out_and_after_how_long():
    silent = SilentServer()
    try:
        with pytest.raises(TimeoutError) as info:
            _run(wsa.connect("ws://127.0.0.1:%d/chat?token=secret" % silent.port, open_timeout=0.3))
    finally:
        silent.close()
    text = str(info.value)
    assert "after 0.3 s" in text and "open_timeout" in text and "WebSocket handshake" in text
    assert "/chat" in text and "secret" not in text  # a query may hold a token


def test_blocking_open_timeout_says_what_timed_out():
    silent = SilentServer()
    try:
        with pytest.raises(TimeoutError) as info:
            sync_client.connect("ws://127.0.0.1:%d/" % silent.port, open_timeout=0.3)
    finally:
        silent.close()
    assert "after 0.3 s" in str(info.value) and "handshake" in str(info.value)


def test_non_101_answer_names_status_and_reason_once():
    body = b"hello from a plain web server"
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    server = SilentServer(answer)
    try:
        with pytest.raises(InvalidResponse) as info:
            _run(wsa.connect("ws://127.0.0.1:%d/" % server.port, open_timeout=5))
    finally:
        server.close()
    text = str(info.value)
    assert text.count("HTTP 200") == 1, text
    assert "HTTP 200 OK" in text and "hello from a plain web server" in text
    assert info.value.status == 200


def test_rejection_by_the_hook_reads_status_reason_and_body():
    def hook(request, remote_address):
        return Reject(401, body=b"missing token\n")

    with running(handshake_hook=hook) as server:
        with pytest.raises(InvalidResponse) as info:
            sync_client.connect("ws://127.0.0.1:%d/" % server.port)
    assert str(info.value) == ("server rejected the WebSocket connection: "
                               "HTTP 401 Unauthorized: missing token")


def test_a_close_we_decided_reports_our_code_not_1006():
    # The server sends a compressible message bigger than the client's
    # limit: the client closes with 1009 and says so.
    def on_open(ws):
        ws.send("x" * 20000)

    async def main(port):
        async with wsa.connect("ws://127.0.0.1:%d/" % port, max_message_size=1000) as ws:
            with pytest.raises(ConnectionClosedError) as info:
                await ws.recv()
            return info.value

    with running(on_open=on_open) as server:
        exc = _run(main(server.port))
    text = str(exc)
    assert exc.sent is not None and exc.sent[0] == 1009
    assert text.startswith("connection closed by us with 1009 (")
    assert "too big" in text and "1006 (" not in text


def test_invalid_host_is_refused_before_any_lookup():
    for url in ("ws://exa mple.com/", "ws://exa<mple.com/", "wss://a^b/"):
        with pytest.raises(InvalidURI) as info:
            wsa.connect(url)  # parsed at once, nothing awaited
        assert "invalid character" in str(info.value)
        with pytest.raises(InvalidURI):
            sync_client.connect(url)


def test_send_over_max_message_size_is_refused_locally():
    received = queue.Queue()
    with running(on_message=lambda ws, m: received.put(m), max_message_size=1 << 20) as server:
        url = "ws://127.0.0.1:%d/" % server.port

        async def main():
            async with wsa.connect(url, max_message_size=1000) as ws:
                with pytest.raises(MessageTooBig) as info:
                    await ws.send(b"x" * 1001)
                with pytest.raises(MessageTooBig):
                    await ws.send("\u00e9" * 501)  # 1002 bytes of UTF-8
                await ws.send("\u00e9" * 500)  # exactly 1000: allowed
                return info.value

        exc = _run(main())
        assert (exc.size, exc.limit) == (1001, 1000)
        assert "1001 bytes" in str(exc) and "max_message_size (1000 bytes)" in str(exc)
        assert received.get(timeout=5) == "\u00e9" * 500
        with sync_client.connect(url, max_message_size=1000) as ws:
            with pytest.raises(MessageTooBig):
                ws.send(bytearray(1001))
            ws.send(bytes(1000))
        assert received.get(timeout=5) == bytes(1000)
        assert received.empty()


def test_server_send_over_its_limit_raises_in_the_handler():
    outcome = queue.Queue()

    def on_message(ws, message):
        try:
            ws.send(b"y" * 5000)
        except MessageTooBig as exc:
            outcome.put(exc)
        ws.send("small")

    with running(on_message=on_message, max_message_size=4096) as server:
        with sync_client.connect("ws://127.0.0.1:%d/" % server.port) as ws:
            ws.send("go")
            assert ws.recv(timeout=5) == "small"
    exc = outcome.get(timeout=5)
    assert (exc.size, exc.limit) == (5000, 4096)


def test_broadcast_and_publish_over_our_limit_raise_before_sending():
    # The server's own max_message_size is the limit: checked once per call,
    # the same error as send, and nothing goes out to any subscriber.
    outcome = queue.Queue()

    def on_message(ws, message):
        ws.subscribe("room")
        server = ws.server
        for attempt in (lambda: server.broadcast(b"z" * 4097),
                        lambda: server.publish("room", "\u00e9" * 2049),  # 4098 bytes of UTF-8
                        lambda: ws.publish("room", b"z" * 5000)):
            try:
                attempt()
            except MessageTooBig as exc:
                outcome.put((exc.size, exc.limit))
        outcome.put(server.broadcast(b"k" * 4096))  # exactly the limit: allowed

    with running(on_message=on_message, max_message_size=4096) as server:
        with sync_client.connect("ws://127.0.0.1:%d/" % server.port) as ws:
            ws.send("go")
            assert ws.recv(timeout=5) == b"k" * 4096
    assert [outcome.get(timeout=5) for _ in range(4)] == [(4097, 4096), (4098, 4096), (5000, 4096), 1]


def test_asyncio_broadcast_and_publish_over_our_limit_raise_before_sending():
    async def handler(ws):
        ws.subscribe("room")
        await ws.wait_closed()

    async def main():
        async with wsa.serve(handler, "127.0.0.1", 0, max_message_size=4096) as server:
            url = "ws://127.0.0.1:%d/" % server.sockets[0].getsockname()[1]
            async with wsa.connect(url) as ws:
                for _ in range(500):
                    if server.subscriber_count("room"):
                        break
                    await asyncio.sleep(0.01)
                member = next(iter(server.clients))
                errors = []
                for attempt in (lambda: server.broadcast(b"z" * 4097),
                                lambda: server.publish("room", "\u00e9" * 2049),
                                lambda: member.publish("room", b"z" * 5000)):
                    with pytest.raises(MessageTooBig) as info:
                        attempt()
                    errors.append((info.value.size, info.value.limit))
                assert server.publish("room", b"k" * 4096) == 1
                assert await ws.recv() == b"k" * 4096
                return errors

    assert _run(main()) == [(4097, 4096), (4098, 4096), (5000, 4096)]
