"""Opening handshake between our ServerConnection and ClientConnection, and
broadcast with PreparedMessage across differently negotiated connections."""

import os
import random

import pytest

from connpair import feed, open_pair, pump, read_frames
from frames import frame
from wsfast.client_protocol import ClientConnection
from wsfast.errors import HandshakeError
from wsfast.events import (
    CLOSED,
    CONNECTING,
    OPEN,
    Close,
    HandshakeFailed,
    HttpRequest,
    Open,
    Ping,
    Request,
)
from wsfast.extensions import DeflateParams
from wsfast.handshake import Accept, Reject, accept_key, build_response
from wsfast.prepared import PreparedMessage
from wsfast.protocol import InvalidState
from wsfast.server_protocol import ServerConnection

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def upgrade_request(*extra, path="/chat", drop=(), version="13"):
    """A raw upgrade request; ``extra`` are header lines, ``drop`` names to omit."""
    headers = [
        ("Host", "example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", KEY),
        ("Sec-WebSocket-Version", version),
    ]
    lines = ["GET %s HTTP/1.1" % path]
    lines += ["%s: %s" % (n, v) for n, v in headers if n not in drop]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def start(impl, server=None, client=None):
    """Server and client after the client queued its request."""
    s = ServerConnection(backend=impl, **(server or {}))
    c = ClientConnection("example.com", backend=impl, **(client or {}))
    c.connect()
    return s, c


def status_of(data):
    return int(data.split(b" ", 2)[1])


def body_of(data):
    return data.split(b"\r\n\r\n", 1)[1]


def assert_refused(s, events, status):
    assert events == [HandshakeFailed(status, events[0].reason)], events
    assert s.ready_state == CLOSED and s.should_close
    out = s.data_to_send()
    assert status_of(out) == status
    assert b"\r\nConnection: close\r\n" in out
    assert s.receive_data(b"more") == []
    with pytest.raises(InvalidState):
        s.send("x")
    return out


# -- a plain successful handshake ---------------------------------------------------------


def test_handshake_and_messages(impl):
    s, c = start(impl, client={"path": "/room?x=1"})
    request = c.data_to_send()
    assert request.startswith(b"GET /room?x=1 HTTP/1.1\r\n")
    events = s.receive_data(request)
    assert events == [Open(None, s.extensions)]
    assert s.request.path == "/room" and s.request.query_string == b"x=1"
    response = s.data_to_send()
    assert response.startswith(b"HTTP/1.1 101 ")
    assert c.ready_state == CONNECTING
    assert c.receive_data(response) == [Open(None, s.extensions)]
    assert c.ready_state == OPEN
    assert c.response.status == 101
    c.send("ping?")
    assert pump(c, s) == ["ping?"]
    s.send(b"pong!")
    assert pump(s, c) == [b"pong!"]


def test_response_split_across_reads(impl):
    s, c = start(impl)
    s.receive_data(c.data_to_send())
    s.send("first")
    data = s.data_to_send()  # 101 and a frame
    events = []
    for i in range(len(data)):
        events += c.receive_data(data[i : i + 1])
    assert events == [Open(None, s.extensions), "first"]


def test_request_split_across_reads(impl):
    s, c = start(impl)
    c_request = c.data_to_send()
    events = []
    for i in range(len(c_request)):
        assert events == []
        events += s.receive_data(c_request[i : i + 1])
    assert len(events) == 1 and isinstance(events[0], Open)
    assert c.receive_data(s.data_to_send())[0] == events[0]


def test_frames_pipelined_after_request(impl):
    s, c = start(impl)
    request = c.data_to_send()
    # A client that sends frames before reading the 101.
    data = request + frame(0x1, b"early") + frame(0x9, b"p") + frame(0x2, b"bin")
    events = s.receive_data(data)
    assert events[0] == Open(None, s.extensions)
    assert events[1:] == ["early", Ping(b"p"), b"bin"]
    out = s.data_to_send()
    # The 101, then the pong.
    head, rest = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101")
    assert read_frames(rest) == [(True, False, 0xA, b"p")]


