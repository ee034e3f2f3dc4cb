"""The Redis bus on asyncio: the same sans-I/O core as the epoll server
(``wsfast.bus.core``) over two asyncio Protocols. Writes go to the
transport only while it accepts them (``pause_writing``), so what Redis
cannot take stays in the core's buffer, bounded by ``max_redis_output``.
"""

import asyncio
import os
from typing import TYPE_CHECKING, cast

import hiredis

from ..bus.core import UP, Link, RedisBusCore

if TYPE_CHECKING:
    from ..bus.config import RedisBus
    from .server import Server


class _LinkProtocol(asyncio.Protocol):
    def __init__(self, bus: "AsyncioRedisBus", link: Link) -> None:
        self.bus, self.link = bus, link
        self.transport: asyncio.Transport | None = None
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # create_connection: a stream
        self.bus._made(self)

    def data_received(self, data: bytes) -> None:
        self.bus._received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.bus._lost(self, exc or "closed by Redis")

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.bus._write(self.link)


class AsyncioRedisBus:
    """A ``RedisBus`` attached to one asyncio ``Server``; ``server.bus``."""

    def __init__(self, server: "Server", config: "RedisBus", loop: asyncio.AbstractEventLoop,
                 origin: bytes | None = None) -> None:
        self._server = server
        self._loop = loop
        self.config = config
        self.core = RedisBusCore(config, origin or os.urandom(8), loop.time())
        self.stats = self.core.stats
        self._protocols: dict[Link, _LinkProtocol] = {}  # link -> its _LinkProtocol while connected
        self._attempts: dict[Link, asyncio.Task[None]] = {}  # link -> connecting task
        self._timer: asyncio.TimerHandle | None = None
        self._tick_at = float("inf")
        self._flush_handle: asyncio.Handle | None = None
        self._closed = False

    @property
    def ready(self) -> bool:
        return self.core.ready

    def start(self) -> None:
        self._tick()

    def check(self, topic: str, data: str | bytes) -> None:
        self.core.check(topic, data)

    def publish(self, topic: str, data: str | bytes) -> int:
        if self.core.publish(topic, data):
            self._schedule_flush()
            return 1
        return 0

    def interest(self, topic: str, present: bool) -> None:
        self.core.interest(topic, present, self._loop.time())
        self._schedule_flush()
        self._schedule_tick()

    def close(self) -> None:
        self._closed = True
        self.flush()
        if self._timer is not None:
            self._timer.cancel()
        for task in self._attempts.values():
            task.cancel()
        for protocol in list(self._protocols.values()):
            assert protocol.transport is not None  # listed once connected
            protocol.transport.close()

    # -- time -----------------------------------------------------------------------

    def _schedule_tick(self) -> None:
        when = self.core.next_deadline()
        if when < self._tick_at and not self._closed:
            if self._timer is not None:
                self._timer.cancel()
            self._tick_at = when
            self._timer = self._loop.call_at(when, self._tick)

    def _tick(self) -> None:
        if self._closed:
            return
        self._timer, self._tick_at = None, float("inf")
        now = self._loop.time()
        for link in self.core.tick(now):
            task = self._attempts.pop(link, None)
            if task is not None:
                task.cancel()
        for link in self.core.due_connects(now):
            self._attempts[link] = self._loop.create_task(self._connect(link))
        self.flush()
        self._schedule_tick()

    async def _connect(self, link: Link) -> None:
        try:
            await self._loop.create_connection(lambda: _LinkProtocol(self, link),
                                               self.config.host, self.config.port)
        except asyncio.CancelledError:
            raise
        except OSError as exc:
            if self._attempts.pop(link, None) is not None:
                self.core.connection_lost(link, self._loop.time(), exc.strerror or exc)
                self._schedule_tick()

    # -- the links' events ------------------------------------------------------------

    def _made(self, protocol: _LinkProtocol) -> None:
        link = protocol.link
        self._attempts.pop(link, None)
        assert protocol.transport is not None  # called from connection_made
        if self._closed:
            protocol.transport.close()
            return
        self._protocols[link] = protocol
        self.core.connected(link, self._loop.time())
        self._write(link)

    def _received(self, protocol: _LinkProtocol, data: bytes) -> None:
        if self._protocols.get(protocol.link) is not protocol:
            return
        try:
            messages = self.core.feed(protocol.link, data, self._loop.time())
        except hiredis.ProtocolError as exc:
            assert protocol.transport is not None  # data came on it
            protocol.transport.abort()
            self._lost(protocol, "bad reply: %s" % exc)
            return
        deliver = self._server._publish_local
        for topic, message in messages:
            deliver(topic, message)
        self._write(protocol.link)

    def _lost(self, protocol: _LinkProtocol, reason: object) -> None:
        link = protocol.link
        if self._protocols.get(link) is not protocol:
            return
        del self._protocols[link]
        if self._closed:
            return
        self.core.connection_lost(link, self._loop.time(), reason)
        self._schedule_tick()

    # -- writing --------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_handle = None
        for link in list(self._protocols):
            self._write(link)

    def _write(self, link: Link) -> None:
        protocol = self._protocols.get(link)
        if protocol is None or protocol.paused or link.state != UP:
            return
        out = self.core.pending(link)
        if out:
            assert protocol.transport is not None  # listed once connected
            protocol.transport.write(bytes(out))
            self.core.consumed(link, len(out))
