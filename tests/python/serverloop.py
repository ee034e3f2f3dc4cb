"""Helpers for tests of the epoll server loop: run a Server in a thread,
record its events, and talk to it over raw sockets."""

import contextlib
import queue
import socket
import threading
import time

from wsfast.server import Server


class Recorder:
    """Handlers that record (event, ...) tuples in a thread-safe queue."""

    def __init__(self, echo=True):
        self.events = queue.Queue()
        self.echo = echo

    def handlers(self):
        return dict(on_open=self.on_open, on_message=self.on_message,
                    on_close=self.on_close, on_error=self.on_error)

    def on_open(self, ws):
        self.events.put(("open", ws))

    def on_message(self, ws, message):
        self.events.put(("message", message))
        if self.echo:
            ws.send(message)

    def on_close(self, ws, code, reason):
        self.events.put(("close", code, reason))

    def on_error(self, ws, exc):
        self.events.put(("error", exc))

    def next(self, kind, timeout=5):
        """The next event of ``kind`` (others before it are dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if ev[0] == kind:
                return ev


@contextlib.contextmanager
def running(host="127.0.0.1", **options):
    server = Server(host, 0, **options)
    server.listen()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(10)
        assert not thread.is_alive(), "server loop did not stop"


def on_loop(server, fn, *args, timeout=5):
    """Run ``fn(*args)`` on the server's loop thread and return its result."""
    done = queue.Queue()

    def call():
        try:
            done.put((True, fn(*args)))
        except BaseException as exc:  # handed back to the test
            done.put((False, exc))

    server.call_soon_threadsafe(call)
    ok, value = done.get(timeout=timeout)
    if not ok:
        raise value
    return value


UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n{extra}\r\n"
)


def raw_connect(server, path="/", extra="", timeout=5):
    """A raw socket past the handshake; returns (sock, response head)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    sock.sendall(UPGRADE.format(path=path, extra=extra).encode())
    head = read_until(sock, b"\r\n\r\n")
    return sock, head


def read_until(sock, marker, limit=1 << 16):
    data = b""
    while marker not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        assert len(data) < limit
    return data


def read_all(sock, timeout=5):
    """Everything until the peer closes (bounded by ``timeout``)."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def http_get(server, path="/", headers="", timeout=5):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    with sock:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" % (path, headers)).encode())
        return read_all(sock, timeout)
