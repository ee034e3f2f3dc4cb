"""The server loop: accept, read, dispatch, write, timers, shutdown.

One thread, one poller (epoll on Linux), one shared read buffer. Protocol
rules stay in ``ServerConnection``; this file only moves bytes and calls
the application's handlers.
"""

from __future__ import annotations

import collections
import logging
import math
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .._twins import load
from ..shared import backpressure, topics
from ..shared.send_limit import check_message_size
from ..constants import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
)
from ..protocol.events import CLOSING, OPEN
from ..protocol import INTERNAL_ERROR, NOT_FOUND, SERVER_FULL, UPGRADE_REQUIRED, Reject, build_rejection
from ..protocol import ServerConnection, keepalive_tick
from . import limits
from .poller import READ, Poller
from .timers import Timers, trim_heap

if TYPE_CHECKING:  # both builds have the same names (wsfast._twins)
    from ..codec.prepared import PreparedMessage
    from . import lifecycle, loop
    from .fanout import WorkerBus
    from .redis_driver import EpollRedisBus
    from .websocket import (
        PHASE_CLOSING,
        PHASE_HANDSHAKE,
        PHASE_OPEN,
        WebSocket,
        send_to_many,
    )
else:
    PreparedMessage = load("wsfast.codec.prepared").PreparedMessage
    loop = load("wsfast.server.loop")
    lifecycle = load("wsfast.server.lifecycle")
    _websocket = load("wsfast.server.websocket")
    PHASE_CLOSING, PHASE_HANDSHAKE, PHASE_OPEN = (
        _websocket.PHASE_CLOSING, _websocket.PHASE_HANDSHAKE, _websocket.PHASE_OPEN)
    WebSocket, send_to_many = _websocket.WebSocket, _websocket.send_to_many

log = logging.getLogger("wsfast.server")

READ_BUFFER_SIZE = 256 * 1024
_EVENTS = ("open", "message", "close", "error", "ping", "pong", "http")
#: Other names for events, as Node's ``ws`` spells them.
_EVENT_ALIASES = {"connection": "open"}

if TYPE_CHECKING:
    import ssl as _ssl
    from types import FrameType

    from ..bus import RedisBus
    from ..protocol import Accept, Reject
    from ..protocol.http import Request
    from .timers import Timer

#: ``(status, headers, body)``: a plain HTTP answer (see ``handshake.NOT_FOUND``).
HttpAnswer = tuple[int, Iterable[tuple[str, str]], bytes]
OpenHandler = Callable[[WebSocket], object]
MessageHandler = Callable[[WebSocket, "str | bytes"], object]
CloseHandler = Callable[[WebSocket, int, str], object]
ErrorHandler = Callable[[WebSocket, BaseException], object]
PingHandler = Callable[[WebSocket, bytes], object]
HttpHandler = Callable[["Request"], "HttpAnswer | None"]
HandshakeHook = Callable[["Request", Any], "Accept | Reject | bool | None"]

_F = TypeVar("_F", bound=Callable[..., object])


def _no_upgrade(request: Request) -> HttpAnswer:
    return UPGRADE_REQUIRED


def _server_full(request: Request, remote_address: Any) -> Reject:
    return Reject(*SERVER_FULL)