def test_frames_pipelined_after_request_split(impl):
    s, c = start(impl)
    data = c.data_to_send() + frame(0x1, b"early")
    cut = len(data) - 3
    assert s.receive_data(data[:cut])[0].__class__ is Open
    assert s.receive_data(data[cut:]) == ["early"]


def test_bad_frame_pipelined_after_request(impl):
    s, c = start(impl)
    data = c.data_to_send() + frame(0x1, b"\xff")
    events = s.receive_data(data)
    assert isinstance(events[0], Open) and events[-1].code == 1006
    assert s.should_close
    head, rest = s.data_to_send().split(b"\r\n\r\n", 1)
    assert read_frames(rest)[0][3][:2] == (1007).to_bytes(2, "big")


def test_connect_rules(impl):
    c = ClientConnection("example.com", backend=impl)
    with pytest.raises(InvalidState):
        c.receive_data(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
    c = ClientConnection("example.com", backend=impl)
    c.connect()
    with pytest.raises(InvalidState):
        c.connect()


def test_client_request_headers(impl):
    c = ClientConnection(
        "example.com",
        8080,
        "/p",
        backend=impl,
        subprotocols=["a", "b"],
        origin="https://site.example",
        extra_headers=[("Authorization", "Bearer t")],
    )
    c.connect()
    data = c.data_to_send()
    assert b"Host: example.com:8080\r\n" in data
    assert b"Origin: https://site.example\r\n" in data
    assert b"Sec-WebSocket-Protocol: a, b\r\n" in data
    assert b"Authorization: Bearer t\r\n" in data
    assert b"Sec-WebSocket-Extensions: permessage-deflate" in data


# -- compression negotiation -------------------------------------------------------


def test_compression_negotiated(impl):
    s, c = open_pair(impl)
    assert s.deflate is not None and c.deflate is not None
    assert s.deflate == c.deflate


@pytest.mark.parametrize("side", ["server", "client"])
def test_compression_disabled(impl, side):
    s, c = open_pair(impl, **{side: {"compression": False}})
    assert s.deflate is None and c.deflate is None


def test_compression_options(impl):
    s, c = open_pair(
        impl,
        server={"compression": {"server_no_context_takeover": True, "server_max_window_bits": 10}},
        client={"compression": DeflateParams(client_no_context_takeover=True, client_max_window_bits=9)},
    )
    assert s.deflate.server_no_context_takeover and s.deflate.client_no_context_takeover
    assert s.deflate.server_max_window_bits == 10
    assert c.deflate.client_max_window_bits == 9
    for i in range(10):
        s.send("server %d " % i * 40)
        c.send("client %d " % i * 40)
    assert pump(s, c) == ["server %d " % i * 40 for i in range(10)]
    assert pump(c, s) == ["client %d " % i * 40 for i in range(10)]


def test_client_refuses_unoffered_extension(impl):
    c = ClientConnection("example.com", backend=impl, compression=False)
    c.connect()
    request = c.data_to_send()
    # A server that enables deflate although the client offered nothing.
    key = request.split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0].decode()
    response = build_response(key, None, "permessage-deflate")
    events = c.receive_data(response)
    assert len(events) == 1 and isinstance(events[0], HandshakeFailed)
    assert c.ready_state == CLOSED and c.should_close


# -- subprotocols --------------------------------------------------------------------------


def test_subprotocol_list_prefers_server_order(impl):
    s, c = open_pair(impl, server={"subprotocols": ["a", "b"]}, client={"subprotocols": ["b", "a"]})
    assert s.subprotocol == c.subprotocol == "a"


def test_subprotocol_none_in_common(impl):
    s, c = open_pair(impl, server={"subprotocols": ["x"]}, client={"subprotocols": ["a"]})
    assert s.subprotocol is None and c.subprotocol is None


def test_subprotocol_not_offered(impl):
    s, c = open_pair(impl, server={"subprotocols": ["x"]})
    assert s.subprotocol is None and c.subprotocol is None


