"""The asyncio WebSocket: a BufferedProtocol driving a sans-I/O Connection.

Both sides share this class; ``server.ServerWebSocket`` and
``client.ClientWebSocket`` add their handshakes. Protocol rules stay in the
Connection: this file only moves bytes, queues messages and wakes tasks.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast

from ..constants import CLOSE_NORMAL
from ..protocol.closed import ConnectionClosedOK, closed_error
from ..protocol.events import CLOSING, CONNECTING, OPEN, Close, HandshakeFailed, HttpRequest, Open, Pong
from ..shared import backpressure
from ..shared.send_limit import check_message_size
from ..shared.view import ConnectionView

if TYPE_CHECKING:
    from ..protocol import Connection
    from ..protocol.events import EventType
    from ..protocol.http import Request
    from .keepalive import Keepalive

logger = logging.getLogger("wsfast.asyncio")

#: Bytes read per system call.
READ_SIZE = 256 * 1024

_local = threading.local()


def _read_buffer(loop: asyncio.AbstractEventLoop) -> memoryview:
    """On selector loops and uvloop, get_buffer() and buffer_updated() run
    back to back in one callback and the connection copies what it keeps,
    so one buffer per thread serves every connection: idle connections own
    no read buffer. The proactor loop (Windows) reads in the background and
    needs a buffer per connection."""
    proactor = getattr(asyncio, "ProactorEventLoop", None)
    if proactor is not None and isinstance(loop, proactor):
        return memoryview(bytearray(READ_SIZE))
    buf: memoryview | None = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = memoryview(bytearray(READ_SIZE))
    return buf


def _failure_pending(conn: Connection) -> bool:
    """The peer broke the protocol after complete messages: the connection
    lets the application reply to those before ``data_to_send()`` queues
    its close frame (it is still OPEN but wants to be closed)."""
    return conn.should_close and conn.ready_state == OPEN


class WebSocket(ConnectionView, asyncio.BufferedProtocol):
    """One WebSocket connection on an asyncio (or uvloop) event loop.

    - ``await recv()`` returns the next message (``str`` or ``bytes``);
      ``async for message in ws`` stops at a normal close (1000, 1001,
      1005) and raises ConnectionClosedError at any other.
    - ``await send(data)`` queues a message and, while the transport's
      write buffer is above its high-water mark, waits for it to drain.
    - Received messages wait for ``recv`` in a queue bounded by
      ``max_queue`` messages and ``max_queue_bytes`` bytes; at either
      bound reading pauses until the application catches up (TCP flow
      control then slows the peer down). A read's frames are handled one
      step at a time (``Connection.next_events``), and only while the
      queue has room, so one read cannot overshoot the bound by more than
      one step.
    - Output (replies, automatic pongs) over ``write_high_water`` bytes
      pauses reading until it drains below ``write_low_water``; past
      ``max_buffered`` the connection is dropped (1006).
    """

    def __init__(self, conn: Connection, *, loop: asyncio.AbstractEventLoop,
                 max_queue: int | None = backpressure.MAX_QUEUE,
                 max_queue_bytes: int | None = backpressure.MAX_QUEUE_BYTES,
                 close_timeout: float | None = 10,
                 write_high_water: int = backpressure.WRITE_HIGH_WATER,
                 write_low_water: int = backpressure.WRITE_LOW_WATER,
                 max_buffered: int | None = None) -> None:
        self.conn = conn
        self.data: dict[Any, Any] = {}  # the application's own per-connection data
        self.transport: asyncio.Transport | None = None
        self.remote_address: Any = None  # the transport's peername: a tuple or str by family
        self._loop = loop
        self._buf = _read_buffer(loop)
        self._messages = backpressure.MessageQueue(max_queue, max_queue_bytes)
        self._recv_waiter: asyncio.Future[str | bytes] | None = None
        if max_buffered is None:
            max_buffered = backpressure.default_max_buffered(conn.max_message_size)
        backpressure.check_water_marks(write_low_water, write_high_water, max_buffered)
        self._write_limits = (write_high_water, write_low_water)
        self._max_buffered = max_buffered
        self._dropped: str | None = None  # why we dropped the connection, if we did
        self._reading_paused = False
        self._step_scheduled = False
        self._writing_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._pings: dict[bytes, tuple[asyncio.Future[float], float]] = {}  # payload -> (future, time sent), in sending order
        self._lost: asyncio.Future[None] = loop.create_future()
        self._close_timeout = close_timeout
        self._close_timer: asyncio.TimerHandle | None = None
        self._transport_closing = False
        self._keepalive: Keepalive | None = None
        self._app_closed = False  # close() was called

    # -- state ---------------------------------------------------------------

    # ready_state, subprotocol, extensions, close_code, close_reason:
    # ConnectionView.

    @property
    def buffered_amount(self) -> int:
        """Bytes accepted by ``send`` and not yet written to the socket."""
        transport = self.transport
        size = transport.get_write_buffer_size() if transport is not None else 0
        return size + self.conn.bytes_pending

    @property
    def closed(self) -> bool:
        """True once the TCP connection is gone."""
        return self._lost.done()

    # -- application API ---------------------------------------------------------

    async def recv(self) -> str | bytes:
        """The next message; raises ConnectionClosed once the connection
        has closed and every message received before was returned."""
        messages = self._messages
        if messages:
            was_paused = messages.paused
            message: str | bytes = messages.get()
            if was_paused and not messages.paused:
                self._update_reading()
            return message
        if (self.conn.close_code is not None or self._lost.done()) and not self.conn.events_pending():
            raise closed_error(self.conn)
        if self._recv_waiter is not None:
            raise RuntimeError("another task is already waiting in recv()")
        waiter: asyncio.Future[str | bytes] = self._loop.create_future()
        self._recv_waiter = waiter
        try:
            return await waiter
        finally:
            self._recv_waiter = None

    async def __aiter__(self) -> AsyncIterator[str | bytes]:
        while True:
            try:
                message = await self.recv()
            except ConnectionClosedOK:
                return
            yield message

    async def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Send ``data``: str as a text message, bytes-like as binary.
        A message over ``max_message_size`` raises MessageTooBig unsent."""
        conn = self.conn
        if conn.ready_state != OPEN or self._transport_closing:
            raise closed_error(conn)
        check_message_size(data, conn.max_message_size)
        conn.send(data)
        self._flush()
        if self._writing_paused:
            await self._drain()

    async def ping(self, data: str | bytes | None = None) -> asyncio.Future[float]:
        """Send a ping. Returns a future that resolves to the round trip
        time in seconds when the matching pong arrives (a pong also
        answers every earlier ping). ``data`` defaults to 4 random bytes."""
        conn = self.conn
        if conn.ready_state != OPEN:
            raise closed_error(conn)
        payload = os.urandom(4) if data is None else bytes(data.encode() if isinstance(data, str) else data)
        if payload in self._pings:
            raise ValueError("a ping with this payload is already waiting for its pong")
        waiter = self._loop.create_future()
        self._pings[payload] = (waiter, time.monotonic())
        conn.ping(payload)
        self._flush()
        return waiter

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Start the close handshake (if still open) and wait until the
        connection is closed, at most ``close_timeout`` seconds more.
        Messages still queued or arriving meanwhile are dropped: reading
        resumes so that the peer's close frame can be seen."""
        conn = self.conn
        self._app_closed = True
        self._messages.clear()
        self._update_reading()
        if _failure_pending(conn):
            self._flush()  # the failure's close frame, not ours
        elif conn.ready_state == OPEN and not self._transport_closing:
            conn.close(code, reason)
            self._flush()
        elif conn.ready_state == CONNECTING and self.transport is not None:
            self.transport.abort()
        if self.transport is not None:
            await asyncio.shield(self._lost)

    async def wait_closed(self) -> None:
        await asyncio.shield(self._lost)

    # -- writing -------------------------------------------------------------

    def _flush(self) -> None:
        """Write what the connection queued; close or arm the close timer
        when the connection says so."""
        conn = self.conn
        data = conn.data_to_send()
        if self._transport_closing:
            return
        if data:
            transport = self.transport
            assert transport is not None  # the connection writes only once connected
            transport.write(data)
            if transport.get_write_buffer_size() > self._max_buffered:
                self._drop("output buffer over max_buffered")
                return
        if conn.should_close:
            self._transport_closing = True
            assert self.transport is not None
            self.transport.close()  # after the buffered bytes are written
            self._arm_close_timer()
        elif conn.ready_state >= CLOSING:
            self._arm_close_timer()

    def _arm_close_timer(self) -> None:
        # Bounds both waiting for the peer's close frame or TCP close and
        # flushing to a peer that stopped reading.
        # close_timeout=None: no timer, the peer takes as long as it takes.
        if self._close_timer is None and not self._lost.done() and self._close_timeout is not None:
            self._close_timer = self._loop.call_later(self._close_timeout, self._abort)

    def _abort(self) -> None:
        if self.transport is not None and not self._lost.done():
            self.transport.abort()

    def _drop(self, reason: str) -> None:
        """Drop a peer that made us hold too much: abort (no close frame
        could get through), and report 1006 with ``reason``."""
        logger.debug("%s: %s, dropping", self.remote_address, reason)
        self._dropped = reason
        self._transport_closing = True
        conn = self.conn
        if conn.close_code is None:
            conn.receive_eof(discard=True)  # 1006, and nothing more to read
            conn.close_reason = reason
        self._abort()

    async def _drain(self) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._drain_waiters.append(waiter)
        await waiter

    def pause_writing(self) -> None:
        # Stop reading too: what the peer sends may need answers (pongs,
        # replies) that would pile up behind output it does not read.
        self._writing_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake_drainers()
        self._update_reading()

    def _wake_drainers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- reading -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # a stream protocol gets a stream transport
        self.transport = transport
        self.remote_address = transport.get_extra_info("peername")
        high, low = self._write_limits
        transport.set_write_buffer_limits(high=high, low=low)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buf

    def buffer_updated(self, nbytes: int) -> None:
        self._after_step(self.conn.receive_data(self._buf[:nbytes]))

    def _next_step(self) -> None:
        """A later step of an earlier read (see Connection.next_events)."""
        self._step_scheduled = False
        if self._lost.done() and not self.conn.events_pending():
            return
        self._after_step(self.conn.next_events())

    def _update_reading(self) -> None:
        """Read while the queue has room, the output is under its
        high-water mark and no received frames wait to be handled; and
        schedule the next step when those frames may be handled."""
        pending = self.conn.events_pending()
        blocked = self._messages.paused or self._writing_paused
        if pending and not blocked and not self._step_scheduled:
            self._step_scheduled = True
            self._loop.call_soon(self._next_step)
        paused = blocked or pending
        if paused != self._reading_paused and self.transport is not None and not self._lost.done():
            self._reading_paused = paused
            if paused:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def _after_step(self, events: list[EventType]) -> None:
        conn = self.conn
        if events:
            self._handle(events)
        self._update_reading()
        if _failure_pending(conn):
            # Let the application answer the messages that came before the
            # bad frame (the tasks woken above run first); our close frame
            # follows those answers.
            self._loop.call_soon(self._flush)
        else:
            self._flush()

    def eof_received(self) -> None:
        return None  # let the transport close; connection_lost follows

    def _handle(self, events: list[EventType]) -> None:
        # Any: the dispatch below tests type(event) (faster than isinstance),
        # which mypy does not narrow through the ``kind`` variable.
        event: Any
        for event in events:
            kind = type(event)
            if kind is str or kind is bytes:
                self._deliver(event)
            elif kind is Pong:
                self._on_pong(bytes(event.data))
            elif kind is Close:
                self._on_close()
            elif kind is Open:
                self._on_open(event)
            elif kind is HandshakeFailed:
                self._on_handshake_failed(event)
            elif kind is HttpRequest:
                self._on_http_request(event.request)
            # Ping: the connection queued the pong already.

    def _deliver(self, message: str | bytes) -> None:
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(message)
            self._recv_waiter = None
            return
        if self._app_closed:
            return  # close() was called: nobody will read it
        self._messages.put(message, backpressure.message_size(message))

    def _on_pong(self, payload: bytes) -> None:
        pings = self._pings
        if payload not in pings:
            return
        now = time.monotonic()
        while pings:
            key = next(iter(pings))
            waiter, sent_at = pings.pop(key)
            if not waiter.done():
                waiter.set_result(now - sent_at)
            if key == payload:
                break

    def _on_close(self) -> None:
        self._wake_all()

    def _wake_all(self) -> None:
        """The connection closed: fail everything that waits for it."""
        error = closed_error(self.conn)
        waiter = self._recv_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        pings, self._pings = self._pings, {}
        for ping, _ in pings.values():
            if not ping.done():
                ping.set_exception(closed_error(self.conn))
                ping.exception()  # nobody may await it: don't log it

    # Handshake events: the subclasses implement what each side needs.

    def _on_open(self, event: Open) -> None:
        pass

    def _on_handshake_failed(self, event: HandshakeFailed) -> None:
        pass

    def _on_http_request(self, request: Request) -> None:
        pass

    # -- keepalive (driven by keepalive.Keepalive) ---------------------------------

    def _keepalive_tick(self, now: float, interval: float, timeout: float | None) -> None:
        if self.conn.keepalive(now, interval, timeout):
            self._flush()

    # -- end -------------------------------------------------------------------

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport_closing = True
        conn = self.conn
        # Messages received before the end stay deliverable: handled in
        # steps as recv() makes room, the Close after them.
        events = conn.receive_eof()
        if events:
            self._handle(events)
        self._update_reading()  # steps left: handled as the queue has room
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._keepalive is not None:
            self._keepalive.discard(self)
        if not conn.events_pending():
            self._wake_all()  # else the Close at the end of those steps does
        self._wake_drainers()
        if not self._lost.done():
            self._lost.set_result(None)

    def __repr__(self) -> str:
        return "<%s %s ready_state=%d>" % (type(self).__name__, self.remote_address, self.ready_state)


__all__ = ["WebSocket"]
