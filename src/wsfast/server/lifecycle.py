"""A connection's life on the server: accept, the events a read brings
(open, messages, close, a plain HTTP request), and the end of its socket.

A Server holds one ServerLifecycle (``Server._life``), the implementation
of ``websocket.Lifecycle``. It is kept apart from server.py so that it is
compiled with the extension (see lifecycle_c.pxd): a handshake runs each
of its methods once, and as interpreted Python they were most of a
handshake's cost. Compiled, a WebSocket calls them as C methods, and the
server's containers they use are C fields, not attributes looked up by
name (about 200 instructions each).
"""

from __future__ import annotations

import errno
import math
import socket
import _socket
import struct
import sys
import time
from typing import TYPE_CHECKING, Any

from .._twins import optional_extension
from ..constants import CLOSE_ABNORMAL, CLOSE_INTERNAL_ERROR
from ..errors import ProtocolError
from ..protocol.events import CLOSED, CLOSING, OPEN, Close, HandshakeFailed, HttpRequest, Open, Ping, Pong
from ..protocol.connection import FAILURE_KEEPALIVE, FAILURE_PEER
from .limits import ACCEPT_BATCH, REFUSE_MARGIN
from .poller import READ
from .tls import TLSLayer
from .websocket import PHASE_GONE, PHASE_LINGER, PHASE_OPEN, Lifecycle, WebSocket

if TYPE_CHECKING:
    from ..protocol.events import EventType
    from .server import Server

# accept4 without an exception per batch, nor a socket.socket wrapper;
# None when not built or WSFAST_NO_EXTENSIONS: socket.accept.
_syscalls = optional_extension("wsfast.server._syscalls")
_accept_fd = None if _syscalls is None else _syscalls.accept
_close_fd = None if _syscalls is None else _syscalls.close

# Failures the error event reports: the peer's doing, not the application's.
_REPORTED_FAILURES = (FAILURE_PEER, FAILURE_KEEPALIVE)
# Linux hands TCP_NODELAY from a listening socket to the sockets it
# accepts, which saves a system call per connection.
_NODELAY_INHERITED = sys.platform.startswith("linux")
# The C socket's own getter gives a plain int; socket.socket's property
# converts it to an enum, about 0.5 us per accept wakeup.
_sock_family = _socket.socket.family.__get__
_FD_LIMIT_ERRNOS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# SO_LINGER on, 0 seconds: close() sends RST and frees unsent data at once.
_ABORT = struct.pack("ii", 1, 0)
# Module globals, not attributes of other modules: a compiled function
# reads a global from a cached dict, an attribute by a lookup each time.
_monotonic = time.monotonic
_INF = math.inf
_SOL_SOCKET, _SO_LINGER = socket.SOL_SOCKET, socket.SO_LINGER