def test_subprotocol_callable(impl):
    seen = []

    def choose(request, offered):
        seen.append((request.path, offered))
        return offered[-1]

    s, c = open_pair(impl, server={"subprotocols": choose}, client={"subprotocols": ["a", "b", "c"]})
    assert seen == [("/", ["a", "b", "c"])]
    assert s.subprotocol == c.subprotocol == "c"


def test_subprotocol_callable_returning_unoffered_is_500(impl):
    s, c = start(impl, server={"subprotocols": lambda r, o: "nope"}, client={"subprotocols": ["a"]})
    events = s.receive_data(c.data_to_send())
    out = assert_refused(s, events, 500)
    events = c.receive_data(out)
    assert events[0].status == 500


def test_client_refuses_unoffered_subprotocol(impl):
    c = ClientConnection("example.com", backend=impl, subprotocols=["a"])
    c.connect()
    key = c.data_to_send().split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0].decode()
    events = c.receive_data(build_response(key, "b"))
    assert isinstance(events[0], HandshakeFailed)
    assert c.ready_state == CLOSED


# -- the handshake hook ----------------------------------------------------------------------


def test_hook_accept_with_headers(impl):
    calls = []

    def hook(request, remote_address):
        calls.append((request.headers.get("X-Token"), remote_address))
        return Accept(headers=[("X-Served-By", "test")])

    s, c = start(
        impl,
        server={"handshake_hook": hook, "remote_address": ("127.0.0.1", 5555)},
        client={"extra_headers": [("X-Token", "abc")]},
    )
    assert isinstance(pump(c, s)[0], Open)
    assert calls == [("abc", ("127.0.0.1", 5555))]
    assert isinstance(pump(s, c)[0], Open)
    assert c.response.headers.get("X-Served-By") == "test"


def test_hook_accept_with_subprotocol(impl):
    hook = lambda request, addr: Accept(subprotocol="b")  # noqa: E731
    s, c = open_pair(
        impl,
        server={"handshake_hook": hook, "subprotocols": ["a", "b"]},
        client={"subprotocols": ["a", "b"]},
    )
    assert s.subprotocol == c.subprotocol == "b"


@pytest.mark.parametrize("result", [None, True])
def test_hook_plain_accept(impl, result):
    s, c = open_pair(impl, server={"handshake_hook": lambda r, a: result})
    assert s.ready_state == c.ready_state == OPEN


def test_hook_reject(impl):
    hook = lambda request, addr: Reject(401, [("WWW-Authenticate", "Bearer")], b"login first")  # noqa: E731
    s, c = start(impl, server={"handshake_hook": hook})
    events = s.receive_data(c.data_to_send() + frame(0x1, b"pipelined"))
    out = assert_refused(s, events, 401)
    assert b"\r\nWWW-Authenticate: Bearer\r\n" in out
    assert body_of(out) == b"login first"
    events = c.receive_data(out)
    assert events == [HandshakeFailed(401, events[0].reason)]
    assert c.ready_state == CLOSED and c.should_close
    assert c.handshake_error.status == 401
    assert c.handshake_error.body == b"login first"
    assert c.receive_data(b"junk") == []


def test_hook_false_is_403(impl):
    s, c = start(impl, server={"handshake_hook": lambda r, a: False})
    assert_refused(s, s.receive_data(c.data_to_send()), 403)


def test_hook_raises_handshake_error(impl):
    def hook(request, addr):
        raise HandshakeError(429, "slow down", [("Retry-After", "5")])

    s, c = start(impl, server={"handshake_hook": hook})
    events = s.receive_data(c.data_to_send())
    out = assert_refused(s, events, 429)
    assert events[0].reason == "slow down"
    assert b"\r\nRetry-After: 5\r\n" in out
    assert b"slow down" in body_of(out)
    assert c.receive_data(out)[0].status == 429


# -- origins -------------------------------------------------------------------------------------


ORIGINS = ["https://good.example", "http://localhost:8000"]


@pytest.mark.parametrize("origin", ["https://good.example", "HTTPS://Good.Example", "http://localhost:8000"])
def test_origin_allowed(impl, origin):
    s, c = open_pair(impl, server={"origins": ORIGINS}, client={"origin": origin})
    assert s.ready_state == OPEN


