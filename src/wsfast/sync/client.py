"""A blocking WebSocket client: one socket, the sans-I/O ClientConnection.

    with wsfast.client.connect("ws://127.0.0.1:8765/") as ws:
        ws.send("hello")
        print(ws.recv(timeout=5))

A ClientWebSocket is not thread-safe: use it from one thread at a time.
There is no background thread, so pings are answered and keepalive runs
only while the client is inside ``recv``, ``ping`` or ``close``.
"""

from __future__ import annotations

import collections
import os
import socket
import ssl as ssl_module
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..protocol import ClientConnection
from ..protocol.closed import ConnectionClosed, ConnectionClosedOK, closed_error
from ..constants import CLOSE_NORMAL, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE
from ..errors import InvalidResponse
from ..protocol.events import CLOSED, CLOSING, CONNECTING, OPEN, Pong  # ready_state values
from ..protocol import keepalive_tick
from ..protocol.uri import parse_uri
from ..shared.backoff import Backoff
from ..shared.reconnect import reconnecting
from ..shared.send_limit import check_message_size
from ..shared.view import ConnectionView

__all__ = ["CLOSED", "CLOSING", "CONNECTING", "OPEN", "ClientWebSocket", "ConnectionClosed", "connect", "connect_forever"]

_READ_SIZE = 65536


if TYPE_CHECKING:
    from types import TracebackType

    from ..protocol.http import Response


def connect(
    url: str,
    *,
    subprotocols: Iterable[str] = (),
    compression: bool = True,
    extra_headers: Iterable[tuple[str, str]] = (),
    origin: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    open_timeout: float | None = 10,
    close_timeout: float | None = 10,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    max_frame_size: int | None = DEFAULT_MAX_FRAME_SIZE,
    source_address: tuple[str, int] | None = None,
) -> ClientWebSocket:
    """Open a WebSocket connection and return a ClientWebSocket.

    ``ssl`` is an ``ssl.SSLContext`` for wss:// (default: the system's
    default context). ``open_timeout`` bounds TCP connect, TLS and the
    upgrade together (TimeoutError). A refused upgrade raises
    ``wsfast.errors.InvalidResponse`` carrying the HTTP ``status``,
    ``headers`` and the start of the ``body``.
    """
    uri = parse_uri(url)
    if ssl is not None and not uri.secure:
        raise ValueError("ssl= is only for wss:// URIs")
    deadline = time.monotonic() + open_timeout if open_timeout is not None else None
    try:
        sock = socket.create_connection((uri.host, uri.port), timeout=open_timeout, source_address=source_address)
    except TimeoutError:
        raise TimeoutError("opening %s timed out after %s s (open_timeout) during the TCP connect"
                           % (url.partition("?")[0], open_timeout)) from None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if uri.secure:
            context = ssl if ssl is not None else ssl_module.create_default_context()
            sock.settimeout(_remaining(deadline))
            sock = context.wrap_socket(sock, server_hostname=uri.host)
        conn = ClientConnection(
            uri.host,
            uri.port,
            uri.resource,
            secure=uri.secure,
            subprotocols=subprotocols,
            compression=compression,
            extra_headers=extra_headers,
            origin=origin,
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
        )
        ws = ClientWebSocket(sock, conn, close_timeout, ping_interval, ping_timeout)
        ws._handshake(deadline)
    except TimeoutError:
        sock.close()
        raise TimeoutError("opening %s timed out after %s s (open_timeout) during the TLS or "
                           "WebSocket handshake" % (url.partition("?")[0], open_timeout)) from None
    except BaseException:
        sock.close()
        raise
    return ws


