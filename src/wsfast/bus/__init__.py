"""Topics across servers: a bus on Redis Pub/Sub.

``RedisBus`` configures it; ``core.RedisBusCore`` is the sans-I/O state
machine (RESP commands out, ``hiredis.Reader`` for replies in, channel
bookkeeping, envelopes, reconnect backoff). The drivers live with their
loops: ``wsfast.server.redis_driver`` (epoll) and
``wsfast.asyncio.redis_driver``.
"""

from . import limits
from .config import BusError, RedisBus

__all__ = ["BusError", "RedisBus", "limits"]