@pytest.mark.parametrize("origin", ["https://evil.example", "https://good.example:444", "null", None])
def test_origin_refused(impl, origin):
    s, c = start(impl, server={"origins": ORIGINS}, client={"origin": origin})
    out = assert_refused(s, s.receive_data(c.data_to_send()), 403)
    assert c.receive_data(out)[0].status == 403


def test_origin_checked_before_hook(impl):
    calls = []
    s, c = start(
        impl,
        server={"origins": ORIGINS, "handshake_hook": lambda r, a: calls.append(r)},
        client={"origin": "https://evil.example"},
    )
    assert_refused(s, s.receive_data(c.data_to_send()), 403)
    assert calls == []


def test_origin_ok_then_hook_rejects(impl):
    s, c = start(
        impl,
        server={"origins": ORIGINS, "handshake_hook": lambda r, a: Reject(401)},
        client={"origin": "https://good.example"},
    )
    assert_refused(s, s.receive_data(c.data_to_send()), 401)


# -- auto_accept=False ------------------------------------------------------------------------------


def test_manual_accept(impl):
    s, c = start(impl, server={"auto_accept": False}, client={"subprotocols": ["chat", "other"]})
    events = s.receive_data(c.data_to_send())
    assert len(events) == 1 and isinstance(events[0], Request)
    assert events[0].request is s.request
    assert s.ready_state == CONNECTING
    assert s.data_to_send() == b""
    # A client that sends frames before the server answers.
    assert s.receive_data(frame(0x1, b"waiting") + frame(0x9, b"w")) == []
    events = s.accept("chat", headers=[("X-App", "1")])
    assert events == [Open("chat", s.extensions), "waiting", Ping(b"w")]
    assert s.ready_state == OPEN
    out = s.data_to_send()
    assert out.startswith(b"HTTP/1.1 101")
    assert b"\r\nSec-WebSocket-Protocol: chat\r\n" in out
    assert b"\r\nX-App: 1\r\n" in out
    with pytest.raises(InvalidState):
        s.accept()
    with pytest.raises(InvalidState):
        s.reject()


def test_manual_accept_real_client(impl):
    s, c = start(impl, server={"auto_accept": False, "subprotocols": ["p"]}, client={"subprotocols": ["p"]})
    assert isinstance(pump(c, s)[0], Request)
    assert s.accept() == [Open("p", s.extensions)]
    assert pump(s, c) == [Open("p", s.extensions)]
    c.send("hi")
    assert pump(c, s) == ["hi"]


def test_manual_accept_with_unoffered_subprotocol_is_500(impl):
    s, c = start(impl, server={"auto_accept": False}, client={"subprotocols": ["a"]})
    pump(c, s)
    assert_refused(s, s.accept("b"), 500)


def test_manual_reject(impl):
    s, c = start(impl, server={"auto_accept": False})
    pump(c, s)
    events = s.reject(451, [("X-Reason", "legal")], b"unavailable")
    out = assert_refused(s, events, 451)
    assert b"\r\nX-Reason: legal\r\n" in out
    assert body_of(out) == b"unavailable"
    with pytest.raises(InvalidState):
        s.accept()
    assert c.receive_data(out)[0].status == 451


def test_manual_accept_still_checks_origins(impl):
    s, c = start(
        impl,
        server={"auto_accept": False, "origins": ORIGINS},
        client={"origin": "https://evil.example"},
    )
    # A configured Origin check is not skipped by the manual flow.
    assert_refused(s, s.receive_data(c.data_to_send()), 403)


def test_manual_accept_runs_hook_first(impl):
    calls = []

    def hook(request, addr):
        calls.append(request.path)
        return Accept(headers=[("X-Hook", "yes")])

    s, c = start(impl, server={"auto_accept": False, "handshake_hook": hook})
    events = pump(c, s)
    assert isinstance(events[0], Request) and calls == ["/"]
    s.accept()
    assert b"\r\nX-Hook: yes\r\n" in s.data_to_send()


