"""An asyncio WebSocket server: ``await serve(handler, host, port)``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable
from typing import TYPE_CHECKING, Any

from ..protocol.closed import ConnectionClosed, closed_error
from ..constants import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
)
from ..protocol.events import CONNECTING, OPEN
from ..protocol import (
    INTERNAL_ERROR,
    NOT_FOUND,
    SERVER_FULL,
    SHUTTING_DOWN,
    UPGRADE_REQUIRED,
    Reject,
    ServerConnection,
    build_rejection,
)
from .._twins import load
from ..shared import backpressure
from ..shared.backpressure import PASS_FRAMES
from ..shared.send_limit import check_message_size
from ..shared.topics import MAX_TOPIC_LENGTH, MAX_TOPICS_PER_CONNECTION, TopicRegistry, topics_of
from .keepalive import Keepalive
from .websocket import WebSocket, logger

if TYPE_CHECKING:
    import socket
    import ssl as _ssl

    from ..codec.prepared import PreparedMessage

    from ..bus import RedisBus
    from ..protocol.events import HandshakeFailed, Open
    from ..protocol.http import Request
    from .redis_driver import AsyncioRedisBus
else:
    PreparedMessage = load("wsfast.codec.prepared").PreparedMessage  # the build in use

#: ``async def handler(ws): ...``, run once per accepted connection.
Handler = Callable[["ServerWebSocket"], Awaitable[object]]


#: serve()'s settings that each connection's flow control takes.
_FLOW_OPTIONS = ("max_queue", "max_queue_bytes", "write_high_water", "write_low_water", "max_buffered")


class ServerWebSocket(WebSocket):
    """A server-side connection; ``request`` is the upgrade request
    (``path``, ``query_string``, ``headers``)."""

    conn: ServerConnection

    def __init__(self, server: Server, conn: ServerConnection) -> None:
        super().__init__(conn, loop=server.loop, close_timeout=server.close_timeout, **server.flow_options)
        self._server = server
        self._handshake_timer: asyncio.TimerHandle | None = None
        self._handler_task: asyncio.Task[None] | None = None
        # Any: owned by the server's TopicRegistry, in its own representation.
        self._topics: Any = None
        self._dirty = False  # in the server's list of connections to flush

    # -- topics ------------------------------------------------------------

    def subscribe(self, topic: str) -> bool:
        """Subscribe to ``topic`` (a str); True if it was not subscribed.
        Every subscription ends with the connection."""
        if self.conn.ready_state != OPEN or self._transport_closing:
            raise closed_error(self.conn)
        return self._server._topics.subscribe(self, topic)

    def unsubscribe(self, topic: str) -> bool:
        """True if the connection was subscribed to ``topic``."""
        return self._server._topics.unsubscribe(self, topic)

    @property
    def topics(self) -> frozenset[str]:
        """The topics this connection is subscribed to (a frozenset)."""
        return topics_of(self)

    def publish(self, topic: str, data: str | bytes, *, slow: str = "skip") -> int:
        """Publish to ``topic``'s subscribers except this connection (see
        ``Server.publish``); returns how many it reached."""
        return self._server.publish(topic, data, exclude=self, slow=slow)

    @property
    def request(self) -> Request | None:
        return self.conn.request

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.conn.remote_address = self.remote_address
        self._server._connections.add(self)
        timeout = self._server.handshake_timeout
        if timeout is not None:
            self._handshake_timer = self._loop.call_later(timeout, self._handshake_timed_out)

    def _handshake_timed_out(self) -> None:
        self._handshake_timer = None
        if self.conn.ready_state == CONNECTING:
            assert self.transport is not None  # armed by connection_made
            self.transport.abort()

    def _handshake_done(self) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
            self._handshake_timer = None

    def _on_open(self, event: Open) -> None:
        self._handshake_done()
        server = self._server
        server.clients.add(self)
        if server.keepalive is not None:
            self._keepalive = server.keepalive
            server.keepalive.add(self)
        self._handler_task = self._server._track(self._run_handler())

    def _on_handshake_failed(self, event: HandshakeFailed) -> None:
        self._handshake_done()  # the connection queued the HTTP error

    def _on_http_request(self, request: Request) -> None:
        self._handshake_done()
        handler = self._server.http_handler
        if handler is None:
            self._respond(UPGRADE_REQUIRED)
            return
        try:
            result = handler(request)
        except Exception:
            logger.exception("HTTP handler failed")
            result = INTERNAL_ERROR
        if inspect.isawaitable(result):
            self._handler_task = self._server._track(self._await_http(result))
        else:
            self._respond(result)

    async def _await_http(self, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except Exception:
            logger.exception("HTTP handler failed")
            result = INTERNAL_ERROR
        self._respond(result)

    # Any: what the application's http_handler returned, checked here.
    def _respond(self, result: Any) -> None:
        if self._transport_closing:
            return
        if result is None:
            result = NOT_FOUND
        status, headers, body = result
        try:
            response = build_rejection(status, None, headers, body)
        except ValueError:
            logger.exception("HTTP handler returned an invalid response")
            response = build_rejection(INTERNAL_ERROR[0], None, *INTERNAL_ERROR[1:])
        self.conn.send_http_response(response)
        self._flush()

    async def _run_handler(self) -> None:
        code = CLOSE_NORMAL
        try:
            await self._server.handler(self)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            await self.close(CLOSE_GOING_AWAY)
            raise
        except Exception:
            logger.exception("connection handler failed")
            code = CLOSE_INTERNAL_ERROR
        await self.close(code)

    def _drop(self, reason: str) -> None:
        self._server.stats.dropped += 1
        super()._drop(reason)

    def connection_lost(self, exc: Exception | None) -> None:
        self._handshake_done()
        self._server._topics.unsubscribe_all(self)
        self._server.clients.discard(self)
        self._server._connections.discard(self)
        super().connection_lost(exc)


class Server:
    """A listening WebSocket server (see ``serve``).

    ``clients`` is the set of open connections. Use ``close()`` then
    ``await wait_closed()``, or ``async with``.
    """

    def __init__(self, handler: Handler, *, loop: asyncio.AbstractEventLoop, options: dict[str, Any]) -> None:
        self.handler = handler
        self.loop = loop
        self.clients: set[ServerWebSocket] = set()
        self._connections: set[WebSocket] = set()  # every transport, handshaking or not
        self._tasks: set[asyncio.Task[None]] = set()  # running handlers
        self._server: asyncio.Server | None = None
        self._closing = False
        self.flow_options: dict[str, Any] = {name: options.pop(name) for name in _FLOW_OPTIONS}
        self.close_timeout: float | None = options.pop("close_timeout")
        self.handshake_timeout: float | None = options.pop("handshake_timeout")
        self.http_handler: Callable[[Request], Any] | None = options.pop("http_handler")
        self.max_connections: int | None = options.pop("max_connections")
        self._topics = TopicRegistry(options.pop("max_topic_length"),
                                     options.pop("max_topics_per_connection"))
        self.stats = backpressure.DeliveryStats()
        # Connections a publish or broadcast queued frames on, written once
        # each by a callback scheduled for the end of this loop pass.
        self._dirty: list[ServerWebSocket] = []
        self._flush_handle: asyncio.Handle | None = None
        self._bus_config: RedisBus | None = options.pop("bus")
        self.bus: AsyncioRedisBus | None = None  # the Redis bus, once listening (see serve's bus=)
        ping_interval = options.pop("ping_interval")
        ping_timeout = options.pop("ping_timeout")
        self.keepalive = Keepalive(loop, ping_interval, ping_timeout) if ping_interval else None
        self._user_hook: Callable[[Request, Any], Any] | None = options.pop("handshake_hook")
        options["handshake_hook"] = self._handshake_hook
        self._conn_options = options
        # Our own limit: the one a broadcast or publish is checked against
        # (RFC 6455 has no way to learn the peer's).
        self.max_message_size: int | None = options.get("max_message_size")

    # Any: the hook's answer is checked by the connection (Accept, Reject or None).
    def _handshake_hook(self, request: Request, remote_address: Any) -> Any:
        if self.max_connections is not None and len(self.clients) >= self.max_connections:
            return Reject(*SERVER_FULL)
        if self._closing:
            return Reject(*SHUTTING_DOWN)
        if self._user_hook is not None:
            return self._user_hook(request, remote_address)
        return None

    def _track(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _make_protocol(self) -> ServerWebSocket:
        return ServerWebSocket(self, ServerConnection(**self._conn_options))

    @property
    def sockets(self) -> tuple[socket.socket, ...]:
        return self._server.sockets if self._server is not None else ()

    def broadcast(self, data: str | bytes, clients: Iterable[ServerWebSocket] | None = None,
                  *, slow: str = "skip") -> int:
        """Send ``data`` (str or bytes) to ``clients`` (default: all open
        clients), encoded (and compressed) once. ``slow`` is the policy for
        a client whose write buffer is above its high-water mark (its
        ``send`` would wait): "skip" (it misses the message, counted in
        ``stats.skipped``) or "queue" (sent anyway; past ``max_buffered``
        it is dropped). Returns the number of clients it was queued for.
        Raises ``MessageTooBig`` (nothing sent) if ``data`` is over
        ``max_message_size``, as ``send`` does."""
        limit = self.max_message_size
        if limit and len(data) > limit >> 2:  # checked once per call; only big messages pay
            check_message_size(data, limit)
        return self._send_to_many(PreparedMessage(data),
                                  list(self.clients if clients is None else clients), slow)

    def publish(self, topic: str, data: str | bytes, *, exclude: ServerWebSocket | None = None,
                slow: str = "skip") -> int:
        """Send ``data`` to the subscribers of ``topic`` (see
        ``ServerWebSocket.subscribe``) except ``exclude``, encoded once,
        with the same rules as ``broadcast``. Returns how many subscribers
        of this server it reached. Raises ``MessageTooBig`` (nothing sent,
        nothing on the bus) if ``data`` is over ``max_message_size``."""
        if slow not in ("skip", "queue"):
            raise ValueError("slow must be 'skip' or 'queue'")
        limit = self.max_message_size
        if limit and len(data) > limit >> 2:
            check_message_size(data, limit)
        registry = self._topics
        subscribers = registry.members(topic)
        if not subscribers:
            registry.check(topic)
        if self.bus is not None:
            self.bus.check(topic, data)
            self.bus.publish(topic, data)
        if not subscribers:
            return 0
        return self._send_to_many(PreparedMessage(data), subscribers, slow, exclude)

    def _publish_local(self, topic: str, data: str | bytes) -> None:
        """A message another server published: to this server's subscribers."""
        subscribers = self._topics.members(topic)
        if subscribers:
            self._send_to_many(PreparedMessage(data), subscribers, "skip")

    def _attach_bus(self) -> None:
        if self._bus_config is not None and self.bus is None:
            from .redis_driver import AsyncioRedisBus

            self.bus = AsyncioRedisBus(self, self._bus_config, self.loop)
            self._topics.on_change = self.bus.interest
            self.bus.start()

    def subscriber_count(self, topic: str) -> int:
        """How many connections of this server subscribe to ``topic``."""
        return self._topics.count(topic)

    def _send_to_many(self, message: PreparedMessage, clients: Iterable[ServerWebSocket], slow: str,
                      exclude: ServerWebSocket | None = None) -> int:
        """Queue ``message`` on each open client but ``exclude``. Nothing is
        written here: what one loop pass queues on a client (publishes,
        broadcasts, and its own sends, in order) is written once, by a
        callback that runs after the callbacks already due (see
        ``_flush_dirty``), as the epoll server does."""
        if slow not in ("skip", "queue"):
            raise ValueError("slow must be 'skip' or 'queue'")
        sent = skipped = 0
        dirty = self._dirty
        for ws in clients:
            conn = ws.conn
            if ws._transport_closing or conn.ready_state != OPEN or ws is exclude:
                continue
            if conn.frames_pending() >= PASS_FRAMES:
                # Bounds what a pass queues; the write also updates
                # _writing_paused for the check below.
                ws._flush()
                if ws._transport_closing or conn.ready_state != OPEN:
                    continue
            if ws._writing_paused and slow == "skip":
                skipped += 1
                continue
            conn.send_prepared(message)
            if not ws._dirty:
                ws._dirty = True
                dirty.append(ws)
            sent += 1
        if dirty and self._flush_handle is None:
            self._flush_handle = self.loop.call_soon(self._flush_dirty)
        self.stats.skipped += skipped
        return sent

    def _flush_dirty(self) -> None:
        """Write what publishes and broadcasts queued, once per connection."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, []
        for ws in dirty:
            ws._dirty = False
            ws._flush()  # also drops a client past max_buffered

    def close(self, code: int = CLOSE_GOING_AWAY, reason: str = "") -> None:
        """Stop listening and start closing every connection with ``code``."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        if self.bus is not None:
            self.bus.close()
        for ws in list(self._connections):
            if ws.conn.ready_state == OPEN:
                if not ws._transport_closing:
                    ws.conn.close(code, reason)
                    ws._flush()
            elif ws.conn.ready_state == CONNECTING:
                assert ws.transport is not None  # listed once connection_made ran
                ws.transport.abort()

    async def wait_closed(self) -> None:
        """Wait until the listener and every connection are closed (each
        connection within its close timeout), then for the handlers, which
        are cancelled if they outlive another close timeout."""
        if self._server is not None:
            await self._server.wait_closed()
        lost = [ws._lost for ws in list(self._connections)]
        if lost:
            await asyncio.gather(*lost)
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.close_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=self.close_timeout)
        if self.keepalive is not None:
            self.keepalive.stop()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        await self.wait_closed()


