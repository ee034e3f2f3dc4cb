"""``RedisBus``: where the Redis server is and how to use it. A server
(``Server(bus=...)`` or ``wsfast.asyncio.serve(..., bus=...)``) builds its
driver from it; nothing here does I/O."""

import importlib.util
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from . import limits


class BusError(Exception):
    """A problem on the bus that the server survives (a lost Redis
    connection, an error reply); given to ``on_error`` and logged."""


class RedisBus:
    """Publish across servers through Redis Pub/Sub.

    ``url`` is ``redis://[[user]:password@]host[:port][/db]`` (the db is
    accepted and ignored: Pub/Sub channels are shared by all databases).
    A topic ``t`` is the channel ``prefix + ":" + t``, so several
    applications can share one Redis. ``sharded=True`` uses sharded
    Pub/Sub (``SPUBLISH``/``SSUBSCRIBE``, Redis 7 or later); the bus talks
    to the one node of ``url`` and does not follow a Cluster's slot map,
    so on a Cluster every channel must belong to that node. ``on_error(BusError)`` is called
    (on the server's loop) for every lost connection and error reply;
    each is also logged on the ``wsfast.bus`` logger. The other keyword
    arguments are the settings documented in ``wsfast.bus.limits``.

    One ``RedisBus`` configures one server; each server process (each
    ``run_workers`` worker) gets its own origin id when it starts.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "wsfast",
                 sharded: bool = False,
                 on_error: Callable[[BusError], Any] | None = None,
                 max_bus_message: int = limits.MAX_BUS_MESSAGE,
                 max_redis_output: int = limits.MAX_REDIS_OUTPUT,
                 unsubscribe_grace: float = limits.UNSUBSCRIBE_GRACE,
                 backoff_min: float = limits.BACKOFF_MIN,
                 backoff_max: float = limits.BACKOFF_MAX,
                 connect_timeout: float = limits.CONNECT_TIMEOUT,
                 max_tracked_sequences: int = limits.MAX_TRACKED_SEQUENCES) -> None:
        if importlib.util.find_spec("hiredis") is None:
            raise ImportError("RedisBus needs the hiredis package: pip install 'wsfast[redis]'")
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError("RedisBus needs a redis:// URL (TLS is not supported), got %r" % url)
        if not parts.hostname:
            raise ValueError("RedisBus URL has no host: %r" % url)
        if not isinstance(prefix, str) or not prefix:
            raise ValueError("prefix must be a non-empty str")
        for name, value in (("max_bus_message", max_bus_message), ("max_redis_output", max_redis_output),
                            ("max_tracked_sequences", max_tracked_sequences)):
            if value < 1:
                raise ValueError("%s must be at least 1" % name)
        if unsubscribe_grace < 0 or connect_timeout <= 0:
            raise ValueError("unsubscribe_grace must be >= 0 and connect_timeout > 0")
        if not 0 < backoff_min <= backoff_max:
            raise ValueError("backoff bounds need 0 < backoff_min <= backoff_max")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port or 6379
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.prefix = prefix
        self.sharded = bool(sharded)
        self.on_error = on_error
        self.max_bus_message = max_bus_message
        self.max_redis_output = max_redis_output
        self.unsubscribe_grace = unsubscribe_grace
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.connect_timeout = connect_timeout
        self.max_tracked_sequences = max_tracked_sequences

    def __repr__(self) -> str:
        return "RedisBus(%r, prefix=%r)" % ("redis://%s:%d" % (self.host, self.port), self.prefix)
