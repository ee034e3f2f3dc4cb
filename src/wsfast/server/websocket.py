"""One server-side connection: a socket driven by a sans-I/O ServerConnection.

This is the object handlers receive. Its I/O methods are the loop's hot
path: read into the server's shared buffer, feed the connection, write at
once and queue only what the socket did not take.
"""

from __future__ import annotations

import collections
import socket
from typing import TYPE_CHECKING, Any

from .._twins import optional_extension
from ..constants import CLOSE_NORMAL
from ..errors import WebSocketError
from ..errors import InvalidState
from ..protocol.events import OPEN
from ..shared.backpressure import PASS_FRAMES
from ..shared.topics import topics_of
from ..shared.send_limit import check_message_size
from .poller import READ, READABLE, WRITE
from .tls import TLSClosed

if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable, Collection

    from ..codec.prepared import PreparedMessage
    from ..protocol.events import EventType
    from ..protocol.http import Request
    from ..protocol.server_connection import ServerConnection
    from ..shared.backpressure import DeliveryStats
    from .server import Server
    from .tls import TLSLayer

# recv/send on the descriptor (see _syscalls.pyx); None when not built,
# not Linux or WSFAST_NO_EXTENSIONS: the socket methods.
_syscalls = optional_extension("wsfast.server._syscalls")
_recv_into = None if _syscalls is None else _syscalls.recv_into
_send = None if _syscalls is None else _syscalls.send
_send_many = None if _syscalls is None else _syscalls.send_many
_shutdown_write = None if _syscalls is None else _syscalls.shutdown_write

# Connection life cycle, as the loop sees it (ready_state is the
# protocol's view and stays the browser's 0-3).
PHASE_HANDSHAKE, PHASE_OPEN, PHASE_CLOSING, PHASE_DRAINING, PHASE_LINGER, PHASE_GONE = range(6)

_SEND_BATCH = 64  # chunks per sendmsg(); well under IOV_MAX
_SEND_MANY_MAX = 256  # chunks per send_many(), its limit
_MESSAGES = (bytes, str)


class Lifecycle:
    """What a WebSocket asks of its server: hand a read's events to the
    application, end the socket, set a deadline for the close.
    ``lifecycle.ServerLifecycle`` implements it; compiled, these are C
    method calls (a subclass's override through the C method table)
    rather than method lookups on the Server."""

    __slots__ = ()

    def dispatch(self, ws: WebSocket, events: list[EventType]) -> None:
        raise NotImplementedError

    def destroy(self, ws: WebSocket, reason: str = "", eof: bool = False) -> None:
        raise NotImplementedError

    def set_deadline(self, ws: WebSocket, delay: float | None) -> None:
        raise NotImplementedError


def step_share(budget: int, count: int, low: int, high: int) -> int:
    """Frames each of ``count`` connections may handle this pass: the
    pass's ``budget`` (limits.PASS_STEP_FRAMES) shared out, kept between
    ``low`` and ``high``."""
    step = budget // count if count > 0 else high
    if step > high:
        return high
    return step if step > low else low


def run_io(events: list[tuple[int, int]], conns: dict[int, WebSocket], buf: bytearray, view: memoryview,
           budget: int, low: int, high: int) -> list[int] | None:
    """The connections' share of one poll result: writes first, then
    reads. The readable descriptors share ``budget`` frames (see
    step_share). Returns the other descriptors (listeners, the wakeup
    socket), or None. Compiled with the extension: see websocket_c.pxd."""
    others: list[int] | None = None
    readable = 0
    for fd, mask in events:
        if mask & READABLE:
            readable += 1
    step_frames = step_share(budget, readable, low, high)
    for fd, mask in events:
        ws = conns.get(fd)
        if ws is None:
            if others is None:
                others = []
            others.append(fd)
            continue
        if mask & WRITE:
            ws._on_writable()
        # A held connection is not read (its steps come first), but stays
        # registered for reading: no epoll_ctl pair per held read.
        if mask & READABLE and ws.phase != PHASE_GONE and not ws._held:
            ws.conn.max_step_frames = step_frames
            ws._on_readable(buf, view)
    return others


