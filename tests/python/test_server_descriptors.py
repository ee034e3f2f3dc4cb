"""The server's connections as bare descriptors: every way a connection
ends closes its descriptor once, and ``ws.sock`` is made when asked for
(on every codec backend)."""

import os
import socket
import time

import pytest

from frames import frame  # noqa: E402
from serverloop import UPGRADE, Recorder, on_loop, raw_connect, read_all, read_until, running  # noqa: E402
from wsfast.constants import OP_BINARY, OP_CLOSE  # noqa: E402

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


def test_a_full_socket_queues_and_later_sends_everything_in_order(impl):
    # The client does not read at first: the server's writes stop part way
    # through a frame, so its queue holds a partly sent chunk before whole
    # ones, and each writable wakeup sends several of them in one call.
    rec = Recorder(echo=False)
    payloads = [os.urandom(3000 + 7 * i) for i in range(60)]
    with running(backend=impl, compression=False, **rec.handlers()) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with sock:
            sock.sendall(UPGRADE.format(path="/", extra="").encode())
            read_until(sock, b"\r\n\r\n")
            _, sws = rec.next("open")
            on_loop(server, sws.sock.setsockopt, socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

            def send_all():
                for p in payloads:
                    sws.send(p)
                return sws.buffered_amount

            assert on_loop(server, send_all) > 0  # queued: the kernel took only part
            expected = b"".join(frame(OP_BINARY, p, mask=None) for p in payloads)
            data = b""
            while len(data) < len(expected):
                chunk = sock.recv(1 << 16)
                assert chunk, "the server closed after %d of %d bytes" % (len(data), len(expected))
                data += chunk
            assert data == expected
            assert on_loop(server, lambda: sws.ready_state) == 1  # still open

