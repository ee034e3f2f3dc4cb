"""Opening handshake rules: wsfast.handshake."""

import base64

import pytest

from wsfast.errors import HandshakeError, InvalidResponse
from wsfast.extensions import (
    DEFAULT_OFFER,
    accept_deflate_response,
    deflate_offer,
    negotiate_deflate,
    parse_extensions,
)
from wsfast.handshake import (
    Accept,
    Reject,
    accept_key,
    build_rejection,
    build_request,
    build_response,
    check_request,
    check_response,
    normalize_decision,
    origin_check,
    parse_subprotocols,
    select_subprotocol,
)
from wsfast.http import Headers, Request, RequestReader, Response, ResponseReader

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
VALID = [
    ("Host", "example.com"),
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", KEY),
    ("Sec-WebSocket-Version", "13"),
]


def make_request(headers=VALID, method="GET", version="1.1", target="/"):
    return Request(method, target, version, Headers(headers))


def replace(name, *values):
    """VALID with every ``name`` header replaced by ``values``."""
    kept = [(n, v) for n, v in VALID if n.lower() != name.lower()]
    return kept + [(name, v) for v in values]


def parse_request(data):
    reader = RequestReader()
    request = reader.feed(data)
    assert request is not None
    return request, reader.remaining


def parse_response(data):
    reader = ResponseReader()
    response = reader.feed(data)
    assert response is not None
    return response, reader.remaining


def reject_status(request):
    with pytest.raises(HandshakeError) as info:
        check_request(request)
    return info.value


def test_accept_key_rfc6455_example():
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


# Server: check_request


def test_valid_request_returns_key():
    assert check_request(make_request()) == KEY


def test_names_and_tokens_are_case_insensitive():
    headers = [
        ("HOST", "example.com"),
        ("upgrade", "WebSocket"),
        ("CONNECTION", "keep-alive, UPGRADE"),
        ("sec-websocket-key", KEY),
        ("SEC-WEBSOCKET-VERSION", "13"),
    ]
    assert check_request(make_request(headers)) == KEY


def test_repeated_and_joined_connection_and_upgrade():
    headers = replace("Connection", "keep-alive", "Upgrade")
    assert check_request(make_request(headers)) == KEY
    headers = replace("Upgrade", "h2c", "websocket")
    assert check_request(make_request(headers)) == KEY
    headers = replace("Upgrade", "h2c, websocket")
    assert check_request(make_request(headers)) == KEY


def test_parsed_request_round_trip():
    data = b"GET / HTTP/1.1\r\n" + b"".join(
        b"%s: %s\r\n" % (n.encode(), v.encode()) for n, v in VALID
    )
    request, _ = parse_request(data + b"\r\n")
    assert check_request(request) == KEY


def test_method_must_be_get():
    err = reject_status(make_request(method="POST"))
    assert err.status == 405
    assert ("Allow", "GET") in err.headers
    assert "GET" in err.reason


@pytest.mark.parametrize("version", ["1.0", "0.9"])
def test_http_version_must_be_1_1(version):
    err = reject_status(make_request(version=version))
    assert err.status == 400 and "HTTP/1.1" in err.reason


def test_later_http_version_is_accepted():
    assert check_request(make_request(version="2.0")) == KEY


@pytest.mark.parametrize(
    "headers, word",
    [
        (replace("Host"), "Host"),
        (replace("Host", "a", "b"), "Host"),
        (replace("Host", ""), "Host"),
        (replace("Upgrade"), "Upgrade"),
        (replace("Upgrade", "h2c"), "Upgrade"),
        (replace("Upgrade", "websockets"), "Upgrade"),
        (replace("Connection"), "Connection"),
        (replace("Connection", "keep-alive"), "Connection"),
        (replace("Connection", "upgraded"), "Connection"),
        (replace("Sec-WebSocket-Key"), "Key"),
        (replace("Sec-WebSocket-Key", KEY, KEY), "Key"),
        (replace("Sec-WebSocket-Key", KEY + ", " + KEY), "Key"),
        (replace("Sec-WebSocket-Key", "not base64!"), "Key"),
        (replace("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ"), "Key"),  # no padding
        (replace("Sec-WebSocket-Key", base64.b64encode(b"x" * 15).decode()), "Key"),
        (replace("Sec-WebSocket-Key", base64.b64encode(b"x" * 17).decode()), "Key"),
        (replace("Sec-WebSocket-Key", ""), "Key"),
    ],
)
def test_bad_request_is_400(headers, word):
    err = reject_status(make_request(headers))
    assert err.status == 400
    assert word in err.reason


