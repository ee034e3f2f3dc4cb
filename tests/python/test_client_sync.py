"""The blocking client (wsfast.client) against the websockets library's
server and wsfast's own asyncio server, over loopback; and ws:// URIs."""

import asyncio
import socket
import threading
import time

import pytest

websockets = pytest.importorskip("websockets")

import wsfast.asyncio as wsa  # noqa: E402
from netutil import SIZES, ThreadServer, payloads, tls_contexts  # noqa: E402
from wsfast.client import connect  # noqa: E402
from wsfast.closed import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK  # noqa: E402
from wsfast.errors import InvalidResponse  # noqa: E402
from wsfast.events import CLOSED, OPEN  # noqa: E402
from wsfast.uri import InvalidURI, WebSocketURI, parse_uri  # noqa: E402

MAX = 4 << 20


async def ws_echo(ws):
    async for message in ws:
        await ws.send(message)


async def wsf_echo(ws):
    async for message in ws:
        await ws.send(message)


def websockets_server(handler=ws_echo, compression=True, **kw):
    async def start():
        return await websockets.serve(
            handler, "127.0.0.1", 0, max_size=MAX,
            compression="deflate" if compression else None, **kw
        )

    return ThreadServer(start)


def wsfast_server(handler=wsf_echo, **kw):
    kw.setdefault("max_message_size", MAX)

    async def start():
        return await wsa.serve(handler, "127.0.0.1", 0, **kw)

    return ThreadServer(start)


def url(server, path="/"):
    return "ws://127.0.0.1:%d%s" % (server.port, path)


# -- echo ----------------------------------------------------------------------------


@pytest.mark.parametrize("compression", [True, False], ids=["deflate", "plain"])
@pytest.mark.parametrize("kind", ["websockets", "wsfast"])
def test_echo_sizes(kind, compression):
    make = websockets_server if kind == "websockets" else wsfast_server
    with make(compression=compression) as server:
        with connect(url(server), compression=compression, max_message_size=MAX) as ws:
            assert ws.ready_state == OPEN
            assert ws.response.status == 101
            assert (ws.extensions is not None) == compression
            assert ws.extensions is None or ws.extensions.startswith("permessage-deflate")
            for size in SIZES:
                for message in payloads(size):
                    ws.send(message)
                    got = ws.recv(timeout=10)
                    assert type(got) is type(message) and got == message, size
        assert ws.ready_state == CLOSED
        assert ws.close_code == 1000


def test_many_small_messages_pipelined():
    with wsfast_server() as server, connect(url(server)) as ws:
        for i in range(500):
            ws.send("m%d" % i)
        assert [ws.recv(timeout=10) for _ in range(500)] == ["m%d" % i for i in range(500)]


# -- subprotocols, headers, request details -------------------------------------------