def test_manual_accept_hook_subprotocol_and_override(impl):
    hook = lambda request, addr: Accept(subprotocol="b")  # noqa: E731
    options = {"auto_accept": False, "handshake_hook": hook}
    s, c = start(impl, server=options, client={"subprotocols": ["a", "b"]})
    pump(c, s)
    assert s.accept() == [Open("b", s.extensions)]
    s, c = start(impl, server=options, client={"subprotocols": ["a", "b"]})
    pump(c, s)
    assert s.accept("a") == [Open("a", s.extensions)]  # the driver's choice wins
    assert pump(s, c) == [Open("a", s.extensions)]


def test_accept_without_request(impl):
    s = ServerConnection(backend=impl, auto_accept=False)
    with pytest.raises(InvalidState):
        s.accept()


# -- malformed requests and plain HTTP --------------------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
        (upgrade_request(drop=("Sec-WebSocket-Key",)), 400),
        (upgrade_request("Sec-WebSocket-Key: c2hvcnQ="), 400),  # two keys
        (upgrade_request(drop=("Host",)), 400),
        (upgrade_request(drop=("Connection",)), 400),
        (upgrade_request(version="8"), 426),
        (upgrade_request(drop=("Sec-WebSocket-Version",)), 426),
        (upgrade_request("Content-Length: 5"), 400),
        (upgrade_request("X-Big: " + "a" * 9000), 431),
        (upgrade_request(*["X-H%d: v" % i for i in range(101)]), 431),
        (upgrade_request().replace(b"GET", b"POST", 1), 405),
        (upgrade_request("Sec-WebSocket-Extensions: permessage-deflate; =x"), 400),
        (upgrade_request("Sec-WebSocket-Protocol: a b"), 400),
    ],
)
def test_malformed_requests(impl, request_bytes, status):
    s = ServerConnection(backend=impl)
    events = s.receive_data(request_bytes)
    out = assert_refused(s, events, status)
    if status == 426:
        assert b"\r\nSec-WebSocket-Version: 13\r\n" in out
    assert s.handshake_error


def test_head_too_large_split_reads(impl):
    s = ServerConnection(backend=impl, max_head_size=1024)
    events = []
    for _ in range(20):
        events += s.receive_data(b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * 100)
        if events:
            break
    assert_refused(s, events, 431)


def test_bad_subprotocol_token_is_400(impl):
    s = ServerConnection(backend=impl, subprotocols=["a"])
    events = s.receive_data(upgrade_request("Sec-WebSocket-Protocol: a b"))
    assert_refused(s, events, 400)


def test_plain_http_request(impl):
    s = ServerConnection(backend=impl)
    events = s.receive_data(b"GET /health?full=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert len(events) == 1 and isinstance(events[0], HttpRequest)
    request = events[0].request
    assert request.method == "GET" and request.path == "/health"
    assert request.query_string == b"full=1"
    assert s.ready_state == CONNECTING and not s.should_close
    assert s.data_to_send() == b""
    with pytest.raises(InvalidState):
        s.accept()
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    s.send_http_response(response)
    assert s.data_to_send() == response
    assert s.should_close and s.ready_state == CLOSED


def test_plain_http_request_in_pieces(impl):
    s = ServerConnection(backend=impl)
    data = b"HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\n"
    events = []
    for i in range(len(data)):
        events += s.receive_data(data[i : i + 1])
    assert len(events) == 1 and events[0].request.method == "HEAD"


# -- what a client does with a bad response --------------------------------------------------------


def test_client_non_101(impl):
    c = ClientConnection("example.com", backend=impl)
    c.connect()
    c.data_to_send()
    events = c.receive_data(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone")
    assert events == [HandshakeFailed(404, events[0].reason)]
    assert c.ready_state == CLOSED and c.should_close
    assert c.handshake_error.status == 404
    assert c.handshake_error.body == b"gone"
    with pytest.raises(InvalidState):
        c.send("x")


def test_client_bad_accept_key(impl):
    c = ClientConnection("example.com", backend=impl)
    c.connect()
    c.data_to_send()
    events = c.receive_data(build_response(KEY))  # the key of another request
    assert len(events) == 1 and isinstance(events[0], HandshakeFailed)
    assert "Sec-WebSocket-Accept" in events[0].reason
    assert c.ready_state == CLOSED and c.should_close


def test_client_good_accept_key_by_hand(impl):
    c = ClientConnection("example.com", backend=impl, compression=False)
    c.connect()
    key = c.data_to_send().split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0].decode()
    response = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n\r\n"
    )
    assert c.receive_data(response + frame(0x1, b"hi", mask=None)) == [Open(None, None), "hi"]