@pytest.mark.parametrize(
    "values",
    [(), ("8",), ("12",), ("14",), ("13", "13"), ("13, 8",), ("abc",)],
)
def test_bad_version_is_426(values):
    err = reject_status(make_request(replace("Sec-WebSocket-Version", *values)))
    assert err.status == 426
    assert err.headers == [("Sec-WebSocket-Version", "13")]


# Subprotocols


def test_parse_subprotocols_repeated_and_joined():
    headers = Headers(
        [("Sec-WebSocket-Protocol", "a, B"), ("sec-websocket-protocol", " c ,, d")]
    )
    assert parse_subprotocols(headers) == ["a", "B", "c", "d"]
    assert parse_subprotocols(Headers()) == []


def test_parse_subprotocols_rejects_non_tokens():
    with pytest.raises(HandshakeError) as info:
        parse_subprotocols(Headers([("Sec-WebSocket-Protocol", "a, b/c")]))
    assert info.value.status == 400


def test_select_subprotocol_server_preference():
    assert select_subprotocol(["a", "b", "c"], ["c", "b"]) == "c"
    assert select_subprotocol(["a", "b"], ["x", "b", "a"]) == "b"
    assert select_subprotocol(["a"], ["b"]) is None
    assert select_subprotocol([], ["a"]) is None
    assert select_subprotocol(["A"], ["a"]) is None  # case-sensitive


def test_select_subprotocol_callable():
    seen = []

    def choose(request, offered):
        seen.append((request, offered))
        return offered[-1]

    request = make_request()
    assert select_subprotocol(["a", "b"], choose, request) == "b"
    assert seen == [(request, ["a", "b"])]
    assert select_subprotocol(["a"], lambda r, o: None) is None


def test_select_subprotocol_callable_must_pick_an_offered_one():
    with pytest.raises(HandshakeError) as info:
        select_subprotocol(["a", "b"], lambda r, o: "c")
    assert info.value.status == 500


# Server: responses


def test_build_response_minimal():
    data = build_response(KEY)
    assert data == (
        b"HTTP/1.1 101 Switching Protocols\r\n"
        b"Upgrade: websocket\r\n"
        b"Connection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        b"\r\n"
    )


def test_build_response_full():
    data = build_response(
        KEY,
        subprotocol="chat",
        extensions="permessage-deflate; server_max_window_bits=12",
        extra_headers=[("X-Server", "wsfast"), ("Set-Cookie", "a=b")],
    )
    response, remaining = parse_response(data)
    assert remaining == b""
    headers = response.headers
    assert headers.get("Sec-WebSocket-Protocol") == "chat"
    assert headers.get("Sec-WebSocket-Extensions").endswith("=12")
    assert headers.get("X-Server") == "wsfast"
    assert check_response(response, KEY, ["chat"]) == (
        "chat",
        ["permessage-deflate; server_max_window_bits=12"],
    )


@pytest.mark.parametrize(
    "header",
    [("Upgrade", "h2c"), ("connection", "close"), ("Content-Length", "0"),
     ("Sec-WebSocket-Accept", "x"), ("X-Bad", "a\r\nInjected: 1")],
)
def test_build_response_refuses_reserved_or_invalid_headers(header):
    with pytest.raises(ValueError):
        build_response(KEY, extra_headers=[header])


def test_build_rejection():
    version = [("Sec-WebSocket-Version", "13")]
    data = build_rejection(426, headers=version, body="nope\n")
    assert data == (
        b"HTTP/1.1 426 Upgrade Required\r\n"
        b"Sec-WebSocket-Version: 13\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: 5\r\n"
        b"Connection: close\r\n"
        b"\r\n"
        b"nope\n"
    )
    response, body = parse_response(data)
    assert response.status == 426 and body == b"nope\n"


