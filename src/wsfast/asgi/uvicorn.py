"""wsfast as uvicorn's WebSocket backend.

Select it with ``uvicorn app:app --ws wsfast.uvicorn:WSFastProtocol`` or
``uvicorn.Config(app, ws="wsfast.uvicorn:WSFastProtocol")`` (the class
itself works too). uvicorn's HTTP protocol hands the upgrade request to
this ``asyncio.Protocol``, which drives a sans-I/O ``ServerConnection`` and
speaks ASGI (spec 2.4, with the ``websocket.http.response`` extension) to
the application. The WebSocket rules all live in ``ServerConnection``;
this module only moves bytes, events and ASGI messages.

Settings taken from uvicorn's ``Config``:

- ``ws_max_size``: the largest message (and frame) accepted; bigger → 1009.
- ``ws_max_queue``: received messages the app has not taken yet. Reading
  from the socket pauses at this many, or at ``max_queue_bytes`` bytes of
  them (a class attribute: uvicorn has no such setting), and resumes once
  both are back to a quarter (``wsfast.backpressure``, shared with the
  asyncio adapter). A read's frames are handled a step at a time and only
  while the queue has room, so one read cannot overshoot it.
- Output: reading also pauses while the transport's write buffer is over
  its high-water mark (automatic pongs included); past ``max_buffered``
  bytes the connection is dropped.
- ``ws_ping_interval`` / ``ws_ping_timeout``: a ping is sent after
  ``ws_ping_interval`` seconds without incoming data; no pong within
  ``ws_ping_timeout`` closes the connection with 1011.
- ``ws_per_message_deflate``: offer-dependent permessage-deflate.

The ASGI side (which message is allowed when, what the app receives, the
close code of its disconnect) is the sans-I/O state machine of
``wsfast.asgi.state``; this module is uvicorn's transport around it.

Behaviour that differs from uvicorn's own backends, on purpose:

- An exception raised by the app after ``websocket.accept`` closes the
  connection with 1011 (RFC 6455 §7.4.1: "unexpected condition"), and waits
  for the peer's close frame like an app-initiated close. uvicorn's
  backends drop the TCP connection (the client sees 1006). Set
  ``error_close_code = None`` on a subclass for uvicorn's behaviour.
- A connection lost without a close frame is reported to the app as
  ``websocket.disconnect`` with 1006 (RFC 6455 §7.1.5) both before and
  after the handshake.
- A subprotocol in ``websocket.accept`` that the client did not offer, or
  ``headers`` that set a handshake header (Sec-WebSocket-*, Upgrade,
  Connection...), are an error in the app: the client gets a 500.
- A denial response (``websocket.http.response.*``) is sent whole once
  its last body part arrives, with a Content-Length computed by the server
  and ``Connection: close``; the app's own Content-Length,
  Transfer-Encoding and Connection headers are dropped.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from uvicorn.logging import TRACE_LOG_LEVEL
from uvicorn.protocols.utils import (
    ClientDisconnected,
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)

from ..shared import backpressure
from ..constants import CLOSE_INTERNAL_ERROR, CLOSE_NORMAL
from ..protocol.events import CONNECTING, OPEN, Close, HandshakeFailed, HttpRequest, Request
from ..protocol import ServerConnection, keepalive_tick
from .state import (
    APP_FAILED_STATUS,
    CLOSE_BEFORE_ACCEPT_STATUS,
    SHUTDOWN_CLOSE_CODE,
    Action,
    ASGIWebSocketState,
    Message,
    Phase,
)

if TYPE_CHECKING:
    from uvicorn._types import WebSocketScope
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from ..protocol.events import EventType
    from ..protocol.http import Request as RequestHead

__all__ = ["WSFastProtocol"]

#: While the app works through received messages, its sends are handed to
#: the transport together once it waits for input or the event loop turns,
#: or at once past this many payload bytes. Other sends are written at once.
WRITE_BATCH = 64 * 1024

_SEND = Action.SEND
_CLOSE = Action.CLOSE
_HANDSHAKE = Phase.HANDSHAKE
_RESPONSE = Phase.RESPONSE


def _str_headers(headers: Iterable[tuple[bytes | bytearray, bytes | bytearray]]) -> list[tuple[str, str]]:
    """ASGI byte-string header pairs as the str pairs wsfast formats."""
    return [(bytes(n).decode("latin-1"), bytes(v).decode("latin-1")) for n, v in headers]


class WSFastProtocol(asyncio.Protocol):
    """One WebSocket connection under uvicorn, from the upgrade request on."""

    #: Close code sent when the app raises after accepting; None drops the
    #: connection without a close frame, as uvicorn's own backends do.
    error_close_code: int | None = CLOSE_INTERNAL_ERROR
    #: Bytes of received messages the app has not taken that pause reading.
    max_queue_bytes: int | None = backpressure.MAX_QUEUE_BYTES
    #: Unsent bytes past which the peer is dropped (None: the default of
    #: wsfast.backpressure for ``ws_max_size``).
    max_buffered: int | None = None

    #: Set by connection_made, before any other call.
    transport: asyncio.Transport

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app: Any = config.loaded_app
        if _loop is None:
            try:
                _loop = asyncio.get_running_loop()
            except RuntimeError:
                _loop = asyncio.get_event_loop()
        self.loop = _loop
        self.logger = logging.getLogger("uvicorn.error")
        self.root_path = config.root_path
        self.app_state = app_state

        # uvicorn's annotation lists its own protocol classes only.
        self.connections: set[Any] = server_state.connections
        self.tasks = server_state.tasks
        self.server_state = server_state

        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "ws"
        self.scope: WebSocketScope | None = None

        max_size = config.ws_max_size
        self.conn = ServerConnection(
            compression=bool(config.ws_per_message_deflate),
            auto_accept=False,
            max_message_size=max_size,
            max_frame_size=max_size,
        )

        # The ASGI side: phases, the app's messages, its disconnect.
        max_queue = config.ws_max_queue
        self.state = ASGIWebSocketState(
            None if max_queue is None else max(1, int(max_queue)), self.max_queue_bytes)
        self._messages = self.state.messages  # the same queue, by its older name
        self.close_timer: asyncio.TimerHandle | None = None
        self.close_timeout = 10.0

        # Input.
        self._waiter: asyncio.Future[None] | None = None
        self.read_paused = False
        self._step_scheduled = False
        self._write_buffer_size: Callable[[], int] | None = None
        self._output_limit = (self.max_buffered if self.max_buffered is not None
                              else backpressure.default_max_buffered(max_size))

        # Output and flow control.
        self.writable = asyncio.Event()
        self.writable.set()
        self._unflushed = 0
        self._flush_handle: asyncio.Handle | None = None

        # Keepalive.
        self.ping_interval = config.ws_ping_interval
        self.ping_timeout = config.ws_ping_timeout
        self.ping_timer: asyncio.TimerHandle | None = None
        self.ping_sent_at = 0.0

    # -- asyncio.Protocol ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.connections.add(self)
        self.transport = stream = cast(asyncio.Transport, transport)  # a stream: TCP or TLS
        # Every asyncio transport has it; a stand-in transport may not.
        self._write_buffer_size = getattr(transport, "get_write_buffer_size", None)
        self.server = get_local_addr(stream)
        self.client = get_remote_addr(stream)
        self.scheme = "wss" if is_ssl(stream) else "ws"
        self.conn.remote_address = self.client
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "%s:%d - " % self.client if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection made", prefix)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_keepalive()
        self.connections.discard(self)
        if self.logger.level <= TRACE_LOG_LEVEL:
            prefix = "%s:%d - " % self.client if self.client else ""
            self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket connection lost", prefix)
        state = self.state
        if state.accepted:
            self.logger.info("connection closed")
        state.connection_lost()
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        conn = self.conn
        if conn.ready_state != CONNECTING:
            # Messages received before the end reach the app first (in
            # steps, as it takes them); the disconnect follows them.
            self._handle_events(conn.receive_eof())
        if not conn.events_pending() and state.input_ended():
            self._wake()
        # asyncio does not call resume_writing() on a lost transport.
        self.writable.set()
        if exc is None:
            self.transport.close()

    def eof_received(self) -> bool | None:
        # Returning None lets the transport close; connection_lost follows.
        return None

    def pause_writing(self) -> None:
        self.writable.clear()
        self._update_reading()

    def resume_writing(self) -> None:
        self.writable.set()
        self._update_reading()

    def data_received(self, data: bytes) -> None:
        self._after_step(self.conn.receive_data(data))

    def _next_step(self) -> None:
        """A later step of an earlier read (see Connection.next_events)."""
        self._step_scheduled = False
        conn = self.conn
        if conn.events_pending():
            self._after_step(conn.next_events())
            if self.state.disconnected and not conn.events_pending() and self.state.input_ended():
                self._wake()

    def _after_step(self, events: list[EventType]) -> None:
        conn = self.conn
        if events:
            self._handle_events(events)
        self._update_reading()
        if self.state.disconnected:
            return
        self._flush()
        if conn.should_close:
            self._close_transport()

    def _update_reading(self) -> None:
        """Read while the app's queue has room (or we are closing), the
        output is under its high-water mark and no received frames wait
        to be handled; schedule the next step when they may be."""
        pending = self.conn.events_pending()
        state = self.state
        blocked = (state.messages.paused and not state.closing) or not self.writable.is_set()
        if pending and not blocked and not self._step_scheduled:
            self._step_scheduled = True
            self.loop.call_soon(self._next_step)
        paused = blocked or pending
        if paused != self.read_paused and not state.disconnected:
            self.read_paused = paused
            if paused:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def shutdown(self) -> None:
        """Server shutdown: close with 1012 (or 500 before the handshake)."""
        self._stop_keepalive()
        state = self.state
        if state.closing:
            self._close_transport()
            return
        if state.accepted:
            if state.server_closing(SHUTDOWN_CLOSE_CODE):
                self._wake()
            if self.conn.ready_state == OPEN:
                self.conn.close(SHUTDOWN_CLOSE_CODE)
            self._flush()
        else:
            self._send_500()
        self._close_transport()

    # -- events from the connection --------------------------------------------

    def _handle_events(self, events: list[EventType]) -> None:
        state = self.state
        queued = False
        for event in events:
            if isinstance(event, (str, bytes)):
                queued = state.message(event) or queued
            elif isinstance(event, Close):
                queued = state.peer_closed(event.code, event.reason, self.conn.close_sent) or queued
            elif isinstance(event, Request):
                self._on_request(event.request)
                queued = state.request() or queued
            elif isinstance(event, HandshakeFailed):
                # An invalid upgrade request (answered by conn), or a
                # subprotocol in websocket.accept that was not offered (500).
                queued = state.handshake_failed() or queued
            elif isinstance(event, HttpRequest):
                # uvicorn routes only upgrades here; anything else is refused.
                self.conn.reject(400, body=b"WebSocket upgrade expected\n")
                state.handshake_failed()
            # Open, Ping and Pong need nothing: pongs are queued by conn.
        if queued:
            self._wake()

    def _on_request(self, request: RequestHead) -> None:
        root_path = self.root_path
        headers = request.headers
        self.scope = {
            "type": "websocket",
            "asgi": {"version": self.config.asgi_version, "spec_version": "2.4"},
            "http_version": request.http_version,
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": root_path,
            "path": root_path + request.path,
            "raw_path": root_path.encode("ascii") + request.raw_path,
            "query_string": request.query_string,
            "headers": headers.raw,
            "subprotocols": headers.elements("Sec-WebSocket-Protocol"),
            "state": self.app_state.copy(),
            "extensions": {"websocket.http.response": {}},
        }
        task = self.loop.create_task(self.run_asgi())
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    # -- the app's input -------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def receive(self) -> Message:
        state = self.state
        messages = state.messages
        was_paused = messages.paused
        message = state.receive()
        while message is None:
            # About to wait: hand what the app sent to the transport first.
            if self._unflushed:
                self._flush()
            waiter = self._waiter = self.loop.create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
            was_paused = messages.paused
            message = state.receive()
        if was_paused and not messages.paused:
            self._update_reading()
        return message

    # -- the app's output ------------------------------------------------------

    async def send(self, message: Mapping[str, Any]) -> None:
        if not self.writable.is_set():
            await self.writable.wait()
        state = self.state
        action = state.app_send(message)  # RuntimeError if not allowed now
        if action is _SEND:
            conn = self.conn
            if conn.ready_state != OPEN:
                raise ClientDisconnected()
            data = message.get("bytes")
            if data is None:
                data = message.get("text")
                if data is None:
                    return
            conn.send(data)  # str as text, bytes as binary (its fast path)
            if not state.messages:
                self._flush()  # nothing else to answer: write now
            else:
                # Working through a backlog: batch the writes until the
                # app waits for input, the loop turns, or WRITE_BATCH.
                self._unflushed += len(data)
                if self._unflushed >= WRITE_BATCH:
                    self._flush()
                elif self._flush_handle is None:
                    self._flush_handle = self.loop.call_soon(self._flush)
        elif action is _CLOSE:
            conn = self.conn
            if conn.ready_state != OPEN:
                raise ClientDisconnected()
            code = message.get("code") or CLOSE_NORMAL
            reason = message.get("reason") or ""
            conn.close(code, reason)  # ValueError for an unsendable code
            if state.app_closed(code, reason):
                self._wake()
            self._start_closing()
        elif action is Action.DISCONNECTED:
            raise ClientDisconnected()
        elif action is Action.ACCEPT:
            self._accept(message)
        elif action is Action.REJECT:
            self._log_answer(CLOSE_BEFORE_ACCEPT_STATUS)
            self._reject(CLOSE_BEFORE_ACCEPT_STATUS, self._default_headers(), b"")
        elif action is Action.RESPONSE_START:
            self._log_answer(message["status"])
        elif action is Action.RESPONSE_END:
            self._finish_response()
        # Action.RESPONSE_BODY with more to come: nothing to send yet.

    def _accept(self, message: Mapping[str, Any]) -> None:
        self._log_answer("[accepted]")
        headers = self._default_headers() + _str_headers(message.get("headers") or ())
        events = self.conn.accept(message.get("subprotocol"), headers)
        failed = events[0] if events and isinstance(events[0], HandshakeFailed) else None
        if failed is None:
            self.state.opened()
            self.logger.info("connection open")  # as uvicorn's websockets backend logs it
        self._handle_events(events)  # frames that came with the request
        self._update_reading()
        self._flush()
        if failed is not None:
            self._close_transport()
            raise RuntimeError("WebSocket handshake failed: %s" % failed.reason)
        if self.conn.should_close:
            self._close_transport()
        else:
            self._start_keepalive()

    def _default_headers(self) -> list[tuple[str, str]]:
        return _str_headers(self.server_state.default_headers)

    def _log_answer(self, answer: object) -> None:
        """The access log line of the app's answer: "[accepted]" or a status."""
        scope = self.scope
        assert scope is not None  # the app runs once the request is in
        self.logger.info(
            '%s - "WebSocket %s" %s',
            get_client_addr(scope),
            get_path_with_query_string(scope),
            answer,
        )

    def _reject(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.logger.info("connection rejected (%d %s)", status, _reason_phrase(status))
        self.conn.reject(status, headers, body)
        if self.state.rejected():
            self._wake()
        self._flush()
        self._close_transport()

    def _finish_response(self) -> None:
        status, headers, body = self.state.take_response()
        self._reject(status, self._default_headers() + _str_headers(headers), body)

    def _send_500(self) -> None:
        """The app failed before completing the handshake."""
        if self.state.phase is _RESPONSE:
            try:
                self._finish_response()  # what the app had started
                return
            except ValueError:  # not sendable: the 500 instead
                pass
        if self.conn.ready_state != CONNECTING or self.state.closing:
            return
        headers = self._default_headers() + [("Content-Type", "text/plain; charset=utf-8")]
        self._reject(APP_FAILED_STATUS, headers, b"Internal Server Error")

    def _start_closing(self) -> None:
        """We sent a close frame: wait for the peer's, within close_timeout."""
        self._stop_keepalive()
        self._flush()
        self._update_reading()  # the queue no longer matters: find their close
        if self.close_timer is None and not self.transport.is_closing():
            self.close_timer = self.loop.call_later(self.close_timeout, self._close_transport)

    def _flush(self) -> None:
        self._unflushed = 0
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        data = self.conn.data_to_send()
        transport = self.transport
        if data and not transport.is_closing():
            transport.write(data)
            size = self._write_buffer_size
            if size is not None and size() > self._output_limit:
                self.logger.debug("WebSocket output over max_buffered: dropping %s", self.client)
                transport.abort()

    def _close_transport(self) -> None:
        if self.close_timer is not None:
            self.close_timer.cancel()
            self.close_timer = None
        self._stop_keepalive()
        if not self.transport.is_closing():
            self.transport.close()

    # -- the app ---------------------------------------------------------------

    async def run_asgi(self) -> None:
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self._on_app_error()
        else:
            phase = self.state.phase
            if phase is _HANDSHAKE or phase is _RESPONSE:
                if phase is _HANDSHAKE:
                    self.logger.error("ASGI callable returned without completing handshake.")
                self._send_500()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.close_timer is None:
            self._flush()
            self._close_transport()

    def _on_app_error(self) -> None:
        state = self.state
        if not state.accepted:
            self._send_500()
        elif self.error_close_code and not state.closing and self.conn.ready_state == OPEN:
            self.conn.close(self.error_close_code)
            state.server_closing()  # no one left to tell
            self._start_closing()

    # Names used by older uvicorn releases.
    asgi_receive = receive
    asgi_send = send

    # -- keepalive -------------------------------------------------------------

    def _start_keepalive(self) -> None:
        interval = self.ping_interval
        if interval and interval > 0:
            self.conn.keepalive(self.loop.time(), interval, self.ping_timeout)
            self._schedule_keepalive()

    def _schedule_keepalive(self) -> None:
        interval = self.ping_interval
        assert interval is not None  # keepalive runs only with an interval
        self.ping_timer = self.loop.call_later(
            keepalive_tick(interval, self.ping_timeout), self._keepalive)

    def _keepalive(self) -> None:
        self.ping_timer = None
        conn = self.conn
        if self.state.closing or conn.ready_state != OPEN or self.transport.is_closing():
            return
        now = self.loop.time()
        interval = self.ping_interval
        assert interval is not None  # keepalive runs only with an interval
        if conn.keepalive(now, interval, self.ping_timeout):
            if conn.ready_state == OPEN:
                self.ping_sent_at = now
            else:  # no pong in time: conn sent 1011 and wants to close
                if self.logger.level <= TRACE_LOG_LEVEL:
                    prefix = "%s:%d - " % self.client if self.client else ""
                    self.logger.log(TRACE_LOG_LEVEL, "%sWebSocket keepalive ping timeout", prefix)
                assert conn.close_sent is not None
                code, reason = conn.close_sent
                if self.state.server_closing(code, reason):
                    self._wake()
                self._flush()
                self._close_transport()
                return
            self._flush()
        self._schedule_keepalive()

    def _stop_keepalive(self) -> None:
        if self.ping_timer is not None:
            self.ping_timer.cancel()
            self.ping_timer = None


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
