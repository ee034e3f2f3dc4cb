"""HTTP head parsing: wsfast.http."""

import pytest

from wsfast.errors import HandshakeError, InvalidResponse
from wsfast.http import (
    DEFAULT_MAX_HEAD_SIZE,
    DEFAULT_MAX_HEADERS,
    Headers,
    Request,
    RequestReader,
    ResponseReader,
    format_headers,
)

HEAD = (
    b"GET /chat?room=1 HTTP/1.1\r\n"
    b"Host: example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)
# A masked text frame that arrived together with the head.
FRAME = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"


def read_request(data, **limits):
    reader = RequestReader(**limits)
    return reader.feed(data), reader


def request_error(data, **limits):
    with pytest.raises(HandshakeError) as info:
        reader = RequestReader(**limits)
        assert reader.feed(data) is None, "head unexpectedly accepted"
    return info.value


def test_request_fields():
    request, reader = read_request(HEAD)
    assert isinstance(request, Request)
    assert request.method == "GET"
    assert request.target == "/chat?room=1"
    assert request.raw_path == b"/chat"
    assert request.path == "/chat"
    assert request.query_string == b"room=1"
    assert request.http_version == "1.1"
    assert request.headers.get("host") == "example.com"
    assert request.is_websocket
    assert reader.remaining == b""


def test_bytes_after_head_are_kept_exactly():
    tail = FRAME + b"\r\n\r\n" + bytes(range(256))
    request, reader = read_request(HEAD + tail)
    assert request is not None
    assert reader.remaining == tail


@pytest.mark.parametrize("with_tail", [False, True])
def test_request_cut_at_every_position(with_tail):
    data = HEAD + (FRAME if with_tail else b"")
    for cut in range(1, len(data)):
        reader = RequestReader()
        request = reader.feed(data[:cut])
        if request is None:
            assert cut < len(HEAD)
            request = reader.feed(data[cut:])
            assert reader.remaining == data[len(HEAD) :]
        else:
            assert cut >= len(HEAD)
            # The rest was never fed: the caller still has it.
            assert reader.remaining == data[len(HEAD) : cut]
        assert request.headers.get("Sec-WebSocket-Key") == "dGhlIHNhbXBsZSBub25jZQ=="
        assert request.target == "/chat?room=1"


def test_request_byte_by_byte():
    data = HEAD + FRAME
    reader = RequestReader()
    results = [reader.feed(data[i : i + 1]) for i in range(len(HEAD))]
    assert all(r is None for r in results[:-1])
    assert results[-1].headers.get("Upgrade") == "websocket"
    assert reader.remaining == b""


def test_feed_after_head_is_an_error():
    request, reader = read_request(HEAD)
    with pytest.raises(RuntimeError):
        reader.feed(FRAME)


def test_plain_get_is_returned():
    data = b"GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n"
    request, reader = read_request(data + b"GET / HTTP/1.1\r\n")
    assert request.method == "GET" and not request.is_websocket
    assert reader.remaining == b"GET / HTTP/1.1\r\n"  # pipelined, untouched


def test_plain_post_body_is_left_in_remaining():
    data = b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    request, reader = read_request(data)
    assert request.method == "POST"
    assert reader.remaining == b"hello"


def test_leading_blank_lines_are_ignored():
    request, reader = read_request(b"\r\n" + HEAD + FRAME)
    assert request.is_websocket
    assert reader.remaining == FRAME


@pytest.mark.parametrize(
    "extra",
    [
        b"Content-Length: 3\r\n",
        b"Transfer-Encoding: chunked\r\n",
    ],
)
def test_upgrade_with_body_is_rejected(extra):
    data = HEAD[:-2] + extra + b"\r\nabc"
    err = request_error(data)
    assert err.status == 400
    assert "body" in err.reason


def test_upgrade_with_zero_content_length_is_fine():
    request, _ = read_request(HEAD[:-2] + b"Content-Length: 0\r\n\r\n")
    assert request.is_websocket


def test_head_size_limit():
    assert DEFAULT_MAX_HEAD_SIZE == 8192
    filler = b"X-Filler: " + b"a" * 200 + b"\r\n"
    base = HEAD[:-2]
    data = base + filler * ((8192 - len(base)) // len(filler))
    pad = 8192 - len(data) - len(b"X: \r\n\r\n")
    exact = data + b"X: " + b"b" * pad + b"\r\n\r\n"
    assert len(exact) == 8192
    request, reader = read_request(exact + FRAME)
    assert request is not None and reader.remaining == FRAME
    over = data + b"X: " + b"b" * (pad + 1) + b"\r\n\r\n"
    err = request_error(over)
    assert err.status == 431


def test_head_without_end_fails_once_limit_reached():
    reader = RequestReader(max_head_size=100)
    assert reader.feed(b"GET / HTTP/1.1\r\n") is None
    assert reader.feed(b"X: " + b"a" * 70) is None
    with pytest.raises(HandshakeError) as info:
        reader.feed(b"a" * 20)
    assert info.value.status == 431


def test_head_limit_applies_to_a_single_large_read():
    # The head is over the limit even though every byte came in one read.
    data = b"GET / HTTP/1.1\r\nX: " + b"a" * 200 + b"\r\n\r\n"
    err = request_error(data, max_head_size=64)
    assert err.status == 431


def test_too_many_headers():
    assert DEFAULT_MAX_HEADERS == 100
    base = b"GET / HTTP/1.1\r\nHost: h\r\n"
    ok = base + b"".join(b"X-%d: v\r\n" % i for i in range(99)) + b"\r\n"
    request, _ = read_request(ok)
    assert len(request.headers) == 100
    bad = base + b"".join(b"X-%d: v\r\n" % i for i in range(100)) + b"\r\n"
    err = request_error(bad)
    assert err.status == 431
    assert "headers" in err.reason
    assert request_error(ok, max_headers=10).status == 431


@pytest.mark.parametrize(
    "data",
    [
        b"FOO / HTTP/1.1\r\nHost: h\r\n\r\n",  # unknown method
        b"get / HTTP/1.1\r\nHost: h\r\n\r\n",  # methods are case-sensitive
        b"GET / HTTP/1.2\r\nHost: h\r\n\r\n",  # no such version
        b"GET / FTP/1.1\r\nHost: h\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",  # space in target
        b"GET /\xe9 HTTP/1.1\r\nHost: h\r\n\r\n",  # non-ASCII target
        b"GET / HTTP/1.1\r\nHost : h\r\n\r\n",  # space before colon
        b"GET / HTTP/1.1\r\nBad\x01Name: h\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",  # control char in value
        b"GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",  # obsolete line folding
        b"GET / HTTP/1.1\r\nHost: h\n\r\n",  # bare LF
        b"GET / HTTP/1.1\nHost: h\n\n\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # TLS on a plain port
    ],
)
def test_malformed_request_is_400(data):
    err = request_error(data)
    assert err.status == 400
    assert err.reason.startswith("malformed HTTP message")


def test_garbage_is_rejected_before_the_head_ends():
    reader = RequestReader()
    with pytest.raises(HandshakeError) as info:
        reader.feed(b"\x16\x03\x01\x02\x00")
    assert info.value.status == 400


def test_http_1_0_is_parsed():
    request, _ = read_request(b"GET / HTTP/1.0\r\n\r\n")
    assert request.http_version == "1.0"


@pytest.mark.parametrize(
    "target, raw_path, path, query",
    [
        ("/", b"/", "/", b""),
        ("/a%20b/%C3%A9?x=%20&y", b"/a%20b/%C3%A9", "/a b/\u00e9", b"x=%20&y"),
        ("/p#frag", b"/p", "/p", b""),
        ("http://example.com:8080/p/q?r=s", b"/p/q", "/p/q", b"r=s"),
        ("http://example.com", b"/", "/", b""),
    ],
)
def test_request_target_forms(target, raw_path, path, query):
    data = b"GET %s HTTP/1.1\r\nHost: h\r\n\r\n" % target.encode()
    request, _ = read_request(data)
    assert request.target == target
    assert request.raw_path == raw_path
    assert request.path == path
    assert request.query_string == query


def test_header_values_are_trimmed_and_decoded():
    data = b"GET / HTTP/1.1\r\nHost:  h \t \r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n"
    request, _ = read_request(data)
    assert request.headers.get("Host") == "h"
    assert request.headers.get("X-Empty") == ""
    assert request.headers.get("X-Latin") == "caf\u00e9"


def test_headers_case_insensitive_and_ordered():
    data = (
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nConnection: keep-alive\r\n"
        b"CONNECTION: Upgrade, , Foo\r\n\r\n"
    )
    request, _ = read_request(data)
    headers = request.headers
    assert headers.get("X-A") == "1"
    assert headers.get("x-A") == "1"
    assert headers.get_all("X-A") == ["1", "2"]
    assert headers.get("missing") is None
    assert headers.get("missing", "d") == "d"
    assert headers.get_all("missing") == []
    assert "x-a" in headers and "X-B" not in headers
    assert headers.tokens("connection") == ["keep-alive", "upgrade", "foo"]
    assert headers.elements("Connection") == ["keep-alive", "Upgrade", "Foo"]
    assert list(headers)[:3] == [("Host", "h"), ("X-A", "1"), ("x-a", "2")]
    assert headers.raw[3] == (b"connection", b"keep-alive")
    assert headers.raw[4] == (b"connection", b"Upgrade, , Foo")


def test_headers_build_and_compare():
    headers = Headers([("A", "1")])
    headers.add("b", "2")
    assert headers == Headers([("A", "1"), ("b", "2")])
    assert len(headers) == 2
    assert "Headers" in repr(headers)


def test_format_headers():
    assert format_headers([("A", "1"), ("B-C", " x ")]) == b"A: 1\r\nB-C: x\r\n"
    with pytest.raises(ValueError):
        format_headers([("A", "1\r\nInjected: yes")])
    with pytest.raises(ValueError):
        format_headers([("A B", "1")])
    with pytest.raises(ValueError):
        format_headers([("", "1")])


# Responses

RESPONSE_101 = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    b"\r\n"
)
SERVER_FRAME = b"\x81\x05hello"


def test_response_101_and_frames():
    reader = ResponseReader()
    response = reader.feed(RESPONSE_101 + SERVER_FRAME)
    assert response.status == 101
    assert response.reason == "Switching Protocols"
    assert response.http_version == "1.1"
    accept = response.headers.get("sec-websocket-accept")
    assert accept == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert reader.remaining == SERVER_FRAME


def test_response_cut_at_every_position():
    data = RESPONSE_101 + SERVER_FRAME
    for cut in range(1, len(data)):
        reader = ResponseReader()
        response = reader.feed(data[:cut])
        if response is None:
            response = reader.feed(data[cut:])
            assert reader.remaining == SERVER_FRAME
        else:
            assert reader.remaining == data[len(RESPONSE_101) : cut]
        assert response.status == 101


def test_response_with_body_leaves_body():
    data = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n\r\nnope"
    reader = ResponseReader()
    response = reader.feed(data)
    assert (response.status, response.reason) == (403, "Forbidden")
    assert reader.remaining == b"nope"


def test_response_without_reason():
    reader = ResponseReader()
    response = reader.feed(b"HTTP/1.1 400 \r\n\r\n")
    assert (response.status, response.reason) == (400, "")


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 99 Nope\r\n\r\n",
        b"HTTP/1.1 abc Nope\r\n\r\n",
        b"HTTP/9.9 101 Switching Protocols\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nX: a\x00\r\n\r\n",
    ],
)
def test_malformed_response(data):
    with pytest.raises(InvalidResponse) as info:
        ResponseReader().feed(data)
    assert info.value.status is None
    assert "malformed" in info.value.reason


