"""The C fast path for request heads (csrc/http_head.c) against llhttp.

Whatever the fast path accepts, the general reader (httptools) must accept
with the same target, header lines and trailing bytes, and the fast
path's WebSocket verdict must equal ``handshake.check_request``'s; what
it declines, the general reader handles as before. So a reader with the
fast path (the default) answers every head exactly like one without it:
the same request, or the same status.
"""

import importlib

import pytest
from hypothesis import given, settings, strategies as st

from wsfast._twins import compiled
from wsfast.errors import HandshakeError

HEAD = (
    b"GET /chat?room=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def _builds():
    out = [("python", importlib.import_module("wsfast.protocol.http"),
            importlib.import_module("wsfast.protocol.handshake"))]
    http_c = compiled("wsfast.protocol.http")
    if http_c is not None:
        out.append(("compiled", http_c, compiled("wsfast.protocol.handshake")))
    return out


@pytest.fixture(params=_builds(), ids=lambda b: b[0])
def build(request, c_impl):
    name, http, handshake = request.param
    if http._parse_head is not c_impl.parse_request_head:
        pytest.skip("this build reads heads with the pure-Python backend")
    return http, handshake


def outcome(http, data, fast, max_head_size=8192, max_headers=100):
    """What a reader answers: ("request", fields...), ("status", n) or None."""
    saved = http._parse_head
    if not fast:
        http._parse_head = lambda *args: None
    try:
        reader = http.RequestReader(max_head_size, max_headers)
        try:
            request = reader.feed(data)
        except HandshakeError as exc:
            return ("status", exc.status)
    finally:
        http._parse_head = saved
    if request is None:
        return None
    return ("request", request.method, request.target, request.raw_path, request.path,
            request.query_string, request.http_version, list(request.headers),
            request.is_websocket, reader.remaining)


def check_head(http, handshake, data, **limits):
    general = outcome(http, data, fast=False, **limits)
    assert outcome(http, data, fast=True, **limits) == general
    fast = http._parse_head(data, limits.get("max_head_size", 8192),
                            limits.get("max_headers", 100))
    if fast is None:
        return general
    target, items, head_len, upgrade, key = fast
    # Without the lines (what a server's first read asks): the same verdict.
    assert http._parse_head(data, limits.get("max_head_size", 8192), limits.get("max_headers", 100),
                            False) == (None, None, head_len, upgrade, key)
    assert general is not None and general[0] == "request", (data, general)
    pairs = list(zip(items[::2], items[1::2]))
    assert (target, pairs, data[head_len:]) == (general[2], general[7], general[9])
    # The verdict equals check_request's on the general reader's request.
    reader = http.RequestReader()
    http._parse_head, saved = (lambda *args: None), http._parse_head
    try:
        request = reader.feed(data)
    finally:
        http._parse_head = saved
    try:
        expected = handshake.check_request(request)
    except HandshakeError:
        expected = None
    assert key == expected, data
    return general


CORPUS = [
    HEAD,
    HEAD + b"\x81\x80\x00\x00\x00\x00",
    HEAD.replace(b"13", b"8"),
    HEAD.replace(b"Upgrade: websocket", b"Upgrade: h2c, WebSocket "),
    HEAD.replace(b"Connection: Upgrade", b"Connection: keep-alive,\tupgrade"),
    HEAD.replace(b"Connection: Upgrade", b"Connection: keep-alive"),
    HEAD.replace(b"Host: example.com\r\n", b""),
    HEAD.replace(b"Host: example.com", b"Host:"),
    HEAD.replace(b"Host: example.com", b"Host: a\r\nHost: b"),
    HEAD.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZSBub25jZQ"),
    HEAD.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZSBub25jZQ=="
                 b"\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="),
    HEAD.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"dGhlIHNhbXBsZSBub25jZ*=="),
    HEAD.replace(b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 13, 13"),
    HEAD.replace(b"Sec-WebSocket-Version: 13", b"sec-websocket-version:13  "),
    HEAD.replace(b"GET", b"POST"),
    HEAD.replace(b"GET", b"get"),
    HEAD.replace(b"HTTP/1.1", b"HTTP/1.0"),
    HEAD.replace(b"HTTP/1.1", b"HTTP/2.0"),
    HEAD.replace(b"/chat?room=1", b"http://example.com/chat"),
    HEAD.replace(b"/chat?room=1", b"/a%20b?x=%41#frag"),
    HEAD.replace(b"/chat?room=1", b"/caf\xc3\xa9"),
    HEAD.replace(b"\r\n", b"\n"),
    HEAD.replace(b"Host: example.com", b"Host : example.com"),
    HEAD.replace(b"Host: example.com", b"Host: exa\x00mple.com"),
    HEAD.replace(b"Host: example.com", b"Host: exa\x7fmple.com"),
    HEAD.replace(b"Host: example.com", b"Host: caf\xe9"),
    HEAD.replace(b"Host: example.com", b"Host: example.com\r\n folded"),
    HEAD.replace(b"Host: example.com", b"Content-Length: 0\r\nHost: x"),
    HEAD.replace(b"Host: example.com", b"Content-Length: 5\r\nHost: x"),
    HEAD.replace(b"Host: example.com", b"Transfer-Encoding: chunked\r\nHost: x"),
    HEAD.replace(b"Host: example.com", b"X-\xff: y\r\nHost: x"),
    HEAD.replace(b"Host: example.com", b"Sec-WebSocket-Protocol: chat, superchat\r\n"
                 b"Sec-WebSocket-Extensions: permessage-deflate\r\nHost: x"),
    b"\r\n" + HEAD,
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r",
    b"GET / HTTP/1.1\r\nHost: x\r\n",
    b"GET",
    b"",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n",
    b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n",
    b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
]


