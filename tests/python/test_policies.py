"""One copy of each policy: every driver answers plain HTTP, ticks its
keepalive and classifies failures the same way."""

import asyncio
import socket

import pytest

import wsfast.asyncio as wsa
from connpair import feed, open_pair
from frames import frame
from serverloop import http_get, running
from wsfast import handshake
from wsfast.protocol import (
    FAILURE_KEEPALIVE,
    FAILURE_LOCAL,
    FAILURE_PEER,
    KEEPALIVE_TICK_MAX,
    KEEPALIVE_TICK_MIN,
    keepalive_tick,
)


def _status_and_body(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(b":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _asyncio_http_get(handler=None, path="/", **options):
    async def main():
        async with wsa.serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, http_handler=handler,
                             **options) as server:
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, _raw_get, port, path)

    return asyncio.run(asyncio.wait_for(main(), 10))


def _raw_get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


@pytest.mark.parametrize("handler, answer", [
    (None, handshake.UPGRADE_REQUIRED),
    (lambda request: None, handshake.NOT_FOUND),
    (lambda request: 1 / 0, handshake.INTERNAL_ERROR),
])
def test_both_servers_give_the_same_plain_http_answers(handler, answer):
    with running(http_handler=handler) as server:
        epoll = _status_and_body(http_get(server))
    aio = _status_and_body(_asyncio_http_get(handler))
    status, headers, body = answer
    for got in (epoll, aio):
        assert got[0] == status and got[2] == body, got
        for name, value in headers:
            assert got[1][name.lower().encode()] == value.encode(), got


def test_keepalive_tick_is_a_quarter_of_the_shorter_deadline_within_bounds():
    assert keepalive_tick(20, 20) == 5
    assert keepalive_tick(20, 8) == 2
    assert keepalive_tick(8, None) == 2
    assert keepalive_tick(3600, 3600) == KEEPALIVE_TICK_MAX
    assert keepalive_tick(0.01, 0.01) == KEEPALIVE_TICK_MIN


def test_failures_say_who_caused_them(impl):
    s, _ = open_pair(impl)
    feed(s, frame(3, b""))  # reserved opcode: the peer's doing
    assert s.failure[0] == 1002 and s.failure_kind == FAILURE_PEER

    s, c = open_pair(impl)
    c.send("before")
    events = feed(s, c.data_to_send() + frame(3, b""))
    assert events[0] == "before" and s.failure_kind == FAILURE_PEER  # deferred
    s.data_to_send()
    assert s.failure_kind == FAILURE_PEER

    s, _ = open_pair(impl)
    assert s.keepalive(0.0, 1, 1) is False
    s.keepalive(1.0, 1, 1)  # ping sent
    s.keepalive(2.5, 1, 1)  # no pong
    assert s.failure[0] == 1011 and s.failure_kind == FAILURE_KEEPALIVE

    s, _ = open_pair(impl)
    s.fail(1011, "handler crashed")
    assert s.failure_kind == FAILURE_LOCAL


def test_close_codes_follow_the_codec_rule(impl):
    for code in (1000, 1001, 1003, 1007, 1014, 3000, 4999):
        s, _ = open_pair(impl)
        s.close(code)
    for code in (999, 1004, 1005, 1006, 1015, 2999, 5000, -1, 70000):
        s, _ = open_pair(impl)
        with pytest.raises(ValueError):
            s.close(code)