def test_build_rejection_without_body_and_custom_type():
    data = build_rejection(403, "Go Away")
    assert data == (
        b"HTTP/1.1 403 Go Away\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    data = build_rejection(500, headers=[("content-type", "text/html")], body=b"<p>")
    assert data.count(b"ontent-") == 2  # only the given type, plus length
    assert data.endswith(b"\r\n\r\n<p>")


def test_build_rejection_from_handshake_error():
    err = reject_status(make_request(replace("Sec-WebSocket-Version", "8")))
    data = build_rejection(err.status, headers=err.headers, body=err.reason)
    response, body = parse_response(data)
    assert response.status == 426
    assert response.headers.get("Sec-WebSocket-Version") == "13"
    assert body == err.reason.encode()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": 101},
        {"status": 600},
        {"status": 400, "reason": "a\r\nb"},
        {"status": 400, "headers": [("Content-Length", "3")]},
        {"status": 400, "headers": [("Connection", "keep-alive")]},
    ],
)
def test_build_rejection_refuses(kwargs):
    with pytest.raises(ValueError):
        build_rejection(**kwargs)


# Client


@pytest.mark.parametrize(
    "host, port, secure, expected",
    [
        ("example.com", None, False, "example.com"),
        ("example.com", 80, False, "example.com"),
        ("example.com", 443, True, "example.com"),
        ("example.com", 443, False, "example.com:443"),
        ("example.com", 80, True, "example.com:80"),
        ("example.com", 8080, False, "example.com:8080"),
        ("::1", 8080, False, "[::1]:8080"),
        ("::1", 80, False, "[::1]"),
        ("[::1]", 9000, True, "[::1]:9000"),
        ("127.0.0.1", 9000, False, "127.0.0.1:9000"),
        ("b\u00fccher.example", None, True, "xn--bcher-kva.example"),
    ],
)
def test_build_request_host(host, port, secure, expected):
    data, _ = build_request(host, port, secure=secure)
    request, _ = parse_request(data)
    assert request.headers.get_all("Host") == [expected]


def test_build_request_is_a_valid_handshake():
    data, key = build_request(
        "example.com",
        8000,
        "/chat?x=1",
        subprotocols=["a", "chat"],
        extensions=deflate_offer(),
        extra_headers=[("Authorization", "Bearer t")],
        origin="https://example.com",
    )
    assert data.startswith(b"GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8000\r\n")
    request, remaining = parse_request(data)
    assert remaining == b""
    assert check_request(request) == key
    assert len(base64.b64decode(key, validate=True)) == 16
    assert parse_subprotocols(request.headers) == ["a", "chat"]
    assert request.headers.get("Origin") == "https://example.com"
    assert request.headers.get("Authorization") == "Bearer t"
    assert request.headers.get("Sec-WebSocket-Extensions") == (
        "permessage-deflate; client_max_window_bits"
    )


def test_build_request_keys_are_random():
    keys = {build_request("h", None)[1] for _ in range(20)}
    assert len(keys) == 20


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path": ""},
        {"path": "chat"},
        {"path": "/a b"},
        {"path": "/a\r\nX: y"},
        {"subprotocols": ["a b"]},
        {"extra_headers": [("Sec-WebSocket-Key", "x")]},
        {"extra_headers": [("Host", "x")]},
    ],
)
def test_build_request_refuses(kwargs):
    with pytest.raises(ValueError):
        build_request("h", None, **kwargs)


def test_client_server_round_trip():
    offered = ["v2.chat", "v1.chat"]
    data, key = build_request(
        "example.com", None, "/ws", subprotocols=offered, extensions=deflate_offer()
    )
    # Server side.
    request, _ = parse_request(data)
    server_key = check_request(request)
    subprotocol = select_subprotocol(
        parse_subprotocols(request.headers), ["v1.chat", "v2.chat"]
    )
    offers = parse_extensions(request.headers.get_all("Sec-WebSocket-Extensions"))
    ext_header, server_params = negotiate_deflate(offers)
    reply = build_response(server_key, subprotocol, ext_header) + b"\x81\x02hi"
    # Client side.
    response, remaining = parse_response(reply)
    assert remaining == b"\x81\x02hi"
    chosen, extensions = check_response(response, key, offered)
    assert chosen == "v1.chat"
    assert accept_deflate_response(extensions, DEFAULT_OFFER) == server_params