@pytest.mark.parametrize("data", CORPUS)
def test_corpus_same_answer_with_and_without_fast_path(build, data):
    check_head(*build, data)


def test_the_usual_upgrade_takes_the_fast_path(build):
    http, _ = build
    fast = http._parse_head(HEAD, 8192, 100)
    assert fast is not None
    target, items, head_len, upgrade, key = fast
    assert key == "dGhlIHNhbXBsZSBub25jZQ=="
    assert head_len == len(HEAD)
    request = http.RequestReader().feed(HEAD)
    assert request._upgrade_key == key and request.is_websocket


def test_a_fast_path_request_makes_its_strings_when_asked(build):
    http, _ = build
    fast = http._parse_head(HEAD, 8192, 100)
    assert fast is not None
    request = http.RequestReader().feed(HEAD)
    # Nothing made yet but the key: the head's bytes are kept as they came.
    assert request._head == HEAD and request._target is None and request._headers is None
    assert request._upgrade_key == "dGhlIHNhbXBsZSBub25jZQ==" and request.is_websocket
    assert request._raw_path is None
    # Asked: the same strings as the general reader's.
    assert request.target == "/chat?room=1"
    assert list(request.headers) == list(zip(fast[1][::2], fast[1][1::2]))
    assert request._head is None  # made once
    assert (request.raw_path, request.path, request.query_string) == (b"/chat", "/chat", b"room=1")
    assert repr(request) == "<Request GET /chat?room=1 HTTP/1.1>"
    # The fast path switched off after the read: what it read still expands.
    lazy = http.RequestReader().feed(HEAD)
    http._parse_head, saved = (lambda *args: None), http._parse_head
    try:
        assert lazy.headers.get("host") == "example.com"
    finally:
        http._parse_head = saved
    request._compact()
    assert request.headers.get("sec-websocket-version") == "13"


def test_a_requests_fields_may_be_set(build):
    http, _ = build
    for request in (http.RequestReader().feed(HEAD),
                    http.Request("GET", "/chat?room=1", "1.1", http.Headers([("Host", "h")]))):
        request.path = "/other"
        assert (request.path, request.raw_path, request.query_string) == ("/other", b"/chat", b"room=1")
        request.query_string = b"x=1"
        request.raw_path = b"/r"
        assert (request.path, request.raw_path, request.query_string) == ("/other", b"/r", b"x=1")
        request.target = "/t?q"  # a new target: split again when asked
        assert (request.target, request.path, request.raw_path, request.query_string) == ("/t?q", "/t", b"/t", b"q")
        request.headers = http.Headers([("X", "1")])
        assert list(request.headers) == [("X", "1")]


@pytest.mark.parametrize("max_head_size", [len(HEAD) - 1, len(HEAD), len(HEAD) + 1])
def test_head_size_limit_is_the_same(build, max_head_size):
    result = check_head(*build, HEAD, max_head_size=max_head_size)
    assert result[0] == ("status" if max_head_size < len(HEAD) else "request")