def _failure_pending(conn: ClientConnection) -> bool:
    """The server broke the protocol after complete messages: they are
    returned first, and ``data_to_send()`` then queues the close frame
    after whatever the application sent in reply."""
    return conn.should_close and conn.ready_state == OPEN


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class ClientWebSocket(ConnectionView):
    """An open client connection (see ``connect``); ``conn`` is its
    sans-I/O ``ClientConnection``."""

    conn: ClientConnection

    def __init__(self, sock: socket.socket, conn: ClientConnection, close_timeout: float | None,
                 ping_interval: float | None, ping_timeout: float | None) -> None:
        self._sock = sock
        self.conn = conn
        self._buf = bytearray(_READ_SIZE)
        self._messages: collections.deque[str | bytes] = collections.deque()
        self._pongs: set[bytes] = set()
        self._eof = False
        self.close_timeout = close_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout if ping_timeout is not None else ping_interval
        try:
            # Any: getpeername() gives a tuple or a str, by address family.
            self.remote_address: Any = sock.getpeername()
        except OSError:
            self.remote_address = None

    # -- state ---------------------------------------------------------------

    # ready_state, subprotocol, extensions, close_code, close_reason:
    # ConnectionView.

    @property
    def response(self) -> Response | None:
        """The server's handshake response: ``status``, ``headers``."""
        return self.conn.response

    # -- I/O ---------------------------------------------------------------

    def _handshake(self, deadline: float | None) -> None:
        conn = self.conn
        conn.connect()
        self._flush()
        while conn.ready_state == CONNECTING and not self._eof:
            self._read(_remaining(deadline))
        # A server may send messages and its close with the 101: a closed
        # connection here is fine if the handshake itself succeeded.
        error = conn.handshake_error
        if error is not None:
            assert isinstance(error, Exception)  # a client's is the HandshakeError raised
            raise error
        if conn.response is None:
            raise InvalidResponse("connection closed during the handshake")

    def _flush(self) -> None:
        conn = self.conn
        data = conn.data_to_send()
        if data and not self._eof:
            try:
                self._sock.sendall(data)
            except OSError:
                # The peer is gone; the next read reports how it ended.
                self._shutdown()
                conn.receive_eof()
        if conn.should_close:
            self._shutdown()

    def _read(self, timeout: float | None) -> None:
        """One step of events: the next of those already received (see
        Connection.next_events), else one socket read. Raises TimeoutError."""
        if self.conn.events_pending():
            events = self.conn.next_events()
        else:
            if self._eof:
                return
            if timeout is not None and timeout <= 0:
                raise TimeoutError("timed out")
            sock = self._sock
            sock.settimeout(timeout)
            try:
                n = sock.recv_into(self._buf)
            except (TimeoutError, BlockingIOError, ssl_module.SSLWantReadError):
                raise TimeoutError("timed out") from None
            except OSError:
                n = 0
            if n:
                events = self.conn.receive_data(memoryview(self._buf)[:n])
            else:
                self._shutdown()
                events = self.conn.receive_eof()
        for event in events:
            if isinstance(event, (str, bytes)):
                self._messages.append(event)
            elif isinstance(event, Pong):
                self._pongs.add(bytes(event.data))
            # Close, Open, HandshakeFailed: the connection keeps their
            # details; Ping: the connection queued the pong already.
        if not _failure_pending(self.conn):
            self._flush()

    def _close_deadline(self) -> float | None:
        """When waiting for the close ends (None: ``close_timeout=None``,
        wait as long as the server takes)."""
        return None if self.close_timeout is None else time.monotonic() + self.close_timeout

    def _drain_until_eof(self, deadline: float | None) -> None:
        """After the close frames: the server closes TCP first (RFC 6455
        7.1.1); wait for that up to ``deadline``, then close anyway."""
        try:
            while not self._eof:
                self._read(None if deadline is None else deadline - time.monotonic())
        except TimeoutError:
            pass
        self._shutdown()

    def _shutdown(self) -> None:
        if not self._eof:
            self._eof = True
            try:
                self._sock.close()
            except OSError:
                pass

    def _wait(self, deadline: float | None) -> None:
        """Read once, waking up for keepalive when it is on."""
        timeout = None if deadline is None else deadline - time.monotonic()
        if self.conn.events_pending():
            self._read(None)  # no waiting: those frames are already here
        elif self.ping_interval:
            tick = keepalive_tick(self.ping_interval, self.ping_timeout)
            timeout = tick if timeout is None else min(timeout, tick)
            try:
                self._read(timeout)
            except TimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
            if self.conn.keepalive(time.monotonic(), self.ping_interval, self.ping_timeout):
                self._flush()
        else:
            self._read(timeout)

    # -- public API ------------------------------------------------------------

    def recv(self, timeout: float | None = None) -> str | bytes:
        """The next message: ``str`` (text) or ``bytes`` (binary).

        Raises TimeoutError after ``timeout`` seconds, and ConnectionClosed
        (ConnectionClosedOK for 1000, 1001 and 1005) once the connection has
        closed and every message received before has been returned.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        messages = self._messages
        while not messages:
            if _failure_pending(self.conn):
                self._flush()  # the replies went out; now the close frame
            if self._finished():
                self._drain_until_eof(self._close_deadline())
                raise closed_error(self.conn)
            self._wait(deadline)
        return messages.popleft()

    def _finished(self) -> bool:
        """Closed, and every step received before the end was handled."""
        conn = self.conn
        return (self._eof or conn.close_code is not None) and not conn.events_pending()

    def __iter__(self) -> Iterator[str | bytes]:
        """Messages until the connection closes normally; other endings
        raise ConnectionClosedError."""
        while True:
            try:
                message = self.recv()
            except ConnectionClosedOK:
                return
            yield message

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send ``data``: str as a text message, bytes-like as binary.
        Blocks until the socket accepted every byte. A message over
        ``max_message_size`` raises MessageTooBig unsent."""
        if self.conn.ready_state != OPEN or self._eof:
            raise closed_error(self.conn)
        check_message_size(data, self.conn.max_message_size)
        self.conn.send(data)
        self._flush()

    def ping(self, data: bytes | None = None, timeout: float | None = 10) -> float:
        """Send a ping and wait for its pong; returns the round trip in
        seconds. Messages that arrive meanwhile are kept for ``recv``."""
        if self.conn.ready_state != OPEN or self._eof:
            raise closed_error(self.conn)
        payload = bytes(data) if data is not None else os.urandom(4)
        start = time.monotonic()
        self.conn.ping(payload)
        self._flush()
        deadline = None if timeout is None else start + timeout
        while payload not in self._pongs:
            if self._finished():
                raise closed_error(self.conn)
            self._wait(deadline)
        self._pongs.discard(payload)
        return time.monotonic() - start

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close the connection: send a close frame, wait up to
        ``close_timeout`` for the server's close frame and its TCP close,
        then close the socket. Messages arriving meanwhile are dropped."""
        conn = self.conn
        if self._eof:
            return
        deadline = self._close_deadline()
        if _failure_pending(conn):
            self._flush()  # the failure's close frame, not ours
        elif conn.ready_state == OPEN:
            conn.close(code, reason)
            self._flush()
        try:
            while not self._eof and conn.close_code is None:
                self._messages.clear()
                self._read(None if deadline is None else deadline - time.monotonic())
        except TimeoutError:
            pass
        self._drain_until_eof(deadline)

    def __enter__(self) -> ClientWebSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<ClientWebSocket %s ready_state=%d>" % (self.remote_address, self.ready_state)


def connect_forever(
    url: str,
    *,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    **options: Any,
) -> Iterator[ClientWebSocket]:
    """Yield a connection to ``url`` per iteration, reconnecting after
    abnormal ends, until one closes normally.

    ``options`` are those of ``connect``. After each iteration the
    connection is closed (with 1000 if still open): a normal close (1000,
    1001, 1005) ends the loop, any other end (1006 for a lost connection,
    1011, ...) opens the next connection after ``backoff``'s delay
    (``wsfast.backoff.Backoff``: exponential with jitter). A failed attempt
    (network error, timeout, HTTP 5xx) is retried the same way; other
    errors (HTTP 4xx, a certificate that fails verification) are raised,
    and so is the last failure once ``max_attempts`` retries have failed in
    a row. ``break`` closes the current connection. ``sleep`` waits
    between attempts. An invalid URI raises InvalidURI here, at once.
    """
    uri = parse_uri(url)
    describe = "%s://%s:%d%s" % ("wss" if uri.secure else "ws", uri.host, uri.port,
                                 uri.resource.partition("?")[0])  # a query may hold a token
    return reconnecting(lambda: connect(url, **options),
                        backoff if backoff is not None else Backoff(), describe, sleep)