class ServerLifecycle(Lifecycle):
    """A Server's connections from accept to the end of their socket."""

    __slots__ = ("server", "conns", "deadlines", "clients", "handlers", "compressing",
                 "compression_live")

    def __init__(self, server: Server) -> None:
        self.server = server
        # The server's own containers (never replaced), held here so
        # that the compiled build reaches them as C fields.
        self.conns: dict[int, WebSocket] = server._conns
        self.deadlines: dict[WebSocket, float] = server._deadlines
        self.clients: set[WebSocket] = server.clients
        self.handlers: dict[str, Any] = server._handlers
        self.compressing: set[WebSocket] = server._compressing
        self.compression_live: set[WebSocket] = server._compression_live

    def accept(self, lsock: socket.socket) -> None:
        """Accept up to ``limits.ACCEPT_BATCH`` connections from ``lsock``."""
        server = self.server
        conns, poller, deadlines = self.conns, server._poller, self.deadlines
        timeout = server.handshake_timeout  # None: no limit of its own (max_connections still holds)
        deadline = _monotonic() + (_INF if timeout is None else timeout)
        lfd, family = lsock.fileno(), _sock_family(lsock)
        max_connections = server.max_connections
        ssl = server.ssl
        sock: _socket.socket | None
        for _ in range(ACCEPT_BATCH):
            try:
                if _accept_fd is None:
                    sock, address = lsock.accept()
                    sock.setblocking(False)
                    fd = sock.fileno()
                else:  # accept4, already non-blocking; None: no more waiting
                    got = _accept_fd(lfd)
                    if got is None:
                        return
                    # No socket object: making one costs a getsockname(2)
                    # and about 1,500 instructions, and the loop uses the
                    # descriptor (WebSocket.sock makes one if asked).
                    sock, fd, address = None, got[0], got[1]
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _FD_LIMIT_ERRNOS:
                    server._pause_accepting(exc)
                    return
                continue  # ECONNABORTED and friends: that client is gone
            n = len(conns)
            if n >= max_connections + REFUSE_MARGIN:
                if sock is None:
                    _close_fd(fd)  # type: ignore[misc]  # a bare descriptor: the helpers exist
                else:
                    sock.close()
                continue
            if not _NODELAY_INHERITED and family != socket.AF_UNIX and sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if isinstance(address, tuple):
                address = address[:2]
            template = server._conn_template if n < max_connections else server._refuse_template
            conn = template.clone(address)
            ws = WebSocket(server, fd, sock, address, conn, TLSLayer(ssl) if ssl is not None else None)
            conns[ws.fd] = ws
            poller.register(ws.fd, READ)
            deadlines[ws] = deadline

    def dispatch(self, ws: WebSocket, events: list[EventType]) -> None:
        """Hand one read's events to the application's handlers."""
        server = self.server
        on_message = server._on_message
        ev: Any  # dispatched on type(ev), which mypy does not narrow through t
        for ev in events:
            t = type(ev)
            if t is str or t is bytes:
                # Closed here only if a handler failed the connection (a
                # peer's close frame starts a step of its own: the messages
                # before it are dispatched while the connection is open).
                if on_message is not None and ws.conn.ready_state != CLOSED:
                    try:
                        on_message(ws, ev)
                    except Exception as exc:
                        server._handler_failed(ws, exc)
            elif t is Open:
                ws.phase = PHASE_OPEN
                self.deadlines.pop(ws, None)
                self.clients.add(ws)
                if ws.conn.parks_compression:
                    self.compressing.add(ws)
                handler = self.handlers["open"]
                if handler is not None:
                    try:
                        handler(ws)
                    except Exception as exc:
                        server._handler_failed(ws, exc)
                if not server.keep_request:
                    opened = ws.conn  # a ServerConnection: its request is a C field
                    opened.request = None  # see Server's keep_request
            elif t is Close:
                self.closed(ws, ev.code, ev.reason)
            elif t is Ping or t is Pong:
                handler = self.handlers["ping" if t is Ping else "pong"]
                if handler is not None:
                    try:
                        handler(ws, ev.data)
                    except Exception as exc:
                        server._handler_failed(ws, exc)
            elif t is HttpRequest:
                server._answer_http(ws, ev.request)
            elif t is HandshakeFailed:
                server._log_debug("handshake from %s refused: %s %s", ws.remote_address, ev.status, ev.reason)

    def closed(self, ws: WebSocket, code: int | None, reason: str | None) -> None:
        """The connection ended (``code``, ``reason``): forget its topics and
        fire ``error`` (when we failed it for the peer's doing) and ``close``."""
        server = self.server
        conn = ws.conn
        if ws._topics is not None:
            server._topics.unsubscribe_all(ws)
        if code == CLOSE_ABNORMAL and conn.failure_kind in _REPORTED_FAILURES:
            # We failed the connection (bad frames, bad data, a dead peer): say why.
            server._call(None, self.handlers["error"], ws, ProtocolError(*conn.failure))  # type: ignore[misc]
        clients = self.clients
        if ws in clients:
            clients.discard(ws)
            self.compressing.discard(ws)
            self.compression_live.discard(ws)
            handler = self.handlers["close"]
            if handler is not None:
                try:
                    handler(ws, code, reason)
                except Exception as exc:
                    server._handler_failed(None, exc)

    def set_deadline(self, ws: WebSocket, delay: float | None) -> None:
        """Drop ``ws`` unless it ends within ``delay`` seconds (its close);
        None sets no limit."""
        self.deadlines[ws] = _monotonic() + (_INF if delay is None else delay)

    def destroy(self, ws: WebSocket, reason: str = "", eof: bool = False) -> None:
        """Close the socket now. Fires ``close`` (1006) if it has not fired.

        This is where it is decided how TCP ends. Gracefully (FIN) only
        when both sides are done: we sent everything and our FIN
        (``_linger``), and the peer's FIN came (``eof``). Every other way
        here drops the peer (timeouts, max_buffered, terminate(), a peer
        that vanished without the close handshake, errors, shutdown):
        that close is abortive (RST), so that the kernel frees what is
        still unsent at once rather than retrying it for minutes to a peer
        that does not read."""
        if ws.phase == PHASE_GONE:
            return
        graceful = eof and ws.phase == PHASE_LINGER
        ws.phase = PHASE_GONE
        ws._out = None
        poller = self.server._poller
        if poller.name != "epoll":
            # Closing the only descriptor of a socket removes it from epoll.
            poller.unregister(ws.fd)
        self.conns.pop(ws.fd, None)
        self.deadlines.pop(ws, None)
        sock = ws._sock
        if sock is None:  # a bare descriptor (see accept)
            _close_fd(ws.fd, not graceful)  # type: ignore[misc]  # the helpers exist
        else:
            _close_socket(sock, graceful)
        if ws in self.clients:
            conn = ws.conn
            conn.receive_eof(discard=True)
            self.closed(ws, conn.close_code, reason or conn.close_reason)


def _close_socket(sock: _socket.socket, graceful: bool) -> None:
    """End a socket object's connection: with RST unless ``graceful``."""
    if not graceful:
        try:
            sock.setsockopt(_SOL_SOCKET, _SO_LINGER, _ABORT)
        except OSError:
            pass  # already reset, or not a socket that lingers
    try:
        sock.close()
    except OSError:
        pass


__all__ = ["ServerLifecycle"]