@pytest.mark.parametrize("max_headers", [0, 4, 5, 6])
def test_header_count_limit_is_the_same(build, max_headers):
    result = check_head(*build, HEAD, max_headers=max_headers)
    assert result[0] == ("status" if max_headers < 5 else "request")


def test_accept_key_matches_rfc_example(c_impl, py_impl):
    # RFC 6455 section 1.3.
    for impl in (c_impl, py_impl):
        assert impl.websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        assert impl.websocket_accept("x" * 100) == py_impl.websocket_accept(b"x" * 100)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_sha1_lengths_match_hashlib(c_impl, py_impl, key):
    # Every padding case (the key plus the 36-byte GUID crosses 55, 64
    # and 119 bytes), and keys past the C buffer.
    assert c_impl.websocket_accept(key) == py_impl.websocket_accept(key)


# Random heads: pieces near the subset's edges, so both sides of each
# rule are reached.
_NAMES = st.sampled_from([b"Host", b"host", b"Upgrade", b"Connection", b"Sec-WebSocket-Key",
                          b"Sec-WebSocket-Version", b"Sec-WebSocket-Protocol", b"Origin",
                          b"Content-Length", b"Transfer-Encoding", b"X-A", b"", b"X Y",
                          b"X\x00", b"\xc3\xa9", b"Key:"])
_VALUES = st.one_of(
    st.sampled_from([b"websocket", b"WebSocket, h2c", b"upgrade", b"Upgrade, keep-alive",
                     b"13", b" 13 ", b"8", b"dGhlIHNhbXBsZSBub25jZQ==", b"example.com", b"",
                     b"0", b"5", b"chunked", b"\t x \t"]),
    st.binary(max_size=12),
)
_TARGETS = st.one_of(st.sampled_from([b"/", b"/a?b=c", b"*", b"http://h/p", b"/%zz", b"/a#b"]),
                     st.binary(min_size=1, max_size=8).map(lambda b: b"/" + b))


@st.composite
def heads(draw):
    method = draw(st.sampled_from([b"GET", b"GET", b"POST", b"get", b"GE T"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/11"]))
    eol = draw(st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n"]))
    lines = [method + b" " + draw(_TARGETS) + b" " + version]
    for name, value in draw(st.lists(st.tuples(_NAMES, _VALUES), max_size=8)):
        lines.append(name + b":" + draw(st.sampled_from([b"", b" ", b"\t"])) + value)
    head = eol.join(lines) + eol + eol
    return head + draw(st.binary(max_size=6))


@settings(max_examples=1500, deadline=None)
@given(heads())
def test_random_heads_same_answer(build, data):
    check_head(*build, data)


@settings(max_examples=1500, deadline=None)
@given(st.integers(0, len(HEAD) - 1), st.integers(0, 255), st.integers(0, len(HEAD)))
def test_mutated_upgrade_same_answer(build, where, byte, cut):
    data = bytearray(HEAD)
    data[where] = byte
    check_head(*build, bytes(data[: max(cut, where + 1)]) if cut < len(HEAD) else bytes(data))


def _cffi_or_skip():
    try:
        return importlib.import_module("wsfast.codec._cffi")
    except ImportError:
        pytest.skip("the cffi backend is not built")


@pytest.mark.parametrize("data", CORPUS + [HEAD[:n] for n in range(0, len(HEAD), 7)])
@pytest.mark.parametrize("limits", [(8192, 100), (len(HEAD), 5), (len(HEAD) - 1, 100), (8192, 0)])
def test_both_bindings_read_a_head_alike(data, limits):
    """The cffi binding of the fast path gives the Cython one's answers."""
    c = pytest.importorskip("wsfast.codec._core")
    cffi = _cffi_or_skip()
    assert cffi.parse_request_head(data, *limits) == c.parse_request_head(data, *limits)
    assert cffi.parse_request_head(memoryview(data), *limits) == c.parse_request_head(data, *limits)
    assert cffi.parse_request_head(data, *limits, False) == c.parse_request_head(data, *limits, False)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_both_bindings_agree_on_mutated_heads(noise):
    c = pytest.importorskip("wsfast.codec._core")
    cffi = _cffi_or_skip()
    cut = len(noise) % len(HEAD)
    data = HEAD[:cut] + noise + HEAD[cut:]
    assert cffi.parse_request_head(data, 8192, 100) == c.parse_request_head(data, 8192, 100)
    assert cffi.websocket_accept(noise) == c.websocket_accept(noise)