def test_response_limits():
    with pytest.raises(InvalidResponse, match="too large"):
        ResponseReader(max_head_size=64).feed(RESPONSE_101)
    with pytest.raises(InvalidResponse, match="too many response headers"):
        ResponseReader(max_headers=2).feed(RESPONSE_101)


def test_compacted_headers_behave_the_same():
    from wsfast.http import Headers

    h = Headers([("Host", "x"), ("Connection", "keep-alive, Upgrade"), ("X-A", "1"), ("x-a", "2")])
    before = (list(h), h.get("x-a"), h.get_all("X-A"), h.tokens("connection"), h.raw, len(h), "HOST" in h)
    h.compact()
    after = (list(h), h.get("x-a"), h.get_all("X-A"), h.tokens("connection"), h.raw, len(h), "HOST" in h)
    assert before == after
    assert after[1] == "1" and after[2] == ["1", "2"] and after[3] == ["keep-alive", "upgrade"]
    h.add("X-B", "3")
    assert h.get("x-b") == "3" and len(h) == 5


def _stalled_head(shape):
    """A request head just under the size limit, without its blank line."""
    size = DEFAULT_MAX_HEAD_SIZE - 100
    if shape == "many fields":
        fields = b"".join(b"X-Field-%02d: %s\r\n" % (i, b"v" * 70) for i in range(DEFAULT_MAX_HEADERS - 2))
    elif shape == "one long value":
        fields = b"X-Long: " + b"v" * size
    else:  # a long request-target
        return (b"GET /" + b"p" * size)[:size]
    return (b"GET / HTTP/1.1\r\nHost: example.com\r\n" + fields)[:size]


@pytest.mark.parametrize("shape", ["many fields", "one long value", "long target"])
@pytest.mark.parametrize("read_size", [1400, 1 << 16])
def test_a_stalled_head_costs_about_what_was_received(shape, read_size):
    """A client that sends a head just under max_head_size and stalls must
    cost the server about the bytes it sent, not several times that in
    parsed pieces of the head."""
    import gc
    import tracemalloc

    from wsfast.server_protocol import ServerConnection

    head = _stalled_head(shape)
    assert DEFAULT_MAX_HEAD_SIZE - 200 < len(head) < DEFAULT_MAX_HEAD_SIZE
    count = 50

    def allocated(feed):
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            conns = []
            for _ in range(count):
                conn = ServerConnection()
                if feed:
                    for i in range(0, len(head), read_size):
                        assert conn.receive_data(head[i : i + read_size]) == []
                conns.append(conn)
            gc.collect()
            return (tracemalloc.get_traced_memory()[0] - before) / count
        finally:
            tracemalloc.stop()

    per_head = allocated(True) - allocated(False)
    assert per_head < 1.25 * len(head), (per_head, len(head))