def test_client_malformed_response(impl):
    c = ClientConnection("example.com", backend=impl)
    c.connect()
    events = c.receive_data(b"NOT HTTP AT ALL\r\n\r\n")
    assert events == [HandshakeFailed(None, events[0].reason)]
    assert c.should_close


def test_client_response_missing_upgrade(impl):
    c = ClientConnection("example.com", backend=impl)
    c.connect()
    key = c.data_to_send().split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0].decode()
    response = build_response(key).replace(b"Upgrade: websocket\r\n", b"")
    events = c.receive_data(response)
    assert isinstance(events[0], HandshakeFailed)


# -- closing from both ends after our own handshake ---------------------------------------------------


def test_close_after_handshake_both_ways(impl):
    s, c = open_pair(impl)
    c.send("bye soon")
    c.close(1000, "client done")
    assert pump(c, s) == ["bye soon", Close(1000, "client done")]
    assert pump(s, c) == [Close(1000, "")]
    assert s.should_close and not c.should_close
    assert c.receive_eof() == []

    s, c = open_pair(impl)
    s.send("last")
    s.close(1012, "restart")
    assert pump(s, c) == ["last", Close(1012, "restart")]
    assert pump(c, s) == [Close(1012, "")]
    assert s.should_close


# -- PreparedMessage ------------------------------------------------------------------------------------


PREPARED_CONFIGS = [
    ({"compression": False}, {}),
    ({}, {}),
    ({}, {"compression": False}),
    ({"compression": {"server_no_context_takeover": True}}, {}),
    ({"compression": {"server_max_window_bits": 9}}, {}),
    ({"compression": {"server_max_window_bits": 15}}, {}),
    ({"compression": {"server_max_window_bits": None}}, {}),
    ({"compression_window_bits": 15, "compression": {"server_max_window_bits": None}}, {}),
    ({}, {"compression": DeflateParams(server_no_context_takeover=True, client_max_window_bits=True)}),
    ({}, {"compression": DeflateParams(server_max_window_bits=10)}),
    ({"compress_min_size": 1_000_000}, {}),
    ({"compress_min_size": 0}, {}),
]


@pytest.mark.parametrize("payload_kind", ["text", "binary"])
def test_prepared_message_broadcast(impl, payload_kind):
    pairs = [open_pair(impl, server=sv, client=cl) for sv, cl in PREPARED_CONFIGS]
    base = os.urandom(200).hex()
    if payload_kind == "text":
        big = ("broadcast " + base) * 20
    else:
        big = (b"broadcast " + base.encode()) * 20
    small = "tiny" if payload_kind == "text" else b"tiny"
    prepared = PreparedMessage(big, backend=impl)
    prepared_small = PreparedMessage(small, backend=impl)
    # Each message shares much with the prepared one, so that a compressor
    # keeping context would refer back into it.
    normal = [("broadcast " + base) * 5 + str(i) for i in range(3)]
    for s, c in pairs:
        s.send(normal[0])  # builds up compression context
        s.send_prepared(prepared)
        s.send(normal[1])
        s.send_prepared(prepared)
        s.send_prepared(prepared_small)
        s.send(normal[2])
        s.send_prepared(prepared)
        events = pump(s, c)
        assert events == [normal[0], big, normal[1], big, small, normal[2], big], (
            s.extensions,
            s.compress_min_size,
        )
        # And the other direction is undisturbed.
        c.send(normal[0])
        c.send(normal[1])
        assert pump(c, s) == normal[:2]


