"""The server's connections as bare descriptors: every way a connection
ends closes its descriptor once, and ``ws.sock`` is made when asked for
(on every codec backend)."""

import os
import time

import pytest

from frames import frame  # noqa: E402
from serverloop import Recorder, on_loop, raw_connect, read_all, running  # noqa: E402
from wsfast.constants import OP_CLOSE  # noqa: E402

FD_DIR = "/proc/self/fd"
pytestmark = pytest.mark.skipif(not os.path.isdir(FD_DIR), reason="needs /proc/self/fd")


def _open_fds():
    return len(os.listdir(FD_DIR))


def _wait_for(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_every_way_a_connection_ends_closes_its_descriptor(impl):
    rec = Recorder()
    with running(backend=impl, compression=False, close_timeout=2, **rec.handlers()) as server:
        before = _open_fds()
        for i in range(30):
            sock, head = raw_connect(server)
            assert b" 101 " in head
            _, sws = rec.next("open")
            if i % 3 == 0:  # the close handshake, then our FIN and the peer's
                sock.sendall(frame(OP_CLOSE, b"\x03\xe8", mask=b"abcd"))
                read_all(sock)
                sock.close()
            elif i % 3 == 1:  # the peer vanishes: RST on our side
                sock.close()
            else:  # terminate(): dropped by the server
                on_loop(server, sws.terminate)
                read_all(sock)
                sock.close()
            rec.next("close")
        # The descriptors of all 30 are gone (the loop closes each once).
        _wait_for(lambda: on_loop(server, lambda: len(server._conns)) == 0)
        _wait_for(lambda: _open_fds() <= before)


def test_ws_sock_is_made_when_asked_and_none_once_gone(impl):
    rec = Recorder()
    with running(backend=impl, compression=False, **rec.handlers()) as server:
        sock, _ = raw_connect(server)
        with sock:
            _, sws = rec.next("open")
            made = on_loop(server, lambda: sws.sock)
            assert made.getpeername() == sock.getsockname()
            assert made.fileno() == sws.fd
            assert on_loop(server, lambda: sws.sock) is made  # made once
            # A socket object made by the application is the one closed.
            on_loop(server, sws.terminate)
            read_all(sock)
        rec.next("close")
        assert made.fileno() == -1
        assert on_loop(server, lambda: sws.sock) is made

        sock, _ = raw_connect(server)
        with sock:
            _, sws = rec.next("open")
            on_loop(server, sws.terminate)
            read_all(sock)
        rec.next("close")
        # Never asked while open: no socket object is made for a closed
        # descriptor (without the system-call helpers the loop holds the
        # accepted socket object, closed).
        late = on_loop(server, lambda: sws.sock)
        assert late is None or late.fileno() == -1


def test_a_bare_descriptor_half_closes_after_the_close_handshake(impl):
    rec = Recorder()
    with running(backend=impl, compression=False, **rec.handlers()) as server:
        sock, _ = raw_connect(server)
        with sock:
            rec.next("open")
            sock.sendall(frame(OP_CLOSE, b"\x03\xe8", mask=b"abcd"))
            # The server's close frame, then its FIN (shutdown of a bare
            # descriptor): the read ends at an orderly end, not a reset.
            sock.settimeout(10)
            data = b""
            while True:
                chunk = sock.recv(4096)  # ConnectionResetError fails the test
                if not chunk:
                    break
                data += chunk
            assert data == bytes([0x80 | OP_CLOSE, 2]) + b"\x03\xe8"
        assert rec.next("close")[1] == 1000