def ok_response(key=KEY, extra=()):
    headers = Headers(
        [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept_key(key)),
            *extra,
        ]
    )
    return Response(101, "Switching Protocols", "1.1", headers)


def test_check_response_accepts_case_variants():
    response = ok_response()
    response.headers = Headers(
        [("UPGRADE", "WebSocket"), ("connection", "upgrade"),
         ("sec-websocket-accept", accept_key(KEY))]
    )
    assert check_response(response, KEY) == (None, [])


def test_check_response_wrong_status_carries_details():
    data = build_rejection(403, headers=[("X-Why", "banned")], body=b"go away" * 1000)
    response, body = parse_response(data)
    with pytest.raises(InvalidResponse) as info:
        check_response(response, KEY, body=body)
    err = info.value
    assert err.status == 403
    assert ("X-Why", "banned") in err.headers
    assert err.body.startswith(b"go away") and len(err.body) <= 4096
    assert "403" in str(err)


def drop(name):
    def mutate(headers):
        headers.__init__([(n, v) for n, v in headers if n != name])

    return mutate


def add(name, value):
    return lambda headers: headers.add(name, value)


@pytest.mark.parametrize(
    "mutate, offered, word",
    [
        (drop("Upgrade"), (), "Upgrade"),
        (add("Upgrade", "h2c"), (), "Upgrade"),
        (drop("Connection"), (), "Connection"),
        (drop("Sec-WebSocket-Accept"), (), "Accept"),
        (add("Sec-WebSocket-Accept", accept_key(KEY)), (), "Accept"),
        (add("Sec-WebSocket-Protocol", "chat"), (), "chat"),
        (add("Sec-WebSocket-Protocol", "chat"), ["other"], "chat"),
        (add("Sec-WebSocket-Protocol", "a, b"), ["a", "b"], "more than one"),
    ],
)
def test_check_response_errors(mutate, offered, word):
    response = ok_response()
    mutate(response.headers)
    with pytest.raises(InvalidResponse) as info:
        check_response(response, KEY, offered)
    assert word in info.value.reason
    assert info.value.status == 101


def test_check_response_wrong_accept():
    response = ok_response(key=base64.b64encode(b"y" * 16).decode())
    with pytest.raises(InvalidResponse, match="Accept"):
        check_response(response, KEY)


# Hooks


def test_normalize_decision():
    assert isinstance(normalize_decision(None), Accept)
    assert isinstance(normalize_decision(True), Accept)
    assert normalize_decision(False).status == 403
    accept = Accept(headers=[("X", "1")], subprotocol="chat")
    assert normalize_decision(accept) is accept
    reject = Reject(401, [("WWW-Authenticate", "Basic")], b"no")
    assert normalize_decision(reject) is reject
    with pytest.raises(TypeError):
        normalize_decision("yes")
    assert "chat" in repr(accept) and "401" in repr(reject)


def with_origin(*origins):
    return make_request(VALID + [("Origin", o) for o in origins])


def test_origin_check():
    hook = origin_check(["https://example.com", "http://localhost:8000"])
    assert hook(with_origin("https://example.com"), ("1.2.3.4", 5)) is None
    assert hook(with_origin("HTTPS://EXAMPLE.COM"), None) is None
    assert hook(with_origin("http://localhost:8000"), None) is None
    for origin in ["https://evil.example", "http://example.com",
                   "https://example.com:8443", "http://localhost", "null",
                   "https://example.com.evil.example"]:
        result = hook(with_origin(origin), None)
        assert isinstance(result, Reject) and result.status == 403, origin
    # Two Origin headers are never a browser's doing.
    twice = with_origin("https://example.com", "https://example.com")
    assert hook(twice, None).status == 403


def test_origin_check_missing_origin():
    assert origin_check(["https://a.example"])(make_request(), None).status == 403
    lenient = origin_check(["https://a.example"], allow_missing=True)
    assert lenient(make_request(), None) is None


def test_origin_check_has_no_wildcard():
    with pytest.raises(ValueError):
        origin_check(["*"])
    with pytest.raises(ValueError):
        origin_check(["https://*.example.com"])


def test_origin_check_rejection_is_sendable():
    result = origin_check([])(with_origin("https://x.example"), None)
    data = build_rejection(result.status, None, result.headers, result.body)
    response, body = parse_response(data)
    assert response.status == 403 and body