# PASS_FRAMES (shared.backpressure) also bounds the cost of the checks below.


def send_to_many(prepared: PreparedMessage, clients: Collection[WebSocket], dirty: list[WebSocket],
                 high: int | None, stats: DeliveryStats, exclude: WebSocket | None = None) -> int:
    """Queue a prepared message on every open client of ``clients`` (a list
    or a tuple) but ``exclude`` whose
    unsent output is at most ``high`` bytes (None: no limit), marking them
    for the loop's flush (``dirty``); counts the slow ones skipped in
    ``stats``. Returns how many it reached. Server.broadcast's and
    Server.publish's per-client loop, compiled with the extension: then
    each client costs C field reads and C calls, no Python call (the
    frame is read from ``prepared`` once; a client with compression
    takes ``send_prepared``'s general path).

    Nothing is written here: what one loop pass sends a client (publishes,
    broadcasts and its own sends, in order) leaves in one write when the
    pass ends, as uWebSockets batches a pass's publishes. A client is
    written to at once only when PASS_FRAMES frames wait, or when what
    waits would make it look slow although the kernel has room."""
    reached = 0
    skipped = 0
    limit = -1 if high is None else high  # C integers when compiled
    most = PASS_FRAMES
    is_open = OPEN
    gone = PHASE_GONE
    plain = prepared.plain  # the frame of every client without compression
    for ws in clients:
        conn = ws.conn
        if conn.ready_state != is_open or ws is exclude:
            continue
        queued = conn.frames_pending()
        if queued >= most:
            ws._flush()
            if conn.ready_state != is_open or ws.phase == gone:
                continue
        if limit >= 0:
            # Output queued in this pass and not yet flushed counts as unsent.
            pending = conn.bytes_pending
            unsent = ws._out_size
            if unsent + pending > limit:
                if ws._out is None and pending:
                    # Only this pass's output waits: the kernel decides.
                    ws._flush()
                    if conn.ready_state != is_open or ws.phase == gone:
                        continue
                    pending = conn.bytes_pending
                    unsent = ws._out_size
                if unsent + pending > limit:
                    skipped += 1
                    continue
        conn.send_prepared(prepared, plain)
        if not ws._dirty:
            ws._dirty = True
            dirty.append(ws)
        reached += 1
    if skipped:
        stats.skipped += skipped
    return reached