def test_prepared_message_wire(impl):
    (s1, c1), (s2, c2) = (
        open_pair(impl),
        open_pair(impl, server={"compression": False}),
    )
    prepared = PreparedMessage(b"x" * 1000, backend=impl)
    s1.send_prepared(prepared)
    s2.send_prepared(prepared)
    w1, w2 = s1.data_to_send(), s2.data_to_send()
    assert read_frames(w1)[0][1] and len(w1) < 100
    assert not read_frames(w2)[0][1] and len(w2) == 1004
    assert c1.receive_data(w1) == [b"x" * 1000]
    assert c2.receive_data(w2) == [b"x" * 1000]
    # Built once per window size: the same frame for another connection.
    s3, c3 = open_pair(impl)
    s3.send_prepared(prepared)
    assert s3.data_to_send() == w1


def test_prepared_message_rules(impl):
    s, c = open_pair(impl)
    prepared = PreparedMessage("hello", backend=impl)
    with pytest.raises(InvalidState):
        c.send_prepared(prepared)  # clients mask every frame
    s.send_fragment(b"a", fin=False, first=True)
    with pytest.raises(InvalidState):
        s.send_prepared(prepared)
    s.send_fragment(b"b", fin=True)
    s.send_prepared(prepared)
    assert pump(s, c) == [b"ab", "hello"]
    s.close()
    with pytest.raises(InvalidState):
        s.send_prepared(prepared)


def test_prepared_message_after_fragmented_compressed(impl):
    s, c = open_pair(impl)
    prepared = PreparedMessage(b"shared " * 100, backend=impl)
    s.send_fragment(b"shared " * 50, fin=False, first=True)
    s.send_fragment(b"shared " * 50, fin=True)
    s.send_prepared(prepared)
    s.send(b"shared " * 60)
    assert pump(s, c) == [b"shared " * 100, b"shared " * 100, b"shared " * 60]


# -- the same session cut into reads of any size -------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_session_split_invariance(impl, seed, streaming):
    rng = random.Random(seed)
    s, c = start(impl, server={"streaming": streaming})
    request = c.data_to_send()
    s.receive_data(request)
    c.receive_data(s.data_to_send())
    for i in range(30):
        kind = rng.randrange(4)
        if kind == 0:
            c.send("t%d " % i * rng.randrange(0, 300))
        elif kind == 1:
            c.send(os.urandom(rng.randrange(0, 3000)))
        elif kind == 2:
            c.ping(b"%d" % i)
        else:
            c.send_fragment(b"f" * rng.randrange(0, 400), fin=False, first=True)
            c.send_fragment(b"g" * rng.randrange(0, 400), fin=True)
    c.close(1000, "end")
    wire = request + c.data_to_send()
    # The whole session in one read, then in random pieces: same events.
    expected = feed(ServerConnection(backend=impl, streaming=streaming), wire)
    assert isinstance(expected[0], Open) and expected[-1] == Close(1000, "end")
    assert len(expected) > 30
    other = ServerConnection(backend=impl, streaming=streaming)
    events, pos = [], 0
    while pos < len(wire):
        n = rng.choice([1, 2, 3, 7, 64, 1000, 5000])
        events += feed(other, wire[pos : pos + n])
        pos += n
    assert events == expected


def test_bytes_parked_before_accept_are_bounded(impl):
    """With auto_accept=False, a peer can't pile data up before accept()."""
    from wsfast.client_protocol import ClientConnection
    from wsfast.events import HandshakeFailed, Request
    from wsfast.server_protocol import ServerConnection

    server = ServerConnection(auto_accept=False, max_message_size=1000, backend=impl)
    client = ClientConnection("localhost", 80, backend=impl)
    client.connect()
    events = server.receive_data(client.data_to_send())
    assert isinstance(events[0], Request)
    assert server.receive_data(b"x" * 600) == []
    events = server.receive_data(b"x" * 600)
    assert isinstance(events[0], HandshakeFailed) and server.should_close
