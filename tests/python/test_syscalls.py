"""wsfast.server._syscalls: recv/send/epoll_wait behave like the socket
and select methods they replace in the server loop."""

import errno
import os
import select
import socket
import time

import pytest

_syscalls = pytest.importorskip("wsfast.server._syscalls")


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_send_and_recv_into(pair):
    a, b = pair
    assert _syscalls.send(a.fileno(), memoryview(b"hello world")[:5]) == 5
    buf = bytearray(64)
    assert _syscalls.recv_into(b.fileno(), buf) == 5
    assert buf[:5] == b"hello"


def test_recv_into_a_view_fills_only_the_view(pair):
    a, b = pair
    a.send(b"abcdef")
    buf = bytearray(b"." * 8)
    assert _syscalls.recv_into(b.fileno(), memoryview(buf)[2:5]) == 3
    assert buf == b"..abc..."


def test_empty_socket_raises_blocking_io_error(pair):
    _, b = pair
    with pytest.raises(BlockingIOError):
        _syscalls.recv_into(b.fileno(), bytearray(16))


def test_peer_closed_reads_zero_and_send_fails_without_sigpipe(pair):
    a, b = pair
    b.close()
    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        for _ in range(4):
            _syscalls.send(a.fileno(), b"x" * 65536)
    a2, b2 = socket.socketpair()
    a2.close()
    assert _syscalls.recv_into(b2.fileno(), bytearray(4)) == 0
    b2.close()


def test_bad_descriptor_is_an_os_error():
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(OSError) as info:
        _syscalls.send(w, b"x")
    assert info.value.errno == errno.EBADF


def test_read_only_buffer_is_refused(pair):
    _, b = pair
    with pytest.raises(BufferError):
        _syscalls.recv_into(b.fileno(), b"immutable")


def test_epoll_waiter_matches_select_epoll(pair):
    a, b = pair
    ep = select.epoll()
    try:
        ep.register(b.fileno(), select.EPOLLIN)
        ep.register(a.fileno(), select.EPOLLOUT)
        waiter = _syscalls.EpollWaiter(ep.fileno(), 8)
        assert sorted(waiter.poll(0)) == sorted(ep.poll(0)) == [(a.fileno(), select.EPOLLOUT)]
        a.send(b"x")
        assert sorted(waiter.poll(0)) == sorted(ep.poll(0))
        assert (b.fileno(), select.EPOLLIN) in waiter.poll(0)
    finally:
        ep.close()


def test_epoll_waiter_timeout_is_honoured():
    ep = select.epoll()
    try:
        waiter = _syscalls.EpollWaiter(ep.fileno())
        t = time.monotonic()
        assert waiter.poll(0.05) == []
        assert time.monotonic() - t >= 0.045
        # 0.0001 s rounds up to 1 ms, as select.epoll rounds: it still waits
        t = time.monotonic()
        assert waiter.poll(0.0001) == []
        assert time.monotonic() - t >= 0.0005
    finally:
        ep.close()


def test_epoll_waiter_reports_at_most_maxevents():
    ep = select.epoll()
    socks = [socket.socketpair() for _ in range(5)]
    try:
        for a, _ in socks:
            ep.register(a.fileno(), select.EPOLLOUT)
        assert len(_syscalls.EpollWaiter(ep.fileno(), 3).poll(0)) == 3
    finally:
        ep.close()
        for a, b in socks:
            a.close()
            b.close()


def test_server_loop_uses_them():
    from wsfast.server import lifecycle, poller, websocket

    if os.environ.get("WSFAST_NO_EXTENSIONS"):  # the standard library's, then
        assert websocket._recv_into is lifecycle._accept_fd is poller.EpollWaiter is None
        return
    assert websocket._recv_into is _syscalls.recv_into
    assert lifecycle._accept_fd is _syscalls.accept
    if select.__dict__.get("epoll") and os.environ.get("WSFAST_POLLER") != "selectors":
        assert isinstance(poller.Poller()._waiter, _syscalls.EpollWaiter)


def _listener(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind(address)
    s.listen(8)
    s.setblocking(False)
    return s


@pytest.mark.parametrize("family,host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_accept_gives_a_non_blocking_descriptor_and_the_peer_address(family, host):
    try:
        ls = _listener(family, (host, 0))
    except OSError:
        pytest.skip("no %s loopback" % host)
    with ls:
        assert _syscalls.accept(ls.fileno()) is None  # nothing waiting: no exception
        c = socket.create_connection(ls.getsockname()[:2])
        assert select.select([ls], [], [], 20)[0]  # queued (a loaded machine may take a moment)
        fd, address = _syscalls.accept(ls.fileno())
        try:
            assert address == c.getsockname()[:2]
            assert os.get_blocking(fd) is False
            assert os.get_inheritable(fd) is False
            s = socket.socket(family, socket.SOCK_STREAM, 0, fd)
            c.send(b"ping")
            assert select.select([s], [], [], 20)[0]
            assert s.recv(16) == b"ping"
            s.close()
        finally:
            c.close()


@pytest.mark.parametrize("source", ["127.0.0.1", "127.10.200.3", "127.255.0.99", "127.1.22.255"])
def test_accept_writes_ipv4_addresses_as_inet_ntop_does(source):
    # Octets of one, two and three digits, and 0: the address is formatted
    # without inet_ntop, so every width is checked against the socket module.
    with _listener(socket.AF_INET, ("127.0.0.1", 0)) as ls:
        c = socket.socket(socket.AF_INET)
        try:
            c.bind((source, 0))
            c.connect(ls.getsockname())
            assert select.select([ls], [], [], 20)[0]
            fd, address = _syscalls.accept(ls.fileno())
            os.close(fd)
            assert address == c.getsockname() == (source, c.getsockname()[1])
        finally:
            c.close()


def test_send_many_takes_bytes_and_other_buffers_in_order():
    a, b = socket.socketpair()
    with a, b:
        chunks = [b"one ", memoryview(b"xxtwo ")[2:], bytearray(b"three "), b"", memoryview(b"four")]
        assert _syscalls.send_many(a.fileno(), chunks) == 18
        assert b.recv(64) == b"one two three four"
        with pytest.raises(TypeError):
            _syscalls.send_many(a.fileno(), [b"ok", "not a buffer"])
        # The buffers taken before the failure were released: resizable again.
        held = bytearray(b"abc")
        with pytest.raises(TypeError):
            _syscalls.send_many(a.fileno(), [held, 5])
        held.extend(b"def")
        assert held == b"abcdef"


def test_accept_unix_socket(tmp_path):
    path = str(tmp_path / "s")
    with _listener(socket.AF_UNIX, path) as ls:
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        time.sleep(0.02)
        fd, address = _syscalls.accept(ls.fileno())
        os.close(fd)
        c.close()
        assert address == ""  # the client's socket is unnamed


def test_accept_errors_are_os_errors():
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as info:
            _syscalls.accept(r)
        assert info.value.errno == errno.ENOTSOCK
    finally:
        os.close(r)
        os.close(w)
