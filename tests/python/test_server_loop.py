"""The epoll server loop, end to end over loopback, on both backends."""

import contextlib
import ctypes
import os
import socket
import ssl
import subprocess
import sys
import time

import pytest

websockets_sync = pytest.importorskip("websockets.sync.client")
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402

from frames import close_payload, frame  # noqa: E402
from netutil import wait_listeners  # noqa: E402
from serverloop import UPGRADE, Recorder, http_get, on_loop, raw_connect, read_all, read_until, running  # noqa: E402
from wsfast.errors import ProtocolError  # noqa: E402


def connect(server, path="/", **kw):
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 5)
    kw.setdefault("max_size", 8 << 20)
    return websockets_sync.connect("ws://127.0.0.1:%d%s" % (server.port, path), proxy=None, **kw)


def close_code_of(data):
    """The close code in the last frame of an unmasked server stream."""
    i = data.rfind(b"\x88")
    assert i >= 0, data
    return int.from_bytes(data[i + 2 : i + 4], "big")


@pytest.fixture
def rec():
    return Recorder()


@pytest.mark.parametrize("compression", [True, False])
def test_echo_text_and_binary_all_sizes(impl, rec, compression):
    with running(backend=impl, compression=compression, **rec.handlers()) as server:
        with connect(server, compression="deflate" if compression else None) as ws:
            for size in (0, 1, 125, 126, 65535, 65536, 1 << 20):
                for message in ("é" * (size // 2), os.urandom(size)):
                    ws.send(message)
                    assert ws.recv(timeout=5) == message
            has_ext = ws.response.headers.get("Sec-WebSocket-Extensions") is not None
            assert has_ext == compression


@pytest.fixture(params=["epoll", "selectors"])
def poller(request, monkeypatch):
    """Both pollers: epoll, and the portable one non-Linux systems use."""
    monkeypatch.setenv("WSFAST_POLLER", request.param)
    return request.param


def test_echo_with_each_poller(poller, rec):
    with running(compression=False, write_high_water=1024, write_low_water=512, **rec.handlers()) as server:
        assert server._poller.name == poller
        with connect(server) as ws:
            for size in (0, 100, 1 << 20):  # 1 MiB: queued output, EPOLLOUT, pauses
                message = os.urandom(size)
                ws.send(message)
                assert ws.recv(timeout=5) == message


def test_open_and_close_events_with_code_and_reason(impl, rec):
    with running(backend=impl, subprotocols=["chat.v2", "chat.v1"], keep_request=True, **rec.handlers()) as server:
        with connect(server, "/room?x=1", subprotocols=["chat.v1", "chat.v2"]) as ws:
            _, sws = rec.next("open")
            assert ws.subprotocol == "chat.v2"
            assert sws.subprotocol == "chat.v2"
            assert sws.ready_state == 1
            assert sws.request.path == "/room" and sws.request.query_string == b"x=1"
            assert sws.remote_address[0] == "127.0.0.1"
            assert sws in server.clients
            sws.data["user"] = "ann"
            ws.close(4001, "bye now")
        assert rec.next("close")[1:] == (4001, "bye now")
        assert sws.ready_state == 3 and sws.data["user"] == "ann"
        assert sws not in server.clients


def test_server_initiated_close(impl, rec):
    with running(backend=impl, **rec.handlers()) as server:
        with connect(server) as ws:
            _, sws = rec.next("open")
            on_loop(server, sws.close, 4002, "done")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 4002 and ws.close_reason == "done"
        assert rec.next("close")[1:] == (4002, "done")


def test_protocol_error_fails_one_connection_and_server_keeps_serving(impl, rec):
    with running(backend=impl, **rec.handlers()) as server:
        with connect(server) as good:
            sock, head = raw_connect(server)
            assert head.startswith(b"HTTP/1.1 101")
            sock.sendall(frame(1, b"x", mask=None))  # clients must mask: 1002
            data = read_all(sock)
            sock.close()
            assert close_code_of(data) == 1002
            err = rec.next("error")[1]
            assert isinstance(err, ProtocolError) and err.code == 1002
            assert rec.next("close")[1] == 1006
            good.send("still here")
            assert good.recv(timeout=5) == "still here"


@pytest.mark.parametrize("payload,code", [(b"\xff\xfe", 1007), (b"x" * 200, 1009)])
def test_bad_data_gets_its_close_code(impl, rec, payload, code):
    with running(backend=impl, max_message_size=100, **rec.handlers()) as server:
        sock, _ = raw_connect(server)
        with sock:
            sock.sendall(frame(1, payload))
            assert close_code_of(read_all(sock)) == code


def test_handler_exception_closes_that_connection_with_1011(impl, rec):
    def on_message(ws, message):
        if message == "boom":
            raise RuntimeError("app bug")
        ws.send(message)

    handlers = dict(rec.handlers(), on_message=on_message)
    with running(backend=impl, **handlers) as server:
        with connect(server) as ws, connect(server) as other:
            ws.send("boom")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 1011
            assert isinstance(rec.next("error")[1], RuntimeError)
            other.send("fine")
            assert other.recv(timeout=5) == "fine"


def test_plain_http_requests(impl):
    def http(request):
        if request.path == "/health":
            return 200, [("Content-Type", "text/plain")], b"ok\n"
        return None

    with running(backend=impl) as server:
        response = http_get(server)
        assert response.startswith(b"HTTP/1.1 426 ") and b"Sec-WebSocket-Version: 13" in response
    with running(backend=impl, http_handler=http) as server:
        assert http_get(server, "/health").startswith(b"HTTP/1.1 200 ")
        assert http_get(server, "/health").endswith(b"\r\n\r\nok\n")
        assert http_get(server, "/nope").startswith(b"HTTP/1.1 404 ")


def test_bad_handshakes_get_http_errors(impl):
    with running(backend=impl) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
            assert read_all(sock).startswith(b"HTTP/1.1 426 ")
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\n" + b"X-Big: " + b"a" * 10000 + b"\r\n\r\n")
            assert read_all(sock).startswith(b"HTTP/1.1 431 ")
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with sock:
            sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            assert read_all(sock).startswith(b"HTTP/1.1 400 ")


def test_origins_and_handshake_hook(impl, rec):
    from wsfast.handshake import Accept, Reject

    def hook(request, remote_address):
        if request.headers.get("Authorization") != "Bearer good":
            return Reject(401, [("WWW-Authenticate", "Bearer")], b"who are you?\n")
        return Accept(headers=[("X-User", "ann")])

    with running(backend=impl, origins=["https://app.example"], **rec.handlers()) as server:
        with pytest.raises(InvalidStatus) as info:
            connect(server, origin="https://evil.example")
        assert info.value.response.status_code == 403
        with connect(server, origin="https://app.example") as ws:
            ws.send("hi")
            assert ws.recv(timeout=5) == "hi"
    with running(backend=impl, handshake_hook=hook) as server:
        with pytest.raises(InvalidStatus) as info:
            connect(server)
        assert info.value.response.status_code == 401
        with connect(server, additional_headers={"Authorization": "Bearer good"}) as ws:
            assert ws.response.headers["X-User"] == "ann"


def test_max_connections_refuses_with_503(impl, rec):
    with running(backend=impl, max_connections=2, **rec.handlers()) as server:
        with connect(server), connect(server):
            with pytest.raises(InvalidStatus) as info:
                connect(server)
            assert info.value.response.status_code == 503
        deadline = time.monotonic() + 20
        while on_loop(server, lambda: len(server._conns)) and time.monotonic() < deadline:
            time.sleep(0.02)
        with connect(server) as ws:  # room again
            ws.send("x")
            assert ws.recv(timeout=5) == "x"


def test_handshake_timeout_drops_silent_sockets(impl):
    with running(backend=impl, handshake_timeout=0.3) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with sock:
            start = time.monotonic()
            # Well before the default (10 s) even on a loaded machine.
            assert read_all(sock, timeout=9) == b""
            assert time.monotonic() - start < 8


def test_keepalive_fails_a_peer_that_never_pongs(impl, rec):
    with running(backend=impl, ping_interval=0.2, ping_timeout=0.3, **rec.handlers()) as server:
        sock, _ = raw_connect(server)
        with sock:
            data = read_all(sock, timeout=5)
        assert data[:1] == b"\x89"  # a ping came first
        assert close_code_of(data) == 1011
        assert rec.next("close")[1] == 1006


def test_backpressure_pauses_reading_and_bounds_memory(impl, rec):
    sent = []

    def on_message(ws, message):
        # Every request asks for 256 KiB back; the client never reads.
        ws.send(b"x" * 256 * 1024)
        sent.append(ws.buffered_amount)

    handlers = dict(rec.handlers(), on_message=on_message)
    with running(backend=impl, compression=False, write_high_water=64 * 1024, write_low_water=16 * 1024,
                 max_buffered=64 << 20, **handlers) as server:
        sock, _ = raw_connect(server)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with sock:
            _, sws = rec.next("open")
            for _ in range(60):  # one request per read; the server must stop reading them
                sock.sendall(frame(2, b"more"))
                time.sleep(0.02)
            deadline = time.monotonic() + 20  # the loop may lag behind the requests
            while not on_loop(server, lambda: sws._paused):
                assert time.monotonic() < deadline, "reading never paused"
                time.sleep(0.02)
            handled = on_loop(server, len, sent)
            buffered = on_loop(server, lambda: sws.buffered_amount)
            # Reading stopped once the answers the kernel would not take went
            # over the high mark, not after all 60 requests.
            assert handled < 40, handled
            assert buffered <= (handled + 1) * 256 * 1024


def test_max_buffered_drops_a_connection_that_never_reads(impl, rec):
    with running(backend=impl, compression=False, max_buffered=1 << 20, **rec.handlers()) as server:
        sock, _ = raw_connect(server)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        with sock:
            _, sws = rec.next("open")

            def flood():
                for _ in range(64):
                    if sws.ready_state != 1:
                        break
                    sws.send(b"y" * (1 << 20))

            on_loop(server, flood)
            assert rec.next("close", timeout=5)[1] == 1006
            assert sws not in server.clients


def _tcp_states(port, client_port):
    """States of the server-side sockets of 127.0.0.1:client_port ->
    127.0.0.1:port in /proc/net/tcp ("04" is FIN-WAIT-1)."""
    states = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == "0100007F:%04X" % port and fields[2] == "0100007F:%04X" % client_port:
                states.append(fields[3])
    return states


def _slow_reader(server):
    """A client past the handshake with a tiny receive window; returns it
    and the bytes that came after the response head."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(UPGRADE.format(path="/", extra="").encode())
    head, _, rest = read_until(sock, b"\r\n\r\n").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    return sock, rest


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="reads /proc/net/tcp")
@pytest.mark.parametrize("how", ["max_buffered", "terminate"])
def test_a_dropped_connection_is_reset_not_left_lingering(impl, rec, how):
    """A connection we drop must not leave its unsent output to the kernel
    (FIN-WAIT-1, retried for minutes to a peer that does not read): the
    close is abortive, the peer sees a reset."""
    with running(backend=impl, compression=False, write_high_water=16 << 10, write_low_water=4 << 10,
                 max_buffered=256 << 10, **rec.handlers()) as server:
        sock, _ = _slow_reader(server)
        with sock:
            _, sws = rec.next("open")

            def flood():
                for _ in range(64):
                    if sws.ready_state != 1:
                        return
                    sws.send(b"y" * (64 << 10))
                if how == "terminate":
                    sws.terminate()

            on_loop(server, flood)
            assert rec.next("close", timeout=5)[1] == 1006
            # Gone at once when reset; a lingering socket stays for minutes.
            deadline = time.monotonic() + 10
            while _tcp_states(server.port, sock.getsockname()[1]) != []:
                assert time.monotonic() < deadline, _tcp_states(server.port, sock.getsockname()[1])
                time.sleep(0.02)
            with pytest.raises(ConnectionResetError):
                for _ in range(10000):
                    if not sock.recv(65536):
                        break


def _read_frames(sock, data=b""):
    """(opcode, payload) of unmasked frames until a close frame."""
    frames = []
    while True:
        while len(data) < 2 or len(data) < {126: 4, 127: 10}.get(data[1] & 0x7F, 2):
            data += sock.recv(65536)
        n, start = data[1] & 0x7F, 2
        if n == 126:
            n, start = int.from_bytes(data[2:4], "big"), 4
        elif n == 127:
            n, start = int.from_bytes(data[2:10], "big"), 10
        while len(data) < start + n:
            data += sock.recv(65536)
        frames.append((data[0] & 0x0F, data[start : start + n]))
        data = data[start + n :]
        if frames[-1][0] == 8:
            assert data == b""
            return frames


def test_a_normal_close_still_delivers_everything_to_a_slow_reader(impl, rec):
    payloads = [os.urandom(100_000) for _ in range(8)]

    def on_open(ws):
        for payload in payloads:
            ws.send(payload)
        ws.close(1000, "bye")

    handlers = dict(rec.handlers(), on_open=on_open)
    with running(backend=impl, compression=False, **handlers) as server:
        sock, rest = _slow_reader(server)
        with sock:
            time.sleep(0.3)  # everything is queued behind the small window
            frames = _read_frames(sock, rest)
            assert [p for _, p in frames[:-1]] == payloads
            assert frames[-1] == (8, close_payload(1000, b"bye"))
            sock.sendall(frame(0x8, close_payload(1000)))
            assert read_all(sock) == b""  # the server's FIN, not a reset
        assert rec.next("close")[1] == 1000


def test_broadcast_reaches_everyone_and_skips_slow_clients(impl, rec):
    rec.echo = False
    with running(backend=impl, compression=True, write_high_water=32 * 1024, **rec.handlers()) as server:
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(connect(server)) for _ in range(5)]
            for _ in clients:
                rec.next("open")
            assert on_loop(server, server.broadcast, "hello all") == 5
            assert all(ws.recv(timeout=5) == "hello all" for ws in clients)
            big = os.urandom(4096) * 16
            assert on_loop(server, server.broadcast, big) == 5
            assert all(ws.recv(timeout=5) == big for ws in clients)
            # A slow client: pretend it has a full queue.
            slow = next(iter(server.clients))
            on_loop(server, setattr, slow, "_out_size", 10 ** 6)
            assert on_loop(server, server.broadcast, b"skip?") == 4
            assert on_loop(server, lambda: server.broadcast(b"queue", slow="queue")) == 5
            on_loop(server, setattr, slow, "_out_size", 0)
            # Broadcasts queue behind a send of the same pass, in order. What
            # the pass queued does not make a client slow by itself: past the
            # high mark (32 KiB) it is written at once, and the client is
            # skipped only if the kernel leaves over 32 KiB unsent.
            chunk = os.urandom(16384)  # incompressible: 16 KiB on the wire
            skipped = on_loop(server, lambda: server.stats.skipped)

            def queued_then_broadcasts():
                slow.send(b"first")
                counts = [server.broadcast(chunk, [slow]) for _ in range(8)]
                return counts, slow._out_size

            counts, unsent = on_loop(server, queued_then_broadcasts)
            assert counts[:2] == [1, 1] and sum(counts) > 2, counts
            assert on_loop(server, lambda: server.stats.skipped) - skipped == 8 - sum(counts)
            assert sum(counts) == 8 or unsent > 32 * 1024  # skipped only when the kernel refused
            peer = next(c for c in clients if tuple(c.local_address[:2]) == tuple(slow.remote_address[:2]))
            assert peer.recv(timeout=5) == b"queue"  # it missed "skip?"
            assert peer.recv(timeout=5) == b"first"
            assert [peer.recv(timeout=5) for _ in range(sum(counts))] == [chunk] * sum(counts)
            with pytest.raises(TimeoutError):
                peer.recv(timeout=0.2)


def test_broadcast_writes_directly_and_queues_what_the_kernel_refuses(impl, rec):
    # A pass's broadcasts leave in one write (or sooner, past the high
    # mark); what the kernel does not take is queued, in order, and the high mark
    # still bounds the queue (a skipped client misses whole messages).
    high = 32 * 1024
    with running(backend=impl, compression=False, write_high_water=high, **rec.handlers()) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
        sock.settimeout(5)
        sock.connect(("127.0.0.1", server.port))
        with sock:
            sock.sendall(UPGRADE.format(path="/", extra="").encode())
            head = read_until(sock, b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
            _, sws = rec.next("open")
            on_loop(server, sws.sock.setsockopt, socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            chunks = [bytes([i]) * 16384 for i in range(64)]
            counts = on_loop(server, lambda: [server.broadcast(c, [sws]) for c in chunks])
            buffered = on_loop(server, lambda: sws.buffered_amount)
            assert counts[0] == 1 and 0 < sum(counts) < len(chunks), counts
            assert 0 < buffered <= high + 16384, buffered
            assert on_loop(server, lambda: sws._out is not None)  # waiting for writability
            # The client reads everything: exactly the reached messages, in order.
            wanted = [c for c, n in zip(chunks, counts) if n]
            parser = impl.FrameParser(False)  # client side: unmasked frames
            got = []
            while len(got) < len(wanted):
                data = sock.recv(65536)
                assert data, "server closed early"
                got += [payload for _op, payload, _fin, _rsv1 in parser.feed(data)]
            assert got == wanted
            assert on_loop(server, lambda: sws.buffered_amount) == 0


def test_graceful_shutdown_closes_with_1001(impl, rec):
    with contextlib.ExitStack() as stack:
        with running(backend=impl, **rec.handlers()) as server:
            ws = stack.enter_context(connect(server))
            rec.next("open")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1001
    assert rec.next("close")[1] == 1001


def _self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip("openssl unavailable: %s" % exc)
    return cert, key


def test_tls(impl, rec, tmp_path):
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    with running(backend=impl, ssl=server_ctx, **rec.handlers()) as server:
        url = "wss://127.0.0.1:%d/" % server.port
        with websockets_sync.connect(url, ssl=client_ctx, proxy=None, open_timeout=5, max_size=None) as ws:
            for message in ("secure", os.urandom(300_000)):
                ws.send(message)
                assert ws.recv(timeout=5) == message
        assert rec.next("close")[1] == 1000
        # A plaintext client on the TLS port is dropped, and the server carries on.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"HTTP/1.1" not in read_all(sock)
        with websockets_sync.connect(url, ssl=client_ctx, proxy=None, open_timeout=5) as ws:
            ws.send("again")
            assert ws.recv(timeout=5) == "again"


def test_ipv6(rec):
    try:
        socket.socket(socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6")
    with running(host="::1", **rec.handlers()) as server:
        url = "ws://[::1]:%d/" % server.port
        with websockets_sync.connect(url, proxy=None, open_timeout=5) as ws:
            ws.send("v6")
            assert ws.recv(timeout=5) == "v6"
        assert rec.next("open")[1].remote_address[0] == "::1"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not listen")


def test_echo_command_with_workers_and_sigterm():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wsfast", "echo", "--port", str(port), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_port(port, proc)
        wait_listeners(port, 2)  # both workers, not only the supervisor's probe

        def connect():
            # Retried while the workers take over from the supervisor's
            # probe listener (a refused or reset connect), as in test_fanout.
            deadline = time.monotonic() + 10
            while True:
                try:
                    return websockets_sync.connect("ws://127.0.0.1:%d/" % port, proxy=None, open_timeout=5)
                except OSError:
                    assert time.monotonic() < deadline, "cannot connect to the workers"
                    time.sleep(0.05)

        for i in range(20):
            with connect() as ws:
                ws.send("n%d" % i)
                assert ws.recv(timeout=5) == "n%d" % i
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0, out
        assert "2 workers started" in out
        seen = {line.split()[-1] for line in out.splitlines() if "started" in line}
        assert seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _children_of(pid):
    """PIDs of the processes whose parent is ``pid`` (from /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(name))
    return found


def _socket_owner(port, client_port, pids):
    """Which of ``pids`` holds the server side of the loopback connection
    127.0.0.1:client_port -> 127.0.0.1:port (matched by socket inode)."""
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if (fields[1] == "0100007F:%04X" % port and fields[2] == "0100007F:%04X" % client_port):
                inode = fields[9]
    assert inode is not None
    for pid in pids:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "socket:[%s]" % inode:
                    return pid
            except OSError:
                continue
    return None


_ECHO_WORKERS = "import sys; from wsfast.cli import main; sys.exit(main(sys.argv[1:]))"
# Without PR_SET_PDEATHSIG: the workers notice by polling their parent.
_ECHO_WORKERS_POLLING = (
    "import sys; from wsfast.server import workers; workers._die_with_parent = lambda signum: False; "
    "workers.PARENT_CHECK_INTERVAL = 0.2; " + _ECHO_WORKERS
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc and prctl")
@pytest.mark.parametrize("script", [_ECHO_WORKERS, _ECHO_WORKERS_POLLING], ids=["pdeathsig", "polling"])
def test_workers_shut_down_when_the_supervisor_is_killed(script):
    """kill -9 of the supervisor: every worker closes its clients with 1001
    and exits (no orphan keeps serving the port, none is restarted)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_child_subreaper = 36
    # Orphaned workers become children of this process, so that the test
    # can wait for them and see how they exited.
    assert libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", script, "echo", "--port", str(port), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers, clients = [], []
    try:
        _wait_port(port, proc)
        deadline = time.monotonic() + 10
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = _children_of(proc.pid)
            time.sleep(0.05)
        assert len(workers) == 2
        owners = set()
        for _ in range(40):  # until both workers hold clients
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(UPGRADE.format(path="/", extra="").encode())
            assert read_until(sock, b"\r\n\r\n").startswith(b"HTTP/1.1 101")
            clients.append(sock)
            owners.add(_socket_owner(port, sock.getsockname()[1], workers))
            if owners == set(workers) and len(clients) >= 4:
                break
        assert owners == set(workers)
        proc.kill()
        proc.wait(5)
        for sock in clients:
            sock.settimeout(5)
            data = read_until(sock, b"\x88")
            while len(data) < data.index(b"\x88") + 4:
                data += sock.recv(64)
            assert close_code_of(data) == 1001
            sock.sendall(frame(0x8, close_payload(1001)))
            assert read_all(sock) == b""
            sock.close()
        deadline = time.monotonic() + 5
        pending = set(workers)
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                got, status = os.waitpid(pid, os.WNOHANG)
                if got:
                    assert os.waitstatus_to_exitcode(status) == 0
                    pending.discard(pid)
            time.sleep(0.05)
        assert not pending, "workers still running"
        assert not _children_of(os.getpid()) or all(
            b"wsfast" not in open("/proc/%d/cmdline" % pid, "rb").read() for pid in _children_of(os.getpid())
        ), "a worker was restarted"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)
    finally:
        libc.prctl(pr_set_child_subreaper, 0, 0, 0, 0)
        for sock in clients:
            sock.close()
        for pid in workers:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_out_of_descriptors_does_not_crash_the_loop(tmp_path):
    """With a tiny open-file limit, surplus clients wait or fail, and the
    server keeps serving once descriptors free up."""
    port = _free_port()
    script = (
        "import resource, sys, logging\n"
        "logging.basicConfig(level='WARNING')\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))\n"
        "from wsfast.apps.echo import make_echo_server\n"
        "s = make_echo_server('127.0.0.1', %d, max_connections=1000)\n"
        "s.run()\n" % port
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    socks = []
    try:
        _wait_port(port, proc)
        for _ in range(80):  # twice the limit
            s = socket.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            socks.append(s)
        time.sleep(0.5)
        assert proc.poll() is None
        for s in socks:
            s.close()
        socks = []
        time.sleep(0.3)
        with websockets_sync.connect("ws://127.0.0.1:%d/" % port, proxy=None, open_timeout=5) as ws:
            ws.send("alive")
            assert ws.recv(timeout=5) == "alive"
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
        assert "pausing accepts" in out
    finally:
        for s in socks:
            s.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
