"""Flow control shared by every driver: write water marks, the output
bound, and the queue of received messages waiting for the application.

A peer controls how much it sends and how fast it reads, so each driver
bounds, in bytes, both what waits to be sent to it and what it sent that
the application has not taken yet. The policy lives here once; the epoll
server (``server.limits``), the asyncio adapter and the uvicorn backend
use it.
"""

from __future__ import annotations

import collections
import sys
from typing import Any

#: Above this many unsent bytes a connection stops being read (automatic
#: pongs and close echoes included) until its output drains below
#: WRITE_LOW_WATER; broadcast skips it meanwhile.
WRITE_HIGH_WATER = 64 * 1024
#: Reading resumes once unsent output is below this (see WRITE_HIGH_WATER).
WRITE_LOW_WATER = 16 * 1024
#: A connection whose unsent output exceeds this is dropped (abnormal
#: closure, 1006). The default is this or twice max_message_size,
#: whichever is larger: room to echo the largest message allowed.
MAX_BUFFERED = 8 * 1024 * 1024
#: Received messages the application has not taken yet (asyncio ``recv``,
#: ASGI ``receive``): reading pauses at this many messages or this many
#: bytes, whichever comes first, and resumes once both are back to a
#: quarter. A single message larger than MAX_QUEUE_BYTES is still
#: accepted (the message limit bounds it): the queue then holds just it.
MAX_QUEUE = 16
#: The byte bound of the same queue (see MAX_QUEUE).
MAX_QUEUE_BYTES = 1024 * 1024
#: Frames a publish or broadcast lets wait on one client for the end of
#: the loop pass (when each client gets one write); at this many, the next
#: one first writes them: bounds the memory a pass queues.
PASS_FRAMES = 64

#: What resuming waits for, as a fraction of each high-water mark.
LOW_WATER_DIVISOR = 4


class DeliveryStats:
    """What the backpressure rules cost a server: messages a broadcast or
    publish did not send to a slow client (``skipped``), and connections
    dropped at ``max_buffered`` (``dropped``)."""

    __slots__ = ("skipped", "dropped")

    def __init__(self) -> None:
        self.skipped = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return "DeliveryStats(skipped=%d, dropped=%d)" % (self.skipped, self.dropped)


def default_max_buffered(max_message_size: int | None) -> int:
    """``max_buffered`` when none is given: MAX_BUFFERED or twice
    ``max_message_size``, whichever is larger."""
    return max(MAX_BUFFERED, 2 * (max_message_size or 0))


def check_water_marks(low: int, high: int, max_buffered: int) -> None:
    """Raise ValueError unless 0 <= low <= high <= max_buffered."""
    if not 0 <= low <= high <= max_buffered:
        raise ValueError("need 0 <= write_low_water <= write_high_water <= max_buffered")


def message_size(message: object) -> int:
    """Bytes a received message holds in memory (a str of wide characters
    holds up to four per character)."""
    return sys.getsizeof(message)


class MessageQueue:
    """Received messages waiting for the application, bounded by count and
    by bytes, with hysteresis: ``paused`` turns true when either bound is
    reached (the driver stops reading) and false again once both are back
    under their low-water marks. None disables a bound."""

    __slots__ = ("_items", "size", "max_messages", "max_bytes", "_low_messages",
                 "_low_bytes", "paused")

    def __init__(self, max_messages: int | None = MAX_QUEUE,
                 max_bytes: int | None = MAX_QUEUE_BYTES) -> None:
        for name, value in (("max_queue", max_messages), ("max_queue_bytes", max_bytes)):
            if value is not None and value < 1:
                raise ValueError("%s must be at least 1 (or None)" % name)
        self._items: collections.deque[tuple[Any, int]] = collections.deque()
        self.size = 0  # bytes held
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._low_messages = None if max_messages is None else max_messages // LOW_WATER_DIVISOR
        self._low_bytes = None if max_bytes is None else max_bytes // LOW_WATER_DIVISOR
        self.paused = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any, size: int) -> bool:
        """Queue ``item`` costing ``size`` bytes; True if this paused the queue."""
        self._items.append((item, size))
        self.size += size
        if self.paused:
            return False
        if (self.max_messages is not None and len(self._items) >= self.max_messages) or (
                self.max_bytes is not None and self.size >= self.max_bytes):
            self.paused = True
            return True
        return False

    def get(self) -> Any:
        """The oldest item (IndexError if empty)."""
        item, size = self._items.popleft()
        self.size -= size
        if self.paused and (self._low_messages is None or len(self._items) <= self._low_messages) \
                and (self._low_bytes is None or self.size <= self._low_bytes):
            self.paused = False
        return item

    def clear(self) -> None:
        self._items.clear()
        self.size = 0
        self.paused = False
