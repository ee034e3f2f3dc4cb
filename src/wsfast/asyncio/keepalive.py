"""Keepalive for many connections with one periodic timer.

A timer (or a task) per connection would cost memory and wakeups for every
idle connection; one shared tick asks each Connection whether a ping is
due or its pong is overdue (``Connection.keepalive`` decides).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..protocol import keepalive_tick


class Keepalive:
    """Sends pings after ``interval`` idle seconds and fails connections
    whose pong does not come within ``timeout`` (1011), ticking as
    ``protocol.keepalive_tick`` says."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float,
                 timeout: float | None) -> None:
        self.interval = interval
        self.timeout = timeout
        self.tick = keepalive_tick(interval, timeout)
        self._loop = loop
        self._members: set[Any] = set()
        self._handle: asyncio.TimerHandle | None = None

    def add(self, ws: Any) -> None:
        self._members.add(ws)
        if self._handle is None:
            self._handle = self._loop.call_later(self.tick, self._run)

    def discard(self, ws: Any) -> None:
        self._members.discard(ws)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _run(self) -> None:
        now = self._loop.time()
        for ws in list(self._members):
            ws._keepalive_tick(now, self.interval, self.timeout)
        # Idle when nobody is left; add() restarts the timer.
        self._handle = self._loop.call_later(self.tick, self._run) if self._members else None