class serve:
    """Start a server: ``server = await serve(handler, host, port)`` or
    ``async with serve(handler, host, port) as server``.

    ``handler(ws)`` is a coroutine run for each open connection; when it
    returns the connection is closed with 1000, if it raises with 1011.
    ``http_handler(request)`` answers plain HTTP requests on the same port
    with ``(status, headers, body)`` (or None for 404; it may be a
    coroutine); without one they get 426. ``max_connections`` refuses
    handshakes with 503 while that many connections are open.

    Flow control, per connection (defaults in ``wsfast.backpressure``):
    ``max_queue`` messages or ``max_queue_bytes`` bytes received and not
    yet taken by ``recv`` pause reading; output over ``write_high_water``
    pauses reading until it drains below ``write_low_water``; output over
    ``max_buffered`` (default 8 MiB or twice ``max_message_size``) drops
    the connection.

    ``bus=RedisBus(url)`` carries ``publish`` to the subscribers of every
    server on that Redis (see ``wsfast.bus``).
    """

    def __init__(
        self,
        handler: Handler,
        host: str | None = None,
        port: int | None = None,
        *,
        sock: socket.socket | None = None,
        ssl: _ssl.SSLContext | None = None,
        subprotocols: Iterable[str] | Callable[[Request, list[str]], str | None] | None = None,
        origins: Iterable[str | None] | None = None,
        handshake_hook: Callable[[Request, Any], Any] | None = None,
        compression: bool = True,
        extra_headers: Iterable[tuple[str, str]] = (),
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = DEFAULT_MAX_FRAME_SIZE,
        max_queue: int | None = backpressure.MAX_QUEUE,
        max_queue_bytes: int | None = backpressure.MAX_QUEUE_BYTES,
        write_high_water: int = backpressure.WRITE_HIGH_WATER,
        write_low_water: int = backpressure.WRITE_LOW_WATER,
        max_buffered: int | None = None,
        max_topic_length: int = MAX_TOPIC_LENGTH,
        max_topics_per_connection: int = MAX_TOPICS_PER_CONNECTION,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        handshake_timeout: float | None = 10,
        close_timeout: float | None = 10,
        max_connections: int | None = None,
        http_handler: Callable[[Request], Any] | None = None,
        reuse_port: bool = False,
        backlog: int = 1024,
        bus: RedisBus | None = None,
    ) -> None:
        self._handler = handler
        self._listen: dict[str, Any] = dict(host=host, port=port, sock=sock, ssl=ssl, reuse_port=reuse_port or None, backlog=backlog)
        if sock is not None:
            del self._listen["host"], self._listen["port"]
        self._options = dict(
            subprotocols=subprotocols,
            origins=origins,
            handshake_hook=handshake_hook,
            compression=compression,
            extra_headers=extra_headers,
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            max_queue=max_queue,
            max_queue_bytes=max_queue_bytes,
            write_high_water=write_high_water,
            write_low_water=write_low_water,
            max_buffered=max_buffered,
            max_topic_length=max_topic_length,
            max_topics_per_connection=max_topics_per_connection,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            handshake_timeout=handshake_timeout,
            close_timeout=close_timeout,
            max_connections=max_connections,
            http_handler=http_handler,
            bus=bus,
        )
        self.server: Server | None = None

    async def _start(self) -> Server:
        loop = asyncio.get_running_loop()
        server = Server(self._handler, loop=loop, options=dict(self._options))
        server._server = await loop.create_server(server._make_protocol, **self._listen)
        server._attach_bus()
        self.server = server
        return server

    def __await__(self) -> Generator[Any, None, Server]:
        return self._start().__await__()

    async def __aenter__(self) -> Server:
        return await self._start()

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