class Server:
    """A WebSocket server on its own loop, shaped like Node's ``ws``.

    Handlers: ``on_open(ws)``, ``on_message(ws, message)`` (str for text,
    bytes for binary), ``on_close(ws, code, reason)``, ``on_error(ws, exc)``,
    ``on_ping(ws, data)``, ``on_pong(ws, data)``, and ``http_handler(request)``
    for plain HTTP requests on the same port: it returns ``(status, headers,
    body)`` or None for 404; without one, plain requests get 426.
    Register them as keyword arguments or with ``@server.on("message")``.

    Connection options (``subprotocols``, ``origins``, ``handshake_hook``,
    ``compression``, ``max_message_size``, ``max_frame_size``, ...) go to
    every ``ServerConnection``. Loop limits are in ``server.limits``;
    ``compression_idle`` defaults to ``limits.COMPRESSION_IDLE``
    ("adaptive"), parked every ``compression_park_interval`` seconds.

    ``keep_request``: keep ``ws.request`` (the handshake's request head)
    for the connection's life. By default it is there for the handshake
    hook and ``on_open`` and dropped when ``on_open`` returns, as an idle
    connection would otherwise hold its head (the larger part of its
    memory); keep what you need from it in ``ws.data``.
    """

    def __init__(
        self,
        host: str | None = "127.0.0.1",
        port: int = 8080,
        *,
        on_open: OpenHandler | None = None,
        on_message: MessageHandler | None = None,
        on_close: CloseHandler | None = None,
        on_error: ErrorHandler | None = None,
        on_ping: PingHandler | None = None,
        on_pong: PingHandler | None = None,
        http_handler: HttpHandler | None = None,
        ssl: _ssl.SSLContext | None = None,
        subprotocols: Iterable[str] | Callable[[Request, list[str]], str | None] | None = None,
        origins: Iterable[str | None] | None = None,
        handshake_hook: HandshakeHook | None = None,
        compression: bool = True,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = DEFAULT_MAX_FRAME_SIZE,
        handshake_timeout: float | None = limits.HANDSHAKE_TIMEOUT,
        close_timeout: float | None = limits.CLOSE_TIMEOUT,
        ping_interval: float | None = limits.PING_INTERVAL,
        ping_timeout: float | None = limits.PING_TIMEOUT,
        shutdown_timeout: float | None = limits.SHUTDOWN_TIMEOUT,
        compression_park_interval: float | None = limits.COMPRESSION_PARK_INTERVAL,
        max_connections: int | None = None,
        write_high_water: int = limits.WRITE_HIGH_WATER,
        write_low_water: int = limits.WRITE_LOW_WATER,
        max_buffered: int | None = None,
        backlog: int = limits.BACKLOG,
        max_step_frames: int = limits.MAX_STEP_FRAMES,
        pass_step_frames: int = limits.PASS_STEP_FRAMES,
        max_topic_length: int = topics.MAX_TOPIC_LENGTH,
        max_topics_per_connection: int = topics.MAX_TOPICS_PER_CONNECTION,
        reuse_port: bool = False,
        sock: socket.socket | None = None,
        bus: RedisBus | None = None,
        keep_request: bool = False,
        **connection_options: Any,
    ) -> None:
        self.host, self._port = host, port
        self._handlers = dict.fromkeys(_EVENTS)
        for name, fn in (("open", on_open), ("message", on_message), ("close", on_close),
                         ("error", on_error), ("ping", on_ping), ("pong", on_pong),
                         ("http", http_handler)):
            self._handlers[name] = fn
        self._on_message = on_message  # read once per message: kept apart
        self.ssl = ssl
        self.handshake_timeout = handshake_timeout
        self.close_timeout = close_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.shutdown_timeout = shutdown_timeout
        self.compression_park_interval = compression_park_interval
        self.max_connections = max_connections or limits.default_max_connections()
        if max_buffered is None:
            max_buffered = backpressure.default_max_buffered(max_message_size)
        backpressure.check_water_marks(write_low_water, write_high_water, max_buffered)
        self.write_high_water = write_high_water
        self.write_low_water = write_low_water
        self.max_buffered = max_buffered
        # Our own limit: what a broadcast or publish is checked against
        # (RFC 6455 has no way to learn the peer's).
        self.max_message_size = max_message_size
        self.backlog = backlog
        self.reuse_port = reuse_port
        self.keep_request = keep_request
        if pass_step_frames < 1:
            raise ValueError("pass_step_frames must be at least 1")
        # Read by the loop: the per-pass frame budget (see limits.PASS_STEP_FRAMES).
        self._max_step_frames = max_step_frames
        self._pass_step_frames = pass_step_frames
        connection_options.setdefault("compression_idle", limits.COMPRESSION_IDLE)
        self._conn_options = dict(
            connection_options,
            subprotocols=subprotocols,
            origins=origins,
            handshake_hook=handshake_hook,
            compression=compression,
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
            max_step_frames=max_step_frames,
        )
        self._refuse_options = dict(self._conn_options, origins=None, handshake_hook=_server_full)
        # Templates, copied per accept (ServerConnection.clone): a bad option
        # fails here, not per connection, and no accept parses options.
        self._conn_template = ServerConnection(**self._conn_options)
        self._refuse_template = ServerConnection(**self._refuse_options)

        self.clients: set[WebSocket] = set()  # open connections
        # Open connections that negotiated compression: what the park sweep walks.
        self._compressing: set[WebSocket] = set()
        self._compression_live: set[WebSocket] = set()  # of those, holding zlib streams
        self._topics = topics.TopicRegistry(max_topic_length, max_topics_per_connection)
        self.stats = backpressure.DeliveryStats()
        self._bus: Any = None  # fanout.WorkerBus under run_workers, or the Redis bus
        self._bus_config = bus  # a RedisBus: attached when the loop starts
        self._watchers: dict[int, Callable[[], object]] = {}  # fd -> callback (the Redis bus)
        self._conns: dict[int, WebSocket] = {}  # fd -> WebSocket, every connection we hold
        self._listeners: dict[int, socket.socket] = {}  # fd -> listening socket
        self._given_sock = sock
        self._deadlines: dict[WebSocket, float] = {}  # WebSocket -> monotonic deadline
        self._dirty: list[WebSocket] = []
        self._backlog: list[WebSocket] = []  # held connections (WebSocket._hold): a step per pass
        self._poller: Any = None
        self._timers = Timers()
        self._wakeup: tuple[socket.socket, socket.socket] | None = None
        self._pending_calls: collections.deque[tuple[Callable[..., object], tuple[Any, ...]]] = collections.deque()
        self._closing = False
        self._stopped = False
        self._shutdown_deadline: float | None = None  # set by _begin_shutdown
        self._signal: int | None = None
        self._accept_paused = False
        self._buf = bytearray(READ_BUFFER_SIZE)
        self._view = memoryview(self._buf)
        # A connection's accept, events and end, on the containers above:
        # compiled with the extension (server/lifecycle.py).
        self._life = lifecycle.ServerLifecycle(self)

    # -- configuration ---------------------------------------------------------

    @overload
    def on(self, event: str, handler: None = None) -> Callable[[_F], _F]: ...
    @overload
    def on(self, event: str, handler: Callable[..., object]) -> None: ...

    def on(self, event: str, handler: Callable[..., object] | None = None) -> Callable[[_F], _F] | None:
        """Register a handler; usable as a decorator: ``@server.on("message")``.

        ``"connection"`` is another name for ``"open"``, as in Node's ``ws``
        (``wss.on("connection", ws => ...)``)."""
        event = _EVENT_ALIASES.get(event, event)
        if event not in self._handlers:
            raise ValueError("unknown event %r (one of %s)" % (event, ", ".join(_EVENTS)))
        if handler is None:
            return lambda fn: self.on(event, fn) or fn
        self._handlers[event] = handler
        self._on_message = self._handlers["message"]
        return None

    @property
    def port(self) -> int:
        """The bound port (useful after listening on port 0)."""
        for s in self._listeners.values():
            return s.getsockname()[1]  # type: ignore[no-any-return]
        return self._port

    @property
    def addresses(self) -> list[Any]:
        return [s.getsockname() for s in self._listeners.values()]

    # -- listening --------------------------------------------------------------

    def listen(self) -> None:
        """Bind and listen (serve_forever does this if needed)."""
        if self._poller is not None:
            return
        self._poller = Poller()
        socks = [self._given_sock] if self._given_sock is not None else self._bind()
        for s in socks:
            s.setblocking(False)
            if s.family in (socket.AF_INET, socket.AF_INET6):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._listeners[s.fileno()] = s
            self._poller.register(s.fileno(), READ)
        r, w = socket.socketpair()
        r.setblocking(False)
        w.setblocking(False)
        self._wakeup = (r, w)
        self._poller.register(r.fileno(), READ)
        self._timers.call_later(0.5, self._sweep_deadlines)
        if self.ping_interval:
            self._timers.call_later(self._keepalive_period(), self._sweep_keepalive)
        if self.compression_park_interval:
            self._timers.call_later(self.compression_park_interval, self._sweep_compression)

    def _bind(self) -> list[socket.socket]:
        hosts = self.host if isinstance(self.host, (list, tuple)) else [self.host]
        infos: list[tuple[Any, ...]] = []
        for host in hosts:
            infos += socket.getaddrinfo(host or None, self._port, type=socket.SOCK_STREAM,
                                        flags=socket.AI_PASSIVE)
        socks: list[socket.socket]
        socks, port = [], self._port
        for family, type_, proto, _, addr in dict.fromkeys(infos):
            s = socket.socket(family, type_, proto)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if self.reuse_port:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if family == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if port == 0 and socks:  # every family on the same ephemeral port
                    addr = (addr[0], socks[0].getsockname()[1]) + tuple(addr[2:])
                s.bind(addr)
                s.listen(self.backlog)
            except OSError:
                s.close()
                for other in socks:
                    other.close()
                raise
            socks.append(s)
        return socks

    # -- running -------------------------------------------------------------------

    def run(self, install_signal_handlers: bool = True) -> None:
        """Serve until SIGTERM/SIGINT (or ``shutdown()``), then shut down
        gracefully. Signal handlers are installed only in the main thread."""
        self.listen()
        old = {}
        if install_signal_handlers and threading.current_thread() is threading.main_thread():
            assert self._wakeup is not None
            old_fd = signal.set_wakeup_fd(self._wakeup[1].fileno(), warn_on_full_buffer=False)
            for sig in (signal.SIGTERM, signal.SIGINT):
                old[sig] = signal.signal(sig, self._on_signal)
        try:
            self.serve_forever()
        finally:
            if old:
                signal.set_wakeup_fd(old_fd)
                for sig, handler in old.items():
                    signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signal = signum  # acted on by the loop, woken by the wakeup fd

    def shutdown(self) -> None:
        """Begin a graceful shutdown; safe to call from any thread."""
        self.call_soon_threadsafe(self._begin_shutdown)

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        """Run ``callback(*args)`` on the loop after ``delay`` seconds."""
        return self._timers.call_later(delay, callback, *args)

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> None:
        """Run ``callback(*args)`` on the loop; callable from other threads."""
        self._pending_calls.append((callback, args))
        if self._wakeup is not None:
            try:
                self._wakeup[1].send(b"\0")
            except OSError:
                pass  # the loop is already awake (buffer full) or gone

    def serve_forever(self) -> None:
        self.listen()
        if self._bus_config is not None and self._bus is None:
            from .redis_driver import EpollRedisBus

            self.attach_bus(EpollRedisBus(self, self._bus_config))
        loop.run(self)

    def _on_wakeup(self) -> None:
        try:
            while self._wakeup[0].recv(4096):  # type: ignore[index]  # set by listen()
                pass
        except (BlockingIOError, InterruptedError):
            pass
        if self._signal is not None:
            log.info("signal %d: shutting down", self._signal)
            self._signal = None
            self._begin_shutdown()
        calls = self._pending_calls
        while calls:
            callback, args = calls.popleft()
            self._call(None, callback, *args)

    # -- accepting -------------------------------------------------------------------

    def _pause_accepting(self, exc: OSError) -> None:
        """Out of descriptors: stop accepting briefly instead of spinning
        (the listening socket stays readable while the backlog is full)."""
        if self._accept_paused:
            return
        log.warning("accept: %s; pausing accepts for %.1fs (%d connections)",
                    exc.strerror, limits.ACCEPT_PAUSE, len(self._conns))
        self._accept_paused = True
        for fd in self._listeners:
            self._poller.modify(fd, 0)
        self._timers.call_later(limits.ACCEPT_PAUSE, self._resume_accepting)

    def _resume_accepting(self) -> None:
        self._accept_paused = False
        for fd in self._listeners:
            self._poller.modify(fd, READ)

    # -- events -------------------------------------------------------------------------

    def _call(self, ws: WebSocket | None, handler: Callable[..., object] | None, *args: Any) -> None:
        if handler is None:
            return
        try:
            handler(*args)
        except Exception as exc:
            self._handler_failed(ws, exc)

    def _handler_failed(self, ws: WebSocket | None, exc: BaseException) -> None:
        """An application handler raised: report it, then fail that one
        connection with 1011. The loop and other connections carry on."""
        log.error("handler error on %s", ws.remote_address if ws else "server", exc_info=exc)
        on_error = self._handlers["error"]
        if on_error is not None and ws is not None:
            try:
                on_error(ws, exc)
            except Exception:
                log.exception("error handler raised")
        if ws is not None and ws.conn.ready_state in (OPEN, CLOSING):
            ws.conn.fail(CLOSE_INTERNAL_ERROR, "internal error")
            ws._wrote()

    def _answer_http(self, ws: WebSocket, request: Request) -> None:
        handler = self._handlers["http"] or _no_upgrade
        try:
            result = handler(request)
            if result is None:
                result = NOT_FOUND
            status, headers, body = result
            response = build_rejection(status, None, headers, body)
        except Exception as exc:
            log.error("http handler error for %s %s", request.method, request.target, exc_info=exc)
            response = build_rejection(INTERNAL_ERROR[0], None, *INTERNAL_ERROR[1:])
        ws.conn.send_http_response(response)

    # -- closing ----------------------------------------------------------------------------

    def _sweep_deadlines(self) -> None:
        now = time.monotonic()
        expired = [ws for ws, when in self._deadlines.items() if when <= now]
        for ws in expired:
            if ws.phase == PHASE_HANDSHAKE:
                log.debug("handshake timeout: %s", ws.remote_address)
            self._life.destroy(ws, "timeout" if ws.phase != PHASE_CLOSING else "close timeout")
        self._timers.call_later(0.5, self._sweep_deadlines)

    def _keepalive_period(self) -> float:
        return keepalive_tick(self.ping_interval, self.ping_timeout)  # type: ignore[arg-type]

    def _sweep_keepalive(self) -> None:
        now, interval, timeout = time.monotonic(), self.ping_interval, self.ping_timeout
        park = not self.compression_park_interval  # else _sweep_compression parks
        for ws in list(self.clients):
            if ws.conn.keepalive(now, interval, timeout, park):  # type: ignore[arg-type]  # set when called
                ws._wrote()
        self._timers.call_later(self._keepalive_period(), self._sweep_keepalive)

    def _sweep_compression(self) -> None:
        """Park the streams of connections with no compressed message since
        the last sweep (a no-op unless compression_idle="adaptive"); cost:
        the connections that negotiated compression, not all of them."""
        live, parked = self._compression_live, 0
        for ws in self._compressing:
            conn = ws.conn
            if conn.compression_used():
                live.add(ws)
            elif ws in live and conn.park_compression():
                # (False while a fragmented message is half done: next sweep.)
                live.discard(ws)
                parked += 1
        if parked >= limits.COMPRESSION_TRIM_MIN_PARKED:
            trim_heap()
        self._timers.call_later(self.compression_park_interval, self._sweep_compression)  # type: ignore[arg-type]

    def _begin_shutdown(self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        if self._closing:
            return
        self._closing = True
        # shutdown_timeout=None: wait until every connection has closed
        # (each is still bounded by close_timeout).
        timeout = self.shutdown_timeout
        self._shutdown_deadline = math.inf if timeout is None else time.monotonic() + timeout
        for fd, lsock in list(self._listeners.items()):
            self._poller.unregister(fd)
            lsock.close()
        self._listeners.clear()
        for ws in list(self._conns.values()):
            if ws.phase == PHASE_HANDSHAKE:
                self._life.destroy(ws)
            elif ws.phase == PHASE_OPEN:
                ws.close(code, reason)

    def _stop(self) -> None:
        for ws in list(self._conns.values()):
            self._life.destroy(ws, "server shut down")
        self._stopped = True
        if self._bus is not None:
            if hasattr(self._bus, "fileno"):  # the workers' bus
                self._poller.unregister(self._bus.fileno())
            self._bus.close()
        for s in self._wakeup:  # type: ignore[union-attr]  # set by listen()
            self._poller.unregister(s.fileno())
            s.close()
        self._poller.close()

    # -- broadcast ------------------------------------------------------------------------------

    def broadcast(self, data: str | bytes, clients: Iterable[WebSocket] | None = None,
                  *, slow: str = "skip") -> int:
        """Send one message to many clients, encoded (and compressed) once.

        ``clients`` defaults to every open client. ``slow`` is the policy for
        a client whose unsent output is above ``write_high_water``: "skip"
        (it misses this message) or "queue" (sent anyway; a client past
        ``max_buffered`` is dropped). Returns how many clients it reached.
        The frame is queued behind each client's other output and written
        when the loop pass ends (one write per client per pass).
        Call it from the loop's thread (a handler, or ``call_soon_threadsafe``).
        Raises ``MessageTooBig`` (nothing sent) if ``data`` is over
        ``max_message_size``, as ``WebSocket.send`` does.
        """
        if slow not in ("skip", "queue"):
            raise ValueError("slow must be 'skip' or 'queue'")
        limit = self.max_message_size
        if limit and len(data) > limit >> 2:  # checked once per call; only big messages pay
            check_message_size(data, limit)
        prepared = PreparedMessage(data)
        high = self.write_high_water if slow == "skip" else None
        return send_to_many(prepared, list(self.clients if clients is None else clients),
                            self._dirty, high, self.stats)

    # -- topics -----------------------------------------------------------------------------------

    def publish(self, topic: str, data: str | bytes, *, exclude: WebSocket | None = None,
                slow: str = "skip") -> int:
        """Send one message to the subscribers of ``topic`` (see
        ``WebSocket.subscribe``), encoded (and compressed) once, except
        ``exclude`` (a connection); ``slow`` as for ``broadcast``. Returns
        how many subscribers of this server it reached. Call it from the
        loop's thread. Raises ``MessageTooBig`` (nothing sent, nothing on
        the bus) if ``data`` is over ``max_message_size``."""
        if slow == "skip":
            high = self.write_high_water
        elif slow == "queue":
            high = None
        else:
            raise ValueError("slow must be 'skip' or 'queue'")
        limit = self.max_message_size
        if limit and len(data) > limit >> 2:
            check_message_size(data, limit)
        registry = self._topics
        subscribers = registry.members(topic)
        if not subscribers:
            registry.check(topic)
        bus = self._bus
        if bus is not None:
            bus.check(topic, data)
            bus.publish(topic, data)
        if not subscribers:
            return 0
        return send_to_many(PreparedMessage(data), subscribers, self._dirty, high, self.stats,
                            exclude)

    def _publish_local(self, topic: str, data: str | bytes) -> None:
        """A message another worker published: to this worker's subscribers."""
        subscribers = self._topics.members(topic)
        if subscribers:
            send_to_many(PreparedMessage(data), subscribers, self._dirty,
                         self.write_high_water, self.stats)

    @property
    def bus(self) -> Any:
        """The bus this server publishes on: the Redis bus (``bus=``), the
        workers' bus under run_workers, or None when alone. Its ``stats``
        count what crossed it and what was lost."""
        return self._bus

    def attach_bus(self, bus: "WorkerBus | EpollRedisBus") -> None:
        """Publish across workers on ``bus`` (``fanout.WorkerBus``); run_workers
        does this for each worker."""
        self.listen()
        self._bus = bus
        self._topics.on_change = bus.interest
        if hasattr(bus, "fileno"):  # the workers' bus; the Redis bus watches its own sockets
            self._poller.register(bus.fileno(), READ)
        bus.start(self)

    def _on_fd(self, fd: int) -> None:
        watcher = self._watchers.get(fd)
        if watcher is not None:
            watcher()
        elif self._bus is not None and fd == self._bus.fileno():
            self._bus.on_readable()

    def _watch_fd(self, fd: int, mask: int, callback: Callable[[], object]) -> None:
        """Call ``callback()`` from the loop when ``fd`` is ready (any event)."""
        self._watchers[fd] = callback
        self._poller.register(fd, mask)

    def _modify_fd(self, fd: int, mask: int) -> None:
        self._poller.modify(fd, mask)

    def _unwatch_fd(self, fd: int) -> None:
        self._watchers.pop(fd, None)
        self._poller.unregister(fd)

    def subscriber_count(self, topic: str) -> int:
        """How many connections of this server subscribe to ``topic``."""
        return self._topics.count(topic)

    def _log_debug(self, *args: Any) -> None:
        log.debug(*args)


__all__ = ["Server"]