# Interoperability with the websockets library (sans-I/O)

websockets = pytest.importorskip("websockets")


def test_websockets_client_against_our_server():
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
    from websockets.frames import Frame, Opcode
    from websockets.protocol import OPEN
    from websockets.uri import parse_uri

    client = ClientProtocol(
        parse_uri("ws://example.com:8765/chat?x=1"),
        origin="https://example.com",
        subprotocols=["superchat", "chat"],
        extensions=[ClientPerMessageDeflateFactory()],
    )
    client.send_request(client.connect())
    data = b"".join(client.data_to_send())

    request, remaining = parse_request(data)
    assert remaining == b""
    assert request.path == "/chat" and request.query_string == b"x=1"
    assert origin_check(["https://example.com"])(request, None) is None
    key = check_request(request)
    subprotocol = select_subprotocol(parse_subprotocols(request.headers), ["chat"])
    offers = parse_extensions(request.headers.get_all("Sec-WebSocket-Extensions"))
    ext_header, params = negotiate_deflate(offers)
    # An unmasked server text frame arriving in the same read as the 101.
    client.receive_data(build_response(key, subprotocol, ext_header) + b"\x81\x05hello")

    assert client.handshake_exc is None
    assert client.state is OPEN
    assert client.subprotocol == "chat"
    (extension,) = client.extensions
    assert extension.remote_max_window_bits == params.server_max_window_bits
    assert extension.local_max_window_bits == params.client_max_window_bits
    events = client.events_received()
    assert isinstance(events[-1], Frame)
    assert (events[-1].opcode, events[-1].data) == (Opcode.TEXT, b"hello")


def test_websockets_client_rejected_by_our_server():
    from websockets.client import ClientProtocol
    from websockets.exceptions import InvalidStatus
    from websockets.uri import parse_uri

    uri = parse_uri("ws://example.com/")
    client = ClientProtocol(uri, origin="https://evil.example")
    client.send_request(client.connect())
    request, _ = parse_request(b"".join(client.data_to_send()))
    check_request(request)
    decision = normalize_decision(origin_check(["https://example.com"])(request, None))
    client.receive_data(
        build_rejection(decision.status, None, decision.headers, decision.body)
    )
    assert isinstance(client.handshake_exc, InvalidStatus)
    assert client.handshake_exc.response.status_code == 403


def test_our_client_against_websockets_server():
    from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
    from websockets.server import ServerProtocol

    server = ServerProtocol(
        subprotocols=["chat"],
        extensions=[ServerPerMessageDeflateFactory(server_max_window_bits=11,
                                                   client_max_window_bits=10)],
    )
    offered = ["superchat", "chat"]
    data, key = build_request(
        "example.com", 8765, "/chat", subprotocols=offered, extensions=deflate_offer()
    )
    server.receive_data(data)
    (request,) = server.events_received()
    assert request.path == "/chat"
    assert request.headers["Host"] == "example.com:8765"
    reply = server.accept(request)
    server.send_response(reply)
    assert server.handshake_exc is None
    response, remaining = parse_response(b"".join(server.data_to_send()))
    assert remaining == b""
    subprotocol, extensions = check_response(response, key, offered)
    assert subprotocol == "chat"
    params = accept_deflate_response(extensions, DEFAULT_OFFER)
    assert params.server_max_window_bits == 11
    assert params.client_max_window_bits == 10


def test_our_client_rejected_by_websockets_server():
    from websockets.server import ServerProtocol

    server = ServerProtocol(origins=["https://example.com"])
    data, key = build_request("example.com", None, origin="https://evil.example")
    server.receive_data(data)
    (request,) = server.events_received()
    server.send_response(server.accept(request))
    response, body = parse_response(b"".join(server.data_to_send()))
    with pytest.raises(InvalidResponse) as info:
        check_response(response, key, body=body)
    assert info.value.status == 403
    assert info.value.body  # websockets explains the refusal in the body


# -- a server connection's first read: the C fast path before any reader ------

from wsfast.protocol import ServerConnection  # noqa: E402  (switched per build by the twin fixture)