class WebSocket:
    """A client connected to a ``Server``.

    ``send(str | bytes)``, ``close(code, reason)``, ``ping()``;
    ``ready_state`` (0-3), ``buffered_amount`` (bytes not yet handed to
    the kernel); ``subprotocol``, ``extensions``, ``remote_address``,
    ``request`` (path, query_string, headers); ``data``, a dict for the
    application's own use (created on first access).
    """

    __slots__ = (
        "server",
        "_sock",
        "fd",
        "conn",
        "remote_address",
        "phase",
        "_data",
        "_out",
        "_out_size",
        "_mask",
        "_paused",
        "_dirty",
        "_held",
        "_tls",
        "_topics",
        "_life",
        "__weakref__",
    )

    def __init__(self, server: Server, fd: int, sock: _socket.socket | None, remote_address: Any,
                 conn: ServerConnection, tls: TLSLayer | None = None) -> None:
        self.server = server
        # With the system-call helpers the loop needs only the descriptor:
        # a socket object is made if asked for (``sock``). Without them,
        # the accepted socket object, whose methods the loop then uses.
        self._sock = sock
        self.fd = fd
        self.conn = conn
        self.remote_address = remote_address
        self.phase = PHASE_HANDSHAKE
        self._data: dict[str, Any] | None = None
        self._out: collections.deque[bytes | memoryview] | None = None  # only while the socket is full
        self._out_size = 0
        self._mask = READ
        self._paused = False  # reading stopped by backpressure
        self._dirty = False  # has output the loop has not flushed yet
        self._held = False  # received frames wait to be handled: not read
        self._tls = tls
        self._topics: Any = None  # owned by the server's TopicRegistry
        self._life: Lifecycle = server._life

    # -- the application's API ---------------------------------------------

    @property
    def sock(self) -> _socket.socket | None:
        """The connection's socket object (made when first asked for);
        None once the connection is gone."""
        if self._sock is None:
            if self.phase == PHASE_GONE:
                return None  # the descriptor is closed, maybe already reused
            self._sock = socket.socket(fileno=self.fd)
        return self._sock

    @property
    def ready_state(self) -> int:
        return self.conn.ready_state

    @property
    def buffered_amount(self) -> int:
        """Bytes queued for this client and not yet accepted by the kernel."""
        return self._out_size + self.conn.bytes_pending

    @property
    def subprotocol(self) -> str | None:
        return self.conn.subprotocol

    @property
    def extensions(self) -> str | None:
        return self.conn.extensions

    @property
    def request(self) -> Request | None:
        return self.conn.request

    @property
    def close_code(self) -> int | None:
        return self.conn.close_code

    @property
    def close_reason(self) -> str | None:
        return self.conn.close_reason

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = {}
        return self._data

    def send(self, data: str | bytes | bytearray | memoryview, compress: bool | None = None) -> None:
        """Send a message: str as text, bytes-like as binary. Raises
        InvalidState unless the connection is open, MessageTooBig (before
        sending anything) over ``max_message_size``."""
        limit = self.conn.max_message_size
        if limit and len(data) > limit >> 2:  # only big messages pay for the check
            check_message_size(data, limit)
        self.conn.send(data, compress)
        if self._out is not None or len(data) > 65536:
            # Backed up, or a big message: flush now, so that the water
            # marks and max_buffered see it before the next send.
            self._flush()
        elif not self._dirty:
            self._dirty = True
            self.server._dirty.append(self)

    # -- topics ----------------------------------------------------------------

    def subscribe(self, topic: str) -> bool:
        """Subscribe to ``topic`` (a str); True if it was not subscribed.
        Every subscription ends with the connection."""
        if self.conn.ready_state != OPEN:
            raise InvalidState("connection is not open")
        return self.server._topics.subscribe(self, topic)

    def unsubscribe(self, topic: str) -> bool:
        """True if the connection was subscribed to ``topic``."""
        return self.server._topics.unsubscribe(self, topic)

    @property
    def topics(self) -> frozenset[str]:
        """The topics this connection is subscribed to (a frozenset)."""
        return topics_of(self)

    def publish(self, topic: str, data: str | bytes, *, slow: str = "skip") -> int:
        """Publish to ``topic``'s subscribers except this connection (see
        ``Server.publish``); returns how many it reached."""
        return self.server.publish(topic, data, exclude=self, slow=slow)

    def send_prepared(self, prepared: PreparedMessage) -> None:
        self.conn.send_prepared(prepared)
        self._wrote()

    def ping(self, data: bytes = b"") -> None:
        self.conn.ping(data)
        self._wrote()

    def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Start the close handshake; ``close`` fires when it completes
        (or after the server's close_timeout)."""
        if self.phase >= PHASE_CLOSING:
            return
        if self.phase == PHASE_HANDSHAKE:
            self.terminate()
            return
        self.conn.close(code, reason)
        self.phase = PHASE_CLOSING
        self._life.set_deadline(self, self.server.close_timeout)
        self._wrote()

    def terminate(self) -> None:
        """Drop the TCP connection at once (no close handshake)."""
        self._life.destroy(self)

    def __repr__(self) -> str:
        return "<WebSocket %s state=%d>" % (self.remote_address, self.conn.ready_state)

    # -- the loop's side ------------------------------------------------------

    def _wrote(self) -> None:
        if not self._dirty:
            self._dirty = True
            self.server._dirty.append(self)

    def _on_readable(self, buf: bytearray, view: memoryview) -> None:
        try:
            # No socket object: the helpers exist (see lifecycle.accept).
            n = _recv_into(self.fd, buf) if self._sock is None else self._sock.recv_into(buf)  # type: ignore[misc]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._life.destroy(self)
            return
        if n == 0:
            self._on_eof()
            return
        if self.phase >= PHASE_DRAINING:
            return  # closing: the peer's last bytes are discarded
        data: bytes | memoryview = view[:n]
        if self._tls is not None:
            try:
                data = self._tls.receive(data)
            except TLSClosed:
                self._on_eof()
                return
            except Exception as exc:  # ssl.SSLError and friends: a bad peer
                self.server._log_debug("TLS error from %s: %s", self.remote_address, exc)
                self._life.destroy(self)
                return
            if not data:
                self._flush()  # handshake records
                return
        # Marked dirty while the handlers run, so that their sends skip the
        # server's dirty list: the flush below covers them.
        self._dirty = True
        conn = self.conn
        events = conn.receive_data(data)
        if events:
            server = self.server
            on_message: Callable[[WebSocket, Any], object] | None = server._on_message  # type checked below
            if len(events) == 1 and on_message is not None and type(events[0]) in _MESSAGES:
                try:  # one message per read: the common case, dispatched here
                    on_message(self, events[0])
                except Exception as exc:
                    server._handler_failed(self, exc)
            else:
                self._life.dispatch(self, events)
        if conn.events_pending():
            self._hold()
        self._flush()

    def _hold(self) -> None:
        """The read held more than one step (see Connection.next_events):
        stop reading and handle a step per loop pass until none is left."""
        self._held = True  # run_io skips its reads
        if not self._paused:
            self.server._backlog.append(self)

    def _next_step(self) -> None:
        """The loop's turn for a held connection: one more step, unless its
        output is over the high-water mark (then _check_water resumes it)."""
        if self.phase == PHASE_GONE or self._paused:
            return
        conn = self.conn
        self._dirty = True
        events = conn.next_events()
        if events:
            self._life.dispatch(self, events)
        if conn.events_pending():
            if self.phase != PHASE_GONE:
                self._hold()
        else:
            self._held = False
        self._flush()

    def _on_eof(self) -> None:
        if self.phase < PHASE_DRAINING:
            conn = self.conn
            events = conn.receive_eof()
            while True:  # messages that came before the end, then Close
                if events:
                    self._life.dispatch(self, events)
                if not conn.events_pending() or self.phase == PHASE_GONE:
                    break
                events = conn.next_events()
        self._life.destroy(self, eof=True)

    def _flush(self) -> None:
        """Hand queued output to the kernel; queue what it does not take."""
        self._dirty = False
        if self.phase == PHASE_GONE:
            return
        if self._tls is not None:
            data = self.conn.data_to_send()
            data = self._tls.send(data) if data else self._tls.pending()
            if data and not self._write(data):
                return
        else:
            # One frame as it is; several in one sendmsg, not joined (see send_many).
            output = self.conn.take_output()
            if output is not None and not (
                    self._write_many(output) if isinstance(output, list) else self._write(output)):
                return
        if self.conn.should_close and self.phase < PHASE_DRAINING:
            self._finish()

    def _write(self, data: bytes | memoryview) -> bool:
        """Hand bytes to the kernel at once; queue what it does not take.
        False if the socket failed (the connection is destroyed)."""
        if self._out is None:
            try:
                n = _send(self.fd, data) if self._sock is None else self._sock.send(data)  # type: ignore[misc]
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self._life.destroy(self)
                return False
            if n < len(data):
                self._out = collections.deque((memoryview(data)[n:],))
                self._out_size = len(data) - n
                self._update_mask()
                self._check_water()
        else:
            self._out.append(data)
            self._out_size += len(data)
            self._check_water()
        return True

    def _write_many(self, chunks: list[bytes]) -> bool:
        """``_write`` of several chunks, as one sendmsg when the socket is
        not backed up. False if the socket failed."""
        if self._out is not None or _send_many is None:
            return self._write(b"".join(chunks))
        total = 0
        for chunk in chunks:
            total += len(chunk)
        sent = 0
        start = 0
        count = len(chunks)
        while start < count:
            batch = chunks if start == 0 and count <= _SEND_MANY_MAX else chunks[start:start + _SEND_MANY_MAX]
            try:
                n = _send_many(self.fd, batch)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self._life.destroy(self)
                return False
            except TypeError:  # a chunk that is not bytes (never queued by wsfast)
                return self._write(b"".join(chunks)) if not sent else self._write(b"".join(chunks)[sent:])
            sent += n
            size = 0
            for chunk in batch:
                size += len(chunk)
            start += len(batch)
            if n < size:
                break
        if sent == total:
            return True
        # Queue what the kernel did not take: the chunk it stopped in
        # (from where it stopped) and those after it.
        out: collections.deque[bytes | memoryview] = collections.deque()
        skip = sent
        for chunk in chunks:
            size = len(chunk)
            if skip >= size:
                skip -= size
            elif skip:
                out.append(memoryview(chunk)[skip:])
                skip = 0
            else:
                out.append(chunk)
        self._out = out
        self._out_size = total - sent
        self._update_mask()
        self._check_water()
        return True

    def _on_writable(self) -> None:
        out = self._out
        if out is None:
            self._update_mask()
            return
        try:
            sock = self._sock
            if sock is not None:
                n = sock.send(out[0]) if len(out) == 1 else sock.sendmsg(list(out)[:_SEND_BATCH])
            else:  # a bare descriptor: the helpers exist
                n = (_send(self.fd, out[0]) if len(out) == 1  # type: ignore[misc]
                     else _send_many(self.fd, list(out)[:_SEND_BATCH]))  # type: ignore[misc]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._life.destroy(self)
            return
        self._out_size -= n
        while n:
            first = out[0]
            if len(first) <= n:
                n -= len(first)
                out.popleft()
            else:
                out[0] = memoryview(first)[n:]
                n = 0
        if not out:
            self._out = None
            self._out_size = 0
            if self.phase == PHASE_DRAINING:
                self._linger()
                return
        self._check_water()
        self._update_mask()

    def _check_water(self) -> None:
        server = self.server
        size = self._out_size
        if size > server.max_buffered and self.phase < PHASE_DRAINING:
            server._log_debug("%s: output over max_buffered, dropping", self.remote_address)
            server.stats.dropped += 1
            self._life.destroy(self, "output buffer over max_buffered")
        elif not self._paused and size > server.write_high_water:
            self._paused = True
            self._update_mask()
        elif self._paused and size <= server.write_low_water:
            self._paused = False
            self._update_mask()
            if self._held:  # steps wait for the output to drain: resume them
                server._backlog.append(self)

    def _update_mask(self) -> None:
        if self.phase == PHASE_GONE:
            return
        mask = (0 if self._paused else READ) | (WRITE if self._out is not None else 0)
        if mask != self._mask:
            self._mask = mask
            self.server._poller.modify(self.fd, mask)

    def _finish(self) -> None:
        """The protocol is done: send what is queued, then close TCP."""
        self.phase = PHASE_DRAINING
        self._life.set_deadline(self, self.server.close_timeout)
        if self._out is None:
            self._linger()

    def _linger(self) -> None:
        """Everything is sent: half-close, so the peer reads our last bytes
        before it sees the end, and wait (bounded) for its FIN."""
        self.phase = PHASE_LINGER
        try:
            if self._sock is None:
                _shutdown_write(self.fd)  # type: ignore[misc]  # a bare descriptor: the helpers exist
            else:
                self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._life.destroy(self)
            return
        self._paused = False
        self._update_mask()


__all__ = ["WebSocket", "InvalidState", "WebSocketError"]