def test_subprotocol_negotiation_wsfast():
    with wsfast_server(subprotocols=["chat.v2", "chat.v1"]) as server:
        with connect(url(server), subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.subprotocol == "chat.v2"  # the server's preference
        with connect(url(server), subprotocols=["other"]) as ws:
            assert ws.subprotocol is None


def test_subprotocol_negotiation_websockets():
    with websockets_server(subprotocols=["chat.v1"]) as server:
        with connect(url(server), subprotocols=["x", "chat.v1"]) as ws:
            assert ws.subprotocol == "chat.v1"
            assert ws.response.headers.get("Sec-WebSocket-Protocol") == "chat.v1"


def test_extra_headers_path_and_origin_reach_the_server():
    seen = {}

    async def handler(ws):
        seen["path"] = ws.request.path
        seen["query"] = ws.request.query_string
        seen["token"] = ws.request.headers.get("X-Token")
        seen["origin"] = ws.request.headers.get("Origin")
        await ws.send("ok")

    with wsfast_server(handler) as server:
        with connect(url(server, "/room/a b?x=1"), extra_headers=[("X-Token", "t1")],
                     origin="https://site.example") as ws:
            assert ws.recv(timeout=5) == "ok"
    assert seen == {"path": "/room/a b", "query": b"x=1", "token": "t1", "origin": "https://site.example"}


# -- closing -----------------------------------------------------------------------------


def test_client_close_code_and_reason_reach_the_server():
    seen = []

    async def handler(ws):
        try:
            await ws.recv()
        except ConnectionClosed as exc:
            seen.append((exc.code, exc.reason))

    with wsfast_server(handler) as server:
        ws = connect(url(server))
        ws.close(4000, "bye now")
        assert ws.ready_state == CLOSED
        assert (ws.close_code, ws.close_reason) == (4000, "")  # the code is echoed
        for _ in range(100):
            if seen:
                break
            time.sleep(0.02)
    assert seen == [(4000, "bye now")]


@pytest.mark.parametrize("kind", ["websockets", "wsfast"])
def test_server_close_code_and_reason_reach_the_client(kind):
    async def handler(ws):
        await ws.send("last words")
        await ws.close(4001, "server says bye")

    make = websockets_server if kind == "websockets" else wsfast_server
    with make(handler) as server:
        ws = connect(url(server))
        assert ws.recv(timeout=5) == "last words"
        with pytest.raises(ConnectionClosedError) as info:
            ws.recv(timeout=5)
        assert (info.value.code, info.value.reason) == (4001, "server says bye")
        assert ws.ready_state == CLOSED
        ws.close()  # harmless once closed


def test_iteration_ends_on_normal_close():
    async def handler(ws):
        for i in range(3):
            await ws.send(str(i))
        # returning closes with 1000

    with wsfast_server(handler) as server:
        with connect(url(server)) as ws:
            assert list(ws) == ["0", "1", "2"]
            assert ws.close_code == 1000
            with pytest.raises(ConnectionClosedOK):
                ws.recv(timeout=1)
            with pytest.raises(ConnectionClosedOK):
                ws.send("too late")


def test_handler_error_closes_1011():
    async def handler(ws):
        raise RuntimeError("boom")

    with wsfast_server(handler) as server, connect(url(server)) as ws:
        with pytest.raises(ConnectionClosedError) as info:
            list(ws)
        assert info.value.code == 1011


# -- ping, timeouts, keepalive ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["websockets", "wsfast"])
def test_ping_returns_round_trip(kind):
    make = websockets_server if kind == "websockets" else wsfast_server
    with make() as server, connect(url(server)) as ws:
        ws.send("queued before the pong")
        rtt = ws.ping(b"hello", timeout=5)
        assert 0 <= rtt < 5
        assert ws.recv(timeout=5) == "queued before the pong"  # kept for recv


def test_recv_timeout_leaves_the_connection_usable():
    with wsfast_server() as server, connect(url(server)) as ws:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
        assert 0.15 < time.monotonic() - start < 10  # bounded, with room for a loaded machine
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"


def test_keepalive_fails_a_silent_server():
    async def handler(ws):
        ws.transport.pause_reading()  # never sees the pings, never answers
        await asyncio.sleep(5)

    # close_timeout: the paused server would not notice the client leaving.
    with wsfast_server(handler, ping_interval=None, close_timeout=1) as server:
        ws = connect(url(server), ping_interval=0.2, ping_timeout=0.3)
        start = time.monotonic()
        with pytest.raises(ConnectionClosedError) as info:
            ws.recv(timeout=5)
        assert time.monotonic() - start < 3
        assert info.value.code == 1006
        assert info.value.sent[0] == 1011 and "keepalive" in info.value.sent[1]


def test_open_timeout_on_a_silent_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            connect("ws://127.0.0.1:%d/" % listener.getsockname()[1], open_timeout=0.3)
        assert time.monotonic() - start < 10  # bounded, with room for a loaded machine
    finally:
        listener.close()


# -- refusals --------------------------------------------------------------------------


def test_origin_rejection_gives_403():
    with wsfast_server(origins=["https://good.example"]) as server:
        with pytest.raises(InvalidResponse) as info:
            connect(url(server), origin="https://evil.example")
        assert info.value.status == 403
        assert b"Origin not allowed" in info.value.body
        with connect(url(server), origin="https://good.example") as ws:
            ws.send("x")
            assert ws.recv(timeout=5) == "x"


def test_max_connections_gives_503():
    with wsfast_server(max_connections=1) as server:
        with connect(url(server)) as first:
            with pytest.raises(InvalidResponse) as info:
                connect(url(server))
            assert info.value.status == 503
            first.send("still served")
            assert first.recv(timeout=5) == "still served"
        deadline = time.monotonic() + 20
        while True:  # the slot frees up once the server saw the close
            try:
                with connect(url(server)) as again:
                    again.send("y")
                    assert again.recv(timeout=5) == "y"
                break
            except InvalidResponse:
                assert time.monotonic() < deadline
                time.sleep(0.05)


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(ConnectionRefusedError):
        connect("ws://127.0.0.1:%d/" % port, open_timeout=2)


# -- TLS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["websockets", "wsfast"])
def test_wss_with_self_signed_certificate(tmp_path, kind):
    server_ctx, client_ctx = tls_contexts(str(tmp_path))
    make = websockets_server if kind == "websockets" else wsfast_server
    with make(ssl=server_ctx) as server:
        wss = "wss://127.0.0.1:%d/" % server.port
        with connect(wss, ssl=client_ctx) as ws:
            for message in ("secure", b"\x00" * 100_000):
                ws.send(message)
                assert ws.recv(timeout=10) == message
        assert ws.close_code == 1000
        import ssl

        with pytest.raises(ssl.SSLError):  # the default context does not trust it
            connect(wss, open_timeout=5)


def test_ssl_option_needs_wss():
    import ssl

    with pytest.raises(ValueError):
        connect("ws://127.0.0.1:1/", ssl=ssl.create_default_context())


# -- URIs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("ws://example.com", WebSocketURI(False, "example.com", 80, "/")),
        ("wss://example.com", WebSocketURI(True, "example.com", 443, "/")),
        ("WS://Example.com:8080/a/b?x=1&y=2", WebSocketURI(False, "Example.com", 8080, "/a/b?x=1&y=2")),
        ("ws://[::1]:9000/chat", WebSocketURI(False, "::1", 9000, "/chat")),
        ("wss://[2001:db8::1]/", WebSocketURI(True, "2001:db8::1", 443, "/")),
        ("ws://h/a b?q=é", WebSocketURI(False, "h", 80, "/a%20b?q=%C3%A9")),
        ("ws://h/already%20escaped", WebSocketURI(False, "h", 80, "/already%20escaped")),
        ("ws://h:/p", WebSocketURI(False, "h", 80, "/p")),
        ("ws://h?x", WebSocketURI(False, "h", 80, "/?x")),
    ],
)
def test_parse_uri(uri, expected):
    assert parse_uri(uri) == expected


@pytest.mark.parametrize(
    "uri, words",
    [
        ("http://example.com/", "scheme"),
        ("example.com", "scheme"),
        ("ws://user:pass@example.com/", "userinfo"),
        ("ws://user@example.com/", "userinfo"),
        ("ws:///path", "host"),
        ("ws://h:99999/", "out of range"),
        ("ws://h:0/", "port 0"),
        ("ws://h:abc/", "port"),
        ("ws://h/#frag", "fragment"),
    ],
)
def test_parse_uri_rejects(uri, words):
    with pytest.raises(InvalidURI) as info:
        parse_uri(uri)
    assert words in str(info.value).lower()
    assert isinstance(info.value, ValueError)


def test_connect_rejects_bad_uri_before_connecting():
    with pytest.raises(ValueError):
        connect("http://127.0.0.1:1/")


def test_threads_are_not_left_behind():
    # Every ThreadServer above joined its thread.
    assert [t for t in threading.enumerate() if t.daemon and t.is_alive() and t.name.startswith("Thread-")] == []
