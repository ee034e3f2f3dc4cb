"""An asyncio WebSocket client: ``ws = await connect(url)``."""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import AsyncIterator, Generator, Iterable
from typing import TYPE_CHECKING, Any

from ..protocol import ClientConnection
from ..shared.backoff import Backoff
from ..constants import DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE
from ..errors import InvalidResponse
from ..shared import backpressure
from ..protocol.uri import parse_uri
from .keepalive import Keepalive
from .reconnect import reconnecting
from .websocket import WebSocket

if TYPE_CHECKING:
    from ..protocol.events import HandshakeFailed, Open
    from ..protocol.http import Response


class ClientWebSocket(WebSocket):
    """A client-side connection; ``response`` is the server's handshake
    response (``status``, ``headers``)."""

    conn: ClientConnection

    def __init__(self, conn: ClientConnection, *, loop: asyncio.AbstractEventLoop,
                 keepalive: tuple[float, float | None] | None = None, **options: Any) -> None:
        super().__init__(conn, loop=loop, **options)
        self._opened: asyncio.Future[None] = loop.create_future()
        self._keepalive_config = keepalive

    @property
    def response(self) -> Response | None:
        return self.conn.response

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.conn.connect()
        self._flush()

    def _on_open(self, event: Open) -> None:
        if self._keepalive_config is not None:
            self._keepalive = Keepalive(self._loop, *self._keepalive_config)
            self._keepalive.add(self)
        if not self._opened.done():
            self._opened.set_result(None)

    def _on_handshake_failed(self, event: HandshakeFailed) -> None:
        if not self._opened.done():
            error = self.conn.handshake_error
            assert isinstance(error, Exception)  # a client's is the HandshakeError raised
            self._opened.set_exception(error)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._opened.done():
            self._opened.set_exception(
                InvalidResponse("connection closed during the handshake" + (": %s" % exc if exc else ""))
            )
        super().connection_lost(exc)
        if self._keepalive is not None:
            self._keepalive.stop()


class connect:
    """Open a client connection: ``ws = await connect(url)`` or
    ``async with connect(url) as ws`` (closed with 1000 on exit).

    ``ssl`` is an ``ssl.SSLContext`` for wss:// (default: the system's
    default context). ``open_timeout`` bounds TCP connect, TLS and the
    upgrade together (TimeoutError). A refused upgrade raises
    ``wsfast.errors.InvalidResponse`` with the HTTP ``status``,
    ``headers`` and the start of the ``body``. Flow control
    (``max_queue``, ``max_queue_bytes``, ``write_high_water``,
    ``write_low_water``, ``max_buffered``) is as for ``serve``.

    ``async for ws in connect(url)`` reconnects: each iteration gets a new
    connection; after an abnormal end (1006, 1011, ...) or a failed
    attempt (network error, timeout, HTTP 5xx) the next one is opened after
    a delay from ``backoff`` (a ``wsfast.backoff.Backoff``: exponential,
    with jitter). The loop ends when a connection closes normally (1000,
    1001, or 1005), when the body ends an iteration with the connection
    still open (it is then closed with 1000), or with ``break``.
    """

    def __init__(
        self,
        url: str,
        *,
        subprotocols: Iterable[str] = (),
        compression: bool = True,
        extra_headers: Iterable[tuple[str, str]] = (),
        origin: str | None = None,
        ssl: ssl_module.SSLContext | None = None,
        open_timeout: float | None = 10,
        close_timeout: float | None = 10,
        ping_interval: float | None = 20,
        ping_timeout: float | None = 20,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_frame_size: int | None = DEFAULT_MAX_FRAME_SIZE,
        max_queue: int | None = backpressure.MAX_QUEUE,
        max_queue_bytes: int | None = backpressure.MAX_QUEUE_BYTES,
        write_high_water: int = backpressure.WRITE_HIGH_WATER,
        write_low_water: int = backpressure.WRITE_LOW_WATER,
        max_buffered: int | None = None,
        source_address: tuple[str, int] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.uri = parse_uri(url)
        self.backoff = backoff if backoff is not None else Backoff()
        if ssl is not None and not self.uri.secure:
            raise ValueError("ssl= is only for wss:// URIs")
        self._ssl = ssl
        self._open_timeout = open_timeout
        self._source_address = source_address
        self._conn_options: dict[str, Any] = dict(
            secure=self.uri.secure,
            subprotocols=subprotocols,
            compression=compression,
            extra_headers=extra_headers,
            origin=origin,
            max_message_size=max_message_size,
            max_frame_size=max_frame_size,
        )
        self._ws_options: dict[str, Any] = dict(
            max_queue=max_queue,
            max_queue_bytes=max_queue_bytes,
            write_high_water=write_high_water,
            write_low_water=write_low_water,
            max_buffered=max_buffered,
            close_timeout=close_timeout,
            keepalive=(ping_interval, ping_timeout) if ping_interval else None,
        )
        self.ws: ClientWebSocket | None = None

    async def _connect(self) -> ClientWebSocket:
        uri = self.uri
        loop = asyncio.get_running_loop()
        conn = ClientConnection(uri.host, uri.port, uri.resource, **self._conn_options)
        ws = ClientWebSocket(conn, loop=loop, **self._ws_options)
        context = None
        if uri.secure:
            context = self._ssl if self._ssl is not None else ssl_module.create_default_context()
        self._stage = "TCP connect"
        try:
            await asyncio.wait_for(self._open(loop, ws, context), self._open_timeout)
        except asyncio.TimeoutError:
            if ws.transport is not None:
                ws.transport.abort()
            if self._open_timeout is None:
                raise  # the system's own timeout, not ours
            raise TimeoutError("opening %s timed out after %s s (open_timeout) during the %s"
                               % (self._describe(), self._open_timeout, self._stage)) from None
        except BaseException:
            if ws.transport is not None:
                ws.transport.abort()
            raise
        self.ws = ws
        return ws

    async def _open(self, loop: asyncio.AbstractEventLoop, ws: ClientWebSocket,
                    context: ssl_module.SSLContext | None) -> None:
        uri = self.uri
        if context is not None:
            self._stage = "TCP connect or TLS handshake"
        await loop.create_connection(
            lambda: ws,
            uri.host,
            uri.port,
            ssl=context,
            server_hostname=uri.host if context is not None else None,
            local_addr=self._source_address,
        )
        self._stage = "WebSocket handshake (no HTTP 101 response yet)"
        await ws._opened

    def __await__(self) -> Generator[Any, None, ClientWebSocket]:
        return self._connect().__await__()

    def __aiter__(self) -> AsyncIterator[ClientWebSocket]:
        return reconnecting(self._connect, self.backoff, self._describe())

    def _describe(self) -> str:
        uri = self.uri
        host = "[%s]" % uri.host if ":" in uri.host else uri.host
        path = uri.resource.partition("?")[0]  # a query may hold a token: keep it out of logs
        return "%s://%s:%d%s" % ("wss" if uri.secure else "ws", host, uri.port, path)

    async def __aenter__(self) -> ClientWebSocket:
        return await self._connect()

    async def __aexit__(self, *exc: object) -> None:
        assert self.ws is not None
        await self.ws.close()
