"""The Redis bus in the epoll loop: two non-blocking sockets watched by
the server's own poller, no thread. All the logic is in
``wsfast.bus.core``; this file connects, reads, writes and keeps time.

Never blocking: connects are non-blocking, writes take what the kernel
accepts and leave the rest queued (bounded by ``max_redis_output``), and
reads take at most READ_BATCH chunks per loop pass. The host name is
resolved by ``getaddrinfo`` on each connect; give an address or a name
the resolver answers locally (/etc/hosts) to keep that instant.
"""

import errno
import logging
import os
import socket
import time
from typing import TYPE_CHECKING

import hiredis

from ..bus.core import CONNECTING, UP, Link, RedisBusCore
from .poller import READ, WRITE

if TYPE_CHECKING:
    from ..bus.config import RedisBus
    from .server import Server

log = logging.getLogger("wsfast.bus")

#: Bytes asked of the kernel per read from Redis.
READ_SIZE = 256 * 1024
#: Reads per link per loop pass, so a flood from Redis cannot starve clients.
READ_BATCH = 16


class EpollRedisBus:
    """A ``RedisBus`` attached to one epoll ``Server``; ``server.bus``."""

    def __init__(self, server: "Server", config: "RedisBus", origin: bytes | None = None) -> None:
        self._server = server
        self.config = config
        self.core = RedisBusCore(config, origin or os.urandom(8), time.monotonic())
        self.stats = self.core.stats
        self._socks: dict[Link, socket.socket] = {}  # link -> socket
        self._masks: dict[Link, int] = {}  # link -> events watched (a change costs a system call)
        self._flush_scheduled = False
        self._tick_at = float("inf")
        self._closed = False

    # -- the server's side ---------------------------------------------------------

    def start(self, server: "Server") -> None:
        self._tick()

    def check(self, topic: str, data: str | bytes) -> None:
        self.core.check(topic, data)

    def publish(self, topic: str, data: str | bytes) -> int:
        if self.core.publish(topic, data):
            self._schedule_flush()
            return 1
        return 0

    def interest(self, topic: str, present: bool) -> None:
        self.core.interest(topic, present, time.monotonic())
        self._schedule_flush()
        self._schedule_tick()

    @property
    def ready(self) -> bool:
        return self.core.ready

    def close(self) -> None:
        self._closed = True
        self.flush()
        for link in list(self._socks):
            self._drop_socket(link)

    # -- time ------------------------------------------------------------------------

    def _schedule_tick(self) -> None:
        when = self.core.next_deadline()
        if when < self._tick_at:
            self._tick_at = when
            self._server.call_later(max(0.0, when - time.monotonic()), self._tick)

    def _tick(self) -> None:
        if self._closed:
            return
        now = time.monotonic()
        self._tick_at = float("inf")
        for link in self.core.tick(now):
            self._drop_socket(link)
        for link in self.core.due_connects(now):
            self._connect(link, now)
        self.flush()
        self._schedule_tick()

    # -- connections -------------------------------------------------------------------

    def _connect(self, link: Link, now: float) -> None:
        config = self.config
        try:
            family, type_, proto, _, address = socket.getaddrinfo(
                config.host, config.port, type=socket.SOCK_STREAM)[0]
            sock = socket.socket(family, type_, proto)
        except OSError as exc:
            self.core.connection_lost(link, now, exc)
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        err = sock.connect_ex(address)
        if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
            sock.close()
            self.core.connection_lost(link, now, os.strerror(err))
            return
        self._socks[link] = sock
        self._masks[link] = READ | WRITE  # writable: the connect finished
        self._server._watch_fd(sock.fileno(), READ | WRITE, lambda: self._on_event(link))

    def _drop_socket(self, link: Link) -> None:
        sock = self._socks.pop(link, None)
        if sock is not None:
            self._server._unwatch_fd(sock.fileno())
            sock.close()

    def _lost(self, link: Link, reason: object) -> None:
        self._drop_socket(link)
        self.core.connection_lost(link, time.monotonic(), reason)
        self._schedule_tick()

    def _on_event(self, link: Link) -> None:
        sock = self._socks.get(link)
        if sock is None:
            return
        if link.state == CONNECTING:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self._lost(link, os.strerror(err))
                return
            try:
                sock.getpeername()
            except OSError:
                return  # not connected yet
            self.core.connected(link, time.monotonic())
        deliver = self._server._publish_local
        for _ in range(READ_BATCH):
            try:
                data = sock.recv(READ_SIZE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._lost(link, exc.strerror or exc)
                return
            if not data:
                self._lost(link, "closed by Redis")
                return
            try:
                messages = self.core.feed(link, data, time.monotonic())
            except hiredis.ProtocolError as exc:
                self._lost(link, "bad reply: %s" % exc)
                return
            for topic, message in messages:
                deliver(topic, message)
        self._write(link)

    # -- writing --------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._server.call_later(0, self.flush)  # when this loop pass ends

    def flush(self) -> None:
        self._flush_scheduled = False
        for link in list(self._socks):
            if link.state == UP:
                self._write(link)

    def _write(self, link: Link) -> None:
        sock = self._socks.get(link)
        if sock is None or link.state != UP:
            return
        out = self.core.pending(link)
        if out:
            try:
                sent = sock.send(out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._lost(link, exc.strerror or exc)
                return
            self.core.consumed(link, sent)
        mask = READ | WRITE if out else READ
        if self._masks.get(link) != mask:
            self._masks[link] = mask
            self._server._modify_fd(sock.fileno(), mask)
