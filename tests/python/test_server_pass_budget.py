"""The epoll server's per-pass frame budget (``pass_step_frames``): the
connections a loop pass reads or steps share it, each between
``limits.MIN_STEP_FRAMES`` and ``max_step_frames``, and nothing a read
holds is lost or reordered however small its share."""

import socket
import threading

import pytest

from frames import frame
from serverloop import UPGRADE, read_until, running
from wsfast.server import Server, limits
from wsfast.server.websocket import step_share

TEXT = 0x1


def test_step_share_divides_the_budget_within_its_bounds():
    assert step_share(8192, 1, 16, 1024) == 1024  # one busy connection keeps its maximum
    assert step_share(8192, 8, 16, 1024) == 1024
    assert step_share(8192, 16, 16, 1024) == 512
    assert step_share(8192, 151, 16, 1024) == 54  # the hostile suite's ping flood
    assert step_share(8192, 10_000, 16, 1024) == 16  # never below the floor
    assert step_share(8192, 0, 16, 1024) == 1024
    assert step_share(8192, 3, 7, 7) == 7  # a max_step_frames below the floor wins


def test_pass_step_frames_is_checked():
    with pytest.raises(ValueError):
        Server("127.0.0.1", 0, pass_step_frames=0)
    assert limits.MIN_STEP_FRAMES <= limits.MAX_STEP_FRAMES <= limits.PASS_STEP_FRAMES


def _flood_server(n_messages, **options):
    """A server recording, per message, the step size its connection had
    when the message was handled; returns (server context, record, done)."""
    seen = []
    done = threading.Event()

    def on_message(ws, message):
        seen.append((message, ws.conn.max_step_frames))
        if len(seen) == n_messages:
            done.set()

    return running(compression=False, on_message=on_message, **options), seen, done


def _connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(UPGRADE.format(path="/", extra="").encode())
    head = read_until(sock, b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_one_connection_gets_the_pass_budget_and_loses_nothing(impl):
    n = 300
    ctx, seen, done = _flood_server(n, backend=impl, pass_step_frames=64, max_step_frames=1024)
    with ctx as server:
        sock = _connect(server.port)
        sock.sendall(b"".join(frame(TEXT, b"m%d" % i) for i in range(n)))  # one write
        assert done.wait(10)
        sock.close()
    assert [m for m, _ in seen] == ["m%d" % i for i in range(n)]
    # Alone in its passes, the connection handles 64 frames a step, not 1,024.
    assert {step for _, step in seen} == {64}


def test_many_connections_share_the_budget_down_to_the_floor(impl):
    conns, n = 8, 100
    ctx, seen, done = _flood_server(conns * n, backend=impl, pass_step_frames=1, max_step_frames=1024)
    with ctx as server:
        socks = [_connect(server.port) for _ in range(conns)]
        for k, sock in enumerate(socks):
            sock.sendall(b"".join(frame(TEXT, b"%d:%d" % (k, i)) for i in range(n)))
        assert done.wait(10)
        for sock in socks:
            sock.close()
    assert {step for _, step in seen} == {limits.MIN_STEP_FRAMES}
    for k in range(conns):  # each connection's messages, all and in order
        mine = [m for m, _ in seen if m.startswith("%d:" % k)]
        assert mine == ["%d:%d" % (k, i) for i in range(n)]