UPGRADE_HEAD = (
    b"GET /chat?room=1&x=%41 HTTP/1.1\r\n"
    + b"".join(b"%s: %s\r\n" % (n.encode(), v.encode()) for n, v in VALID)
    + b"X-Token: abc\r\n\r\n"
)


def _chunks(data, size):
    return [data] if size is None else [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [None, 1, 9])
def test_the_hook_sees_the_same_request_whole_or_split(size):
    # Whole, the head is read by the C fast path with no RequestReader;
    # split, a RequestReader reads it. The hook sees the same either way.
    seen = []

    def hook(request, address):
        seen.append((request.method, request.path, request.query_string, request.http_version,
                     list(request.headers), request.headers.get("x-token"), address))

    conn = ServerConnection(handshake_hook=hook, remote_address=("10.0.0.1", 4321), compression=False)
    events = []
    for chunk in _chunks(UPGRADE_HEAD + b"\x88\x80\x00\x00\x00\x00", size):
        events += conn.receive_data(chunk)
    assert seen == [("GET", "/chat", b"room=1&x=%41", "1.1", VALID + [("X-Token", "abc")], "abc",
                     ("10.0.0.1", 4321))]
    names = [type(e).__name__ for e in events]
    assert names[0] == "Open" and names[-1] == "Close"  # the close frame after the head is read too
    assert conn.request.path == "/chat"
    response = conn.data_to_send()
    assert response.startswith(b"HTTP/1.1 101 ")
    assert b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in response  # RFC 6455 1.3


@pytest.mark.parametrize("size", [None, 5])
def test_a_refused_first_read_keeps_its_status(size):
    # A head the fast path declines goes to the reader with every check.
    conn = ServerConnection(compression=False)
    events = []
    for chunk in _chunks(UPGRADE_HEAD.replace(b"Version: 13", b"Version: 8"), size):
        events += conn.receive_data(chunk)
    assert [(type(e).__name__, e.status) for e in events] == [("HandshakeFailed", 426)]
    assert conn.data_to_send().startswith(b"HTTP/1.1 426 ")


def test_head_limits_are_checked_when_the_connection_is_built():
    with pytest.raises(ValueError):
        ServerConnection(max_head_size=3)
    with pytest.raises(ValueError):
        ServerConnection(max_headers=-1)


def test_a_head_over_the_limit_on_the_first_read_is_431():
    conn = ServerConnection(max_head_size=len(UPGRADE_HEAD) - 1)
    events = conn.receive_data(UPGRADE_HEAD)
    assert [(type(e).__name__, e.status) for e in events] == [("HandshakeFailed", 431)]


def _state(conn):
    names = set()
    for cls in type(conn).__mro__:
        names.update(getattr(cls, "__slots__", ()))
    names.discard("__weakref__")
    return {name: getattr(conn, name) for name in names}


@pytest.mark.parametrize("options", [
    {},
    {"compression": False, "max_message_size": 1000, "max_step_frames": 7, "auto_pong": False},
    {"subprotocols": ["chat"], "origins": ["https://a.example"], "extra_headers": [("X-A", "1")],
     "max_head_size": 2048, "max_headers": 10, "compression_idle": "keep"},
])
def test_clone_is_a_fresh_connection_with_the_same_options(options):
    template = ServerConnection(**options)
    clone = template.clone(("10.0.0.2", 5555))
    fresh = ServerConnection(remote_address=("10.0.0.2", 5555), **options)
    assert type(clone) is type(fresh)
    got, want = _state(clone), _state(fresh)
    want.pop("origin_hook"), got.pop("origin_hook")  # a closure per construction
    assert got == want
    assert (clone.origin_hook is None) == (fresh.origin_hook is None)
    # The clone completes a handshake like a fresh connection, and the
    # template stays untouched for the next one.
    headers = "".join(f"{k}: {v}\r\n" for k, v in VALID)
    head = f"GET / HTTP/1.1\r\n{headers}\r\n".encode()
    if options.get("origins"):
        head = head.replace(b"\r\n\r\n", b"\r\nOrigin: https://a.example\r\n\r\n")
    assert [type(e).__name__ for e in clone.receive_data(head)] == \
        [type(e).__name__ for e in fresh.receive_data(head)]
    assert clone.data_to_send() == fresh.data_to_send()
    assert _state(template.clone(None))["request"] is None
